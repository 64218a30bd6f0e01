"""A bucket whose declaration file is deleted is found by listing its owner's buckets."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Workspace, bucket_plan, read_grant, sentences, statement
from .faultproxy import FaultProxy, access_denied

LOST = "account 222222222222 loses read on the whole bucket ("


def loses(plan: dict[str, Any], bucket: str) -> bool:
    return any(s.startswith(LOST) for s in sentences(plan, bucket))


def test_deleted_file_plans_delete_policy(ws: Workspace) -> None:
    gone, stays = ws.bucket("gone"), ws.bucket("stays")
    ws.declare(gone, read_grant("222222222222"), name="gone.yaml")
    ws.declare(stays, read_grant("333333333333"), name="stays.yaml")
    assert ws.apply().rc == 0
    assert ws.policy(gone) is not None

    (ws.shares / "gone.yaml").unlink()
    result, plan = ws.plan_json("--detailed-exitcode")
    assert result.rc == 2, result.text
    planned = bucket_plan(plan, gone)
    assert planned["action"] == "delete-policy"
    assert planned["declared"] is False
    assert planned["new_policy"] is None
    assert loses(plan, gone)
    assert bucket_plan(plan, stays)["action"] == "no-op"

    applied = ws.apply()
    assert applied.rc == 0, applied.text
    assert f"{gone}: ok: deleted the policy" in applied.out
    assert ws.policy_text(gone) is None
    assert ws.policy(stays) is not None
    again = ws.plan("--detailed-exitcode")
    assert again.rc == 0, again.text


def test_deleted_file_keeps_unmanaged_statements(ws: Workspace) -> None:
    gone = ws.bucket("gone")
    theirs = statement("DenyInsecureTransport", gone)
    ws.put_policy(gone, {"Version": "2012-10-17", "Statement": [theirs]})
    ws.declare(gone, read_grant("222222222222"), name="gone.yaml")
    ws.set_config(f'version: 1\nmanaged_accounts: ["{ws.account}"]\n')
    assert ws.apply().rc == 0
    assert len(ws.policy(gone)["Statement"]) == 4  # type: ignore[index]

    # No file names the account any more: managed_accounts keeps it searched.
    (ws.shares / "gone.yaml").unlink()
    _, plan = ws.plan_json()
    planned = bucket_plan(plan, gone)
    assert planned["action"] == "put-policy"
    assert planned["new_policy"]["Statement"] == [theirs]
    assert loses(plan, gone)

    assert ws.apply().rc == 0
    assert ws.policy(gone) == {"Version": "2012-10-17", "Statement": [theirs]}
    assert ws.plan("--detailed-exitcode").rc == 0


def test_declared_only_leaves_undeclared_buckets_alone(ws: Workspace) -> None:
    gone, stays = ws.bucket("gone"), ws.bucket("stays")
    ws.declare(gone, read_grant("222222222222"), name="gone.yaml")
    ws.declare(stays, read_grant("333333333333"), name="stays.yaml")
    assert ws.apply().rc == 0
    written = ws.policy_text(gone)

    (ws.shares / "gone.yaml").unlink()
    result, plan = ws.plan_json("--declared-only", "--detailed-exitcode")
    assert result.rc == 0, result.text
    assert [b["bucket"] for b in plan["buckets"]] == [stays]
    applied = ws.apply("--declared-only")
    assert applied.rc == 0, applied.text
    assert "Nothing to apply." in applied.out
    assert ws.policy_text(gone) == written


def test_undeclared_bucket_without_our_statements_is_not_planned(ws: Workspace) -> None:
    stays = ws.bucket("stays")
    other = ws.bucket("other")
    ws.put_policy(other, {"Version": "2012-10-17", "Statement": [statement("Theirs", other)]})
    ws.declare(stays, read_grant("333333333333"))
    result, plan = ws.plan_json()
    assert result.rc == 0, result.text
    assert [b["bucket"] for b in plan["buckets"]] == [stays]


def test_discovery_is_skipped_with_another_accounts_credentials(ws: Workspace) -> None:
    bucket = ws.bucket("elsewhere")
    ws.declare(bucket, read_grant("222222222222"))
    ws.point(account=ws.moto.new_account())
    result, plan = ws.plan_json("--detailed-exitcode")
    assert result.rc == 2, result.text
    assert any(w.startswith(f"discovery skipped for account {ws.account}") for w in plan["warnings"])
    assert bucket_plan(plan, bucket)["action"] == "put-policy"


def test_unknown_caller_does_not_attribute_its_buckets_to_every_account(
    ws: Workspace, fault_proxy: FaultProxy
) -> None:
    """When sts:GetCallerIdentity fails, ListBuckets still lists only the caller's buckets."""
    gone, stays = ws.bucket("gone"), ws.bucket("stays")
    other = ws.moto.new_account()
    ws.set_config(f'version: 1\nmanaged_accounts: ["{other}"]\n')
    ws.declare(gone, read_grant("222222222222"), name="gone.yaml")
    ws.declare(stays, read_grant("333333333333"), name="stays.yaml")
    assert ws.apply().rc == 0
    (ws.shares / "gone.yaml").unlink()
    fault_proxy.fail("", access_denied({"POST"}))  # STS is POST /; ListBuckets is GET /
    ws.point(fault_proxy.url)

    _, plan = ws.plan_json()
    assert [b["account"] for b in plan["buckets"] if b["account"] == other] == [], (
        f"buckets of {ws.account} were planned as owned by {other}"
    )
    planned = [b["account"] for b in plan["buckets"] if b["bucket"] == gone]
    assert planned in ([ws.account], []), planned
    if not planned:
        assert any("discovery" in m for m in plan["warnings"] + plan["errors"])


def test_discovery_runs_without_a_region(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """STS is asked in us-east-1 when no region is set, as docs/commands.md says: discovery still
    finds the undeclared bucket holding our statements."""
    gone, stays = ws.bucket("gone"), ws.bucket("stays")
    ws.declare(gone, read_grant("222222222222"), name="gone.yaml")
    ws.declare(stays, read_grant("333333333333"), name="stays.yaml")
    assert ws.apply().rc == 0
    (ws.shares / "gone.yaml").unlink()
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    result, plan = ws.plan_json("--detailed-exitcode")
    assert result.rc == 2, result.text
    assert not [w for w in plan["warnings"] if "discovery skipped" in w], plan["warnings"]
    assert bucket_plan(plan, gone)["action"] == "delete-policy"
