from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
from typing import Any

import aws_replay
import pytest

from reconciler.declare.config import Config
from reconciler.declare.model import BucketShare, Grant
from reconciler.declare.share_file import parse_grantee
from reconciler.errors import Location
from reconciler.live.policy import LivePolicy, ReadError
from reconciler.plan.bucket import build_plan, plan_bucket
from reconciler.plan.model import BucketAction, BucketPlan, ChangeKind, policy_hash
from reconciler.policy.access import Access
from reconciler.policy.documents import is_public_statement, resource_problems
from reconciler.policy.render import DesiredBucket, render_bucket

TODAY = dt.date(2026, 1, 15)
BUCKET = "acme-model-artifacts"
OWNER = "111111111111"
PREFIX = "BucketShare"
YAML = "shares/fraud-team.yaml"

OBJECTS_ALL = "BucketShareObjectsReadAccountAll"
LIST_ALL = "BucketShareListReadAccountAll"
BUCKET_ALL = "BucketShareBucketReadAccountAll"
OBJECTS_FRAUD = "BucketShareObjectsReadAccountPD8D6D6E718"
LIST_FRAUD = "BucketShareListReadAccountPD8D6D6E718"


def grant(to: str, access: str = "read", prefixes: tuple[str, ...] = (), line: int = 8) -> Grant:
    problem, grantee = parse_grantee(to, "aws")
    assert problem is None and grantee is not None, problem
    return Grant(grantee, Access(access), prefixes, Location(YAML, line, 5))


def desired(*grants: Grant, bucket: str = BUCKET) -> DesiredBucket:
    share = BucketShare(bucket, OWNER, grants, (Location(YAML, 3, 9),), ("fraud-detection",))
    return render_bucket(share, Config(), TODAY)


def rendered(*grants: Grant, bucket: str = BUCKET) -> list[dict[str, Any]]:
    return [d.statement for d in desired(*grants, bucket=bucket).statements]


def policy(*statements: Any, **extra: Any) -> str:
    return json.dumps({"Version": "2012-10-17", **extra, "Statement": list(statements)})


def live(text: str | None, bucket: str = BUCKET, error: str | None = None) -> LivePolicy:
    return LivePolicy(bucket, OWNER, text, error)


def plan(want: DesiredBucket | None, text: str | None, error: str | None = None) -> BucketPlan:
    bucket = want.bucket if want is not None else BUCKET
    return plan_bucket(want, live(text, bucket, error), PREFIX, "aws")


def changes(result: BucketPlan) -> list[tuple[str, ChangeKind]]:
    return [(c.sid, c.kind) for c in result.changes]


def sentences(result: BucketPlan) -> list[str]:
    return [s for c in result.changes for s in c.sentences]


READER = grant("222222222222")
FRAUD_READER = grant("222222222222", prefixes=("models/fraud/",))
SECOND_FRAUD_READER = grant("333333333333", prefixes=("models/fraud/",), line=12)
DENY_INSECURE = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
LOG_DELIVERY = {
    "Sid": "S3ServerAccessLogs",
    "Effect": "Allow",
    "Principal": {"Service": "logging.s3.amazonaws.com"},
    "Action": "s3:PutObject",
    "Resource": f"arn:aws:s3:::{BUCKET}/logs/*",
}
PUBLIC_READ = {
    "Sid": "PublicRead",
    "Effect": "Allow",
    "Principal": "*",
    "Action": "s3:GetObject",
    "Resource": f"arn:aws:s3:::{BUCKET}/*",
}
ORG_READ = {
    "Sid": "OrgRead",
    "Effect": "Allow",
    "Principal": "*",
    "Action": "s3:GetObject",
    "Resource": f"arn:aws:s3:::{BUCKET}/*",
    "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
}
ALL_READ_SIDS = [(BUCKET_ALL, ChangeKind.ADD), (LIST_ALL, ChangeKind.ADD), (OBJECTS_ALL, ChangeKind.ADD)]


def replayed(statements: list[dict[str, Any]], seed: int) -> str:
    return aws_replay.policy_as_returned(statements, random.Random(seed))


