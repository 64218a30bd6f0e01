"""What rendered policies mean: each grantee gets exactly what it declared, nobody else anything.

Random valid declarations are written as YAML, loaded and rendered like `reconciler render`
does, then tests/policy_evaluator.py (an IAM evaluator written from the AWS docs, not from
reconciler/) decides every request in a grid of principals x actions x resources. The
expected answer comes from the declarations alone.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from parliament import analyze_policy_string
from policy_evaluator import Request, UnsupportedPolicy, allowing_sids, decide, is_allowed

from reconciler.declare.config import Config
from reconciler.declare.identifiers import ORG_RE
from reconciler.declare.model import Declarations
from reconciler.declare.tree import load_shares
from reconciler.errors import errors_only
from reconciler.policy.access import ACCESS_ACTIONS, Access
from reconciler.policy.documents import policy_document
from reconciler.policy.render import DesiredBucket, render_declarations

REPO = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 1, 15)
BUCKET = "acme-ml-shared"
OWNER = "111111111111"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"

PROPERTY_SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- where principals sit in AWS Organizations -------------------------------------------

ORG_A, ORG_B = "o-aaaaaaaaaa", "o-bbbbbbbbbb"
OU_1 = f"{ORG_A}/r-ab12/ou-ab12-11111111"
OU_3 = f"{OU_1}/ou-ab12-33333333"  # nested in OU_1: a grant to OU_1 covers it
OU_2 = f"{ORG_A}/r-ab12/ou-ab12-22222222"
OU_4 = f"{ORG_B}/r-cd34/ou-cd34-44444444"
OUS = (OU_1, OU_2, OU_3, OU_4)


@dataclass(frozen=True)
class Placement:
    org: str | None
    path: str | None
    """aws:PrincipalOrgPaths value of an account here (one path, ending in '/')."""


PLACEMENTS = (
    Placement(None, None),
    Placement(ORG_A, f"{ORG_A}/r-ab12/"),
    Placement(ORG_A, f"{OU_1}/"),
    Placement(ORG_A, f"{OU_2}/"),
    Placement(ORG_A, f"{OU_3}/"),
    Placement(ORG_A, f"{ORG_A}/r-ab12/ou-ab12-55555555/"),
    Placement(ORG_B, f"{OU_4}/"),
    Placement(ORG_B, f"{ORG_B}/r-cd34/"),
)

# Principals no grant ever names: an account outside any org, one in a foreign org, and
# accounts in the granted orgs but in OUs no grant names.
OUTSIDERS = {
    "999999999999": Placement(None, None),
    "888888888888": Placement("o-zzzzzzzzzz", "o-zzzzzzzzzz/r-zz99/ou-zz99-12345678/"),
    "777777777777": Placement(ORG_A, f"{ORG_A}/r-ab12/ou-ab12-66666666/"),
    "666666666666": Placement(ORG_B, f"{ORG_B}/r-cd34/ou-cd34-77777777/"),
}

ROLE_NAMES = ("reader", "ml/inference", "trainer")
USER_NAMES = ("alice", "bob")
PREFIX_POOL = ("models/", "models/fraud/", "features/", "datasets/public/", "ünï/cödé/")


# --- the declared model (independent of reconciler's dataclasses) ----------------------------


@dataclass(frozen=True)
class Declared:
    kind: str  # account | role | user | org | ou
    to: str
    """What the YAML says in `to:`."""
    ident: str
    """Account id, ARN, org id or OU path: what makes two grants the same grantee."""
    access: Access
    prefixes: tuple[str, ...]
    """Normalised (trailing slash); empty means the whole bucket."""
    written_prefixes: tuple[str, ...]
    expires: dt.date | None

    def active(self) -> bool:
        return self.expires is None or self.expires > TODAY


@dataclass(frozen=True)
class Principal:
    arn: str
    placement: Placement

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]


@dataclass(frozen=True)
class Case:
    accounts: dict[str, Placement]
    grants: tuple[Declared, ...]
    split: tuple[int, ...]
    """Which file (0 or 1) each grant is written to: both files declare the bucket."""


def _matches(grant: Declared, who: Principal) -> bool:
    if grant.kind == "account":
        return who.account == grant.ident
    if grant.kind in ("role", "user"):
        return who.arn == grant.ident
    if grant.kind == "org":
        return who.placement.org == grant.ident
    org = grant.ident.split("/")[0]
    return who.placement.org == org and (who.placement.path or "").startswith(grant.ident + "/")


def expected_allowed(
    grants: tuple[Declared, ...], who: Principal, action: str, resource: str, s3_prefix: str | None
) -> bool:
    for grant in grants:
        if not grant.active() or not _matches(grant, who):
            continue
        actions = ACCESS_ACTIONS[grant.access]
        if resource == BUCKET_ARN:
            if action in actions.bucket:
                return True
            if action in actions.listing and (
                not grant.prefixes
                or (s3_prefix is not None and any(s3_prefix.startswith(p) for p in grant.prefixes))
            ):
                return True
        elif resource.startswith(BUCKET_ARN + "/") and action in actions.objects:
            key = resource.removeprefix(BUCKET_ARN + "/")
            if not grant.prefixes or any(key.startswith(p) for p in grant.prefixes):
                return True
    return False


# --- strategies ----------------------------------------------------------------------------

_SEGMENT = st.text(alphabet="abcxyz019-_.éß", min_size=1, max_size=6).filter(lambda s: s not in (".", ".."))
_RANDOM_PREFIX = st.lists(_SEGMENT, min_size=1, max_size=3).map(lambda segs: "/".join(segs) + "/")
_PREFIX = st.one_of(st.sampled_from(PREFIX_POOL), _RANDOM_PREFIX)
_ACCOUNT = st.from_regex(r"\A[2-5][0-9]{11}\Z")


@st.composite
def cases(draw: st.DrawFn) -> Case:
    account_ids = draw(st.lists(_ACCOUNT, min_size=1, max_size=4, unique=True))
    accounts = {a: draw(st.sampled_from(PLACEMENTS)) for a in account_ids}
    pool = draw(st.lists(_PREFIX, min_size=1, max_size=4, unique_by=lambda p: p.rstrip("/")))
    # A few scopes (prefix sets; None is the whole bucket) shared by several grants, so that
    # statements merge; grants with the same scope but another kind or access must not.
    scope = st.one_of(st.none(), st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
    scopes = draw(st.lists(scope, min_size=1, max_size=3))
    accesses = draw(st.lists(st.sampled_from(list(ACCESS_ACTIONS)), min_size=1, max_size=2, unique=True))
    candidates = draw(st.lists(_candidate(account_ids, scopes, accesses), min_size=2, max_size=9))
    seen: set[tuple[str, str]] = set()
    grants = []
    for grant in candidates:
        keys = {(grant.ident, p) for p in grant.prefixes or ("",)}
        # The same grantee with the same prefix twice is a declaration error: skip it.
        if keys & seen:
            continue
        seen |= keys
        grants.append(grant)
    split = tuple(draw(st.lists(st.integers(0, 1), min_size=len(grants), max_size=len(grants))))
    return Case(accounts, tuple(grants), split)


def _candidate(
    account_ids: list[str], scopes: list[list[str] | None], accesses: list[Access]
) -> st.SearchStrategy[Declared]:
    @st.composite
    def grant(draw: st.DrawFn) -> Declared:
        kind = draw(st.sampled_from(("account", "account", "role", "user", "org", "ou")))
        account = draw(st.sampled_from(account_ids))
        if kind == "account":
            ident = account
            to = draw(st.sampled_from((account, f"arn:aws:iam::{account}:root")))
        elif kind in ("role", "user"):
            name = draw(st.sampled_from(ROLE_NAMES if kind == "role" else USER_NAMES))
            ident = to = f"arn:aws:iam::{account}:{kind}/{name}"
        elif kind == "org":
            ident = draw(st.sampled_from((ORG_A, ORG_B)))
            to = f"org:{ident}"
        else:
            ident = draw(st.sampled_from(OUS))
            to = f"ou:{ident}" + draw(st.sampled_from(("", "/")))
        access = draw(st.sampled_from(accesses))
        chosen = draw(st.sampled_from(scopes))
        prefixes: tuple[str, ...] = ()
        written: tuple[str, ...] = ()
        if chosen is not None:
            # Sometimes written without the trailing slash: the loader must normalise it.
            written = tuple(draw(st.sampled_from((p, p.rstrip("/")))) for p in chosen)
            prefixes = tuple(sorted(chosen))
        # Mostly permanent; otherwise around the boundary (expiring today means not rendered).
        days = draw(st.sampled_from((None, None, None, -1, 0, 1, 90)))
        expires = None if days is None else TODAY + dt.timedelta(days=days)
        return Declared(kind, to, ident, access, prefixes, written, expires)

    return grant()


# --- loading and rendering like the CLI does -----------------------------------------------


def _document(grants: list[Declared]) -> dict[str, Any]:
    entries = []
    for grant in grants:
        entry: dict[str, Any] = {"to": grant.to, "access": grant.access.value}
        if grant.written_prefixes:
            entry["prefixes"] = list(grant.written_prefixes)
        if grant.expires is not None:
            entry["expires"] = grant.expires
        entries.append(entry)
    return {"version": 1, "bucket": BUCKET, "account": OWNER, "grants": entries}


def render_case(case: Case, grants: tuple[Declared, ...] | None = None) -> DesiredBucket:
    grants = case.grants if grants is None else grants
    split = case.split[: len(grants)] if grants is case.grants else (0,) * len(grants)
    with tempfile.TemporaryDirectory() as tmp:
        shares = Path(tmp)
        for number in (0, 1):
            mine = [g for g, s in zip(grants, split, strict=True) if s == number]
            if mine or number == 0:
                text = yaml.safe_dump(_document(mine), allow_unicode=True, sort_keys=False)
                (shares / f"team-{number}.yaml").write_text(text, encoding="utf-8")
        declarations, problems = load_shares(shares, Config(), TODAY)
    assert errors_only(problems) == [], [str(p) for p in problems]
    desired, render_problems = render_declarations(declarations, Config(), TODAY)
    assert render_problems == []
    assert [d.bucket for d in desired] == [BUCKET]
    return desired[0]


def _policy(desired: DesiredBucket) -> dict[str, Any]:
    return policy_document([s.statement for s in desired.statements])


# --- the request grid ----------------------------------------------------------------------

OBJECT_ACTIONS = sorted({a for x in ACCESS_ACTIONS.values() for a in x.objects} | {"s3:DeleteObject"})
LIST_ACTIONS = sorted({a for x in ACCESS_ACTIONS.values() for a in x.listing} | {"s3:ListBucketVersions"})
BUCKET_ACTIONS = sorted({a for x in ACCESS_ACTIONS.values() for a in x.bucket} | {"s3:PutBucketPolicy"})


def principals(case: Case) -> list[Principal]:
    found = {}
    for account, placement in {**case.accounts, **OUTSIDERS}.items():
        for arn in (f"arn:aws:iam::{account}:role/not-granted", f"arn:aws:iam::{account}:user/bob"):
            found[arn] = Principal(arn, placement)
    for grant in case.grants:
        if grant.kind in ("role", "user"):
            found[grant.ident] = Principal(grant.ident, case.accounts[grant.ident.split(":")[4]])
    return list(found.values())


def requests(case: Case) -> Iterator[tuple[str, str, str | None]]:
    """(action, resource, s3:prefix) inside, at the edge of and outside every declared prefix."""
    prefixes = sorted({p for g in case.grants for p in g.prefixes})
    keys = {"outside/k.bin", "k.bin"}
    list_prefixes: set[str | None] = {None, "", "outside/"}
    for p in prefixes:
        keys |= {p + "k.bin", p + "deep/er/k", p, p.rstrip("/"), p.rstrip("/") + "x/k", p.upper() + "k"}
        list_prefixes |= {p, p + "sub/", p.rstrip("/"), p.rstrip("/") + "x/"}
    for key in sorted(keys):
        for action in OBJECT_ACTIONS:
            yield action, f"{BUCKET_ARN}/{key}", None
    for action in LIST_ACTIONS:
        for s3_prefix in sorted(list_prefixes, key=lambda v: (v is None, v or "")):
            yield action, BUCKET_ARN, s3_prefix
    for action in BUCKET_ACTIONS:
        yield action, BUCKET_ARN, None
    # Actions on the wrong kind of resource, and on another bucket.
    yield "s3:ListBucket", f"{BUCKET_ARN}/k.bin", "k"
    yield "s3:GetObject", BUCKET_ARN, None
    yield "s3:GetObject", f"arn:aws:s3:::other-bucket/{prefixes[0] if prefixes else ''}k.bin", None


# --- properties ----------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(cases())
def test_each_grantee_gets_exactly_what_it_declared(case: Case) -> None:
    policy = _policy(render_case(case))
    grid = list(requests(case))
    wrong = []
    for who in principals(case):
        for action, resource, s3_prefix in grid:
            request = Request(
                who.arn,
                action,
                resource,
                who.placement.org,
                (who.placement.path,) if who.placement.path else (),
                s3_prefix,
            )
            expected = expected_allowed(case.grants, who, action, resource, s3_prefix)
            if is_allowed(policy, request) != expected:
                wrong.append((expected, request, allowing_sids(policy, request)))
    assert not wrong, "\n".join(
        f"expected {'allow' if e else 'deny'}: {r} (allowed by {sids})" for e, r, sids in wrong[:10]
    )


@PROPERTY_SETTINGS
@given(cases())
def test_rendered_statements_are_well_formed_and_never_public(case: Case) -> None:
    desired = render_case(case)
    statements = [s.statement for s in desired.statements]
    sids = [s["Sid"] for s in statements]
    assert len(sids) == len(set(sids))
    assert [s.sid for s in desired.statements] == sids
    bucket_level = {a for x in ACCESS_ACTIONS.values() for a in x.listing + x.bucket}
    object_level = {a for x in ACCESS_ACTIONS.values() for a in x.objects}
    for statement in statements:
        assert statement["Sid"].startswith("BucketShare") and statement["Sid"].isascii()
        assert statement["Sid"].isalnum()
        assert statement["Effect"] == "Allow"
        on_bucket = set(statement["Action"]) <= bucket_level
        assert on_bucket or set(statement["Action"]) <= object_level, "bucket and object actions mixed"
        for resource in statement["Resource"]:
            assert (resource == BUCKET_ARN) if on_bucket else resource.startswith(BUCKET_ARN + "/")
        condition = statement.get("Condition", {})
        for values in (v for tests in condition.values() for v in tests.values()):
            assert all(isinstance(v, str) for v in values)
        if statement["Principal"] == "*":
            # Non-public only with a fixed-value org id condition (AWS-BEHAVIOUR.md).
            orgs = condition["StringEquals"]["aws:PrincipalOrgID"]
            assert orgs and all(ORG_RE.match(o) for o in orgs)
        else:
            assert all(p.endswith(":root") for p in statement["Principal"]["AWS"])
    findings = analyze_policy_string(json.dumps(_policy(desired))).findings
    assert findings == [], [(f.issue, f.detail, f.location) for f in findings]


@PROPERTY_SETTINGS
@given(cases(), st.randoms(use_true_random=False))
def test_removing_or_reordering_grants_never_touches_unrelated_statements(
    case: Case, rng: random.Random
) -> None:
    before = render_case(case)
    shuffled = list(case.grants)
    rng.shuffle(shuffled)
    again = render_case(case, tuple(shuffled))
    assert _policy(again) == _policy(before), "statements depend on the order grants are declared in"
    removed = rng.randrange(len(case.grants))
    rest = tuple(g for i, g in enumerate(case.grants) if i != removed)
    after = render_case(case, rest)
    after_by_sid = {s.statement["Sid"]: s.statement for s in after.statements}
    gone = case.grants[removed]
    for desired in before.statements:
        sid = desired.statement["Sid"]
        if not any(_same_grant(g, gone) for g in desired.grants):
            assert after_by_sid.get(sid) == desired.statement, f"{sid} changed though {gone} is not in it"
    before_sids = {s.statement["Sid"] for s in before.statements}
    assert set(after_by_sid) <= before_sids, "removing a grant renamed a statement"


def _same_grant(grant: Any, declared: Declared) -> bool:
    return (
        grant.grantee.id == declared.ident
        and grant.access is declared.access
        and grant.prefixes == declared.prefixes
        and grant.expires == declared.expires
    )


# --- parliament on the shipped examples ---------------------------------------------------


def _shipped() -> list[DesiredBucket]:
    declarations, problems = load_shares(REPO / "shares", Config(), TODAY)
    assert errors_only(problems) == []
    desired, problems = render_declarations(declarations, Config(), TODAY)
    assert problems == []
    return desired


@pytest.mark.parametrize("community", [False, True], ids=["default-auditors", "community-auditors"])
def test_parliament_finds_nothing_in_the_shipped_examples(community: bool) -> None:
    desired = _shipped()
    assert {d.bucket for d in desired} == {"acme-ml-shared", "acme-model-artifacts"}
    for bucket in desired:
        findings = analyze_policy_string(
            json.dumps(_policy(bucket)), include_community_auditors=community
        ).findings
        assert findings == [], (bucket.bucket, [(f.issue, f.detail, f.location) for f in findings])


@pytest.mark.parametrize("partition", ["aws-cn", "aws-us-gov"])
def test_parliament_finds_nothing_in_other_partitions(partition: str) -> None:
    declarations, problems = load_shares(REPO / "shares", Config(partition="aws"), TODAY)
    assert errors_only(problems) == []
    # The same grants, rendered for another partition (role ARNs carry their partition).
    config = Config(partition=partition)
    shares = tuple(
        replace(
            share,
            grants=tuple(
                replace(
                    g, grantee=replace(g.grantee, id=g.grantee.id.replace("arn:aws:", f"arn:{partition}:"))
                )
                for g in share.grants
            ),
        )
        for share in declarations.buckets
    )
    desired, problems = render_declarations(Declarations(shares), config, TODAY)
    assert problems == []
    for bucket in desired:
        text = json.dumps(_policy(bucket))
        assert "arn:aws:" not in text
        findings = analyze_policy_string(text, include_community_auditors=True).findings
        assert findings == [], (bucket.bucket, [(f.issue, f.detail, f.location) for f in findings])


def test_parliament_reports_the_mistakes_it_is_here_to_catch() -> None:
    """ "No findings" above means something only if parliament flags these."""
    root = {"AWS": "arn:aws:iam::222222222222:root"}
    bad = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": root, "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b/*"},
            {
                "Effect": "Allow",
                "Principal": root,
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*",
                "Condition": {"StringLike": {"s3:prefix": "a/*"}},
            },
            {"Effect": "Allow", "Principal": root, "Action": "s3:GetObjekt", "Resource": "arn:aws:s3:::b/*"},
        ],
    }
    issues = {f.issue for f in analyze_policy_string(json.dumps(bad)).findings}
    assert issues == {"RESOURCE_MISMATCH", "UNKNOWN_CONDITION_FOR_ACTION", "UNKNOWN_ACTION"}


def test_shipped_examples_mean_what_they_say() -> None:
    policies = {d.bucket: _policy(d) for d in _shipped()}
    shared = policies["acme-ml-shared"]

    def can(
        arn: str,
        action: str,
        key: str | None,
        org: str | None = None,
        path: str | None = None,
        s3_prefix: str | None = None,
    ) -> bool:
        resource = f"arn:aws:s3:::acme-ml-shared/{key}" if key is not None else "arn:aws:s3:::acme-ml-shared"
        return is_allowed(shared, Request(arn, action, resource, org, (path,) if path else (), s3_prefix))

    trainer = "arn:aws:iam::555555555555:role/fraud-trainer"
    assert can(trainer, "s3:PutObject", "models/fraud/candidates/v7.bin")
    assert not can(trainer, "s3:PutObject", "models/fraud/v7.bin")
    assert can(trainer, "s3:GetObject", "models/fraud/v7.bin")  # account 555555555555 reads models/fraud/
    assert not can("arn:aws:iam::444444444444:role/other", "s3:GetObject", "features/x")
    assert can(
        "arn:aws:iam::444444444444:role/inference/batch-scoring", "s3:ListBucket", None, s3_prefix="features/"
    )
    research = ("arn:aws:iam::121212121212:role/r", "o-a1b2c3d4e5", "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/")
    assert can(research[0], "s3:GetObject", "datasets/public-benchmarks/a.parquet", research[1], research[2])
    assert not can(research[0], "s3:GetObject", "datasets/private/a.parquet", research[1], research[2])
    assert can(research[0], "s3:GetObject", "models/shared/base.bin", research[1], research[2])
    assert not can("arn:aws:iam::121212121212:role/r", "s3:GetObject", "models/shared/base.bin")
    assert policies["acme-model-artifacts"]["Statement"]


# --- the oracle itself agrees with documented IAM behaviour -------------------------------

_ROLE = "arn:aws:iam::222222222222:role/reader"


def _statement(**fields: Any) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", **fields}
        ],
    }


@pytest.mark.parametrize(
    ("policy", "request_", "verdict"),
    [
        pytest.param(
            _statement(Principal={"AWS": "arn:aws:iam::222222222222:root"}),
            Request(_ROLE, "s3:GetObject", "arn:aws:s3:::b/k"),
            "Allow",
            id="root-principal-covers-the-account",
        ),
        pytest.param(
            _statement(Principal={"AWS": "222222222222"}),
            Request(_ROLE, "s3:getobject", "arn:aws:s3:::b/k"),
            "Allow",
            id="bare-account-id-and-case-insensitive-action",
        ),
        pytest.param(
            _statement(Principal={"AWS": "arn:aws-cn:iam::222222222222:root"}),
            Request(_ROLE, "s3:GetObject", "arn:aws:s3:::b/k"),
            "ImplicitDeny",
            id="other-partition-root",
        ),
        pytest.param(
            _statement(Principal={"AWS": "arn:aws:iam::222222222222:root"}),
            Request(_ROLE, "s3:GetObject", "arn:aws:s3:::b"),
            "ImplicitDeny",
            id="object-wildcard-is-not-the-bucket",
        ),
        pytest.param(
            _statement(Principal="*", Condition={"StringLike": {"s3:prefix": "a/*"}}),
            Request(_ROLE, "s3:GetObject", "arn:aws:s3:::b/k"),
            "ImplicitDeny",
            id="missing-key-fails-stringlike",
        ),
        pytest.param(
            _statement(
                Principal="*", Condition={"ForAllValues:StringLike": {"aws:PrincipalOrgPaths": "o-x/*"}}
            ),
            Request(_ROLE, "s3:GetObject", "arn:aws:s3:::b/k"),
            "Allow",
            id="missing-key-passes-forallvalues",
        ),
        pytest.param(
            _statement(
                Principal="*", Condition={"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-x/*"}}
            ),
            Request(_ROLE, "s3:GetObject", "arn:aws:s3:::b/k", "o-x", ("o-x/r-1/ou-1-2/",)),
            "Allow",
            id="foranyvalue-wildcard",
        ),
        pytest.param(
            _statement(
                Principal={"AWS": "222222222222"}, Condition={"ArnEquals": {"aws:PrincipalArn": _ROLE}}
            ),
            Request("arn:aws:iam::222222222222:role/other", "s3:GetObject", "arn:aws:s3:::b/k"),
            "ImplicitDeny",
            id="arnequals-other-role",
        ),
        pytest.param(
            _statement(
                Principal={"AWS": "222222222222"},
                Condition={"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::222222222222:role/*"}},
            ),
            Request("arn:aws:iam::222222222222:role/other", "s3:GetObject", "arn:aws:s3:::b/k"),
            "Allow",
            id="arnequals-accepts-wildcards-like-arnlike",
        ),
        pytest.param(
            _statement(Principal="*", Resource="arn:aws:s3:::b/${aws:PrincipalAccount}/*"),
            Request(_ROLE, "s3:GetObject", "arn:aws:s3:::b/222222222222/k"),
            "Allow",
            id="policy-variable-in-resource",
        ),
        pytest.param(
            {
                **_statement(Principal="*", Resource="arn:aws:s3:::b/${aws:PrincipalAccount}/*"),
                "Version": "2008-10-17",
            },
            Request(_ROLE, "s3:GetObject", "arn:aws:s3:::b/222222222222/k"),
            "ImplicitDeny",
            id="no-variables-before-2012-10-17",
        ),
        pytest.param(
            _statement(Principal="*", Resource="arn:aws:s3:::b/${*}/*"),
            Request(_ROLE, "s3:GetObject", "arn:aws:s3:::b/x/k"),
            "ImplicitDeny",
            id="escaped-star-is-literal",
        ),
        pytest.param(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"},
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::b/k",
                    },
                ],
            },
            Request(_ROLE, "s3:GetObject", "arn:aws:s3:::b/k"),
            "ExplicitDeny",
            id="deny-wins",
        ),
    ],
)
def test_policy_evaluator_follows_iam(policy: dict[str, Any], request_: Request, verdict: str) -> None:
    assert decide(policy, request_) == verdict


@pytest.mark.parametrize(
    "statement",
    [
        {"NotPrincipal": {"AWS": "222222222222"}},
        {"Principal": {"Service": "s3.amazonaws.com"}},
        {"Principal": "*", "Condition": {"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-x"}}},
        {"Principal": "*", "Condition": {"StringLike": {"aws:PrincipalOrgPaths": "o-x/*"}}},
    ],
)
def test_policy_evaluator_refuses_what_it_does_not_model(statement: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedPolicy):
        decide(_statement(**statement), Request(_ROLE, "s3:GetObject", "arn:aws:s3:::b/k", "o-x", ("o-x/",)))
