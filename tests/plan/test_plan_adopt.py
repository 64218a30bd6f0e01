"""`adopt:` in the planner and in apply's check of a saved plan against the live policy."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import Any

from reconciler.declare.config import Config
from reconciler.declare.model import Adoption, BucketShare, Grant
from reconciler.declare.share_file import load_text, parse_grantee
from reconciler.errors import Location
from reconciler.importer.grants import adoption_entry
from reconciler.live.facts import BucketFacts, Ownership
from reconciler.live.policy import LivePolicy
from reconciler.plan.bucket import plan_bucket
from reconciler.plan.explain import Direction
from reconciler.plan.file_read import loads
from reconciler.plan.file_write import dumps
from reconciler.plan.model import BucketAction, BucketPlan, ChangeKind, Plan
from reconciler.plan.verify import check_against_live
from reconciler.policy.access import Access
from reconciler.policy.render import DesiredBucket, render_bucket

TODAY = dt.date(2026, 1, 15)
BUCKET = "acme-models"
OWNER = "111111111111"
ARN = f"arn:aws:s3:::{BUCKET}"
YAML = "shares/acme-models.yaml"
READER = "222222222222"

DENY = {
    "Sid": "DenyInsecure",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": [ARN, f"{ARN}/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
OBJECTS = {
    "Sid": "ReaderObjects",
    "Effect": "Allow",
    "Principal": {"AWS": READER},
    "Action": ["s3:GetObject", "s3:GetObjectVersion"],
    "Resource": f"{ARN}/models/*",
}
BUCKET_LEVEL = {
    "Sid": "ReaderBucket",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{READER}:root"},
    "Action": "s3:GetBucketLocation",
    "Resource": ARN,
}
LISTING = {
    "Sid": "ReaderList",
    "Effect": "Allow",
    "Principal": {"AWS": READER},
    "Action": "s3:ListBucket",
    "Resource": ARN,
    "Condition": {"StringLike": {"s3:prefix": "models/*"}},
}


def desired(*sids: str, prefixes: tuple[str, ...] = ("models/",), access: str = "read") -> DesiredBucket:
    _, grantee = parse_grantee(READER, "aws")
    assert grantee is not None
    grants = (Grant(grantee, Access(access), prefixes, Location(YAML, 6, 5)),)
    adopted = tuple(Adoption(sid, Location(YAML, 10 + i, 5)) for i, sid in enumerate(sids))
    share = BucketShare(BUCKET, OWNER, grants, (Location(YAML, 2, 9),), (), adopted)
    return render_bucket(share, Config(), TODAY)


def text(*statements: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def plan(want: DesiredBucket, live_text: str) -> BucketPlan:
    return plan_bucket(want, LivePolicy(BUCKET, OWNER, live_text), "BucketShare", "aws")


HAND_WRITTEN = text(DENY, OBJECTS, LISTING, BUCKET_LEVEL)
ALL = ("ReaderObjects", "ReaderList", "ReaderBucket")


def test_adopted_statements_are_replaced_in_the_same_policy_and_the_rest_kept_in_order() -> None:
    result = plan(desired(*ALL), HAND_WRITTEN)
    assert result.action is BucketAction.PUT, result.errors
    assert result.adopted == ALL
    new = result.new_policy or {}
    assert new["Statement"][0] == DENY
    sids = [s["Sid"] for s in new["Statement"][1:]]
    assert len(sids) == 3 and all(sid.startswith("BucketShare") for sid in sids), sids
    assert result.kept_statements == 1
    removed = [c for c in result.changes if c.kind is ChangeKind.REMOVE]
    assert [c.sid for c in removed] == list(ALL)
    assert removed[0].sentences == (
        f"replaces hand-written statement ReaderObjects (adopted at {YAML}:10:5): the managed "
        "statements grant all it granted, in the same write",
    )
    # The reader had this access already: no gain in the reviewer's table.
    assert not [a for a in result.access if a.direction is Direction.GAINS]
    assert check_against_live(result, HAND_WRITTEN, "BucketShare", "aws") is None


def test_an_adopted_sid_missing_from_the_live_policy_is_an_error() -> None:
    result = plan(desired("ReaderObjects", "Typo"), HAND_WRITTEN)
    assert result.action is BucketAction.ERROR
    assert result.errors == (
        f"{YAML}:11:5: adopted statement 'Typo' is not in the live policy; remove it from adopt: "
        "if an earlier apply adopted it, or fix the Sid",
    )


def test_after_adoption_a_missing_sid_only_warns_once_ours_are_in_place() -> None:
    done = plan(desired(*ALL), HAND_WRITTEN).new_policy
    again = plan(desired(*ALL), json.dumps(done))
    assert again.action is BucketAction.NOOP
    assert again.warnings[0] == (
        f"{YAML}:10:5: adopted statement 'ReaderObjects' is not in the live policy (adopted before?); "
        "remove it from adopt:"
    )


def test_a_statement_granting_more_than_the_declarations_cannot_be_adopted() -> None:
    wider = {**OBJECTS, "Resource": f"{ARN}/*"}
    result = plan(desired("ReaderObjects"), text(DENY, wider, LISTING, BUCKET_LEVEL))
    assert result.action is BucketAction.ERROR
    assert result.errors == (
        f"{YAML}:10:5: statement 'ReaderObjects' cannot be adopted: it grants account {READER}: "
        "s3:GetObject on the whole bucket, s3:GetObjectVersion on the whole bucket, which the "
        "declarations do not render; declare that, or remove it from adopt: to keep it",
    )
    # Declared for the whole bucket, the prefix statement is covered.
    assert plan(desired("ReaderObjects", prefixes=()), HAND_WRITTEN).action is BucketAction.PUT


def test_a_statement_we_do_not_model_cannot_be_adopted() -> None:
    result = plan(desired("DenyInsecure"), HAND_WRITTEN)
    assert result.action is BucketAction.ERROR
    assert "statement 'DenyInsecure' cannot be adopted (Effect 'Deny'" in result.errors[0]


def test_a_repeated_sid_cannot_be_adopted() -> None:
    result = plan(desired("ReaderObjects"), text(OBJECTS, OBJECTS))
    assert "is in the live policy 2 times" in result.errors[0]


def test_a_saved_plan_may_drop_only_what_its_own_statements_cover() -> None:
    result = plan(desired(*ALL), HAND_WRITTEN)
    # Claiming the Deny as adopted, with it left out of the policy, is refused...
    forged_policy = dict(result.new_policy or {})
    forged_policy["Statement"] = forged_policy["Statement"][1:]
    forged = replace(result, adopted=("DenyInsecure", *ALL), new_policy=forged_policy)
    assert "drops hand-written statement 'DenyInsecure'" in str(
        check_against_live(forged, HAND_WRITTEN, "BucketShare")
    )
    # ... and so is dropping a statement the plan does not list as adopted.
    unlisted = replace(result, adopted=ALL[:2])
    assert "does not keep every statement" in str(check_against_live(unlisted, HAND_WRITTEN, "BucketShare"))
    # ... and adopting with the managed statements that would cover it removed.
    statements = (result.new_policy or {})["Statement"]
    bare = replace(result, new_policy={**(result.new_policy or {}), "Statement": statements[:1]})
    assert "without its own statements granting" in str(check_against_live(bare, HAND_WRITTEN, "BucketShare"))
    # A live policy where the adopted Sid is gone refuses too.
    assert "does not hold once" in str(check_against_live(result, text(DENY), "BucketShare"))


def test_adopt_is_validated_with_locations() -> None:
    document = (
        'version: 1\nbucket: acme-models\naccount: "111111111111"\ngrants: []\n'
        "adopt:\n  - ReaderObjects\n  - ReaderObjects\n  - BucketShareObjectsReadAccountAll\n  - ''\n"
    )
    _, problems = load_text(document, YAML, Config())
    assert [str(p) for p in problems] == [
        f"{YAML}:7:5: adopt: 'ReaderObjects' is listed twice (first at {YAML}:6:5); keep one",
        f"{YAML}:8:5: adopt: 'BucketShareObjectsReadAccountAll' starts with sid_prefix BucketShare, so it "
        "is bucketshare's statement already; list only hand-written statements",
        f"{YAML}:9:5: adopt entry must not be empty",
    ]
    not_list = 'version: 1\nbucket: acme-models\naccount: "111111111111"\nadopt: ReaderObjects\n'
    _, problems = load_text(not_list, YAML, Config())
    assert [str(p) for p in problems] == [f"{YAML}:4:8: adopt must be a list, not a single value"]


def test_the_saved_plan_carries_what_it_adopts() -> None:
    result = plan(desired(*ALL), HAND_WRITTEN)
    saved = Plan((result,), "BucketShare", "aws")
    loaded = loads(dumps(saved), "plan.json")
    assert loaded.buckets[0].adopted == ALL
    assert check_against_live(loaded.buckets[0], HAND_WRITTEN, "BucketShare") is None
    # A plan written before adopt existed has no such field: it adopts nothing.
    data = json.loads(dumps(saved))
    del data["buckets"][0]["adopted"]
    assert loads(json.dumps(data), "plan.json").buckets[0].adopted == ()


# --- statements without a Sid, adopted by content hash ------------------------------------


def _without_sid(statement: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in statement.items() if k != "Sid"}


NO_SID = [_without_sid(s) for s in (OBJECTS, LISTING, BUCKET_LEVEL)]
NO_SID_LIVE = text(DENY, *NO_SID)


def _hash_entry(statement: dict[str, Any]) -> str:
    return adoption_entry(statement, "aws")


def test_statements_without_a_sid_are_adopted_by_their_content_hash() -> None:
    entries = [_hash_entry(s) for s in NO_SID]
    assert all(e.startswith("sha256:") for e in entries)
    result = plan(desired(*entries), NO_SID_LIVE)
    assert result.action is BucketAction.PUT, result.errors
    assert result.adopted == tuple(entries)
    new = result.new_policy or {}
    assert new["Statement"][0] == DENY
    assert all(s.get("Sid", "").startswith("BucketShare") for s in new["Statement"][1:])
    assert not [a for a in result.access if a.direction is Direction.GAINS]
    # Apply's re-check of the saved plan finds the same statements by the same hashes.
    loaded = loads(dumps(Plan((result,), "BucketShare", "aws")), "plan.json").buckets[0]
    assert check_against_live(loaded, NO_SID_LIVE, "BucketShare") is None


def test_a_statement_without_a_sid_changed_since_the_import_is_refused() -> None:
    entry = _hash_entry(NO_SID[0])
    changed = {**NO_SID[0], "Action": ["s3:GetObject"]}
    result = plan(desired(entry), text(DENY, changed, *NO_SID[1:]))
    assert result.action is BucketAction.ERROR
    assert result.errors == (
        f"{YAML}:10:5: adopted statement {entry!r} is not in the live policy: no statement without a Sid "
        "has that content any more (changed or removed since the import); import again to see it as it is",
    )
    # And a saved plan adopting it is refused at apply once the statement changed under it.
    saved = plan(desired(entry), NO_SID_LIVE)
    later = text(DENY, changed, *NO_SID[1:])
    assert "does not hold once" in str(check_against_live(saved, later, "BucketShare"))


# --- access the kept statements already grant is not a gain --------------------------------


def test_a_grant_the_kept_statements_already_give_is_said_already_granted_not_gained() -> None:
    result = plan(desired(), HAND_WRITTEN)
    assert result.action is BucketAction.PUT
    [row] = result.access
    assert row.held_by == (
        "Sid ReaderObjects (position 2) and Sid ReaderList (position 3) and Sid ReaderBucket (position 4)"
    )
    assert row.sentence() == (
        f"account {READER}: read on models/ already granted by Sid ReaderObjects (position 2) and "
        "Sid ReaderList (position 3) and Sid ReaderBucket (position 4); adopt it to let bucketshare "
        f"manage it ({YAML}:6:5)"
    )
    said = [s for c in result.changes for s in c.sentences]
    assert not [s for s in said if " gains " in s], said


def test_a_kept_statement_without_a_sid_is_named_by_position() -> None:
    whole = _without_sid({**OBJECTS, "Resource": f"{ARN}/*"})
    listing = _without_sid({**LISTING, "Condition": {"StringLike": {"s3:prefix": ["models/", "models/*"]}}})
    result = plan(desired(), text(DENY, whole, listing, BUCKET_LEVEL))
    [row] = result.access
    assert row.held_by == "statement 2 (no Sid) and statement 3 (no Sid) and Sid ReaderBucket (position 4)"


def test_kept_statements_that_grant_only_part_of_a_grant_leave_it_a_gain() -> None:
    # GetObject alone, or a condition that may deny (the owner's ACL): the grant still gains.
    get_only = {**OBJECTS, "Action": "s3:GetObject"}
    for live in (
        text(DENY, get_only, LISTING, BUCKET_LEVEL),
        text(
            DENY,
            {**OBJECTS, "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}},
            LISTING,
            BUCKET_LEVEL,
        ),
    ):
        [row] = plan(desired(), live).access
        assert (row.direction, row.held_by) == (Direction.GAINS, "")
        assert " gains read on models/" in row.sentence()


# --- the owner's ACL condition, under BucketOwnerPreferred ----------------------------------

WRITES = {
    "Sid": "Uploads",
    "Effect": "Allow",
    "Principal": {"AWS": READER},
    "Action": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
    "Resource": f"{ARN}/models/*",
}
UPLOAD_LISTING = {
    "Sid": "UploadList",
    "Effect": "Allow",
    "Principal": {"AWS": READER},
    "Action": "s3:ListBucketMultipartUploads",
    "Resource": ARN,
}
OWNER_ACL = {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}


def _preferred(want: DesiredBucket, live_text: str) -> BucketPlan:
    facts = BucketFacts(ownership=Ownership.PREFERRED)
    return plan_bucket(want, LivePolicy(BUCKET, OWNER, live_text, facts=facts), "BucketShare", "aws")


def test_under_bucket_owner_preferred_adopting_uploads_without_the_acl_is_refused() -> None:
    # The managed write statement will require the owner's ACL: adopting a statement that did
    # not would take uploads without it away, so plan refuses.
    want = desired("Uploads", "UploadList", access="write")
    refused = _preferred(want, text(WRITES, UPLOAD_LISTING))
    assert refused.action is BucketAction.ERROR
    expected = "statement 'Uploads' cannot be adopted: it grants account 222222222222: s3:Abort"
    assert expected in refused.errors[0]
    # bucketshare's own form (the condition written out) is adopted.
    adopted = _preferred(want, text({**WRITES, "Condition": OWNER_ACL}, UPLOAD_LISTING))
    assert adopted.action is BucketAction.PUT, adopted.errors
    assert adopted.adopted == ("Uploads", "UploadList")
