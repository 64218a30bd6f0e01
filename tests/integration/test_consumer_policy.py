"""reconciler consumer-policy against a moto server: the identity policy a grantee attaches,
for an account, for a role, and with a bucket encrypted by a customer managed KMS key."""

from __future__ import annotations

import json
import re
from typing import Any

from .conftest import Workspace, read_grant

CONSUMER = "222222222222"
ROLE = f"arn:aws:iam::{CONSUMER}:role/inference"


def consumer_policy(ws: Workspace, *args: str) -> tuple[int, dict[str, Any], str]:
    result = ws.run(
        "consumer-policy", "--shares", "shares", "--config", str(ws.config), "--format", "json", *args
    )
    return result.rc, json.loads(result.out) if result.out else {}, result.err


def granted(document: dict[str, Any]) -> set[tuple[str, str]]:
    pairs = set()
    for statement in document["Statement"]:
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        pairs |= {(a, r) for a in statement["Action"] for r in resources}
    return pairs


def test_an_account_gets_its_account_grants_across_buckets(ws: Workspace) -> None:
    first, second, other = ws.bucket("one"), ws.bucket("two"), ws.bucket("other")
    ws.declare(first, read_grant(CONSUMER, ["models/"]) + read_grant(ROLE, access="write"))
    ws.declare(second, read_grant(CONSUMER, access="write"))
    ws.declare(other, read_grant("333333333333"))

    rc, document, err = consumer_policy(ws, "--to", CONSUMER)
    assert rc == 0, err
    assert document["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in document["Statement"]]
    assert len(set(sids)) == len(sids) and all(re.fullmatch(r"[A-Za-z0-9]+", s) for s in sids)
    assert all("Principal" not in s for s in document["Statement"])
    assert granted(document) == {
        ("s3:GetObject", f"arn:aws:s3:::{first}/models/*"),
        ("s3:GetObjectVersion", f"arn:aws:s3:::{first}/models/*"),
        ("s3:ListBucket", f"arn:aws:s3:::{first}"),
        ("s3:GetBucketLocation", f"arn:aws:s3:::{first}"),
        ("s3:PutObject", f"arn:aws:s3:::{second}/*"),
        ("s3:AbortMultipartUpload", f"arn:aws:s3:::{second}/*"),
        ("s3:ListMultipartUploadParts", f"arn:aws:s3:::{second}/*"),
        ("s3:ListBucketMultipartUploads", f"arn:aws:s3:::{second}"),
    }
    listing = next(s for s in document["Statement"] if s["Action"] == ["s3:ListBucket"])
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["models/", "models/*"]}}
    assert f"run with --to {ROLE}" in err, "the role's own grants are named, not silently left out"


def test_a_role_gets_its_own_grants_and_its_accounts(ws: Workspace) -> None:
    first, second = ws.bucket("one"), ws.bucket("two")
    ws.declare(first, read_grant(ROLE, access="write") + read_grant(f"arn:aws:iam::{CONSUMER}:role/other"))
    ws.declare(second, read_grant(CONSUMER))

    rc, document, err = consumer_policy(ws, "--to", ROLE)
    assert rc == 0, err
    resources = {r for _, r in granted(document)}
    assert f"arn:aws:s3:::{first}/*" in resources and f"arn:aws:s3:::{second}/*" in resources
    assert ("s3:PutObject", f"arn:aws:s3:::{first}/*") in granted(document)
    assert ("s3:GetObject", f"arn:aws:s3:::{first}/*") not in granted(document), "that is role/other's"
    assert f"account grants of account {CONSUMER}" in err


def test_a_kms_bucket_adds_the_key_statement(ws: Workspace) -> None:
    key_arn = ws.moto.client(ws.account, "kms").create_key()["KeyMetadata"]["Arn"]
    encrypted, plain = ws.bucket("kms"), ws.bucket("plain")
    ws.moto.s3(ws.account).put_bucket_encryption(
        Bucket=encrypted,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}}
            ]
        },
    )
    ws.declare(encrypted, read_grant(CONSUMER, access="read-write"))
    ws.declare(plain, read_grant(CONSUMER))

    rc, document, err = consumer_policy(ws, "--to", CONSUMER)
    assert rc == 0, err
    (kms,) = [s for s in document["Statement"] if any(a.startswith("kms:") for a in s["Action"])]
    assert kms["Resource"] == key_arn
    assert kms["Action"] == ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"]
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}

    rc, offline, err = consumer_policy(ws, "--to", CONSUMER, "--offline")
    assert rc == 0
    assert not any(a.startswith("kms:") for s in offline["Statement"] for a in s["Action"])
    assert "KMS key statements are left out" in err
    assert granted(offline) == granted(document) - {(a, key_arn) for a in kms["Action"]}


def test_bad_input_is_one_line(ws: Workspace) -> None:
    ws.declare(ws.bucket(), read_grant(CONSUMER))
    source = ("--shares", "shares", "--config", str(ws.config))
    for to, says in (
        ("org:o-a1b2c3d4e5", "not an account id or an IAM ARN"),
        ("444444444444", "no active grant"),
    ):
        result = ws.run("consumer-policy", *source, "--to", to, "--offline")
        assert result.rc == 1 and result.out == ""
        assert result.err.count("\n") == 1 and says in result.err, result.err


def test_an_unshareable_key_is_an_error_and_the_rest_still_prints(ws: Workspace) -> None:
    bucket = ws.bucket("awskey")
    ws.moto.s3(ws.account).put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    ws.declare(bucket, read_grant(CONSUMER))
    rc, document, err = consumer_policy(ws, "--to", CONSUMER)
    assert rc == 1
    assert f"error: bucket {bucket}: default encryption uses the AWS managed key aws/s3" in err
    assert ("s3:GetObject", f"arn:aws:s3:::{bucket}/*") in granted(document)
