"""Helpers integration tests share: what a policy grants, fleets of buckets, a KMS-encrypted
bucket, a saved plan."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from reconciler.plan.file_read import loads
from reconciler.plan.model import Plan
from reconciler.policy.normalize import equivalent_policies

from .conftest import Workspace, read_grant, statement


def granted(policy: dict[str, Any] | None, account: str) -> set[tuple[str, str]]:
    """(action, resource) pairs an Allow statement with the account's root principal grants."""
    pairs: set[tuple[str, str]] = set()
    for item in (policy or {}).get("Statement", []):
        principals = item.get("Principal", {})
        names = principals.get("AWS", []) if isinstance(principals, dict) else []
        names = names if isinstance(names, list) else [names]
        if item.get("Effect") != "Allow" or f"arn:aws:iam::{account}:root" not in names:
            continue
        actions = item["Action"] if isinstance(item["Action"], list) else [item["Action"]]
        resources = item["Resource"] if isinstance(item["Resource"], list) else [item["Resource"]]
        pairs |= {(a, r) for a in actions for r in resources}
    return pairs


def read_pairs(bucket: str, prefix: str = "") -> set[tuple[str, str]]:
    return {
        ("s3:GetObject", f"arn:aws:s3:::{bucket}/{prefix}*"),
        ("s3:GetObjectVersion", f"arn:aws:s3:::{bucket}/{prefix}*"),
        ("s3:ListBucket", f"arn:aws:s3:::{bucket}"),
        ("s3:GetBucketLocation", f"arn:aws:s3:::{bucket}"),
    }


LATENCY = 0.05
OWNED_BY_US = "BucketShareObjectsReadAccountAll"
READER, WRITER = "222222222222", "333333333333"
"""The grantees of encrypted_bucket's declaration."""


@dataclass(frozen=True)
class Bucket:
    name: str
    old: str | None
    """The policy text before apply, exactly as stored."""
    unmanaged: dict[str, Any] | None
    declared: bool


def make_fleet(ws: Workspace, count: int) -> list[Bucket]:
    """count buckets in four kinds: no policy; an unmanaged statement; an unmanaged statement
    beside an old grant of ours (replaced); and an old grant of ours only, undeclared (deleted)."""

    def one(index: int) -> Bucket:
        name = ws.bucket(f"k{index % 4}")
        kind = index % 4
        theirs = statement(f"Theirs{index}", name) if kind in (1, 2) else None
        ours = {
            "Sid": OWNED_BY_US,
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::444444444444:root"},
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": f"arn:aws:s3:::{name}/*",
        }
        held = [s for s in (theirs, ours if kind in (2, 3) else None) if s is not None]
        old = ws.put_policy(name, {"Version": "2012-10-17", "Statement": held}) if held else None
        return Bucket(name, old, theirs, declared=kind != 3)

    with ThreadPoolExecutor(8) as pool:
        fleet = list(pool.map(one, range(count)))
    for bucket in fleet:
        if bucket.declared:
            ws.declare(bucket.name, read_grant("222222222222"))
    return fleet


def live_policies(ws: Workspace, names: Sequence[str]) -> dict[str, str | None]:
    with ThreadPoolExecutor(8) as pool:
        return dict(zip(names, pool.map(ws.policy_text, names), strict=True))


def same(left: str | None, right: str | None) -> bool:
    parse = json.loads
    return equivalent_policies(None if left is None else parse(left), None if right is None else parse(right))


def key_with_policy(ws: Workspace) -> tuple[Any, str, str]:
    """A customer managed key whose policy holds the administrators' statement and a
    hand-written one for another team, stored pretty-printed as a console would."""
    kms = ws.moto.client(ws.account, "kms")
    key_arn = kms.create_key(Description="models")["KeyMetadata"]["Arn"]
    policy = {
        "Version": "2012-10-17",
        "Id": "key-consolepolicy-3",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ws.account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "Allow use of the key by analytics",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::444444444444:role/analytics"},
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": "*",
            },
        ],
    }
    text = json.dumps(policy, indent=4)
    kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=text)
    return kms, key_arn, text


def encrypted_bucket(ws: Workspace, key_arn: str, mode: str = "manage") -> str:
    bucket = ws.bucket("kms")
    ws.moto.s3(ws.account).put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}}
            ]
        },
    )
    grants = read_grant(READER) + f'  - to: "{WRITER}"\n    access: write\n    prefixes: [incoming/]\n'
    ws.write(
        f"{bucket}.yaml",
        f'version: 1\nbucket: {bucket}\naccount: "{ws.account}"\nowner: ml\nkms: {mode}\ngrants:\n{grants}',
    )
    return bucket


def saved_plan(ws: Workspace, grantee: str, names: list[str], label: str) -> Plan:
    for name in names:
        ws.declare(name, read_grant(grantee))
    path = ws.root / f"plan-{label}.json"
    assert ws.plan("--save", path).rc == 0
    return loads(path.read_text(encoding="utf-8"), str(path))
