"""Effective access over HTTP: a kept Deny that AWS would apply to a new grant's requests is
reported (warning, "blocked by Sid X" in the terminal, the comment and the JSON plan), the
rest of the bucket's plan goes ahead; a TLS-only Deny, which no compliant client meets, is not."""

from __future__ import annotations

from typing import Any

from .conftest import Workspace

READER = "222222222222"
ETL = "arn:aws:iam::444444444444:role/etl"
READ = "s3:GetBucketLocation, s3:GetObject, s3:GetObjectVersion, s3:ListBucket"


def _deny(bucket: str, sid: str, condition: dict[str, Any]) -> dict[str, Any]:
    arn = f"arn:aws:s3:::{bucket}"
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": condition,
    }


def test_a_grant_a_kept_deny_blocks_is_reported_and_the_rest_goes_ahead(ws: Workspace) -> None:
    bucket = ws.bucket("effective")
    only_etl = _deny(bucket, "OnlyEtl", {"StringNotEquals": {"aws:PrincipalArn": ETL}})
    ws.put_policy(bucket, {"Version": "2012-10-17", "Statement": [only_etl]})
    where = ws.declare(bucket, f'  - to: "{READER}"\n    access: read\n  - to: "{ETL}"\n    access: write\n')

    shown = ws.plan()
    assert shown.rc == 0, shown.text
    warning = (
        f"warning: {where}:6:5: account {READER} gains read on the whole bucket, but kept Sid OnlyEtl "
        f"denies it {READ}: AWS refuses those requests until that statement is changed by hand"
    )
    assert warning in shown.out.replace("\n  ", " ")
    assert "blocked by Sid OnlyEtl" in shown.out
    # The role the Deny spares is not reported: only one grant is blocked.
    assert shown.out.count("blocked by Sid OnlyEtl") == 1, shown.out

    out = ws.root / "plan.md"
    assert ws.plan("--format", "markdown", "--out", out).rc == 0
    comment = out.read_text(encoding="utf-8")
    row = next(line for line in comment.splitlines() if line.startswith("| account"))
    assert "**blocked by** Sid `OnlyEtl`" in row, row
    assert not any("blocked" in line for line in comment.splitlines() if line.startswith("| role"))

    _, plan = ws.plan_json()
    rows = {r["grantee"]: r for r in plan["buckets"][0]["access_changes"]}
    blocked = rows[f"account {READER}"]["blocked_by"]
    assert blocked == [{"sid": "OnlyEtl", "position": 1, "actions": READ.split(", ")}]
    assert rows[f"role {ETL}"]["blocked_by"] == []

    applied = ws.apply()
    assert applied.rc == 0, applied.text
    statements = (ws.policy(bucket) or {})["Statement"]
    assert statements[0] == only_etl
    assert len(statements) > 1


def test_a_tls_only_deny_blocks_nothing(ws: Workspace) -> None:
    bucket = ws.bucket("effective")
    tls_only = _deny(bucket, "TlsOnly", {"Bool": {"aws:SecureTransport": "false"}})
    ws.put_policy(bucket, {"Version": "2012-10-17", "Statement": [tls_only]})
    ws.declare(bucket, f'  - to: "{READER}"\n    access: read-write\n')

    shown = ws.plan()
    assert shown.rc == 0, shown.text
    assert f"account {READER} gains read-write" in shown.out
    assert "blocked" not in shown.out and "TlsOnly" not in shown.out
    _, plan = ws.plan_json()
    assert [r["blocked_by"] for r in plan["buckets"][0]["access_changes"]] == [[]]
    assert not any("TlsOnly" in w for w in plan["buckets"][0]["warnings"])