# (desired, live policy text, expected action, expected (Sid, kind) changes, expected kept count)
CASES = [
    pytest.param(desired(READER), None, BucketAction.PUT, ALL_READ_SIDS, 0, id="no-live-policy-puts"),
    pytest.param(desired(), None, BucketAction.NOOP, [], 0, id="no-policy-nothing-desired"),
    pytest.param(
        desired(READER), policy(*rendered(READER)), BucketAction.NOOP, [], 0, id="live-equals-rendered"
    ),
    *(
        pytest.param(
            desired(READER, FRAUD_READER, SECOND_FRAUD_READER),
            replayed([DENY_INSECURE, *rendered(READER, FRAUD_READER, SECOND_FRAUD_READER)], seed),
            BucketAction.NOOP,
            [],
            1,
            id=f"aws-replayed-live-is-noop-{seed}",
        )
        for seed in range(5)
    ),
    pytest.param(
        desired(READER),
        policy(DENY_INSECURE, LOG_DELIVERY),
        BucketAction.PUT,
        ALL_READ_SIDS,
        2,
        id="adds-beside-unmanaged",
    ),
    pytest.param(
        desired(FRAUD_READER, SECOND_FRAUD_READER),
        policy(*rendered(FRAUD_READER)),
        BucketAction.PUT,
        [
            (BUCKET_ALL, ChangeKind.CHANGE),
            (LIST_FRAUD, ChangeKind.CHANGE),
            (OBJECTS_FRAUD, ChangeKind.CHANGE),
        ],
        0,
        id="grant-added-to-shared-statement",
    ),
    pytest.param(
        desired(FRAUD_READER),
        policy(*rendered(FRAUD_READER, SECOND_FRAUD_READER)),
        BucketAction.PUT,
        [
            (BUCKET_ALL, ChangeKind.CHANGE),
            (LIST_FRAUD, ChangeKind.CHANGE),
            (OBJECTS_FRAUD, ChangeKind.CHANGE),
        ],
        0,
        id="grant-removed-from-shared-statement",
    ),
    pytest.param(
        desired(FRAUD_READER),
        policy(LOG_DELIVERY, *rendered(READER, FRAUD_READER)),
        BucketAction.PUT,
        [(LIST_ALL, ChangeKind.REMOVE), (OBJECTS_ALL, ChangeKind.REMOVE)],
        1,
        id="grant-removed-statement-removed",
    ),
    pytest.param(
        desired(),
        policy(*rendered(READER)),
        BucketAction.DELETE,
        [(BUCKET_ALL, ChangeKind.REMOVE), (LIST_ALL, ChangeKind.REMOVE), (OBJECTS_ALL, ChangeKind.REMOVE)],
        0,
        id="nothing-remains-deletes-policy",
    ),
    pytest.param(
        desired(),
        policy(DENY_INSECURE, *rendered(READER)),
        BucketAction.PUT,
        [(BUCKET_ALL, ChangeKind.REMOVE), (LIST_ALL, ChangeKind.REMOVE), (OBJECTS_ALL, ChangeKind.REMOVE)],
        1,
        id="unmanaged-remains-puts-not-deletes",
    ),
    pytest.param(
        desired(),
        policy(DENY_INSECURE),
        BucketAction.NOOP,
        [],
        1,
        id="only-unmanaged-nothing-desired",
    ),
    pytest.param(
        None,
        policy(LOG_DELIVERY, *rendered(READER)),
        BucketAction.PUT,
        [(BUCKET_ALL, ChangeKind.REMOVE), (LIST_ALL, ChangeKind.REMOVE), (OBJECTS_ALL, ChangeKind.REMOVE)],
        1,
        id="undeclared-bucket-with-our-statements",
    ),
    pytest.param(
        desired(READER),
        policy(*rendered(READER), {**LOG_DELIVERY, "Sid": "BucketShareLegacy"}),
        BucketAction.PUT,
        [("BucketShareLegacy", ChangeKind.REMOVE)],
        0,
        id="prefixed-sid-nobody-renders-is-removed",
    ),
]


@pytest.mark.parametrize(("want", "text", "action", "expected", "kept"), CASES)
def test_plan_bucket(
    want: DesiredBucket | None,
    text: str | None,
    action: BucketAction,
    expected: list[tuple[str, ChangeKind]],
    kept: int,
) -> None:
    result = plan(want, text)
    assert result.errors == ()
    assert result.action is action
    assert changes(result) == expected
    assert result.kept_statements == kept
    assert result.live_hash == policy_hash(text)
    assert result.declared is (want is not None)


