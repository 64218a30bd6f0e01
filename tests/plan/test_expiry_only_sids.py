"""An expiry-only change is recognised even where two statement shapes share a Sid: the Sids
the expired grants would have are counted per shape, as a render groups them. (reconciler.yaml
now refuses levels whose Sids collide, as x1 and x-1 do; the levels here are built directly.)"""

from __future__ import annotations

import datetime as dt
import json

from reconciler.declare.config import Config
from reconciler.declare.model import BucketShare, Grant
from reconciler.declare.share_file import parse_grantee
from reconciler.errors import Location
from reconciler.live.policy import LivePolicy
from reconciler.plan.bucket import build_plan
from reconciler.policy.access import Access, Actions
from reconciler.policy.render import render_bucket

TODAY = dt.date(2026, 12, 8)
BUCKET = "acme-model-artifacts"
OWNER = "111111111111"


def _grant(to: str, access: Access, line: int, expires: dt.date | None = None) -> Grant:
    problem, grantee = parse_grantee(to, "aws")
    assert problem is None and grantee is not None, problem
    return Grant(grantee, access, (), Location("shares/a.yaml", line, 5), expires=expires)


def _level(name: str, action: str) -> Access:
    return Access(name, Actions(objects=(action,), listing=(), bucket=(), key=("kms:Decrypt",)))


def test_expiry_only_when_two_levels_render_the_same_sid() -> None:
    # Levels `x1` and `x-1` both name their statements ...ObjectsX1AccountAll (S3 accepts a
    # policy with a repeated Sid, AWS-BEHAVIOUR.md). With the policy as it was before a grant
    # expired, the plan only removes the expired grant: the scheduled run may apply it.
    grants = (
        _grant("222222222222", _level("x1", "s3:GetObject"), 5),
        _grant("333333333333", _level("x-1", "s3:GetObjectVersion"), 7),
        _grant("444444444444", Access.READ, 9, expires=dt.date(2020, 1, 1)),
    )
    share = BucketShare(BUCKET, OWNER, grants, (Location("shares/a.yaml", 1, 1),))
    desired = render_bucket(share, Config(), TODAY)
    before = [s.statement for s in desired.with_expired or ()]
    assert [s["Sid"] for s in before].count("BucketShareObjectsX1AccountAll") == 2
    live = LivePolicy(BUCKET, OWNER, json.dumps({"Version": "2012-10-17", "Statement": before}))
    (bucket_plan,) = build_plan([desired], [live], "BucketShare", "aws").buckets
    assert bucket_plan.changes
    assert bucket_plan.expiry_only
