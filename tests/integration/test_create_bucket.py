"""`create: true` against a moto server: plan shows create-bucket, apply creates the bucket in
the declared account with its safe defaults and writes the policy, and everything that must
refuse does. State is read back with the test's own boto3 clients."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import Workspace, bucket_name, bucket_plan, read_grant
from .helpers import granted, read_pairs


def declare_created(ws: Workspace, bucket: str, versioning: bool = False, grants: str | None = None) -> str:
    source = ws.declare(bucket, read_grant("222222222222") if grants is None else grants)
    with (ws.root / source).open("a", encoding="utf-8") as handle:
        handle.write("create: true\n" + ("versioning: true\n" if versioning else ""))
    return source


def exists(ws: Workspace, bucket: str, account: str | None = None) -> bool:
    names = [b["Name"] for b in ws.moto.s3(account or ws.account).list_buckets()["Buckets"]]
    return bucket in names


def journal(ws: Workspace) -> list[dict[str, Any]]:
    path = ws.root / ".bucketshare" / "journal.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_create_plans_applies_with_safe_defaults_and_converges(ws: Workspace) -> None:
    bucket = bucket_name("new")
    declare_created(ws, bucket, versioning=True)
    arn, uri = f"arn:aws:s3:::{bucket}", f"s3://{bucket}"

    shown = ws.plan("--detailed-exitcode")
    assert shown.rc == 2, shown.text
    assert ws.shown_action(shown.out, bucket) == "create-bucket"
    assert f"  {arn}  {uri}" in shown.out
    assert "creates the bucket in us-east-1: Block Public Access (all four settings on)" in shown.out
    assert "1 bucket to change (1 create-bucket, 0 put-policy, 0 delete-policy)" in shown.out
    _, plan = ws.plan_json()
    planned = bucket_plan(plan, bucket)
    assert (planned["action"], planned["arn"], planned["uri"]) == ("create-bucket", arn, uri)
    assert planned["create"] == {"region": "us-east-1", "versioning": True}
    assert plan["summary"]["create_bucket"] == 1
    assert not exists(ws, bucket), "plan must not create"

    applied = ws.apply()
    assert applied.rc == 0, applied.text
    assert f"{bucket}: ok: created the bucket and wrote the policy\n  {arn}  {uri}\n" in applied.out

    s3 = ws.moto.s3(ws.account)
    assert exists(ws, bucket), "the bucket is in the declared account"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )
    (rule,) = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert rule == {"ObjectOwnership": "BucketOwnerEnforced"}
    (encryption,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert encryption["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert encryption["BucketKeyEnabled"] is True
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert granted(ws.policy(bucket), "222222222222") == read_pairs(bucket)

    records = [(r["action"], r["outcome"]) for r in journal(ws) if r["bucket"] == bucket]
    assert records == [
        ("create-bucket", "pending"),
        ("create-bucket", "applied"),
        ("put-policy", "pending"),
        ("put-policy", "applied"),
    ]

    again = ws.plan("--detailed-exitcode")
    assert again.rc == 0, again.text
    assert "No changes" in again.out
    _, plan = ws.plan_json()
    assert bucket_plan(plan, bucket)["action"] == "no-op"


def test_without_versioning_the_bucket_is_not_versioned_and_no_grants_means_no_policy(ws: Workspace) -> None:
    bucket = bucket_name("bare")
    declare_created(ws, bucket, grants="  []\n")
    applied = ws.apply()
    assert applied.rc == 0, applied.text
    assert f"{bucket}: ok: created the bucket (no grants: no policy)" in applied.out
    assert "Status" not in ws.moto.s3(ws.account).get_bucket_versioning(Bucket=bucket)
    assert ws.policy(bucket) is None
    assert ws.plan("--detailed-exitcode").rc == 0


def test_without_create_a_missing_bucket_stays_an_error(ws: Workspace) -> None:
    bucket = bucket_name("missing")
    ws.declare(bucket, read_grant("222222222222"))
    shown = ws.plan()
    assert shown.rc == 1, shown.text
    assert (
        f"error: {bucket}: bucket does not exist; create it in account {ws.account}, declare it with "
        "create: true, or remove its declaration"
    ) in shown.out
    applied = ws.apply()
    assert applied.rc == 1
    assert not exists(ws, bucket)


def test_a_saved_create_plan_is_refused_once_the_bucket_exists(ws: Workspace) -> None:
    bucket = bucket_name("raced")
    declare_created(ws, bucket)
    saved = ws.root / "plan.json"
    assert ws.plan("--save", saved).rc == 0
    ws.moto.s3(ws.account).create_bucket(Bucket=bucket)  # someone, by hand, meanwhile

    result = ws.apply_saved(saved)
    assert result.rc == 1, result.text
    assert f"{bucket}: FAILED: refused: the bucket exists now; run plan again" in result.out
    assert ws.policy(bucket) is None
    with pytest.raises(Exception, match="NoSuchPublicAccessBlockConfiguration"):
        ws.moto.s3(ws.account).get_public_access_block(Bucket=bucket)
    # Planned again, the bucket is an existing one: its policy only.
    _, plan = ws.plan_json()
    assert bucket_plan(plan, bucket)["action"] == "put-policy"


def test_a_saved_create_plan_applies_only_in_its_region(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = bucket_name("eu")
    declare_created(ws, bucket)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    saved = ws.root / "plan.json"
    assert ws.plan("--save", saved).rc == 0
    assert (
        bucket_plan(json.loads(saved.read_text(encoding="utf-8")), bucket)["create"]["region"] == "eu-west-1"
    )

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    refused = ws.apply_saved(saved)
    assert refused.rc == 1
    assert "refused: the plan creates the bucket in eu-west-1, but apply runs in us-east-1" in refused.out
    assert not exists(ws, bucket)

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    applied = ws.apply_saved(saved)
    assert applied.rc == 0, applied.text
    location = ws.moto.s3(ws.account).get_bucket_location(Bucket=bucket)["LocationConstraint"]
    assert location == "eu-west-1"


def test_credentials_of_another_account_never_create(ws: Workspace) -> None:
    bucket = bucket_name("elsewhere")
    declare_created(ws, bucket)
    other = ws.moto.new_account()
    ws.point(account=other)
    result = ws.apply()
    assert result.rc == 1, result.text
    assert (
        f"{bucket}: FAILED: refused: the credentials for account {ws.account} are of account {other}, "
        "and CreateBucket would create the bucket there"
    ) in result.out
    assert not exists(ws, bucket, other)


def test_an_edited_saved_create_plan_writes_nothing(ws: Workspace) -> None:
    bucket = bucket_name("edited")
    declare_created(ws, bucket)
    saved = ws.root / "plan.json"
    ws.plan("--save", saved)
    data = json.loads(saved.read_text(encoding="utf-8"))
    planned = bucket_plan(data, bucket)
    planned["new_policy"]["Statement"].append(
        {
            "Sid": "Sneaky",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
        }
    )
    saved.write_text(json.dumps(data), encoding="utf-8")
    result = ws.apply_saved(saved)
    assert result.rc == 1
    assert "writes statements bucketshare does not own to a new bucket" in result.out
    assert not exists(ws, bucket)


def test_rollback_keeps_the_created_bucket(ws: Workspace) -> None:
    bucket = bucket_name("kept")
    declare_created(ws, bucket)
    assert ws.apply().rc == 0
    assert ws.policy(bucket) is not None

    result = ws.run("rollback", Path(".bucketshare/journal.jsonl"), "--config", str(ws.config))
    assert result.rc == 0, result.text
    assert (
        f"created bucket {bucket} is kept (rollback never deletes a bucket); delete it by hand if unwanted"
    ) in result.out
    assert exists(ws, bucket)
    assert ws.policy(bucket) is None, "the policy it had before (none) is restored"


def test_a_name_another_account_took_meanwhile_is_never_touched(ws: Workspace) -> None:
    bucket = bucket_name("taken")
    declare_created(ws, bucket)
    saved = ws.root / "plan.json"
    assert ws.plan("--save", saved).rc == 0
    other = ws.moto.new_account()
    ws.moto.s3(other).create_bucket(Bucket=bucket)
    result = ws.apply_saved(saved)
    assert result.rc == 1
    # moto lets any account read the bucket (AWS would answer AccessDenied for
    # ExpectedBucketOwner): either way apply refuses before any write.
    assert f"{bucket}: FAILED: refused: the bucket exists now; run plan again" in result.out
    s3 = ws.moto.s3(other)
    with pytest.raises(Exception, match="NoSuchPublicAccessBlockConfiguration"):
        s3.get_public_access_block(Bucket=bucket)
    assert ws.moto.policy(other, bucket) is None


def test_creates_in_an_owner_account_reached_through_its_role(ws: Workspace) -> None:
    owner = ws.moto.new_account()
    ws.set_config('version: 1\nassume_role: "arn:{partition}:iam::{account}:role/bucketshare-{mode}"\n')
    bucket = bucket_name("owned")
    ws.write(
        f"{bucket}.yaml",
        f'version: 1\nbucket: {bucket}\naccount: "{owner}"\ncreate: true\ngrants:\n'
        + read_grant("222222222222"),
    )
    shown = ws.plan()
    assert f"{bucket} (account {owner}): create-bucket" in shown.out, shown.text
    applied = ws.apply()
    assert applied.rc == 0, applied.text
    assert exists(ws, bucket, owner) and not exists(ws, bucket)
    assert granted(ws.moto.policy(owner, bucket), "222222222222") == read_pairs(bucket)
