"""After writing, S3 must say the bucket policy is not public; otherwise apply puts back the
policy it replaced and fails the bucket. (With RestrictPublicBuckets on, one public statement
cuts off every cross-account grant on the bucket.) moto calls few policies public, so the
proxy answers GetBucketPolicyStatus as S3 would for a policy it sees as public."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.execute.outcome_messages import PUBLIC_RESTORED, PUBLIC_UNKNOWN

from .conftest import Workspace, read_grant
from .faultproxy import FaultProxy

HAND_WRITTEN = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AuditorsRead",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::{bucket}/*",
        }
    ],
}


def journal(ws: Workspace) -> list[dict[str, Any]]:
    path: Path = ws.root / ".bucketshare/journal.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_policy_s3_calls_public_is_replaced_by_the_previous_one(
    ws: Workspace, fault_proxy: FaultProxy
) -> None:
    ws.point(fault_proxy.url)
    bucket = ws.bucket()
    before = ws.put_policy(bucket, json.loads(json.dumps(HAND_WRITTEN).replace("{bucket}", bucket)))
    ws.declare(bucket, read_grant("222222222222"))
    fault_proxy.report_public(bucket)

    applied = ws.apply()
    assert applied.rc == 1, applied.text
    assert f"{bucket}: FAILED: {PUBLIC_RESTORED}" in applied.out
    assert ws.policy_text(bucket) == before  # byte for byte: what the write replaced
    actions = [(e["action"], e["outcome"]) for e in journal(ws)]
    assert actions[-2:] == [("restore-not-public", "pending"), ("restore-not-public", "applied")]
    # Nothing left for rollback to undo: the bucket is as it was before apply.
    rolled = ws.run("rollback", ".bucketshare/journal.jsonl")
    assert "nothing to undo: apply already restored" in rolled.out, rolled.text
    assert ws.policy_text(bucket) == before

    # Once S3 is satisfied, the same plan applies.
    fault_proxy.clear()
    assert ws.apply().rc == 0
    assert "BucketShare" in (ws.policy_text(bucket) or "")


def test_a_bucket_without_a_policy_gets_none_back(ws: Workspace, fault_proxy: FaultProxy) -> None:
    ws.point(fault_proxy.url)
    bucket = ws.bucket()
    ws.declare(bucket, read_grant("222222222222"))
    fault_proxy.report_public(bucket)
    applied = ws.apply()
    assert applied.rc == 1 and PUBLIC_RESTORED in applied.out, applied.text
    assert ws.policy_text(bucket) is None


def test_an_unknown_status_fails_the_bucket_but_keeps_the_write(
    ws: Workspace, fault_proxy: FaultProxy, no_retry_delay: None
) -> None:
    ws.point(fault_proxy.url)
    bucket = ws.bucket()
    ws.declare(bucket, read_grant("222222222222"))
    fault_proxy.inject("internal_error", 1.0, operations={"GetBucketPolicyStatus"})
    applied = ws.apply()
    assert applied.rc == 1, applied.text
    assert f"{bucket}: FAILED: {PUBLIC_UNKNOWN}" in applied.out
    assert "BucketShare" in (ws.policy_text(bucket) or "")