def test_unmanaged_statements_are_kept_exactly_and_in_order() -> None:
    # As AWS returns them (strings for one-item lists): they must not be "normalised" on the way out.
    unmanaged = [
        LOG_DELIVERY,
        {
            "Effect": "Deny",
            "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
            "Action": "s3:*",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        },
        DENY_INSECURE,
    ]
    ours_before = rendered(grant("444444444444"))
    text = policy(unmanaged[0], ours_before[0], unmanaged[1], *ours_before[1:], unmanaged[2], Id="Policy1")
    result = plan(desired(READER), text)
    assert result.action is BucketAction.PUT
    assert result.kept_statements == 3
    assert result.new_policy is not None
    assert result.new_policy["Statement"][:3] == unmanaged
    assert result.new_policy["Statement"][3:] == rendered(READER)
    assert result.new_policy["Version"] == "2012-10-17"
    assert result.new_policy["Id"] == "Policy1"


def test_writing_upgrades_an_old_version() -> None:
    result = plan(desired(READER), json.dumps({"Version": "2008-10-17", "Statement": [DENY_INSECURE]}))
    assert result.action is BucketAction.PUT
    assert result.new_policy == {"Version": "2012-10-17", "Statement": [DENY_INSECURE, *rendered(READER)]}


def test_new_policy_text_is_minified_json_of_new_policy() -> None:
    result = plan(desired(READER), None)
    assert result.new_policy_text == json.dumps(result.new_policy, separators=(",", ":"))
    assert result.new_size == len(result.new_policy_text.encode())


def test_single_statement_object_live_policy() -> None:
    statement = rendered(READER)[0]
    text = json.dumps({"Version": "2012-10-17", "Statement": statement})
    result = plan(desired(READER), text)
    assert changes(result) == [(LIST_ALL, ChangeKind.ADD), (OBJECTS_ALL, ChangeKind.ADD)]


def test_reviewer_sentence_names_grantee_scope_and_yaml_location() -> None:
    result = plan(desired(FRAUD_READER), None)
    assert sentences(result) == [f"account 222222222222 gains read on models/fraud/ ({YAML}:8:5)"]
    objects = next(c for c in result.changes if c.sid == OBJECTS_FRAUD)
    assert objects.sources == (f"{YAML}:8:5",)
    assert objects.before is None
    assert objects.after == next(s for s in rendered(FRAUD_READER) if s["Sid"] == OBJECTS_FRAUD)


def test_reviewer_sentence_for_an_added_grantee_in_a_shared_statement() -> None:
    result = plan(desired(FRAUD_READER, SECOND_FRAUD_READER), policy(*rendered(FRAUD_READER)))
    assert sentences(result) == [f"account 333333333333 gains read on models/fraud/ ({YAML}:12:5)"]


@pytest.mark.parametrize(
    ("to", "access", "expected"),
    [
        (
            "arn:aws:iam::444444444444:role/inference/batch",
            "read",
            "role arn:aws:iam::444444444444:role/inference/batch gains read on the whole bucket",
        ),
        (
            "arn:aws:iam::444444444444:user/ci",
            "write",
            "user arn:aws:iam::444444444444:user/ci gains write on the whole bucket",
        ),
        ("org:o-a1b2c3d4e5", "read", "organization o-a1b2c3d4e5 gains read on the whole bucket"),
        (
            "ou:o-a1b2c3d4e5/r-ab12/ou-ab12-11111111",
            "read-write",
            "organizational unit o-a1b2c3d4e5/r-ab12/ou-ab12-11111111 gains read-write on the whole bucket",
        ),
    ],
)
def test_reviewer_sentence_per_kind_of_grantee(to: str, access: str, expected: str) -> None:
    result = plan(desired(grant(to, access)), None)
    assert sentences(result) == [f"{expected} ({YAML}:8:5)"]


def test_grant_removed_says_who_loses_what() -> None:
    result = plan(desired(FRAUD_READER), policy(*rendered(FRAUD_READER, SECOND_FRAUD_READER)))
    assert sentences(result) == ["account 333333333333 loses read on models/fraud/ (not declared in shares/)"]


