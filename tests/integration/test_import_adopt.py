"""reconciler import (and --adopt) against a moto server: a hand-written policy becomes a
declaration, and adopting it swaps hand-written statements for managed ones in one write."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from policy_evaluator import Request, is_allowed

from .conftest import Workspace
from .iam_recorder import RECORDER

READER = "222222222222"
ROLE = "arn:aws:iam::333333333333:role/inference"
WRITER = "555555555555"


def hand_written(bucket: str) -> dict[str, Any]:
    """The shape of a policy people write in the console: several statements, mixed
    principals, a Deny, a condition bucketshare does not model, a statement without a Sid."""
    arn = f"arn:aws:s3:::{bucket}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "InferenceRead",
                "Effect": "Allow",
                "Principal": {"AWS": [READER, ROLE]},
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": f"{arn}/models/*",
            },
            {
                "Sid": "InferenceList",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{READER}:root", ROLE]},
                "Action": ["s3:ListBucket"],
                "Resource": arn,
                "Condition": {"StringLike": {"s3:prefix": ["models/", "models/*"]}},
            },
            {
                "Sid": "InferenceLocation",
                "Effect": "Allow",
                "Principal": {"AWS": [READER, ROLE]},
                "Action": "s3:GetBucketLocation",
                "Resource": arn,
            },
            {
                "Sid": "VpceOnly",
                "Effect": "Allow",
                "Principal": {"AWS": WRITER},
                "Action": ["s3:PutObject"],
                "Resource": f"{arn}/uploads/*",
                "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": "AROAEXAMPLEORPHAN123"},
                "Action": "s3:GetObject",
                "Resource": f"{arn}/legacy/*",
            },
        ],
    }


def import_bucket(ws: Workspace, bucket: str, *extra: str) -> Any:
    return ws.run("import", "--shares", "shares", "--config", str(ws.config), "--bucket", bucket, *extra)


def test_import_writes_a_declaration_that_validates(ws: Workspace) -> None:
    bucket = ws.bucket("import")
    policy = hand_written(bucket)
    del policy["Statement"][5]  # an orphaned id makes every write fail: see the adopt test
    ws.put_policy(bucket, policy)

    result = import_bucket(ws, bucket)
    assert result.rc == 0, result.text
    assert f"wrote shares/{bucket}.yaml: 2 grants, 2 statements left unmanaged" in result.out
    text = (ws.shares / f"{bucket}.yaml").read_text(encoding="utf-8")
    assert "Sid 'DenyInsecureTransport': Effect 'Deny'" in text
    assert "Sid 'VpceOnly': condition StringEquals aws:sourcevpce is not one bucketshare renders" in text
    document = yaml.safe_load(text)
    assert document["account"] == ws.account
    assert {(g["to"], g["access"], tuple(g["prefixes"])) for g in document["grants"]} == {
        (READER, "read", ("models/",)),
        (ROLE, "read", ("models/",)),
    }
    assert "adopt" not in document
    assert ws.run("validate", "--shares", "shares", "--config", str(ws.config)).rc == 0

    # Without --adopt nothing hand-written goes: the managed statements come beside them.
    _, plan = ws.plan_json()
    [bucket_plan] = [b for b in plan["buckets"] if b["bucket"] == bucket]
    assert bucket_plan["action"] == "put-policy"
    assert bucket_plan["kept_statements"] == 5
    assert {c["kind"] for c in bucket_plan["changes"]} == {"add"}


def test_import_refuses_to_overwrite_and_needs_a_readable_bucket(ws: Workspace) -> None:
    bucket = ws.bucket("import")
    ws.declare(bucket, "  []\n")
    result = import_bucket(ws, bucket)
    assert result.rc == 1
    expected = f"shares/{bucket}.yaml: already exists; pass --force to overwrite it, or --out another file"
    assert result.err == f"error: {expected}\n"

    missing = import_bucket(ws, "bs-no-such-bucket-here", "--account", ws.account)
    assert missing.rc == 1
    assert "bucket does not exist" in missing.err and "Traceback" not in missing.err

    bad = import_bucket(ws, bucket, "--account", "12345")
    assert bad.rc == 1 and "--account: account id '12345' must be exactly 12 digits" in bad.err


def test_import_needs_to_know_the_owner_account(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("reconciler.edge.s3.S3Edge.caller_account", lambda _: None)
    result = import_bucket(ws, ws.bucket("import"))
    assert result.rc == 1
    assert result.err == (
        "error: cannot tell which account owns the bucket: sts:GetCallerIdentity failed; pass --account\n"
    )


def test_import_of_a_bucket_without_a_policy_writes_no_grants(ws: Workspace) -> None:
    bucket = ws.bucket("import")
    out = ws.root / "elsewhere.yaml"
    result = import_bucket(ws, bucket, "--account", ws.account, "--out", str(out))
    assert result.rc == 0, result.text
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["grants"] == []


def test_import_comment_cannot_be_escaped_by_a_sid(ws: Workspace) -> None:
    bucket = ws.bucket("import")
    arn = f"arn:aws:s3:::{bucket}"
    evil = "x\ngrants:\n  - to: '999999999999'\u2028"
    ws.put_policy(
        bucket,
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": evil, "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": f"{arn}/*"}
            ],
        },
    )
    assert import_bucket(ws, bucket).rc == 0
    text = (ws.shares / f"{bucket}.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(text)["grants"] == []
    assert "\ngrants:\n  - to: '999999999999'" not in text and "\u2028" not in text
    assert 'Sid "x\\ngrants:' in text  # shown escaped, on the comment line


def requests_allowed_by(statement: dict[str, Any]) -> list[Request]:
    """One concrete request per (principal, action, resource) an Allow statement names."""
    principal = statement["Principal"]["AWS"]
    callers = [
        name if ":role/" in name else f"arn:aws:iam::{name.split(':')[4] if ':' in name else name}:role/any"
        for name in (principal if isinstance(principal, list) else [principal])
    ]
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    prefixes = statement.get("Condition", {}).get("StringLike", {}).get("s3:prefix") or [None]
    return [
        Request(
            caller, action, resource.replace("*", "model.bin"), s3_prefix=prefix and prefix.replace("*", "x/")
        )
        for caller in callers
        for action in actions
        for resource in resources
        for prefix in (prefixes if isinstance(prefixes, list) else [prefixes])
    ]


def puts(request: pytest.FixtureRequest, bucket: str) -> int:
    return sum(
        1
        for op in RECORDER.operations
        if op.test == request.node.nodeid and op.name == "PutBucketPolicy" and op.bucket == bucket
    )


def test_import_adopt_apply_replaces_hand_written_statements_without_a_lapse(
    ws: Workspace, request: pytest.FixtureRequest
) -> None:
    bucket = ws.bucket("adopt")
    before = hand_written(bucket)
    del before["Statement"][5]  # the orphaned id: S3 refuses every write holding it
    ws.put_policy(bucket, before)
    adopted = ["InferenceRead", "InferenceList", "InferenceLocation"]

    imported = import_bucket(ws, bucket, "--adopt")
    assert imported.rc == 0, imported.text
    path = ws.shares / f"{bucket}.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert document["adopt"] == adopted
    assert ws.run("validate", "--shares", "shares", "--config", str(ws.config)).rc == 0

    shown = ws.plan()
    assert shown.rc == 0, shown.text
    lines = path.read_text(encoding="utf-8").splitlines()
    line, col = next(
        (n, t.index("Inf") + 1) for n, t in enumerate(lines, 1) if t.strip() == "- InferenceRead"
    )
    where = f"shares/{bucket}.yaml:{line}:{col}"
    assert f"replaces hand-written statement InferenceRead (adopted at {where})" in shown.out
    assert "gains" not in shown.out  # nobody gains: they had this access already
    saved = ws.root / "plan.json"
    assert ws.plan("--save", saved).rc == 0

    applied = ws.apply_saved(saved)
    assert applied.rc == 0, applied.text
    # One PutBucketPolicy replaced the adopted statements: no moment without either.
    assert puts(request, bucket) == 1

    after = ws.policy(bucket) or {}
    kept = [s for s in after["Statement"] if not s["Sid"].startswith("BucketShare")]
    assert kept == [before["Statement"][0], before["Statement"][4]]  # as read, in order
    assert not {s["Sid"] for s in after["Statement"]} & set(adopted)

    # The suite's evaluator does not read Bool; the Deny is in both policies unchanged.
    def readable(policy: dict[str, Any]) -> dict[str, Any]:
        return {**policy, "Statement": [s for s in policy["Statement"] if s["Effect"] == "Allow"]}

    checked = 0
    for statement in before["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        for wanted in requests_allowed_by(statement):
            if is_allowed(readable(before), wanted):
                checked += 1
                assert is_allowed(readable(after), wanted), f"{wanted} lost access (from {statement['Sid']})"
    assert checked >= 10

    again = ws.plan()
    assert again.rc == 0 and ws.shown_action(again.out, bucket) == "no-op"
    assert "(adopted before?); remove it from adopt:" in again.out


def test_adopt_refuses_a_statement_changed_by_hand_since_import(ws: Workspace) -> None:
    bucket = ws.bucket("adopt")
    policy = hand_written(bucket)
    del policy["Statement"][5]
    ws.put_policy(bucket, policy)
    assert import_bucket(ws, bucket, "--adopt").rc == 0
    policy["Statement"][1]["Principal"]["AWS"].append("666666666666")
    ws.put_policy(bucket, policy)

    result, plan = ws.plan_json()
    assert result.rc == 1
    [bucket_plan] = [b for b in plan["buckets"] if b["bucket"] == bucket]
    assert bucket_plan["action"] == "error"
    assert (
        "statement 'InferenceRead' cannot be adopted: it grants account 666666666666"
        in bucket_plan["errors"][0]
    )
    assert ws.apply().rc == 1
    assert ws.policy(bucket) == policy
