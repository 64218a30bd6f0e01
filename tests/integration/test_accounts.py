"""Buckets in several owner accounts, each reached through the role reconciler.yaml names
for it: one AssumeRole per account per run, discovery in every account, a role that cannot
be assumed failing only its own account, and shards of one plan merged into that plan."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import boto3
import botocore.credentials
import pytest

from reconciler.declare.roles import AccountRoles
from reconciler.edge.s3 import S3Edge
from reconciler.plan.scopes import shard_of

from .conftest import MotoAws, Workspace, bucket_plan, read_grant
from .faultproxy import FaultProxy

TEMPLATE = "arn:{partition}:iam::{account}:role/bucketshare-{mode}"
CONFIG = f'version: 1\nassume_role: "{TEMPLATE}"\n'
LEFTOVER = {
    "Sid": "BucketShareObjectReadAccountAll",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
    "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::{bucket}/*",
}


def spread_accounts(moto: MotoAws, shards: int) -> list[str]:
    """One new account per shard of `shards`, so every shard has work."""
    found: dict[int, str] = {}
    while len(found) < shards:
        account = moto.new_account()
        found.setdefault(shard_of(account, shards), account)
    return [found[i] for i in range(shards)]


class Owners:
    """Three owner accounts, none of them the credentials' own: each holds a declared bucket
    and an undeclared one still carrying a bucketshare statement (for discovery to find)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.accounts = spread_accounts(ws.moto, 3)
        self.declared: dict[str, str] = {}
        self.leftover: dict[str, str] = {}
        for account in self.accounts:
            bucket = ws.moto.create_bucket(account, "own")
            self.declared[account] = bucket
            ws.write(
                f"{bucket}.yaml",
                f'version: 1\nbucket: {bucket}\naccount: "{account}"\nowner: ml\ngrants:\n'
                + read_grant("222222222222"),
            )
            stale = ws.moto.create_bucket(account, "old")
            statement = json.loads(json.dumps(LEFTOVER).replace("{bucket}", stale))
            ws.moto.put_policy(account, stale, {"Version": "2012-10-17", "Statement": [statement]})
            self.leftover[account] = stale
        ws.set_config(CONFIG)

    def role(self, account: str, mode: str) -> str:
        return TEMPLATE.format(partition="aws", account=account, mode=mode)


@pytest.fixture
def owners(ws: Workspace, fault_proxy: FaultProxy) -> Owners:
    ws.point(fault_proxy.url)
    return Owners(ws)


def actions(plan: dict[str, Any]) -> dict[str, str]:
    return {b["bucket"]: b["action"] for b in plan["buckets"]}


def test_three_accounts_through_their_roles(owners: Owners, ws: Workspace, fault_proxy: FaultProxy) -> None:
    result, plan = ws.plan_json()
    assert result.rc == 0, result.text
    for account in owners.accounts:
        assert actions(plan)[owners.declared[account]] == "put-policy"
        # Found by listing that account's buckets with its own role: not the caller's account.
        assert actions(plan)[owners.leftover[account]] == "delete-policy"
    assert not [w for w in plan["warnings"] if "discovery skipped" in w]
    assumed = fault_proxy.assumed()
    assert sorted(r.role for r in assumed) == sorted(owners.role(a, "plan") for a in owners.accounts)
    names = {r.session_name for r in assumed}
    assert len(names) == 1 and next(iter(names)).startswith("bucketshare-plan-")

    fault_proxy.requests.clear()
    applied = ws.apply()
    assert applied.rc == 0, applied.text
    # apply plans and writes with each account's apply role, assumed once for the whole run.
    assumed = fault_proxy.assumed()
    assert sorted(r.role for r in assumed) == sorted(owners.role(a, "apply") for a in owners.accounts)
    for account in owners.accounts:
        policy = ws.moto.policy(account, owners.declared[account])
        assert policy is not None and policy["Statement"]
        assert ws.moto.policy_text(account, owners.leftover[account]) is None
    journal = [json.loads(line) for line in (ws.root / ".bucketshare/journal.jsonl").read_text().splitlines()]
    session = assumed[0].session_name or ""
    assert {entry["run"] for entry in journal} == {session.removeprefix("bucketshare-apply-")}

    again = ws.plan("--detailed-exitcode")
    assert again.rc == 0, again.text