def test_bucket_no_longer_declared_says_so() -> None:
    result = plan(None, policy(*rendered(FRAUD_READER)))
    assert result.action is BucketAction.DELETE
    assert sentences(result) == [
        "account 222222222222 loses read on models/fraud/ (the bucket is no longer declared)"
    ]


def test_statement_changed_out_of_band_is_restored_with_a_field_diff() -> None:
    tampered = rendered(READER)
    objects = next(s for s in tampered if s["Sid"] == OBJECTS_ALL)
    objects["Action"] = [*objects["Action"], "s3:DeleteObject"]
    result = plan(desired(READER), policy(*tampered))
    assert result.action is BucketAction.PUT
    assert changes(result) == [(OBJECTS_ALL, ChangeKind.CHANGE)]
    change = result.changes[0]
    assert change.sentences == (
        f"statement {OBJECTS_ALL} was changed outside bucketshare; it will be restored",
    )
    assert change.field_diff == ("Item root['Action'][0] (\"s3:deleteobject\") removed from iterable.",)
    assert change.before == objects
    assert change.after == next(s for s in rendered(READER) if s["Sid"] == OBJECTS_ALL)


def test_changed_list_statement_is_restored() -> None:
    tampered = rendered(FRAUD_READER)
    listing = next(s for s in tampered if s["Sid"] == LIST_FRAUD)
    listing["Condition"] = {"StringLike": {"s3:prefix": ["*"]}}
    result = plan(desired(FRAUD_READER), policy(*tampered))
    assert changes(result) == [(LIST_FRAUD, ChangeKind.CHANGE)]
    assert result.changes[0].sentences == (
        f"statement {LIST_FRAUD} was changed outside bucketshare; it will be restored",
    )
    assert len(result.changes[0].field_diff) >= 1


def test_duplicate_of_our_statement_is_removed() -> None:
    statements = rendered(READER)
    result = plan(desired(READER), policy(*statements, statements[-1]))
    assert result.action is BucketAction.PUT
    assert changes(result) == [(OBJECTS_ALL, ChangeKind.REMOVE)]
    assert result.new_policy is not None
    assert result.new_policy["Statement"] == statements


def test_duplicate_removal_does_not_claim_anyone_loses_access() -> None:
    # The other copy stays: account 222222222222 keeps read, so the reviewer must not read "loses".
    statements = rendered(READER)
    result = plan(desired(READER), policy(*statements, statements[-1]))
    assert sentences(result) == [f"removes a duplicate of statement {OBJECTS_ALL}; the first copy stays"]


# --- errors and warnings -------------------------------------------------------------------

PUBLIC_ERROR = (
    "statement PublicRead would make the bucket public (S3 Block Public Access would refuse it or, "
    "with RestrictPublicBuckets, cut off every cross-account grant): add a condition with fixed values "
    "that fixes who may use it (StringEquals aws:PrincipalOrgID, aws:PrincipalAccount or aws:SourceVpce); "
    f"or remove it: aws s3api get-bucket-policy --bucket {BUCKET} --query Policy --output text > "
    f"policy.json, delete the statement, aws s3api put-bucket-policy --bucket {BUCKET} --policy "
    "file://policy.json"
)


def test_no_such_bucket_policy_with_nothing_desired_is_noop() -> None:
    result = plan(desired(), None)
    assert (result.action, result.changes, result.errors, result.new_policy) == (
        BucketAction.NOOP,
        (),
        (),
        None,
    )


def test_unmanaged_sid_colliding_case_insensitively_is_an_error() -> None:
    clash = {**LOG_DELIVERY, "Sid": "bucketshareObjectsReadAccountAll"}
    result = plan(desired(READER), policy(clash))
    assert result.action is BucketAction.ERROR
    assert result.errors == (
        "statement 'bucketshareObjectsReadAccountAll' is not managed by bucketshare but collides with "
        "rendered Sid BucketShareObjectsReadAccountAll; rename it by hand",
    )


