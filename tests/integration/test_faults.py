"""An AWS error on one bucket becomes that bucket's error line; the other buckets carry on.

moto neither enforces IAM nor throttles, so AccessDenied and SlowDown come from a fault
proxy between the reconciler and moto (faultproxy.py).
"""

from __future__ import annotations

import json

import pytest

from .conftest import Workspace, bucket_plan, read_grant
from .faultproxy import FaultProxy, access_denied, slow_down


def test_missing_bucket_is_an_error_while_another_applies(ws: Workspace) -> None:
    real = ws.bucket("real")
    missing = f"bs-never-created-{ws.account}"
    ws.declare(real, read_grant("222222222222"))
    ws.declare(missing, read_grant("222222222222"))

    result, plan = ws.plan_json()
    assert result.rc == 1
    hint = (
        f"bucket does not exist; create it in account {ws.account}, declare it with create: true, "
        "or remove its declaration"
    )
    assert bucket_plan(plan, missing)["errors"] == [hint]
    assert bucket_plan(plan, real)["action"] == "put-policy"

    applied = ws.apply()
    assert applied.rc == 1
    assert f"{missing}: FAILED: {hint}" in applied.out
    assert f"{real}: ok: wrote the policy" in applied.out
    assert "1 bucket applied, 1 failed" in applied.out
    assert ws.policy(real) is not None


def test_access_denied_on_read_is_a_bucket_error(ws: Workspace, fault_proxy: FaultProxy) -> None:
    denied, fine = ws.bucket("denied"), ws.bucket("fine")
    ws.declare(denied, read_grant("222222222222"))
    ws.declare(fine, read_grant("222222222222"))
    fault_proxy.fail(denied, access_denied())
    ws.point(fault_proxy.url)

    result = ws.plan("--declared-only")
    assert result.rc == 1
    message = (
        "access denied on GetBucketPolicy: the reconciler's role needs s3:GetBucketPolicy on it, "
        f"and the bucket must be owned by account {ws.account} (ExpectedBucketOwner)"
    )
    assert ws.shown_action(result.out, denied) == "error"
    assert message in result.out
    assert ws.shown_action(result.out, fine) == "put-policy"

    applied = ws.apply("--declared-only")
    assert applied.rc == 1
    assert f"{denied}: FAILED: {message}" in applied.out
    assert f"{fine}: ok: wrote the policy" in applied.out
    assert ws.policy(fine) is not None
    assert all(r.faulted for r in fault_proxy.seen(denied))
    assert [r.path for r in fault_proxy.seen(denied)] == [f"/{denied}?policy"] * 2


def test_access_denied_on_write_names_block_public_access(ws: Workspace, fault_proxy: FaultProxy) -> None:
    denied, fine = ws.bucket("denied"), ws.bucket("fine")
    ws.declare(denied, read_grant("222222222222"))
    ws.declare(fine, read_grant("222222222222"))
    fault_proxy.fail(denied, access_denied({"PUT"}))
    ws.point(fault_proxy.url)

    result = ws.plan("--declared-only", "--detailed-exitcode")
    assert result.rc == 2, result.text
    applied = ws.apply("--declared-only")
    assert applied.rc == 1
    line = next(line for line in applied.out.splitlines() if line.startswith(f"{denied}: FAILED"))
    assert "access denied on PutBucketPolicy" in line
    assert "Block Public Access" in line
    assert f"{fine}: ok: wrote the policy" in applied.out
    assert ws.policy_text(denied) is None
    journal = ws.root / ".bucketshare" / "journal.jsonl"
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    written = [e for e in entries if e["bucket"] == denied]
    assert [e["outcome"] for e in written] == ["pending", "failed"]
    assert "access denied on PutBucketPolicy" in written[1]["message"]

    # Once the permission is fixed, running apply again converges.
    fault_proxy.clear()
    again = ws.apply("--declared-only")
    assert again.rc == 0, again.text
    assert f"{denied}: ok: wrote the policy" in again.out
    assert ws.plan("--declared-only", "--detailed-exitcode").rc == 0


@pytest.mark.usefixtures("no_retry_delay")
def test_throttling_is_retried_then_reported(ws: Workspace, fault_proxy: FaultProxy) -> None:
    slow, fine = ws.bucket("slow"), ws.bucket("fine")
    ws.declare(slow, read_grant("222222222222"))
    ws.declare(fine, read_grant("222222222222"))
    fault_proxy.fail(slow, slow_down())
    ws.point(fault_proxy.url)

    result, plan = ws.plan_json("--declared-only")
    assert result.rc == 1
    assert bucket_plan(plan, slow)["errors"] == [
        "S3 kept failing after 5 attempts (SlowDown: Please reduce your request rate.); "
        "run again later or lower --parallelism"
    ]
    assert len(fault_proxy.seen(slow)) == 5
    assert bucket_plan(plan, fine)["action"] == "put-policy"


@pytest.mark.usefixtures("no_retry_delay")
def test_transient_throttling_recovers(ws: Workspace, fault_proxy: FaultProxy) -> None:
    slow = ws.bucket("slow")
    ws.declare(slow, read_grant("222222222222"))
    ws.point(fault_proxy.url)
    fault_proxy.fail(slow, slow_down(), times=3)

    applied = ws.apply("--declared-only")
    assert applied.rc == 0, applied.text
    assert ws.policy(slow) is not None
    assert sum(r.faulted for r in fault_proxy.seen(slow)) == 3


def test_discovery_failure_fails_the_plan_but_prints_it(ws: Workspace, fault_proxy: FaultProxy) -> None:
    bucket = ws.bucket("listed")
    ws.declare(bucket, read_grant("222222222222"))
    fault_proxy.fail("", access_denied({"GET"}))
    ws.point(fault_proxy.url)

    result = ws.plan("--detailed-exitcode")
    assert result.rc == 1
    assert f"cannot list the buckets of account {ws.account}" in result.out
    assert ws.shown_action(result.out, bucket) == "put-policy"
    assert "account 222222222222 gains read on the whole bucket" in result.out


def test_unreadable_undeclared_bucket_is_a_warning(ws: Workspace, fault_proxy: FaultProxy) -> None:
    """Discovery lists every bucket of the account; one we may not read need not be ours."""
    declared, foreign = ws.bucket("declared"), ws.bucket("foreign")
    ws.declare(declared, read_grant("222222222222"))
    fault_proxy.fail(foreign, access_denied())
    ws.point(fault_proxy.url)

    result, plan = ws.plan_json("--detailed-exitcode")
    assert result.rc == 2, result.text
    assert [b["bucket"] for b in plan["buckets"]] == [declared]
    assert any(
        w.startswith(f"discovery could not read bucket {foreign}: access denied") for w in plan["warnings"]
    )
