"""Generated policies and requests for comparing reconciler.policy.evaluate with iam-simulate.

Policies: what bucketshare renders for varied declarations (every grantee kind, access
level, prefixes, the BucketOwnerPreferred form), each alone and with kept statements people
write: deny everyone but a role (aws:PrincipalArn) or an account (aws:PrincipalAccount), a
NotPrincipal deny, deny outside a VPC endpoint, a VPC or an IP range, TLS-only, minimum TLS
version, encryption-required, deny outside an organization or OU, NotAction/NotResource
denies, IfExists and set operators, statements without a Sid. Requests: random principals,
actions, resources and condition keys, seeded so a failure replays.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from reconciler.declare.config import Config
from reconciler.declare.identifiers import normalize_prefix
from reconciler.declare.model import BucketShare, Grant
from reconciler.declare.share_file import parse_grantee
from reconciler.errors import Location
from reconciler.policy.access import Access, Actions
from reconciler.policy.documents import policy_document
from reconciler.policy.render import render_bucket

BUCKET = "acme-data"
OWNER = "111111111111"
ORG = "o-a1b2c3d4e5"
OTHER_ORG = "o-zzzzzzzzzz"
OU = f"{ORG}/r-ab12/ou-ab12-11111111"
OTHER_OU = f"{ORG}/r-ab12/ou-ab12-22222222"
ROLE = "arn:aws:iam::222222222222:role/ml/inference"
TEAM_ROLE = "arn:aws:iam::444444444444:role/team-analytics"
USER = "arn:aws:iam::333333333333:user/uploader"
VPCE = "vpce-1a2b3c4d"
VPC = "vpc-0abc1234"
B = f"arn:aws:s3:::{BUCKET}"
OBJECTS = f"{B}/*"
TODAY = dt.date(2026, 1, 15)

GRANTEES = (
    "222222222222",
    "555555555555",
    ROLE,
    USER,
    TEAM_ROLE,
    f"org:{ORG}",
    f"ou:{OU}",
)
PRINCIPALS = (
    ROLE,
    USER,
    TEAM_ROLE,
    "arn:aws:iam::222222222222:role/other",
    "arn:aws:iam::222222222222:user/someone",
    "arn:aws:iam::333333333333:role/uploader",
    "arn:aws:iam::444444444444:role/team-finance",
    "arn:aws:iam::555555555555:role/ci",
    "arn:aws:iam::666666666666:role/stranger",
    f"arn:aws:iam::{OWNER}:role/admin",
)
OBJECT_ACTIONS = (
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
    "s3:DeleteObject",
)
BUCKET_ACTIONS = (
    "s3:ListBucket",
    "s3:GetBucketLocation",
    "s3:ListBucketMultipartUploads",
    "s3:PutBucketPolicy",
)
KEYS = ("models/fraud/v1.bin", "models/other.bin", "datasets/a.csv", "top.txt", "secret/x")
# A level a platform team defines (reconciler.yaml access_levels:), rendered like the built-ins.
READ_DELETE = Access(
    "read-delete",
    Actions(
        objects=("s3:DeleteObject", "s3:GetObject"),
        listing=("s3:ListBucket",),
        bucket=("s3:GetBucketLocation",),
        key=(),
    ),
)
LEVELS = (Access.READ, Access.WRITE, Access.READ_WRITE, READ_DELETE)
PREFIXES = ("models/", "models/fraud/", "datasets/", "")


def _deny(sid: str | None, condition: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Deny"}
    if sid is not None:
        statement["Sid"] = sid
    statement.setdefault("Principal", "*")
    statement.update(fields)
    if "Action" not in statement and "NotAction" not in statement:
        statement["Action"] = "s3:*"
    if "Resource" not in statement and "NotResource" not in statement:
        statement["Resource"] = [B, OBJECTS]
    if "NotPrincipal" in statement:
        del statement["Principal"]
    if condition is not None:
        statement["Condition"] = condition
    return statement


KEPT: dict[str, Callable[[], dict[str, Any]]] = {
    "deny-all-but-role": lambda: _deny("OnlyInference", {"StringNotEquals": {"aws:PrincipalArn": [ROLE]}}),
    "deny-all-but-role-arn": lambda: _deny(
        "OnlyTeams", {"ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::444444444444:role/team-*", ROLE]}}
    ),
    "deny-all-but-arn-equals": lambda: _deny(None, {"ArnNotEquals": {"aws:PrincipalArn": USER}}),
    "deny-all-but-accounts": lambda: _deny(
        "OnlyOurAccounts", {"StringNotEquals": {"aws:PrincipalAccount": [OWNER, "222222222222"]}}
    ),
    "not-principal": lambda: _deny(
        "NotPrincipalDeny", NotPrincipal={"AWS": [ROLE, f"arn:aws:iam::{OWNER}:root"]}, Action="s3:GetObject*"
    ),
    "vpc-endpoint": lambda: _deny("VpceOnly", {"StringNotEquals": {"aws:SourceVpce": VPCE}}),
    "vpc-endpoint-ifexists": lambda: _deny(None, {"StringNotEqualsIfExists": {"aws:SourceVpce": [VPCE]}}),
    "vpc": lambda: _deny(
        "VpcOnly", {"StringNotEquals": {"aws:SourceVpc": VPC}}, Action=["s3:Get*", "s3:List*"]
    ),
    "ip-range": lambda: _deny(
        "OfficeOnly", {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "203.0.113.0/24"]}}
    ),
    "ip-block": lambda: _deny("BadNet", {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}),
    "tls-only": lambda: _deny("TlsOnly", {"Bool": {"aws:SecureTransport": "false"}}),
    "tls-only-bool": lambda: _deny(None, {"Bool": {"aws:SecureTransport": False}}),
    "tls-version": lambda: _deny("Tls12", {"NumericLessThan": {"s3:TlsVersion": "1.2"}}),
    "encryption-required": lambda: _deny(
        "RequireSse",
        {"StringNotEquals": {"s3:x-amz-server-side-encryption": ["AES256", "aws:kms"]}},
        Action="s3:PutObject",
        Resource=OBJECTS,
    ),
    "encryption-header-present": lambda: _deny(
        "SseHeader",
        {"Null": {"s3:x-amz-server-side-encryption": "true"}},
        Action="s3:PutObject",
        Resource=OBJECTS,
    ),
    "outside-org": lambda: _deny("OrgOnly", {"StringNotEquals": {"aws:PrincipalOrgID": ORG}}),
    "outside-ou": lambda: _deny(
        "OuOnly",
        {"ForAllValues:StringNotLike": {"aws:PrincipalOrgPaths": [f"{OU}/*"]}},
        Action="s3:PutObject",
    ),
    "ou-any": lambda: _deny(None, {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [f"{OTHER_OU}/*"]}}),
    "not-action": lambda: _deny(
        "ReadOnlyFor333", Principal={"AWS": "333333333333"}, NotAction=["s3:GetObject", "s3:ListBucket"]
    ),
    "not-resource": lambda: _deny("OnlyModels", NotResource=[B, f"{B}/models/*"], Action="s3:GetObject"),
    "ignore-case": lambda: _deny(
        "CaseFree", {"StringNotEqualsIgnoreCase": {"aws:PrincipalArn": ROLE.upper()}}, Action="s3:PutObject"
    ),
    "prefix-like": lambda: _deny(
        None, {"StringNotLike": {"s3:prefix": ["models/*", ""]}}, Action="s3:ListBucket", Resource=B
    ),
    "max-keys": lambda: _deny(
        "SmallLists", {"NumericGreaterThan": {"s3:max-keys": "100"}}, Action="s3:ListBucket"
    ),
    "secret-prefix": lambda: _deny("NoSecrets", Action="s3:*", Resource=f"{B}/secret/*"),
    "acl-required": lambda: _deny(
        None, {"StringNotEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}, Action="s3:PutObject"
    ),
    "tls-only-ifexists": lambda: _deny("TlsIfExists", {"BoolIfExists": {"aws:SecureTransport": "false"}}),
    "kms-key-like": lambda: _deny(
        "OurKeyOnly",
        {
            "StringNotLikeIfExists": {
                "s3:x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:*:111111111111:key/?*"
            }
        },
        Action="s3:PutObject",
    ),
    "exact-max-keys": lambda: _deny(
        None, {"NumericEquals": {"s3:max-keys": ["10", "20"]}}, Action="s3:ListBucket"
    ),
    "service-allow": lambda: {
        "Sid": "Logs",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"{B}/logs/*",
    },
    "allow-hand-written": lambda: {
        "Sid": "LegacyRead",
        "Effect": "Allow",
        "Principal": {"AWS": "555555555555"},
        "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": [B, OBJECTS],
    },
    "allow-no-sid": lambda: {
        "Effect": "Allow",
        "Principal": {"AWS": [TEAM_ROLE]},
        "Action": "s3:Get*",
        "Resource": f"{B}/datasets/*",
    },
}


def _grant(rng: random.Random, line: int) -> Grant:
    problem, grantee = parse_grantee(rng.choice(GRANTEES), "aws")
    assert problem is None and grantee is not None, problem
    count = rng.choice((0, 0, 1, 2))
    prefixes = tuple(sorted({normalize_prefix(p) for p in rng.sample(PREFIXES[:3], count)}))
    access = rng.choice(LEVELS)
    return Grant(grantee, access, prefixes, Location("shares/generated.yaml", line, 5))


def rendered_statements(rng: random.Random) -> list[dict[str, Any]]:
    grants = tuple(_grant(rng, line) for line in range(1, rng.randint(1, 4) + 1))
    share = BucketShare(BUCKET, OWNER, grants, (Location("shares/generated.yaml", 1, 1),))
    desired = render_bucket(share, Config(), TODAY)
    if desired.owner_acl is not None and rng.random() < 0.5:
        desired = desired.under_owner_acl()
    return [s.statement for s in desired.statements]


def policies(seed: int, count: int) -> list[tuple[str, dict[str, Any]]]:
    """(name, policy) pairs: rendered policies alone and with one to three kept statements."""
    rng = random.Random(seed)
    names = sorted(KEPT)
    result = []
    for index in range(count):
        ours = rendered_statements(rng)
        chosen = [] if index % 6 == 0 else rng.sample(names, rng.randint(1, 3))
        # Every kept kind is seen at least once, whatever the count.
        if index < len(names) and names[index] not in chosen:
            chosen.append(names[index])
        kept = [KEPT[name]() for name in chosen]
        rng.shuffle(kept)
        label = "+".join(chosen) or "rendered-only"
        result.append((f"{index}:{label}", policy_document([*kept, *ours])))
    return result


def _context(rng: random.Random, action: str) -> dict[str, Any]:
    pool: dict[str, Callable[[], Any]] = {
        "aws:SecureTransport": lambda: rng.choice(("true", "false")),
        "aws:SourceVpce": lambda: rng.choice((VPCE, "vpce-99999999")),
        "aws:SourceVpc": lambda: rng.choice((VPC, "vpc-0fff0000")),
        "aws:SourceIp": lambda: rng.choice(("10.1.2.3", "203.0.113.9", "198.51.100.7", "192.0.2.1")),
        "aws:PrincipalOrgID": lambda: rng.choice((ORG, OTHER_ORG)),
        "aws:PrincipalOrgPaths": lambda: rng.sample(
            [f"{OU}/", f"{OTHER_OU}/", f"{OTHER_ORG}/r-zz/"], rng.randint(1, 2)
        ),
        "s3:TlsVersion": lambda: rng.choice(("1.1", "1.2", "1.3")),
    }
    if action == "s3:ListBucket":
        pool["s3:prefix"] = lambda: rng.choice(("models/", "models/fraud/", "datasets/", "", "secret/"))
        pool["s3:max-keys"] = lambda: rng.choice(("10", "1000"))
    if action == "s3:PutObject":
        pool["s3:x-amz-server-side-encryption"] = lambda: rng.choice(("AES256", "aws:kms", "aws:kms:dsse"))
        pool["s3:x-amz-acl"] = lambda: rng.choice(("bucket-owner-full-control", "private"))
        pool["s3:x-amz-server-side-encryption-aws-kms-key-id"] = lambda: rng.choice(
            ("arn:aws:kms:us-east-1:111111111111:key/k1", "arn:aws:kms:us-east-1:999999999999:key/k2")
        )
    chosen = [key for key in pool if rng.random() < 0.5]
    return {key: pool[key]() for key in chosen}


def requests(seed: int, count: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    result = []
    for _ in range(count):
        if rng.random() < 0.6:
            action = rng.choice(OBJECT_ACTIONS)
            bucket = BUCKET if rng.random() < 0.95 else "another-bucket"
            resource = f"arn:aws:s3:::{bucket}/{rng.choice(KEYS)}"
        else:
            action = rng.choice(BUCKET_ACTIONS)
            resource = B if rng.random() < 0.95 else "arn:aws:s3:::another-bucket"
        principal = rng.choice(PRINCIPALS)
        result.append(
            {"principal": principal, "action": action, "resource": resource, "context": _context(rng, action)}
        )
    return result