def test_merged_policy_over_the_size_limit_is_an_error() -> None:
    big = {
        "Sid": "ManyPrefixes",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
        "Action": "s3:GetObject",
        "Resource": [f"arn:aws:s3:::{BUCKET}/team-{i:04d}/*" for i in range(450)],
    }
    result = plan(desired(READER), policy(big))
    size = len(
        json.dumps(
            {"Version": "2012-10-17", "Statement": [big, *rendered(READER)]}, separators=(",", ":")
        ).encode()
    )
    assert size > 20_480
    assert result.action is BucketAction.ERROR
    assert result.new_size == size
    assert result.errors == (
        f"the merged policy would be {size} bytes, over the 20480-byte S3 limit; S3 would reject it. "
        "Remove grants or unmanaged statements",
    )


def _padded_to(size: int) -> str:
    """A live policy whose unmanaged statement makes the merged policy exactly `size` bytes."""
    filler = {**LOG_DELIVERY, "Sid": "Pad"}
    base = len(
        json.dumps(
            {"Version": "2012-10-17", "Statement": [filler, *rendered(READER)]}, separators=(",", ":")
        ).encode()
    )
    filler["Sid"] = "Pad" + "x" * (size - base)
    return policy(filler)


@pytest.mark.parametrize(("size", "action"), [(20_480, BucketAction.PUT), (20_481, BucketAction.ERROR)])
def test_size_limit_boundary(size: int, action: BucketAction) -> None:
    result = plan(desired(READER), _padded_to(size))
    assert result.new_size == size
    assert result.action is action


def test_public_unmanaged_statement_blocks_a_write() -> None:
    result = plan(desired(READER), policy(PUBLIC_READ))
    assert result.action is BucketAction.ERROR
    assert result.errors == (PUBLIC_ERROR,)
    assert result.warnings == ()  # said once, as the error


def test_public_unmanaged_statement_only_warns_when_nothing_is_written() -> None:
    result = plan(desired(READER), policy(PUBLIC_READ, *rendered(READER)))
    assert result.action is BucketAction.NOOP
    assert result.errors == ()
    assert result.warnings == (
        "statement PublicRead is public; with RestrictPublicBuckets it blocks every cross-account grant "
        "on this bucket",
    )


def test_org_restricted_unmanaged_statement_is_fine() -> None:
    result = plan(desired(READER), policy(ORG_READ))
    assert (result.action, result.errors, result.warnings) == (BucketAction.PUT, (), ())


@pytest.mark.parametrize(
    ("principal", "name"),
    [
        ({"AWS": "AROAEXAMPLEID1234567"}, "AROAEXAMPLEID1234567"),
        ({"AWS": ["arn:aws:iam::999999999999:root", "AIDAEXAMPLEID1234567"]}, "AIDAEXAMPLEID1234567"),
    ],
)
def test_orphaned_principal_is_a_warning(principal: dict[str, Any], name: str) -> None:
    legacy = {**LOG_DELIVERY, "Sid": "Legacy", "Principal": principal}
    result = plan(desired(READER), policy(legacy, *rendered(READER)))
    assert result.action is BucketAction.NOOP
    assert result.warnings == (
        f"statement Legacy names orphaned principal {name}: the role or user was deleted, so access for "
        "it is broken (recreating it does not restore it)",
    )


def test_role_arn_principal_is_not_an_orphan() -> None:
    legacy = {**LOG_DELIVERY, "Sid": "Legacy", "Principal": {"AWS": "arn:aws:iam::999999999999:role/x"}}
    assert plan(desired(READER), policy(legacy, *rendered(READER))).warnings == ()


def test_invalid_json_live_policy_is_an_error() -> None:
    result = plan(desired(READER), '{"Version": "2012-10-17", "Statement": [')
    assert result.action is BucketAction.ERROR
    assert len(result.errors) == 1
    assert result.errors[0].startswith("live policy is not valid JSON (")
    assert result.errors[0].endswith("); fix it by hand first")
    assert result.changes == ()
    assert result.new_policy is None


def test_live_read_error_is_an_error() -> None:
    message = "access denied on GetBucketPolicy: the reconciler's role needs s3:GetBucketPolicy on it"
    result = plan(desired(READER), None, error=message)
    assert (result.action, result.errors, result.changes) == (BucketAction.ERROR, (message,), ())
    assert result.declared is True


