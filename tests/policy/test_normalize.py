from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import aws_replay
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.declare.config import Config
from reconciler.declare.model import BucketShare, Grant
from reconciler.declare.share_file import parse_grantee
from reconciler.errors import Location
from reconciler.live.policy import LivePolicy
from reconciler.plan.bucket import plan_bucket
from reconciler.plan.model import BucketAction
from reconciler.policy.access import ACCESS_ACTIONS
from reconciler.policy.desired import load_desired
from reconciler.policy.normalize import (
    canonical,
    equivalent_policies,
    normalize_statement,
    same_statements,
    statements_of,
)
from reconciler.policy.render import DesiredBucket, render_bucket

REPO = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 1, 15)
ROOT_2 = "arn:aws:iam::222222222222:root"
ROOT_3 = "arn:aws:iam::333333333333:root"
ROLE = "arn:aws:iam::222222222222:role/inference"
USER = "arn:aws:iam::222222222222:user/ci"
ORPHAN_ROLE = "AROAEXAMPLEID1234567"
ORPHAN_USER = "AIDAEXAMPLEID1234567"


def stmt(**fields: Any) -> dict[str, Any]:
    """A rendered-looking statement; keyword fields replace or (with None) drop its parts."""
    base: dict[str, Any] = {
        "Sid": "BucketShareObjectsReadAccountAll",
        "Effect": "Allow",
        "Principal": {"AWS": [ROOT_2]},
        "Action": ["s3:GetObject", "s3:GetObjectVersion"],
        "Resource": ["arn:aws:s3:::acme-model-artifacts/*"],
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


ORG = {"StringEquals": {"aws:PrincipalOrgID": ["o-a1b2c3d4e5"]}}

# (A, B, equivalent?) -- one row per equivalence rule of AWS-BEHAVIOUR.md, and the limits of each.
STATEMENT_CASES = [
    # Rule 2: Action / NotAction / Resource / NotResource
    pytest.param(stmt(Action=["s3:GetObject"]), stmt(Action="s3:GetObject"), True, id="action-one-item-list"),
    pytest.param(
        stmt(Action=["s3:GetObject", "s3:GetObjectVersion"]),
        stmt(Action=["s3:GetObjectVersion", "s3:GetObject"]),
        True,
        id="action-order",
    ),
    pytest.param(stmt(Action=["s3:GetObject"]), stmt(Action=["S3:GETOBJECT"]), True, id="action-case"),
    pytest.param(
        stmt(Action=None, NotAction="s3:DeleteObject"),
        stmt(Action=None, NotAction=["s3:deleteobject"]),
        True,
        id="notaction-case-and-list",
    ),
    pytest.param(stmt(Action=["s3:GetObject"]), stmt(Action=["s3:PutObject"]), False, id="action-different"),
    pytest.param(
        stmt(Action=["s3:GetObject"]), stmt(Action=["s3:GetObject", "s3:PutObject"]), False, id="action-extra"
    ),
    pytest.param(
        stmt(Action="s3:GetObject"),
        stmt(Action=None, NotAction="s3:GetObject"),
        False,
        id="action-vs-notaction",
    ),
    pytest.param(
        stmt(Resource=["arn:aws:s3:::b/*"]),
        stmt(Resource="arn:aws:s3:::b/*"),
        True,
        id="resource-one-item-list",
    ),
    pytest.param(
        stmt(Resource=["arn:aws:s3:::b/x/*", "arn:aws:s3:::b/y/*"]),
        stmt(Resource=["arn:aws:s3:::b/y/*", "arn:aws:s3:::b/x/*"]),
        True,
        id="resource-order",
    ),
    pytest.param(
        stmt(Resource=["arn:aws:s3:::b/Models/*"]),
        stmt(Resource=["arn:aws:s3:::b/models/*"]),
        False,
        id="resource-case-sensitive",
    ),
    pytest.param(
        stmt(Resource=None, NotResource="arn:aws:s3:::b/x/*"),
        stmt(Resource=None, NotResource=["arn:aws:s3:::b/x/*"]),
        True,
        id="notresource-list",
    ),
    pytest.param(
        stmt(Resource="arn:aws:s3:::b/*"),
        stmt(Resource=None, NotResource="arn:aws:s3:::b/*"),
        False,
        id="resource-vs-notresource",
    ),
    # Rule 3: Principal
    pytest.param(
        stmt(Principal={"AWS": [ROOT_2, ROOT_3]}),
        stmt(Principal={"AWS": [ROOT_3, ROOT_2]}),
        True,
        id="principal-order",
    ),
    pytest.param(
        stmt(Principal={"AWS": [ROOT_2]}), stmt(Principal={"AWS": ROOT_2}), True, id="principal-one-item-list"
    ),
    pytest.param(
        stmt(Principal={"AWS": [ROOT_2]}),
        stmt(Principal={"AWS": "222222222222"}),
        True,
        id="bare-account-id-is-root-arn",
    ),
    pytest.param(
        stmt(Principal={"AWS": ["222222222222", ROOT_3]}),
        stmt(Principal={"AWS": [ROOT_2, "333333333333"]}),
        True,
        id="bare-ids-mixed",
    ),
    pytest.param(
        stmt(Principal={"AWS": [ROOT_2]}),
        stmt(Principal={"AWS": "arn:aws:iam::222222222222:user/x"}),
        False,
        id="root-vs-user",
    ),
    pytest.param(
        stmt(Principal={"AWS": [ROOT_2]}),
        stmt(Principal={"AWS": [ROOT_3]}),
        False,
        id="principal-other-account",
    ),
    pytest.param(
        stmt(Principal={"AWS": [ROOT_2, ROOT_3]}),
        stmt(Principal={"AWS": [ROOT_2]}),
        False,
        id="principal-one-fewer",
    ),
    pytest.param(
        stmt(Principal="*", Condition=ORG),
        stmt(Principal={"AWS": "*"}, Condition=ORG),
        True,
        id="star-is-aws-star",
    ),
    pytest.param(
        stmt(Principal="*", Condition=ORG),
        stmt(Principal={"AWS": ["*"]}, Condition=ORG),
        True,
        id="star-is-aws-star-list",
    ),
    pytest.param(stmt(Principal="*"), stmt(Principal={"AWS": [ROOT_2]}), False, id="star-vs-account"),
    pytest.param(
        stmt(Principal={"AWS": [ROOT_2], "Service": []}),
        stmt(Principal={"AWS": [ROOT_2]}),
        True,
        id="empty-principal-list-dropped",
    ),
    pytest.param(
        stmt(Principal={"AWS": [ROOT_2], "Federated": [], "CanonicalUser": []}),
        stmt(Principal={"AWS": ROOT_2}),
        True,
        id="several-empty-lists-dropped",
    ),
    pytest.param(
        stmt(Principal={"Service": ["logging.s3.amazonaws.com", "cloudtrail.amazonaws.com"]}),
        stmt(Principal={"Service": ["cloudtrail.amazonaws.com", "logging.s3.amazonaws.com"]}),
        True,
        id="service-principal-order",
    ),
    pytest.param(
        stmt(Principal={"Service": ["222222222222"]}),
        stmt(Principal={"Service": [ROOT_2]}),
        False,
        id="bare-id-only-under-aws-key",
    ),
    pytest.param(
        stmt(Principal={"AWS": [ROLE]}),
        stmt(Principal={"AWS": [ORPHAN_ROLE]}),
        False,
        id="aroa-unique-id-is-not-role-arn",
    ),
    pytest.param(
        stmt(Principal={"AWS": [USER]}),
        stmt(Principal={"AWS": [ORPHAN_USER]}),
        False,
        id="aida-unique-id-is-not-user-arn",
    ),
    pytest.param(
        stmt(Principal={"AWS": [ROOT_2]}),
        stmt(Principal=None, NotPrincipal={"AWS": [ROOT_2]}),
        False,
        id="principal-vs-notprincipal",
    ),
    # Rule 4: Condition
    pytest.param(
        stmt(Condition={"StringEquals": {"aws:PrincipalOrgID": ["o-a1b2c3d4e5"]}}),
        stmt(Condition={"StringEquals": {"aws:principalorgid": ["o-a1b2c3d4e5"]}}),
        True,
        id="condition-key-case-insensitive",
    ),
    pytest.param(
        stmt(Condition={"StringEquals": {"aws:PrincipalOrgID": ["o-a1b2c3d4e5"]}}),
        stmt(Condition={"stringequals": {"aws:PrincipalOrgID": ["o-a1b2c3d4e5"]}}),
        False,
        id="condition-operator-exact",
    ),
    pytest.param(
        stmt(Condition={"StringEquals": {"aws:PrincipalOrgID": ["o-a1b2c3d4e5"]}}),
        stmt(Condition={"StringLike": {"aws:PrincipalOrgID": ["o-a1b2c3d4e5"]}}),
        False,
        id="condition-other-operator",
    ),
    pytest.param(
        stmt(Condition={"StringEquals": {"aws:PrincipalOrgID": ["o-a1b2c3d4e5"]}}),
        stmt(Condition={"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
        True,
        id="condition-value-one-item-list",
    ),
    pytest.param(
        stmt(Condition={"StringLike": {"s3:prefix": ["a/", "a/*"]}}),
        stmt(Condition={"StringLike": {"s3:prefix": ["a/*", "a/"]}}),
        True,
        id="condition-value-order",
    ),
    pytest.param(
        stmt(Condition={"StringEquals": {"aws:PrincipalOrgID": ["o-a1b2c3d4e5"]}}),
        stmt(Condition={"StringEquals": {"aws:PrincipalOrgID": ["O-A1B2C3D4E5"]}}),
        False,
        id="condition-value-case-sensitive",
    ),
    pytest.param(
        stmt(Condition={"Bool": {"aws:SecureTransport": False}}),
        stmt(Condition={"Bool": {"aws:SecureTransport": "false"}}),
        True,
        id="condition-bool-as-string",
    ),
    pytest.param(
        stmt(Condition={"Bool": {"aws:SecureTransport": [True]}}),
        stmt(Condition={"Bool": {"aws:SecureTransport": "true"}}),
        True,
        id="condition-bool-list",
    ),
    pytest.param(
        stmt(Condition={"Bool": {"aws:SecureTransport": True}}),
        stmt(Condition={"Bool": {"aws:SecureTransport": "false"}}),
        False,
        id="condition-bool-differs",
    ),
    pytest.param(
        stmt(Condition={"NumericLessThan": {"s3:max-keys": 10}}),
        stmt(Condition={"NumericLessThan": {"s3:max-keys": "10"}}),
        True,
        id="condition-number-as-string",
    ),
    pytest.param(
        stmt(
            Condition={
                "StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"},
                "ArnEquals": {"aws:PrincipalArn": ROLE},
            }
        ),
        stmt(
            Condition={
                "ArnEquals": {"aws:PrincipalArn": [ROLE]},
                "StringEquals": {"aws:PrincipalOrgID": ["o-a1b2c3d4e5"]},
            }
        ),
        True,
        id="condition-block-order",
    ),
    pytest.param(stmt(Condition=ORG), stmt(), False, id="condition-missing"),
    pytest.param(
        stmt(Condition={"ArnEquals": {"aws:PrincipalArn": [ROLE]}}),
        stmt(Condition={"ArnEquals": {"aws:PrincipalArn": [ORPHAN_ROLE]}}),
        False,
        id="principalarn-condition-not-converted-to-id",
    ),
    # Rule 5: Effect, Sid
    pytest.param(stmt(Effect="Allow"), stmt(Effect="allow"), True, id="effect-lowercase"),
    pytest.param(stmt(Effect="Allow"), stmt(Effect="ALLOW"), True, id="effect-uppercase"),
    pytest.param(stmt(Effect="Allow"), stmt(Effect="Deny"), False, id="effect-differs"),
    pytest.param(stmt(Sid="BucketShareA"), stmt(Sid="BucketShareB"), False, id="sid-differs"),
    pytest.param(stmt(Sid="BucketShareA"), stmt(Sid="bucketsharea"), False, id="sid-case-exact"),
    pytest.param(stmt(), stmt(Sid=None), False, id="sid-missing"),
    # Whole-statement key order is never meaningful.
    pytest.param(stmt(), dict(reversed(list(stmt().items()))), True, id="field-order"),
]


@pytest.mark.parametrize(("left", "right", "equivalent"), STATEMENT_CASES)
def test_statement_equivalence(left: dict[str, Any], right: dict[str, Any], equivalent: bool) -> None:
    assert (canonical(left) == canonical(right)) is equivalent
    assert same_statements([left], [right]) is equivalent
    assert same_statements([right], [left]) is equivalent


def test_bare_account_id_uses_the_configured_partition() -> None:
    china_root = {"AWS": ["arn:aws-cn:iam::222222222222:root"]}
    bare = {"AWS": "222222222222"}
    assert canonical(stmt(Principal=bare), "aws-cn") == canonical(stmt(Principal=china_root), "aws-cn")
    assert canonical(stmt(Principal=bare), "aws") != canonical(stmt(Principal=china_root), "aws")


S1 = stmt(Sid="BucketShareOne")
S2 = stmt(Sid="BucketShareTwo", Action=["s3:PutObject"])

# (policy A, policy B, equivalent?) for whole documents: rules 1, 5 (Version) and 6.
POLICY_CASES = [
    pytest.param(
        {"Version": "2012-10-17", "Statement": S1},
        {"Version": "2012-10-17", "Statement": [S1]},
        True,
        id="single-statement-object-is-one-item-list",
    ),
    pytest.param(
        {"Version": "2012-10-17", "Statement": [S1, S2]},
        {"Statement": [S2, S1], "Version": "2012-10-17"},
        True,
        id="statement-order",
    ),
    pytest.param(
        {"Version": "2012-10-17", "Statement": [S1, S1]},
        {"Version": "2012-10-17", "Statement": [S1]},
        False,
        id="duplicate-statement-is-a-difference",
    ),
    pytest.param(
        {"Version": "2012-10-17", "Statement": [S1, S1, S2]},
        {"Version": "2012-10-17", "Statement": [S1, S2, S2]},
        False,
        id="multiset-not-set",
    ),
    pytest.param(
        {"Version": "2012-10-17", "Statement": [S1]},
        {"Version": "2008-10-17", "Statement": [S1]},
        False,
        id="version-differs",
    ),
    pytest.param(
        {"Version": "2012-10-17", "Statement": [S1]}, {"Statement": [S1]}, False, id="version-missing"
    ),
    pytest.param(
        {"Version": "2012-10-17", "Id": "a", "Statement": [S1]},
        {"Version": "2012-10-17", "Id": "A", "Statement": [S1]},
        False,
        id="id-exact",
    ),
    pytest.param(
        {"Version": "2012-10-17", "Statement": [S1]},
        json.loads(aws_replay.policy_as_returned([S1], random.Random(7))),
        True,
        id="aws-replay",
    ),
    pytest.param(None, None, True, id="no-policy-both"),
    pytest.param(None, {"Version": "2012-10-17", "Statement": []}, False, id="no-policy-vs-empty"),
]


@pytest.mark.parametrize(("left", "right", "equivalent"), POLICY_CASES)
def test_policy_equivalence(left: Any, right: Any, equivalent: bool) -> None:
    assert equivalent_policies(left, right) is equivalent
    assert equivalent_policies(right, left) is equivalent


def test_statements_of_accepts_a_single_statement_object() -> None:
    assert statements_of({"Statement": S1}) == [S1]
    assert statements_of({"Statement": [S1, S2]}) == [S1, S2]
    assert statements_of({"Version": "2012-10-17"}) == []
    assert statements_of(None) == []


def test_normalize_does_not_modify_its_input() -> None:
    statement = stmt(Principal={"AWS": "222222222222"}, Condition={"Bool": {"aws:SecureTransport": True}})
    before = json.dumps(statement, sort_keys=True)
    normalize_statement(statement)
    assert json.dumps(statement, sort_keys=True) == before


def test_normalized_form_is_a_fixed_point() -> None:
    statement = stmt(
        Principal="*",
        Effect="allow",
        Action="S3:GetObject",
        Condition={"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
    )
    assert canonical(normalize_statement(statement)) == canonical(statement)


# --- property: whatever way AWS hands rendered statements back, they plan as no-op -----------

ACCOUNTS = ("222222222222", "333333333333", "444444444444")
ROLE_NAMES = ("inference", "inference/batch-scoring", "fraud-trainer")
ORGS = ("o-a1b2c3d4e5", "o-f6g7h8i9j0")
OUS = ("o-a1b2c3d4e5/r-ab12/ou-ab12-11111111", "o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/ou-ab12-33333333")
PREFIXES = ("models/fraud/", "models/", "features/", "datasets/public-benchmarks/")


@st.composite
def grants(draw: st.DrawFn, partition: str) -> Grant:
    kind = draw(st.sampled_from(("account", "role", "user", "org", "ou")))
    account = draw(st.sampled_from(ACCOUNTS))
    to = {
        "account": account,
        "role": f"arn:{partition}:iam::{account}:role/{draw(st.sampled_from(ROLE_NAMES))}",
        "user": f"arn:{partition}:iam::{account}:user/ci",
        "org": f"org:{draw(st.sampled_from(ORGS))}",
        "ou": f"ou:{draw(st.sampled_from(OUS))}",
    }[kind]
    problem, grantee = parse_grantee(to, partition)
    assert problem is None and grantee is not None, problem
    prefixes = tuple(sorted(draw(st.sets(st.sampled_from(PREFIXES), max_size=2))))
    access = draw(st.sampled_from(list(ACCESS_ACTIONS)))
    line = draw(st.integers(min_value=1, max_value=99))
    return Grant(grantee, access, prefixes, Location("shares/t.yaml", line, 5))


@st.composite
def desired_buckets(draw: st.DrawFn) -> tuple[DesiredBucket, str]:
    partition = draw(st.sampled_from(("aws", "aws-cn", "aws-us-gov")))
    chosen = draw(st.lists(grants(partition), min_size=1, max_size=6, unique_by=lambda g: g.grantee))
    share = BucketShare("acme-ml-shared", "111111111111", tuple(chosen), (Location("shares/t.yaml"),))
    return render_bucket(share, Config(partition=partition), TODAY), partition


UNMANAGED = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::acme-ml-shared", "arn:aws:s3:::acme-ml-shared/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def assert_replays_plan_as_noop(desired: DesiredBucket, partition: str, rng: random.Random) -> None:
    # Hypothesis records every call of its own Random (thousands here): seeded from it, a
    # plain Random replays the same example as fast as the code under test runs.
    rng = random.Random(rng.getrandbits(64))
    statements = [d.statement for d in desired.statements]
    for statement in statements:
        returned = aws_replay.as_returned(statement, rng, partition)
        assert canonical(returned, partition) == canonical(statement, partition), returned
    text = aws_replay.policy_as_returned([UNMANAGED, *statements], rng, partition)
    live = LivePolicy(desired.bucket, desired.account, text)
    result = plan_bucket(desired, live, "BucketShare", partition)
    assert (result.action, result.changes, result.errors, result.warnings) == (BucketAction.NOOP, (), (), ())
    assert result.kept_statements == 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(desired_buckets(), st.randoms(use_true_random=False))
def test_aws_replay_of_random_grants_plans_as_noop(
    case: tuple[DesiredBucket, str], rng: random.Random
) -> None:
    desired, partition = case
    assert_replays_plan_as_noop(desired, partition, rng)


EXAMPLES = load_desired(REPO / "shares", None, TODAY)


def test_examples_render_without_problems() -> None:
    assert EXAMPLES.problems == ()
    assert [b.bucket for b in EXAMPLES.buckets] == ["acme-ml-shared", "acme-model-artifacts"]


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(EXAMPLES.buckets), st.randoms(use_true_random=False))
def test_aws_replay_of_shares_examples_plans_as_noop(desired: DesiredBucket, rng: random.Random) -> None:
    assert_replays_plan_as_noop(desired, "aws", rng)


@pytest.mark.parametrize(
    "rewrite",
    [
        aws_replay.collapse_singletons,
        aws_replay.bare_account_ids,
        aws_replay.everyone_as_aws_star,
        aws_replay.stringify_conditions,
        lambda s: aws_replay.shuffle_order(s, random.Random(3)),
        lambda s: aws_replay.root_arns(aws_replay.bare_account_ids(s)),
    ],
    ids=["singletons", "bare-ids", "aws-star", "stringified", "shuffled", "bare-then-root"],
)
def test_each_aws_rewrite_alone_keeps_every_example_statement_equal(rewrite: Any) -> None:
    for desired in EXAMPLES.buckets:
        for d in desired.statements:
            assert canonical(rewrite(d.statement)) == canonical(d.statement)


def test_replay_helpers_really_rewrite() -> None:
    """The replay must differ from what was rendered, or the properties above prove nothing."""
    artifacts = EXAMPLES.buckets[1].statements
    statement = next(d.statement for d in artifacts if d.sid.startswith("BucketShareObjects"))
    assert aws_replay.collapse_singletons(statement)["Principal"] == {"AWS": ROOT_2}
    assert aws_replay.bare_account_ids(statement)["Principal"] == {"AWS": ["222222222222"]}
    org = next(d.statement for d in EXAMPLES.buckets[0].statements if d.statement["Principal"] == "*")
    assert aws_replay.everyone_as_aws_star(org)["Principal"] == {"AWS": "*"}
    texts = {aws_replay.policy_as_returned([statement, org], random.Random(seed)) for seed in range(5)}
    assert len(texts) > 1
    assert json.dumps({"Version": "2012-10-17", "Statement": [statement, org]}) not in texts
