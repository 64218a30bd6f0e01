"""Object Ownership and SSE-KMS against a moto server: what plan reads beside the policy,
and what apply then writes (issue 8)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import Workspace, bucket_plan, read_grant

WRITER = "222222222222"
READER = "333333333333"
ACL = "bucket-owner-full-control"


def write_grant(to: str = WRITER, access: str = "write") -> str:
    return read_grant(to, access=access)


def set_ownership(ws: Workspace, bucket: str, ownership: str) -> None:
    ws.moto.s3(ws.account).put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": ownership}]}
    )


def set_kms(ws: Workspace, bucket: str, key: str | None) -> None:
    default: dict[str, str] = {"SSEAlgorithm": "aws:kms"}
    if key is not None:
        default["KMSMasterKeyID"] = key
    ws.moto.s3(ws.account).put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": default}]},
    )


def acl_condition(statement: dict[str, Any]) -> Any:
    return statement.get("Condition", {}).get("StringEquals", {}).get("s3:x-amz-acl")


def live_statements(ws: Workspace, bucket: str) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in (ws.policy(bucket) or {}).get("Statement", [])}


def test_enforced_ownership_writes_the_plain_write_statement(ws: Workspace) -> None:
    bucket = ws.bucket("enforced")  # BucketOwnerEnforced, as AWS makes new buckets
    ws.declare(bucket, write_grant())
    applied = ws.apply()
    assert applied.rc == 0, applied.text
    writes = live_statements(ws, bucket)["BucketShareObjectsWriteAccountAll"]
    assert "s3:PutObject" in writes["Action"] and acl_condition(writes) is None


def test_preferred_ownership_requires_the_owner_acl_and_apply_writes_it(ws: Workspace) -> None:
    bucket = ws.bucket("preferred")
    ws.declare(bucket, write_grant() + read_grant(READER, access="read-write"))
    assert ws.apply().rc == 0
    set_ownership(ws, bucket, "BucketOwnerPreferred")

    result, plan = ws.plan_json()
    assert result.rc == 0, result.text
    planned = bucket_plan(plan, bucket)
    kinds = {c["sid"]: c["kind"] for c in planned["changes"]}
    # The write-only grant's statement gains the condition: a normal statement change.
    assert kinds["BucketShareObjectsWriteAccountAll"] == "change"
    assert kinds["BucketShareObjectsReadWriteAccountAll"] == "remove"
    assert planned["facts"]["ownership"] == "BucketOwnerPreferred"
    text = ws.plan()
    assert "~ BucketShareObjectsWriteAccountAll" in text.out
    added = [" ".join(line.split()) for line in text.out.splitlines() if line.strip().startswith("+")]
    assert '+ "s3:x-amz-acl": [' in added, "the diff must show the condition being added"

    applied = ws.apply()
    assert applied.rc == 0, applied.text
    live = live_statements(ws, bucket)
    writes = live["BucketShareObjectsWriteAccountAll"]
    assert acl_condition(writes) == [ACL] and "s3:PutObject" in writes["Action"]
    assert set(writes["Principal"]["AWS"]) == {f"arn:aws:iam::{a}:root" for a in (WRITER, READER)}
    reads = live["BucketShareObjectsReadAccountAll"]
    assert acl_condition(reads) is None and reads["Principal"]["AWS"] == [f"arn:aws:iam::{READER}:root"]
    assert ws.plan("--detailed-exitcode").rc == 0


@pytest.mark.parametrize("ownership", ["ObjectWriter", None])
def test_object_writer_or_no_ownership_is_a_plan_error_with_the_fix(
    ws: Workspace, ownership: str | None
) -> None:
    bucket = ws.bucket("writer", ownership=ownership)
    ws.declare(bucket, write_grant())
    result = ws.plan()
    assert result.rc == 1
    assert "objects another account writes stay that account's" in result.out
    assert f"aws s3api put-bucket-ownership-controls --bucket {bucket}" in result.out
    assert ws.apply().rc == 1
    assert ws.policy_text(bucket) is None, "nothing may be written to such a bucket"


def test_customer_managed_key_warns_with_the_key_policy_statements(ws: Workspace) -> None:
    kms = ws.moto.client(ws.account, "kms")
    key_arn = kms.create_key(Description="models")["KeyMetadata"]["Arn"]
    key_policy = kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]
    bucket = ws.bucket("kms")
    set_kms(ws, bucket, key_arn)
    role = f"arn:aws:iam::{WRITER}:role/trainer"
    ws.declare(bucket, read_grant(READER) + write_grant(role))

    result, plan = ws.plan_json()
    assert result.rc == 0, result.text
    planned = bucket_plan(plan, bucket)
    assert planned["kms_key"] == key_arn
    by_sid = {s["Sid"]: s for s in planned["key_policy_statements"]}
    assert by_sid["BucketShareKmsReadAccount"]["Action"] == ["kms:Decrypt"]
    assert by_sid["BucketShareKmsReadAccount"]["Principal"] == {"AWS": [f"arn:aws:iam::{READER}:root"]}
    writer = by_sid["BucketShareKmsWriteArn"]
    assert writer["Action"] == ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"]
    assert writer["Condition"]["ArnEquals"] == {"aws:PrincipalArn": [role]}
    assert {s["Resource"] for s in by_sid.values()} == {"*"}
    assert any(key_arn in w for w in planned["warnings"])

    text = ws.plan()
    assert f"warning: objects are encrypted with the customer managed KMS key {key_arn}" in text.out
    shown = text.out.split(f"statements the key policy of {key_arn} needs:\n", 1)[1]
    block = [line.strip() for line in shown.splitlines()]
    statements = json.loads("\n".join(block[: block.index("]") + 1]))
    assert statements == planned["key_policy_statements"]
    assert ws.apply().rc == 0
    # Warn mode: the key policy is the key administrators', never written.
    assert kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"] == key_policy


@pytest.mark.parametrize(
    ("key", "says"),
    [
        (None, "AWS managed key aws/s3"),
        ("alias/aws/s3", "AWS managed key aws/s3"),
        ("alias/models", "not by full key ARN"),
        ("arn:aws:kms:us-east-1:{account}:alias/models", "not by full key ARN"),
    ],
)
def test_unshareable_keys_are_plan_errors(ws: Workspace, key: str | None, says: str) -> None:
    bucket = ws.bucket("sse")
    set_kms(ws, bucket, None if key is None else key.format(account=ws.account))
    ws.declare(bucket, read_grant(READER))
    result, plan = ws.plan_json()
    assert result.rc == 1
    planned = bucket_plan(plan, bucket)
    assert planned["action"] == "error"
    (error,) = planned["errors"]
    assert says in error
    assert ws.apply().rc == 1
    assert ws.policy_text(bucket) is None
