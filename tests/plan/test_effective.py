"""Effective access: which kept Denies block a new grant's requests, and which never do.

Each case renders real grants (reconciler.policy.render) beside kept hand-written statements,
as the planner merges them, and asks reconciler.plan.effective what the grant really gets.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from reconciler.declare.config import Config
from reconciler.declare.identifiers import normalize_prefix
from reconciler.declare.model import BucketShare, Grant
from reconciler.declare.share_file import parse_grantee
from reconciler.errors import Location
from reconciler.plan.effective import GrantAccess, effective_access
from reconciler.policy.access import Access, Actions
from reconciler.policy.documents import policy_document
from reconciler.policy.render import render_bucket

BUCKET = "acme-data"
OWNER = "111111111111"
B = f"arn:aws:s3:::{BUCKET}"
ROLE = "arn:aws:iam::222222222222:role/ml/inference"
ORG = "o-a1b2c3d4e5"
OU = f"{ORG}/r-ab12/ou-ab12-11111111"
READ = ["s3:GetBucketLocation", "s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"]


def grant(to: str, access: str = "read", prefixes: tuple[str, ...] = ()) -> Grant:
    problem, grantee = parse_grantee(to, "aws")
    assert problem is None and grantee is not None, problem
    normal = tuple(sorted(normalize_prefix(p) for p in prefixes))
    return Grant(grantee, Access(access), normal, Location("shares/acme.yaml", 3, 5))


def deny(sid: str | None, condition: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [B, f"{B}/*"],
    }
    if sid is not None:
        statement["Sid"] = sid
    statement.update(fields)
    if "NotPrincipal" in fields:
        del statement["Principal"]
    if condition is not None:
        statement["Condition"] = condition
    return statement


def access(*kept: dict[str, Any], grants: tuple[Grant, ...], owner_acl: bool = False) -> GrantAccess:
    """What the first grant gets once rendered beside the kept statements."""
    share = BucketShare(BUCKET, OWNER, grants, (Location("shares/acme.yaml", 1, 1),))
    desired = render_bucket(share, Config(), dt.date(2026, 1, 15))
    if owner_acl:
        desired = desired.under_owner_acl()
    policy = policy_document([*kept, *(s.statement for s in desired.statements)])
    return effective_access(policy, desired.statements, grants, OWNER)[0]


def blocking(result: GrantAccess) -> dict[str, list[str]]:
    """The certain blocks, as a plan states them: statement label -> actions."""
    return {b.statement.label: list(b.actions) for b in result.blocks if b.certain}


ONLY_ROLE = deny("OnlyInference", {"StringNotEquals": {"aws:PrincipalArn": ROLE}})
ONLY_OUR_ACCOUNT = deny("OnlyOwner", {"StringNotEquals": {"aws:PrincipalAccount": [OWNER]}})
NOT_PRINCIPAL = deny("NotPrincipal", NotPrincipal={"AWS": [ROLE, f"arn:aws:iam::{OWNER}:root"]})
# AWS checks the role's account too: a NotPrincipal spares a role only when it names both.
NOT_PRINCIPAL_WITH_ACCOUNT = deny(
    "NotPrincipal",
    NotPrincipal={"AWS": [ROLE, "arn:aws:iam::222222222222:root", f"arn:aws:iam::{OWNER}:root"]},
)
VPCE = deny("VpceOnly", {"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}})
VPC = deny("VpcOnly", {"StringNotEqualsIfExists": {"aws:SourceVpc": ["vpc-0abc1234"]}})
IP_RANGE = deny("OfficeOnly", {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "203.0.113.0/24"]}})
TLS_ONLY = deny("TlsOnly", {"Bool": {"aws:SecureTransport": "false"}})
TLS_IF_EXISTS = deny("TlsIfExists", {"BoolIfExists": {"aws:SecureTransport": False}})
TLS_12 = deny("Tls12", {"NumericLessThan": {"s3:TlsVersion": "1.2"}})
SSE_REQUIRED = deny(
    "RequireSse",
    {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}},
    Action="s3:PutObject",
    Resource=f"{B}/*",
)
SSE_PRESENT = deny("SseHeader", {"Null": {"s3:x-amz-server-side-encryption": "true"}}, Action="s3:PutObject")
ACL_REQUIRED = deny(
    "OwnerAcl", {"StringNotEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}, Action="s3:PutObject"
)
NO_DELETE = deny("NoPuts", Action=["s3:PutObject", "s3:DeleteObject"], Resource=f"{B}/*")


@pytest.mark.parametrize(
    ("kept", "grants", "expected"),
    [
        pytest.param(
            ONLY_ROLE, (grant("222222222222"),), {"OnlyInference": READ}, id="all-but-role blocks its account"
        ),
        pytest.param(ONLY_ROLE, (grant(ROLE),), {}, id="all-but-role spares that role"),
        pytest.param(
            ONLY_ROLE, (grant("arn:aws:iam::222222222222:user/u"),), {"OnlyInference": READ}, id="user"
        ),
        pytest.param(
            ONLY_OUR_ACCOUNT, (grant(ROLE),), {"OnlyOwner": READ}, id="all-but-account by PrincipalAccount"
        ),
        pytest.param(NOT_PRINCIPAL, (grant("333333333333"),), {"NotPrincipal": READ}, id="NotPrincipal"),
        pytest.param(
            NOT_PRINCIPAL_WITH_ACCOUNT,
            (grant(ROLE),),
            {},
            id="NotPrincipal spares the role and account it names",
        ),
        pytest.param(VPCE, (grant(ROLE),), {"VpceOnly": READ}, id="VPC endpoint"),
        pytest.param(VPC, (grant(f"org:{ORG}"),), {"VpcOnly": READ}, id="VPC, IfExists"),
        pytest.param(IP_RANGE, (grant(f"ou:{OU}"),), {"OfficeOnly": READ}, id="IP range"),
        pytest.param(TLS_ONLY, (grant(ROLE, "read-write"),), {}, id="TLS-only"),
        pytest.param(TLS_IF_EXISTS, (grant(ROLE, "read-write"),), {}, id="TLS-only, IfExists"),
        pytest.param(TLS_12, (grant(ROLE),), {}, id="minimum TLS version"),
        pytest.param(SSE_REQUIRED, (grant(ROLE, "write"),), {}, id="encryption required"),
        pytest.param(SSE_PRESENT, (grant(ROLE, "read-write"),), {}, id="encryption header present"),
        pytest.param(ACL_REQUIRED, (grant(ROLE, "write"),), {}, id="owner ACL required"),
        pytest.param(NO_DELETE, (grant(ROLE, "read"),), {}, id="deny of writes spares a reader"),
        pytest.param(
            NO_DELETE, (grant(ROLE, "read-write"),), {"NoPuts": ["s3:PutObject"]}, id="and blocks a writer"
        ),
    ],
)
def test_kept_deny(kept: dict[str, Any], grants: tuple[Grant, ...], expected: dict[str, list[str]]) -> None:
    result = access(kept, grants=grants)
    assert blocking(result) == expected
    assert result.blocked is bool(expected)
    assert [b for b in result.blocks if not b.certain] == []


def test_a_compliant_client_meets_every_how_condition_at_once() -> None:
    kept = (TLS_ONLY, TLS_12, SSE_REQUIRED, ACL_REQUIRED)
    result = access(*kept, grants=(grant(ROLE, "read-write"),), owner_acl=True)
    assert result.blocks == ()


def test_only_the_deny_a_compliant_client_cannot_avoid_is_named() -> None:
    result = access(TLS_ONLY, ONLY_ROLE, grants=(grant("222222222222", "write"),))
    assert blocking(result) == {
        "OnlyInference": [
            "s3:AbortMultipartUpload",
            "s3:ListBucketMultipartUploads",
            "s3:ListMultipartUploadParts",
            "s3:PutObject",
        ]
    }


def test_a_deny_without_sid_is_named_by_position() -> None:
    result = access(
        TLS_ONLY, deny(None, {"StringNotEquals": {"aws:PrincipalArn": ROLE}}), grants=(grant("222222222222"),)
    )
    assert blocking(result) == {"statement 2 (no Sid)": READ}


def test_a_deny_on_one_prefix_spares_a_grant_of_another() -> None:
    secret = deny("NoSecrets", Resource=f"{B}/secret/*")
    assert access(secret, grants=(grant(ROLE, prefixes=("models/",)),)).blocks == ()
    blocked = access(secret, grants=(grant(ROLE, prefixes=("secret/",)),))
    assert blocking(blocked) == {"NoSecrets": ["s3:GetObject", "s3:GetObjectVersion"]}


def test_outside_org_deny_depends_on_facts_bucketshare_does_not_have() -> None:
    outside = deny("OrgOnly", {"StringNotEquals": {"aws:PrincipalOrgID": ORG}})
    # Whether account 222222222222 is in the organization is unknown: "may block", not a guess.
    maybe = access(outside, grants=(grant("222222222222"),))
    assert not maybe.blocked
    assert [(b.statement.label, b.certain, b.unknown_keys) for b in maybe.blocks] == [
        ("OrgOnly", False, ("aws:PrincipalOrgID",))
    ]
    assert access(outside, grants=(grant(f"org:{ORG}"),)).blocks == ()
    assert blocking(access(outside, grants=(grant("org:o-zzzzzzzzzz"),))) == {"OrgOnly": READ}


def test_an_ou_grant_is_a_member_of_that_ou() -> None:
    other_ou = deny(
        "OtherOu", {"ForAllValues:StringNotLike": {"aws:PrincipalOrgPaths": [f"{ORG}/r-ab12/ou-ab12-2*"]}}
    )
    own_ou = deny("OwnOu", {"ForAllValues:StringNotLike": {"aws:PrincipalOrgPaths": [f"{OU}/*"]}})
    assert blocking(access(other_ou, grants=(grant(f"ou:{OU}"),))) == {"OtherOu": READ}
    assert access(own_ou, grants=(grant(f"ou:{OU}"),)).blocks == ()


def test_each_grant_is_answered_for_itself() -> None:
    grants = (grant(ROLE), grant("333333333333", "write"))
    share = BucketShare(BUCKET, OWNER, grants, (Location("shares/acme.yaml", 1, 1),))
    desired = render_bucket(share, Config(), dt.date(2026, 1, 15))
    policy = policy_document([ONLY_ROLE, *(s.statement for s in desired.statements)])
    results = effective_access(policy, desired.statements, grants, OWNER)
    assert [r.grant for r in results] == list(grants)
    assert [r.blocked for r in results] == [False, True]


def test_a_grant_is_answered_alike_beside_any_other_grants() -> None:
    """Each Deny remembers its answers across a bucket's grants (by principal, action,
    resource and the values of its condition keys): what one grant's requests taught it must
    not decide another's, whatever order they come in."""
    listing = deny("ModelsOnly", {"StringNotLike": {"s3:prefix": ["models/*"]}}, Action="s3:ListBucket")
    outside = deny("OrgOnly", {"StringNotEquals": {"aws:PrincipalOrgID": ORG}})
    kept = (TLS_ONLY, ONLY_ROLE, NOT_PRINCIPAL, VPCE, SSE_REQUIRED, SSE_PRESENT)
    kept += (listing, outside)
    grants = (
        grant(ROLE, prefixes=("models/",)),
        grant("222222222222", "write"),
        grant(f"ou:{OU}", prefixes=("eval/",)),
        grant("org:o-zzzzzzzzzz", "read-write"),
        grant(f"arn:aws:iam::{OWNER}:role/etl", "read-write", ("models/", "eval/")),
    )
    share = BucketShare(BUCKET, OWNER, grants, (Location("shares/acme.yaml", 1, 1),))
    desired = render_bucket(share, Config(), dt.date(2026, 1, 15))
    policy = policy_document([*kept, *(s.statement for s in desired.statements)])
    alone = {g: effective_access(policy, desired.statements, [g], OWNER)[0] for g in grants}
    for order in (grants, grants[::-1]):
        together = effective_access(policy, desired.statements, order, OWNER)
        assert together == tuple(alone[g] for g in order)
    assert len({result.blocks for result in alone.values()}) == len(grants)