def test_desired_resource_problem_is_an_error() -> None:
    want = desired(READER)
    broken = [{**d.statement} for d in want.statements]
    broken[0]["Resource"] = ["arn:aws:s3:::other-bucket"]
    bad = want.fresh()
    # As if the renderer had produced a broken statement: the plan must refuse it, not write it.
    bad.__dict__["statements"] = tuple(
        type(d)(d.sid, s, d.grants) for d, s in zip(want.statements, broken, strict=True)
    )
    result = plan(bad, None)
    assert result.action is BucketAction.ERROR
    assert result.errors == (
        f"statement {BUCKET_ALL}: invalid resource 'arn:aws:s3:::other-bucket': "
        f"must be arn:aws:s3:::{BUCKET} or an object ARN inside it",
        f"statement {BUCKET_ALL}: action s3:getbucketlocation does not apply to any resource "
        "in the statement",
    )


def test_owners_travel_into_the_plan() -> None:
    assert plan(desired(READER), None).owners == ("fraud-detection",)
    assert plan(None, policy(*rendered(READER))).owners == ()


# --- build_plan ----------------------------------------------------------------------------


def test_build_plan_keeps_declared_and_undeclared_buckets_holding_our_statements() -> None:
    wanted = [desired(READER, bucket="declared-noop"), desired(READER, bucket="declared-new")]
    live_states = [
        live(policy(*rendered(READER, bucket="declared-noop")), "declared-noop"),
        live(None, "declared-new"),
        live(policy(LOG_DELIVERY), "undeclared-unmanaged-only"),
        live(None, "undeclared-no-policy"),
        live(policy(*rendered(READER, bucket="undeclared-ours")), "undeclared-ours"),
    ]
    result = build_plan(wanted, live_states, PREFIX, "aws", ["a warning"], ["an error"])
    assert [(b.bucket, b.action, b.declared) for b in result.buckets] == [
        ("declared-new", BucketAction.PUT, True),
        ("declared-noop", BucketAction.NOOP, True),
        ("undeclared-ours", BucketAction.DELETE, False),
    ]
    assert (result.sid_prefix, result.partition) == (PREFIX, "aws")
    assert (result.warnings, result.errors) == (("a warning",), ("an error",))
    assert result.has_changes and result.has_errors
    assert result.count(BucketAction.PUT) == 1
    assert result.statement_count(ChangeKind.ADD) == 3
    assert result.statement_count(ChangeKind.REMOVE) == 3


def test_build_plan_without_changes() -> None:
    wanted = [desired(READER)]
    result = build_plan(wanted, [live(replayed(rendered(READER), 1))], PREFIX, "aws")
    assert [b.action for b in result.buckets] == [BucketAction.NOOP]
    assert not result.has_changes
    assert not result.has_errors


def test_build_plan_keeps_no_rendered_policy_of_the_buckets_it_planned() -> None:
    # A plan of 10,000 buckets held every rendered policy (four variants each) to the end of
    # the run: about 100 KB per bucket. Each is now rendered on a copy and dropped with it.
    wanted = [desired(READER, bucket=f"bucket-{i}") for i in range(3)]
    states = [live(policy(*rendered(READER, bucket=b.bucket)), b.bucket) for b in wanted]
    result = build_plan(wanted, states, PREFIX, "aws")
    assert [b.action for b in result.buckets] == [BucketAction.NOOP] * 3
    assert all(not {"statements", "with_expired", "owner_acl"} & set(vars(b)) for b in wanted)


def test_build_plan_reports_an_error_bucket() -> None:
    result = build_plan([desired(READER)], [live(None, error="boom")], PREFIX, "aws")
    assert result.has_errors
    assert not result.has_changes


# --- is_public_statement -------------------------------------------------------------------


def allow_all(condition: Any = None, **fields: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
        **fields,
    }
    if condition is not None:
        statement["Condition"] = condition
    return statement