def test_a_role_that_cannot_be_assumed_fails_only_its_account(
    owners: Owners, ws: Workspace, fault_proxy: FaultProxy
) -> None:
    broken = owners.accounts[1]
    fault_proxy.refuse_role(owners.role(broken, "plan"))
    fault_proxy.refuse_role(owners.role(broken, "apply"))
    result, plan = ws.plan_json()
    assert result.rc == 1, result.text
    failed = bucket_plan(plan, owners.declared[broken])
    assert failed["action"] == "error"
    assert f"cannot assume role {owners.role(broken, 'plan')}" in failed["errors"][0]
    assert any(broken in e and "cannot assume role" in e for e in plan["errors"])  # its discovery
    # Asked once for that account, though its buckets and its discovery all needed it.
    refused = [r for r in fault_proxy.assumed() if r.role == owners.role(broken, "plan")]
    assert len(refused) == 1
    for account in owners.accounts:
        if account != broken:
            assert actions(plan)[owners.declared[account]] == "put-policy"
            assert actions(plan)[owners.leftover[account]] == "delete-policy"

    applied = ws.apply()
    assert applied.rc == 1, applied.text
    assert f"{owners.declared[broken]}: FAILED: account {broken}: cannot assume role" in applied.out
    for account in owners.accounts:
        written = ws.moto.policy(account, owners.declared[account])
        assert (written is None) == (account == broken)


def test_credentials_are_refreshed_before_they_expire(
    owners: Owners, ws: Workspace, fault_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = owners.accounts[0]
    edge = S3Edge(4, boto3.session.Session(), AccountRoles("aws", TEMPLATE), "plan")
    assert edge.read_policy(owners.declared[account], account).error is None
    assert edge.read_policy(owners.leftover[account], account).error is None
    assert len(fault_proxy.assumed()) == 1
    # Fifty-five minutes later (the credentials last an hour): botocore refreshes them, ahead
    # of their expiry, before the next call signs with them. Both of botocore's clocks move:
    # the credentials' own and the one its assume-role cache checks.
    credentials = edge.s3(account)._request_signer._credentials
    clock = credentials._time_fetcher
    later = lambda: clock() + dt.timedelta(minutes=55)  # noqa: E731
    monkeypatch.setattr(credentials, "_time_fetcher", later)
    monkeypatch.setattr(botocore.credentials, "_local_now", later)
    assert edge.read_policy(owners.declared[account], account).error is None
    assert len(fault_proxy.assumed()) == 2


def test_merged_shards_equal_the_unsharded_plan(owners: Owners, ws: Workspace, tmp_path: Path) -> None:
    # Declaration warnings and an expiring grant, so their merge is checked too.
    first, second = owners.accounts[0], owners.accounts[1]
    soon = dt.date.today() + dt.timedelta(days=5)
    for account, other in ((first, second), (second, first)):
        ws.write(
            f"extra-{account}.yaml",
            f'version: 1\nbucket: {owners.declared[account]}\naccount: "{account}"\nowner: ml\ngrants:\n'
            f'  - to: "{account}"\n    access: read\n'
            f'  - to: "{other}"\n    access: read\n    expires: {soon}\n',
        )
    whole, plan = ws.plan_json("--save", tmp_path / "all.json")
    assert whole.rc == 0, whole.text
    assert len(plan["warnings"]) >= 2 and len(plan["expiring"]) == 2
    shards = []
    for index in range(3):
        path = tmp_path / f"shard-{index}.json"
        result = ws.plan("--shard", f"{index}/3", "--save", path)
        assert result.rc == 0, result.text
        shard = json.loads(path.read_text())
        assert shard["scope"] == f"shard {index}/3"
        assert {b["account"] for b in shard["buckets"]} == {owners.accounts[index]}
        shards.append(path)
    merged_file = tmp_path / "merged.json"
    merged = ws.run(
        "merge-plans", *shards, "--format", "json", "--out", merged_file, "--save", tmp_path / "m.json"
    )
    assert merged.rc == 0, merged.text
    assert json.loads(merged_file.read_text()) == plan
    assert (tmp_path / "m.json").read_text() == (tmp_path / "all.json").read_text()
    digest = ws.run("merge-plans", *shards, "--digest-only")
    assert digest.out.strip() == plan["digest"]
    markdown = ws.run("merge-plans", *shards, "--format", "markdown", "--commit", "abc1234")
    assert plan["digest"] in markdown.out

    missing = ws.run("merge-plans", shards[0], shards[2])
    assert missing.rc == 1
    assert "shard 1/3 missing" in missing.err
    twice = ws.run("merge-plans", shards[0], shards[0], shards[1], shards[2])
    assert twice.rc == 1 and "shard 0/3 is also" in twice.err
    with_whole = ws.run("merge-plans", tmp_path / "all.json", shards[0])
    assert with_whole.rc == 1 and "cannot be merged" in with_whole.err


def test_account_flag_limits_reads_and_discovery(
    owners: Owners, ws: Workspace, fault_proxy: FaultProxy
) -> None:
    chosen = owners.accounts[2]
    result, plan = ws.plan_json("--account", chosen)
    assert result.rc == 0, result.text
    assert set(actions(plan)) == {owners.declared[chosen], owners.leftover[chosen]}
    assert plan["scope"] == f"accounts {chosen}"
    assert [r.role for r in fault_proxy.assumed()] == [owners.role(chosen, "plan")]
    bad = ws.plan("--account", "12345")
    assert bad.rc == 1 and "--account: account id '12345' must be exactly 12 digits" in bad.err