def test_the_owners_own_principals_may_come_through_its_network() -> None:
    result = access(VPCE, grants=(grant(f"arn:aws:iam::{OWNER}:role/etl"),))
    assert not result.blocked
    assert [(b.statement.label, b.certain) for b in result.blocks] == [("VpceOnly", False)]


def test_a_defined_access_level_is_checked_action_by_action() -> None:
    level = Access("read-delete", Actions(("s3:DeleteObject", "s3:GetObject"), ("s3:ListBucket",), (), ()))
    no_delete = deny("NoDeletes", Action="s3:DeleteObject", Resource=f"{B}/*")
    reader = Grant(grant(ROLE).grantee, level, (), Location("shares/acme.yaml", 3, 5))
    assert blocking(access(no_delete, grants=(reader,))) == {"NoDeletes": ["s3:DeleteObject"]}


def test_warnings_name_the_grant_the_statement_and_the_actions() -> None:
    blocked = access(TLS_ONLY, ONLY_ROLE, grants=(grant("222222222222"),))
    assert blocked.warnings() == [
        "shares/acme.yaml:3:5: account 222222222222 gains read on the whole bucket, but kept "
        "Sid OnlyInference denies it s3:GetBucketLocation, s3:GetObject, s3:GetObjectVersion, s3:ListBucket: "
        "AWS refuses those requests until that statement is changed by hand"
    ]
    outside = deny(None, {"StringNotEquals": {"aws:PrincipalOrgID": ORG}}, Action="s3:GetObject")
    maybe = access(outside, grants=(grant("222222222222"),))
    assert maybe.warnings() == [
        "shares/acme.yaml:3:5: account 222222222222 gains read on the whole bucket, but kept "
        "statement 1 (no Sid) may deny it s3:GetObject, depending on aws:PrincipalOrgID of the grantee, "
        "which bucketshare cannot see"
    ]
