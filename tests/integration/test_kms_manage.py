"""`kms: manage`: the key policy of a bucket's customer managed key is reconciled like a
bucket policy, over HTTP against moto: our statements added, the key administrators' and
every other statement kept exactly, the stale check, the journal and rollback."""

from __future__ import annotations

import json
from typing import Any

from .conftest import Workspace, bucket_plan, read_grant
from .helpers import READER, encrypted_bucket, key_with_policy


def key_policy(kms: Any, key_arn: str) -> str:
    return str(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])


def test_manage_reconciles_the_key_policy_and_rollback_restores_it(ws: Workspace) -> None:
    kms, key_arn, before = key_with_policy(ws)
    bucket = encrypted_bucket(ws, key_arn)
    saved = ws.root / "plan.json"
    result, plan = ws.plan_json("--save", saved)
    assert result.rc == 0, result.text
    [key] = plan["keys"]
    assert (key["bucket"], key["kind"], key["action"], key["key_users"]) == (
        key_arn,
        "key-policy",
        "put-policy",
        [bucket],
    )
    assert key["kept_statements"] == 2 and key["size_limit"] == 32768
    assert sorted(c["sid"] for c in key["changes"]) == [
        "BucketShareKmsReadAccount",
        "BucketShareKmsWriteAccount",
    ]
    # The bucket no longer warns that bucketshare leaves the key alone: the key has its plan.
    assert not [w for w in bucket_plan(plan, bucket)["warnings"] if "does not change key policies" in w]
    shown = ws.plan()
    assert f"key policy of {key_arn} (for {bucket})" in shown.out
    assert "KMS key policies: 1 to change" in shown.out

    applied = ws.apply_saved(saved)
    assert applied.rc == 0, applied.text
    assert f"{key_arn}: ok: wrote the policy" in applied.out
    written = json.loads(key_policy(kms, key_arn))
    # The administrators' and the analytics statements exactly, in order; then ours.
    assert written["Statement"][:2] == json.loads(before)["Statement"]
    assert written["Id"] == "key-consolepolicy-3"
    ours = {s["Sid"]: s for s in written["Statement"][2:]}
    assert ours["BucketShareKmsReadAccount"]["Principal"] == {"AWS": [f"arn:aws:iam::{READER}:root"]}
    assert ours["BucketShareKmsReadAccount"]["Action"] == ["kms:Decrypt"]
    assert ours["BucketShareKmsWriteAccount"]["Action"] == [
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey*",
    ]
    journal = [json.loads(line) for line in (ws.root / ".bucketshare/journal.jsonl").read_text().splitlines()]
    assert {(e["bucket"], e["kind"]) for e in journal} == {(bucket, "bucket-policy"), (key_arn, "key-policy")}

    again, second = ws.plan_json("--detailed-exitcode")
    assert again.rc == 0, again.text
    assert [k["action"] for k in second["keys"]] == ["no-op"]

    rolled = ws.run("rollback", ".bucketshare/journal.jsonl")
    assert rolled.rc == 0, rolled.text
    assert key_policy(kms, key_arn) == before  # byte for byte
    assert ws.policy_text(bucket) is None


def test_a_key_policy_changed_since_the_plan_is_not_written(ws: Workspace) -> None:
    kms, key_arn, _ = key_with_policy(ws)
    bucket = encrypted_bucket(ws, key_arn)
    saved = ws.root / "plan.json"
    assert ws.plan("--save", saved).rc == 0
    edited = json.loads(key_policy(kms, key_arn))
    edited["Statement"].append({**edited["Statement"][1], "Sid": "Added by hand meanwhile"})
    kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=json.dumps(edited))

    applied = ws.apply_saved(saved)
    assert applied.rc == 1
    assert f"{key_arn}: FAILED: the live policy changed since the plan; run plan again" in applied.out
    assert f"{bucket}: ok: wrote the policy" in applied.out  # other resources go on
    assert json.loads(key_policy(kms, key_arn)) == edited


def test_warn_mode_plans_no_key_and_writes_none(ws: Workspace) -> None:
    kms, key_arn, before = key_with_policy(ws)
    bucket = encrypted_bucket(ws, key_arn, mode="warn")
    result, plan = ws.plan_json()
    assert result.rc == 0, result.text
    assert plan["keys"] == []
    assert any("kms: manage would" in w for w in bucket_plan(plan, bucket)["warnings"])
    assert ws.apply().rc == 0
    assert key_policy(kms, key_arn) == before


def test_a_key_policy_kms_would_refuse_is_a_plan_error(ws: Workspace) -> None:
    kms, key_arn, _ = key_with_policy(ws)
    big = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"Team{i}",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::444444444444:role/team-{i:03d}-" + "x" * 40},
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": "*",
            }
            for i in range(260)
        ],
    }
    kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=json.dumps(big))
    bucket = encrypted_bucket(ws, key_arn)
    result, plan = ws.plan_json()
    assert result.rc == 1
    [key] = plan["keys"]
    assert key["action"] == "error"
    assert "over KMS's 32768-byte limit" in key["errors"][0]
    applied = ws.apply()
    assert applied.rc == 1
    assert f"{key_arn}: FAILED: the merged key policy would be" in applied.out
    assert json.loads(key_policy(kms, key_arn)) == big
    # The bucket's own policy does not wait for its key: it is written.
    assert "BucketShare" in (ws.policy_text(bucket) or "")


def test_the_last_grant_going_takes_our_statements_out_of_the_key_policy(ws: Workspace) -> None:
    kms, key_arn, before = key_with_policy(ws)
    bucket = encrypted_bucket(ws, key_arn)
    assert ws.apply().rc == 0
    assert "BucketShareKmsReadAccount" in key_policy(kms, key_arn)
    ws.write(
        f"{bucket}.yaml", f'version: 1\nbucket: {bucket}\naccount: "{ws.account}"\nowner: ml\nkms: manage\n'
    )
    result, plan = ws.plan_json()
    assert result.rc == 0, result.text
    [key] = plan["keys"]
    assert sorted((c["sid"], c["kind"]) for c in key["changes"]) == [
        ("BucketShareKmsReadAccount", "remove"),
        ("BucketShareKmsWriteAccount", "remove"),
    ]
    assert ws.apply().rc == 0
    assert json.loads(key_policy(kms, key_arn)) == json.loads(before)


def test_a_bucket_to_create_does_not_stop_the_keys_of_its_account(ws: Workspace) -> None:
    _, key_arn, _ = key_with_policy(ws)
    encrypted_bucket(ws, key_arn)
    new = f"bs-new-{ws.account}"
    ws.write(
        f"{new}.yaml",
        f'version: 1\nbucket: {new}\naccount: "{ws.account}"\nowner: ml\nkms: manage\ncreate: true\n'
        f"grants:\n{read_grant(READER)}",
    )
    result, plan = ws.plan_json()
    assert result.rc == 0, result.text
    assert bucket_plan(plan, new)["action"] == "create-bucket"
    [key] = plan["keys"]
    assert key["action"] == "put-policy" and new not in key["key_users"]
