"""create-bucket: planning a declared bucket that does not exist, its digest, its saved form,
how every view shows it, and the checks apply makes before creating it. Pure: no AWS."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from io import StringIO

import pytest

from reconciler.declare.config import Config
from reconciler.declare.model import BucketShare, Grant
from reconciler.declare.share_file import parse_grantee
from reconciler.errors import BucketshareError, Location
from reconciler.live.policy import LivePolicy, ReadError
from reconciler.plan.bucket import build_plan
from reconciler.plan.digest import (
    decode_reviewed,
    digest_lines,
    encode_reviewed,
    plan_digest,
    unreviewed_changes,
)
from reconciler.plan.file_read import loads
from reconciler.plan.file_write import dumps, plan_to_dict
from reconciler.plan.model import NO_BUCKET_HASH, BucketAction, BucketPlan, Creation, Plan
from reconciler.plan.scheduled import select_scheduled
from reconciler.plan.verify import EXISTS_NOW, check_creation_against_live
from reconciler.policy.access import Access
from reconciler.policy.render import DesiredBucket, render_bucket
from reconciler.report.markdown import render_markdown
from reconciler.report.summary import totals
from reconciler.report.terminal import make_console, render_terminal

TODAY = dt.date(2026, 1, 15)
BUCKET = "acme-new-models"
OWNER = "111111111111"
YAML = "shares/new.yaml"
MISSING = "bucket does not exist; create it in account 111111111111 or remove its declaration"


def desired(create: bool = True, versioning: bool = False, grants: int = 1) -> DesiredBucket:
    problem, grantee = parse_grantee("222222222222", "aws")
    assert problem is None and grantee is not None
    items = tuple(Grant(grantee, Access.READ, (), Location(YAML, 6, 5)) for _ in range(grants))
    share = BucketShare(BUCKET, OWNER, items, (Location(YAML, 2, 9),), (), (), create, versioning)
    return render_bucket(share, Config(), TODAY)


def no_bucket() -> LivePolicy:
    return LivePolicy(BUCKET, OWNER, None, MISSING, ReadError.NO_BUCKET)


def plan_of(want: DesiredBucket, live: LivePolicy | None = None, region: str | None = "eu-west-1") -> Plan:
    return build_plan([want], [live or no_bucket()], "BucketShare", "aws", region=region)


def test_a_missing_bucket_with_create_plans_its_creation_and_policy() -> None:
    plan = plan_of(desired(versioning=True))
    (bucket,) = plan.buckets
    assert bucket.action is BucketAction.CREATE
    assert bucket.create == Creation("eu-west-1", versioning=True)
    assert bucket.live_hash == NO_BUCKET_HASH
    assert bucket.errors == ()
    statements = (bucket.new_policy or {})["Statement"]
    assert [s["Sid"] for s in statements] == [s.sid for s in desired().statements]
    assert {c.kind.value for c in bucket.changes} == {"add"}
    assert [row.direction.value for row in bucket.access] == ["gains"]
    assert plan.has_changes and not plan.has_errors


def test_without_create_a_missing_bucket_stays_an_error() -> None:
    (bucket,) = plan_of(desired(create=False)).buckets
    assert bucket.action is BucketAction.ERROR
    assert bucket.errors == (MISSING,)
    assert bucket.create is None


def test_a_bucket_to_create_without_grants_is_created_without_a_policy() -> None:
    (bucket,) = plan_of(desired(grants=0)).buckets
    assert (bucket.action, bucket.new_policy, bucket.changes) == (BucketAction.CREATE, None, ())


def test_an_existing_bucket_with_create_is_planned_as_usual() -> None:
    (bucket,) = plan_of(desired(), LivePolicy(BUCKET, OWNER, None)).buckets
    assert bucket.action is BucketAction.PUT and bucket.create is None and bucket.live_hash == "none"


def test_other_read_errors_are_not_creations() -> None:
    denied = LivePolicy(BUCKET, OWNER, None, "access denied", ReadError.DENIED)
    (bucket,) = plan_of(desired(), denied).buckets
    assert bucket.action is BucketAction.ERROR and bucket.create is None


def test_no_region_is_an_error_not_a_guess() -> None:
    (bucket,) = plan_of(desired(), region=None).buckets
    assert bucket.action is BucketAction.ERROR
    assert bucket.errors[-1].startswith("cannot plan creating the bucket: no AWS region is set")


def test_the_digest_covers_the_creation() -> None:
    base = plan_of(desired())
    (line,) = digest_lines(base)
    assert line.split("\t")[:4] == [BUCKET, OWNER, "create-bucket", "no-bucket"]
    variants = [
        plan_of(desired(versioning=True)),
        plan_of(desired(), region="us-east-1"),
        plan_of(desired(grants=0)),
        # The same policy onto an existing empty bucket is another change.
        plan_of(desired(), LivePolicy(BUCKET, OWNER, None)),
    ]
    assert len({plan_digest(base), *(plan_digest(v) for v in variants)}) == 1 + len(variants)


def test_a_creation_someone_did_meanwhile_is_named_since_review() -> None:
    reviewed = decode_reviewed(encode_reviewed(digest_lines(plan_of(desired()))) or "")
    assert reviewed is not None
    now = plan_of(desired(), LivePolicy(BUCKET, OWNER, None))
    assert unreviewed_changes([reviewed], now) == [
        f"{BUCKET}: was create-bucket in the reviewed plan, is put-policy now"
    ]


def test_saved_plans_round_trip_the_creation() -> None:
    plan = plan_of(desired(versioning=True))
    data = plan_to_dict(plan)
    (bucket,) = data["buckets"]
    assert bucket["create"] == {"region": "eu-west-1", "versioning": True}
    assert (bucket["arn"], bucket["uri"]) == (f"arn:aws:s3:::{BUCKET}", f"s3://{BUCKET}")
    assert data["summary"]["create_bucket"] == 1
    again = loads(dumps(plan), "plan.json")
    assert again == plan
    assert plan_digest(again) == plan_digest(plan)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        pytest.param({"create": None}, "plan.buckets[0].create is missing", id="create-dropped"),
        pytest.param({"create": {"region": "eu-west-1"}}, "create.versioning is missing", id="no-versioning"),
        pytest.param(
            {"create": {"region": 1, "versioning": True}}, "create.region must be a string", id="region"
        ),
        pytest.param({"create": "yes"}, "plan.buckets[0].create must be an object", id="not-object"),
        pytest.param(
            {"action": "put-policy"},
            "create must be null unless action is create-bucket",
            id="put-with-create",
        ),
    ],
)
def test_the_loader_refuses_a_creation_that_does_not_add_up(edit: dict[str, object], message: str) -> None:
    data = json.loads(dumps(plan_of(desired())))
    data["buckets"][0].update(edit)
    with pytest.raises(BucketshareError, match="malformed plan") as caught:
        loads(json.dumps(data), "plan.json")
    assert message in str(caught.value)


def test_every_view_shows_the_creation_and_the_bucket_names() -> None:
    plan = plan_of(desired(versioning=True))
    out = StringIO()
    render_terminal(plan, make_console(out))
    text = out.getvalue()
    assert f"{BUCKET} (account {OWNER}): create-bucket" in text
    assert f"  arn:aws:s3:::{BUCKET}  s3://{BUCKET}" in text
    described = (
        "creates the bucket in eu-west-1: Block Public Access (all four settings on), object ownership "
        "BucketOwnerEnforced, default encryption SSE-S3 (AES256, bucket key), versioning enabled"
    )
    assert f"  {described}" in text
    assert "1 bucket to change (1 create-bucket, 0 put-policy, 0 delete-policy)" in totals(plan)
    markdown = render_markdown(plan)
    assert f"- `arn:aws:s3:::{BUCKET}` · `s3://{BUCKET}`" in markdown
    assert f"<summary>{BUCKET} ({OWNER})&#58; create-bucket, " in markdown
    assert "Block Public Access" in markdown


def test_plans_without_creations_keep_their_totals_line() -> None:
    plan = plan_of(desired(), LivePolicy(BUCKET, OWNER, None))
    assert totals(plan).startswith("1 bucket to change (1 put-policy, 0 delete-policy)")


def test_the_scheduled_run_never_creates_without_drift_fix() -> None:
    plan = plan_of(desired())
    (held,) = select_scheduled(plan, fix_all_drift=False).buckets
    assert held.action is BucketAction.NOOP and held.create is None
    assert select_scheduled(plan, fix_all_drift=True) == plan


def planned() -> BucketPlan:
    (bucket,) = plan_of(desired()).buckets
    return bucket


def test_apply_creates_only_a_bucket_that_is_still_missing() -> None:
    assert check_creation_against_live(planned(), no_bucket(), "BucketShare", "eu-west-1") is None
    appeared = LivePolicy(BUCKET, OWNER, None)
    assert check_creation_against_live(planned(), appeared, "BucketShare", "eu-west-1") == EXISTS_NOW
    assert EXISTS_NOW == "refused: the bucket exists now; run plan again"
    denied = LivePolicy(BUCKET, OWNER, None, "access denied on GetBucketPolicy", ReadError.DENIED)
    assert check_creation_against_live(planned(), denied, "BucketShare", "eu-west-1") == denied.error


def test_apply_creates_only_in_the_planned_region() -> None:
    refusal = check_creation_against_live(planned(), no_bucket(), "BucketShare", "us-east-1")
    assert refusal == (
        "refused: the plan creates the bucket in eu-west-1, but apply runs in us-east-1; "
        "set AWS_REGION=eu-west-1 or run plan again"
    )


def test_apply_refuses_a_creation_whose_policy_was_edited() -> None:
    bucket = planned()
    policy = bucket.new_policy or {}
    foreign = {"Sid": "Everyone", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}}
    edited = dataclasses.replace(bucket, new_policy={**policy, "Statement": [*policy["Statement"], foreign]})
    refusal = check_creation_against_live(edited, no_bucket(), "BucketShare", "eu-west-1")
    assert refusal is not None and "statements bucketshare does not own" in refusal
    with_id = dataclasses.replace(bucket, new_policy={"Id": "x", **policy})
    refusal = check_creation_against_live(with_id, no_bucket(), "BucketShare", "eu-west-1")
    assert refusal is not None and "not what plan builds for a new bucket" in refusal
    adopting = dataclasses.replace(bucket, adopted=("Old",))
    refusal = check_creation_against_live(adopting, no_bucket(), "BucketShare", "eu-west-1")
    assert refusal is not None and "adopts statements of a bucket that does not exist" in refusal
    put = dataclasses.replace(bucket, live_hash="none")
    refusal = check_creation_against_live(put, no_bucket(), "BucketShare", "eu-west-1")
    assert refusal is not None and "without a bucket to create" in refusal
