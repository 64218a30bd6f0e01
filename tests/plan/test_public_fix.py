"""A public statement kept beside ours refuses the write, and the refusal says how to fix it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from reconciler.declare.config import Config
from reconciler.declare.model import BucketShare, Grant
from reconciler.declare.share_file import parse_grantee
from reconciler.errors import Location
from reconciler.live.policy import LivePolicy
from reconciler.plan.bucket import plan_bucket
from reconciler.plan.model import BucketAction
from reconciler.policy.access import Access
from reconciler.policy.render import render_bucket

BUCKET = "acme-models"
ARN = f"arn:aws:s3:::{BUCKET}"
ORG = "o-a1b2c3d4e5"
REMOVE = (
    f"or remove it: aws s3api get-bucket-policy --bucket {BUCKET} --query Policy --output text "
    f"> policy.json, delete the statement, aws s3api put-bucket-policy --bucket {BUCKET} --policy file://policy.json"
)
PUBLIC = (
    "would make the bucket public (S3 Block Public Access would refuse it or, with RestrictPublicBuckets, "
    "cut off every cross-account grant)"
)


def _errors(*kept: dict[str, Any]) -> tuple[str, ...]:
    _, grantee = parse_grantee("222222222222", "aws")
    assert grantee is not None
    grant = Grant(grantee, Access.READ, (), Location("shares/a.yaml", 5, 5))
    share = BucketShare(BUCKET, "111111111111", (grant,), (Location("shares/a.yaml", 2, 9),))
    desired = render_bucket(share, Config(), dt.date(2026, 1, 1))
    live = json.dumps({"Version": "2012-10-17", "Statement": list(kept)})
    result = plan_bucket(desired, LivePolicy(BUCKET, "111111111111", live), "BucketShare", "aws")
    assert result.action is BucketAction.ERROR
    return result.errors


def _read(**extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"{ARN}/*", **extra}


def test_a_public_statement_without_a_sid_is_named_by_position() -> None:
    deny = {
        "Sid": "Tls",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": f"{ARN}/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    assert _errors(deny, _read()) == (
        f"statement 2 (no Sid) {PUBLIC}: add a condition with fixed values that fixes who may use it "
        f"(StringEquals aws:PrincipalOrgID, aws:PrincipalAccount or aws:SourceVpce); {REMOVE}",
    )


def test_org_paths_alone_is_told_to_add_the_org_id() -> None:
    paths = {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": f"{ORG}/r-ab12/ou-ab12-11111111/*"}}
    assert _errors(_read(Sid="OuRead", Condition=paths)) == (
        f"statement OuRead {PUBLIC}: add StringEquals aws:PrincipalOrgID {ORG} beside its "
        f"aws:PrincipalOrgPaths; {REMOVE}",
    )


def test_a_wildcard_in_a_fixing_key_is_told_to_fix_the_values() -> None:
    like = {"StringLike": {"aws:PrincipalAccount": "2222*"}}
    assert _errors(_read(Sid="Like", Condition=like)) == (
        f"statement Like {PUBLIC}: give its aws:principalaccount condition fixed values (no *, ? or policy "
        f"variables); {REMOVE}",
    )