PUBLIC_CASES = [
    pytest.param(allow_all(), True, id="star-no-condition"),
    pytest.param(allow_all(Principal={"AWS": "*"}), True, id="aws-star"),
    pytest.param(
        allow_all(Principal={"AWS": ["arn:aws:iam::222222222222:root", "*"]}), True, id="star-in-list"
    ),
    pytest.param(allow_all(Effect="allow"), True, id="effect-lowercase"),
    pytest.param(allow_all({"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}), False, id="org-id"),
    pytest.param(
        allow_all({"StringEquals": {"aws:principalorgid": ["o-a1b2c3d4e5"]}}), False, id="org-id-key-case"
    ),
    pytest.param(allow_all({"StringLike": {"aws:PrincipalOrgID": "o-*"}}), True, id="stringlike-wildcard"),
    pytest.param(
        allow_all({"StringLike": {"aws:SourceArn": "arn:aws:s3:::logs-?"}}), True, id="stringlike-question"
    ),
    pytest.param(
        allow_all({"StringLike": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}), False, id="stringlike-fixed"
    ),
    pytest.param(
        allow_all({"StringEquals": {"aws:PrincipalAccount": "${aws:username}"}}), True, id="policy-variable"
    ),
    pytest.param(
        allow_all({"ForAllValues:StringEquals": {"aws:PrincipalOrgID": ["o-a1b2c3d4e5"]}}),
        True,
        id="forallvalues",
    ),
    pytest.param(allow_all({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}), True, id="sourceip-slash-0"),
    pytest.param(allow_all({"IpAddress": {"aws:SourceIp": "::/0"}}), True, id="sourceip-ipv6-slash-0"),
    pytest.param(allow_all({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}), False, id="sourceip-slash-24"),
    pytest.param(
        allow_all({"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "0.0.0.0/0"]}}),
        True,
        id="sourceip-one-wide",
    ),
    pytest.param(allow_all({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}), True, id="not-ip-address"),
    pytest.param(allow_all({"StringEquals": {"s3:prefix": "models/"}}), True, id="non-fixing-key"),
    pytest.param(allow_all({"StringEquals": {"aws:PrincipalOrgID": []}}), True, id="org-id-no-values"),
    pytest.param(allow_all({"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}), False, id="source-vpce"),
    pytest.param(
        allow_all(
            {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"}}
        ),
        True,
        id="ou-path-alone",
    ),
    pytest.param(
        allow_all(
            {
                "StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"},
                "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"},
            }
        ),
        False,
        id="ou-path-with-org-id",
    ),
    pytest.param(allow_all(Principal={"AWS": "arn:aws:iam::222222222222:root"}), False, id="fixed-account"),
    pytest.param(allow_all(Principal={"Service": "logging.s3.amazonaws.com"}), False, id="service"),
    pytest.param(
        {**allow_all(), "Principal": None, "NotPrincipal": {"AWS": "arn:aws:iam::2:root"}},
        True,
        id="notprincipal",
    ),
    pytest.param(allow_all(Effect="Deny"), False, id="deny-star"),
    pytest.param(
        {**allow_all(Effect="Deny"), "NotPrincipal": {"AWS": "arn:aws:iam::2:root"}},
        False,
        id="deny-notprincipal",
    ),
]


@pytest.mark.parametrize(("statement", "public"), PUBLIC_CASES)
def test_is_public_statement(statement: dict[str, Any], public: bool) -> None:
    statement = {k: v for k, v in statement.items() if v is not None}
    assert is_public_statement(statement) is public


def test_no_rendered_statement_is_public() -> None:
    grants = [
        grant("222222222222"),
        grant("arn:aws:iam::444444444444:role/x", "write", ("models/",)),
        grant("org:o-a1b2c3d4e5", "read-write"),
        grant("ou:o-a1b2c3d4e5/r-ab12/ou-ab12-11111111", "read", ("features/",)),
    ]
    assert [s["Sid"] for s in rendered(*grants) if is_public_statement(s)] == []


# --- resource_problems ---------------------------------------------------------------------

ARN = f"arn:aws:s3:::{BUCKET}"


def bad_resource(resource: str) -> str:
    return f"invalid resource {resource!r}: must be {ARN} or an object ARN inside it"


RESOURCE_CASES = [
    pytest.param(
        ["s3:ListBucket"],
        [f"{ARN}/*"],
        ["action s3:listbucket does not apply to any resource in the statement"],
        id="listbucket-on-objects",
    ),
    pytest.param(
        ["s3:GetObject"],
        [ARN],
        ["action s3:getobject does not apply to any resource in the statement"],
        id="getobject-on-bucket",
    ),
    pytest.param(["s3:ListBucket"], [ARN], [], id="listbucket-on-bucket"),
    pytest.param(["S3:LISTBUCKETVERSIONS", "s3:GetBucketLocation"], [ARN], [], id="bucket-actions-any-case"),
    pytest.param(["s3:GetObject"], [f"{ARN}/models/*"], [], id="getobject-on-prefix"),
    pytest.param(["s3:GetObject", "s3:ListBucket"], [ARN, f"{ARN}/*"], [], id="mixed-on-both"),
    pytest.param(
        ["s3:GetObject"],
        ["arn:aws:s3:::other-bucket/*"],
        [
            bad_resource("arn:aws:s3:::other-bucket/*"),
            "action s3:getobject does not apply to any resource in the statement",
        ],
        id="other-bucket",
    ),
    pytest.param(
        ["s3:GetObject"],
        [f"{ARN}-old/*", f"{ARN}/*"],
        [bad_resource(f"{ARN}-old/*")],
        id="bucket-name-prefix-is-another-bucket",
    ),
    pytest.param(
        ["s3:GetObject"],
        [f"arn:aws:s3:::{ARN}/*"],
        [
            bad_resource(f"arn:aws:s3:::{ARN}/*"),
            "action s3:getobject does not apply to any resource in the statement",
        ],
        id="doubled-arn",
    ),
    pytest.param(
        ["s3:GetObject"],
        ["*"],
        [bad_resource("*"), "action s3:getobject does not apply to any resource in the statement"],
        id="star-resource",
    ),
    pytest.param(["s3:GetObject"], f"{ARN}/*", [], id="resource-as-string"),
]


@pytest.mark.parametrize(("actions", "resources", "problems"), RESOURCE_CASES)
def test_resource_problems(actions: list[str], resources: Any, problems: list[str]) -> None:
    statement = {"Effect": "Allow", "Action": actions, "Resource": resources}
    assert resource_problems(statement, BUCKET, "aws") == problems


def test_resource_problems_checks_the_partition() -> None:
    statement = {"Action": ["s3:GetObject"], "Resource": [f"{ARN}/*"]}
    assert resource_problems(statement, BUCKET, "aws-cn") == [
        f"invalid resource '{ARN}/*': must be arn:aws-cn:s3:::{BUCKET} or an object ARN inside it",
        "action s3:getobject does not apply to any resource in the statement",
    ]


def test_rendered_statements_have_no_resource_problems() -> None:
    grants = [grant("222222222222", "read-write", ("models/fraud/", "features/")), grant("org:o-a1b2c3d4e5")]
    assert [p for s in rendered(*grants) for p in resource_problems(s, BUCKET, "aws")] == []


@pytest.mark.parametrize(
    ("message", "kind", "skipped"),
    [
        ("access denied on GetBucketPolicy: ...", ReadError.DENIED, True),
        ("the wording may change", ReadError.NO_BUCKET, True),
        ("access denied, or so the message says", ReadError.OTHER, False),
    ],
)
def test_what_discovery_skips_is_decided_by_the_error_kind_not_its_wording(
    message: str, kind: ReadError, skipped: bool
) -> None:
    found = LivePolicy("acme-foreign", OWNER, None, message, kind)
    result = build_plan([], [found], PREFIX, "aws")
    assert (result.buckets == ()) is skipped
    warned = any(w.startswith("discovery could not read bucket acme-foreign") for w in result.warnings)
    assert warned is skipped


@pytest.mark.slow  # three interpreters
def test_a_changed_statements_field_diff_reads_the_same_in_every_run() -> None:
    # DeepDiff lists findings in set order, which follows the interpreter's hash seed: the same
    # plan file and comment came out in a different order from run to run.
    probe = "\n".join(
        [
            "from reconciler.plan.co_owned import PlanContext, _change",
            "from reconciler.plan.model import ChangeKind",
            "old = {'Sid': 'S', 'Action': ['s3:GetObject', 's3:ListBucket', 's3:PutObject'],",
            "       'Resource': ['arn:aws:s3:::b/a/*', 'arn:aws:s3:::b/c/*']}",
            "new = {'Sid': 'S', 'Action': ['s3:GetObjectVersion', 's3:DeleteObject'],",
            "       'Resource': ['arn:aws:s3:::b/d/*', 'arn:aws:s3:::b/e/*']}",
            "ctx = PlanContext('BucketShare', 'aws', True)",
            "print(_change('S', ChangeKind.CHANGE, old, new, None, ctx).field_diff)",
        ]
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", probe],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1, outputs
