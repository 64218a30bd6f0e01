from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import RunCli, WriteShares
from policy_evaluator import Request, is_allowed

from reconciler.commands.render import indented
from reconciler.declare.config import Config
from reconciler.declare.identifiers import normalize_prefix
from reconciler.declare.model import BucketShare, Declarations, Grant
from reconciler.declare.share_file import parse_grantee
from reconciler.declare.tree import load_shares
from reconciler.errors import Location, Severity, errors_only
from reconciler.policy.access import ACCESS_ACTIONS, Access
from reconciler.policy.documents import POLICY_SIZE_LIMIT, policy_document, policy_size
from reconciler.policy.render import (
    DesiredStatement,
    render_bucket,
    render_declarations,
    size_problem,
)

REPO = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 1, 15)
BUCKET = "acme-model-artifacts"
OWNER = "111111111111"
WHERE = Location("shares/test.yaml", 1, 1)

READ_OBJECTS = ["s3:GetObject", "s3:GetObjectVersion"]
WRITE_OBJECTS = ["s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:PutObject"]


def make_grant(
    to: str,
    access: str = "read",
    prefixes: tuple[str, ...] = (),
    expires: dt.date | None = None,
    partition: str = "aws",
    line: int = 1,
) -> Grant:
    problem, grantee = parse_grantee(to, partition)
    assert problem is None and grantee is not None, problem
    normal = tuple(sorted(normalize_prefix(p) for p in prefixes))
    return Grant(grantee, Access(access), normal, Location("shares/test.yaml", line, 5), None, expires)


def make_share(*grants: Grant, bucket: str = BUCKET) -> BucketShare:
    return BucketShare(bucket, OWNER, tuple(grants), (WHERE,))


def rendered(*grants: Grant, config: Config | None = None, today: dt.date = TODAY) -> list[dict[str, Any]]:
    desired = render_bucket(make_share(*grants), config or Config(), today)
    return [s.statement for s in desired.statements]


def by_sid(statements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in statements}


def root(account: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:root"


# The Sids below are literal on purpose: a change to how Sids are built renames every live
# statement bucketshare owns, so it must show up as a failing test, not slip through.
CASES = [
    pytest.param(
        [make_grant("222222222222")],
        [
            {
                "Sid": "BucketShareBucketReadAccountAll",
                "Effect": "Allow",
                "Principal": {"AWS": [root("222222222222")]},
                "Action": ["s3:GetBucketLocation"],
                "Resource": [f"arn:aws:s3:::{BUCKET}"],
            },
            {
                "Sid": "BucketShareListReadAccountAll",
                "Effect": "Allow",
                "Principal": {"AWS": [root("222222222222")]},
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{BUCKET}"],
            },
            {
                "Sid": "BucketShareObjectsReadAccountAll",
                "Effect": "Allow",
                "Principal": {"AWS": [root("222222222222")]},
                "Action": READ_OBJECTS,
                "Resource": [f"arn:aws:s3:::{BUCKET}/*"],
            },
        ],
        id="account-read-whole-bucket",
    ),
    pytest.param(
        [make_grant("arn:aws:iam::222222222222:root", "write", ("models/fraud/",))],
        [
            {
                "Sid": "BucketShareBucketWriteAccountAll",
                "Effect": "Allow",
                "Principal": {"AWS": [root("222222222222")]},
                "Action": ["s3:ListBucketMultipartUploads"],
                "Resource": [f"arn:aws:s3:::{BUCKET}"],
            },
            {
                "Sid": "BucketShareObjectsWriteAccountPD8D6D6E718",
                "Effect": "Allow",
                "Principal": {"AWS": [root("222222222222")]},
                "Action": WRITE_OBJECTS,
                "Resource": [f"arn:aws:s3:::{BUCKET}/models/fraud/*"],
            },
        ],
        id="account-root-arn-write-prefix",
    ),
    pytest.param(
        [make_grant("222222222222", "read-write", ("b/", "a"))],
        [
            {
                "Sid": "BucketShareBucketReadWriteAccountAll",
                "Effect": "Allow",
                "Principal": {"AWS": [root("222222222222")]},
                "Action": ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
                "Resource": [f"arn:aws:s3:::{BUCKET}"],
            },
            {
                "Sid": "BucketShareListReadWriteAccountPF03785ABAB",
                "Effect": "Allow",
                "Principal": {"AWS": [root("222222222222")]},
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{BUCKET}"],
                "Condition": {"StringLike": {"s3:prefix": ["a/", "a/*", "b/", "b/*"]}},
            },
            {
                "Sid": "BucketShareObjectsReadWriteAccountPF03785ABAB",
                "Effect": "Allow",
                "Principal": {"AWS": [root("222222222222")]},
                "Action": sorted(READ_OBJECTS + WRITE_OBJECTS),
                "Resource": [f"arn:aws:s3:::{BUCKET}/a/*", f"arn:aws:s3:::{BUCKET}/b/*"],
            },
        ],
        id="account-read-write-two-prefixes",
    ),
    pytest.param(
        [make_grant("arn:aws:iam::333333333333:role/ml/inference", "read", ("models/",))],
        [
            {
                "Sid": "BucketShareBucketReadArnAll",
                "Effect": "Allow",
                "Principal": {"AWS": [root("333333333333")]},
                "Action": ["s3:GetBucketLocation"],
                "Resource": [f"arn:aws:s3:::{BUCKET}"],
                "Condition": {
                    "ArnEquals": {"aws:PrincipalArn": ["arn:aws:iam::333333333333:role/ml/inference"]}
                },
            },
            {
                "Sid": "BucketShareListReadArnP994C88CE04",
                "Effect": "Allow",
                "Principal": {"AWS": [root("333333333333")]},
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{BUCKET}"],
                "Condition": {
                    "StringLike": {"s3:prefix": ["models/", "models/*"]},
                    "ArnEquals": {"aws:PrincipalArn": ["arn:aws:iam::333333333333:role/ml/inference"]},
                },
            },
            {
                "Sid": "BucketShareObjectsReadArnP994C88CE04",
                "Effect": "Allow",
                "Principal": {"AWS": [root("333333333333")]},
                "Action": READ_OBJECTS,
                "Resource": [f"arn:aws:s3:::{BUCKET}/models/*"],
                "Condition": {
                    "ArnEquals": {"aws:PrincipalArn": ["arn:aws:iam::333333333333:role/ml/inference"]}
                },
            },
        ],
        id="role-read-prefix",
    ),
    pytest.param(
        [make_grant("arn:aws:iam::333333333333:user/uploader", "write")],
        [
            {
                "Sid": "BucketShareBucketWriteArnAll",
                "Effect": "Allow",
                "Principal": {"AWS": [root("333333333333")]},
                "Action": ["s3:ListBucketMultipartUploads"],
                "Resource": [f"arn:aws:s3:::{BUCKET}"],
                "Condition": {"ArnEquals": {"aws:PrincipalArn": ["arn:aws:iam::333333333333:user/uploader"]}},
            },
            {
                "Sid": "BucketShareObjectsWriteArnAll",
                "Effect": "Allow",
                "Principal": {"AWS": [root("333333333333")]},
                "Action": WRITE_OBJECTS,
                "Resource": [f"arn:aws:s3:::{BUCKET}/*"],
                "Condition": {"ArnEquals": {"aws:PrincipalArn": ["arn:aws:iam::333333333333:user/uploader"]}},
            },
        ],
        id="user-write-whole-bucket",
    ),
    pytest.param(
        [make_grant("org:o-a1b2c3d4e5", "read", ("datasets",))],
        [
            {
                "Sid": "BucketShareBucketReadOrgAll",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetBucketLocation"],
                "Resource": [f"arn:aws:s3:::{BUCKET}"],
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": ["o-a1b2c3d4e5"]}},
            },
            {
                "Sid": "BucketShareListReadOrgP1690D89D54",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{BUCKET}"],
                "Condition": {
                    "StringLike": {"s3:prefix": ["datasets/", "datasets/*"]},
                    "StringEquals": {"aws:PrincipalOrgID": ["o-a1b2c3d4e5"]},
                },
            },
            {
                "Sid": "BucketShareObjectsReadOrgP1690D89D54",
                "Effect": "Allow",
                "Principal": "*",
                "Action": READ_OBJECTS,
                "Resource": [f"arn:aws:s3:::{BUCKET}/datasets/*"],
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": ["o-a1b2c3d4e5"]}},
            },
        ],
        id="org-read-prefix",
    ),
    pytest.param(
        [make_grant("ou:o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/", "write")],
        [
            {
                "Sid": "BucketShareBucketWriteOuAll",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:ListBucketMultipartUploads"],
                "Resource": [f"arn:aws:s3:::{BUCKET}"],
                "Condition": {
                    "StringEquals": {"aws:PrincipalOrgID": ["o-a1b2c3d4e5"]},
                    "ForAnyValue:StringLike": {
                        "aws:PrincipalOrgPaths": ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"]
                    },
                },
            },
            {
                "Sid": "BucketShareObjectsWriteOuAll",
                "Effect": "Allow",
                "Principal": "*",
                "Action": WRITE_OBJECTS,
                "Resource": [f"arn:aws:s3:::{BUCKET}/*"],
                "Condition": {
                    "StringEquals": {"aws:PrincipalOrgID": ["o-a1b2c3d4e5"]},
                    "ForAnyValue:StringLike": {
                        "aws:PrincipalOrgPaths": ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"]
                    },
                },
            },
        ],
        id="ou-write-whole-bucket",
    ),
]


@pytest.mark.parametrize(("grants", "expected"), CASES)
def test_render_table(grants: list[Grant], expected: list[dict[str, Any]]) -> None:
    assert rendered(*grants) == expected


def test_access_table_is_the_spec() -> None:
    spec = {
        Access.READ: ({"s3:GetObject", "s3:GetObjectVersion"}, {"s3:ListBucket"}, {"s3:GetBucketLocation"}),
        Access.WRITE: (
            {"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"},
            set(),
            {"s3:ListBucketMultipartUploads"},
        ),
    }
    spec[Access.READ_WRITE] = tuple(r | w for r, w in zip(spec[Access.READ], spec[Access.WRITE], strict=True))
    actual = {access: (set(a.objects), set(a.listing), set(a.bucket)) for access, a in ACCESS_ACTIONS.items()}
    assert actual == spec


def _readme_access_rows() -> dict[str, list[str]]:
    text = (REPO / "README.md").read_text()
    section = text.split("## Access levels", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] in {a.value for a in ACCESS_ACTIONS}:
            rows[cells[0]] = cells[1:]
    return rows


def _actions(cell: str) -> set[str]:
    return {a.strip() for a in cell.split(",") if a.strip()}


def test_readme_access_table_matches_access_actions() -> None:
    rows = _readme_access_rows()
    assert set(rows) == {a.value for a in ACCESS_ACTIONS}
    for access, actions in ACCESS_ACTIONS.items():
        objects, listing, bucket = rows[access.value]
        if objects == "both of the above":
            objects = ", ".join([rows["read"][0], rows["write"][0]])
        assert _actions(objects) == set(actions.objects), access
        assert _actions(listing) == set(actions.listing), access
        assert _actions(bucket) == set(actions.bucket), access


def test_prefixes_are_normalised_and_sorted_when_loaded(write_shares: WriteShares) -> None:
    shares = write_shares(
        {
            "test.yaml": f"""\
version: 1
bucket: {BUCKET}
account: "{OWNER}"
grants:
  - to: "222222222222"
    access: read
    prefixes: [models/fraud, features/]
"""
        }
    )
    declarations, problems = load_shares(shares, Config(), TODAY)
    assert problems == []
    desired, problems = render_declarations(declarations, Config(), TODAY)
    assert problems == []
    statements = by_sid([s.statement for s in desired[0].statements])
    objects = next(s for sid, s in statements.items() if sid.startswith("BucketShareObjects"))
    assert objects["Resource"] == [
        f"arn:aws:s3:::{BUCKET}/features/*",
        f"arn:aws:s3:::{BUCKET}/models/fraud/*",
    ]
    listing = next(s for sid, s in statements.items() if sid.startswith("BucketShareList"))
    assert listing["Condition"] == {
        "StringLike": {"s3:prefix": ["features/", "features/*", "models/fraud/", "models/fraud/*"]}
    }


def test_bucket_and_object_actions_never_share_a_statement() -> None:
    grants = [
        make_grant("222222222222", "read-write", ("a/",)),
        make_grant("arn:aws:iam::333333333333:role/r", "read"),
        make_grant("org:o-a1b2c3d4e5", "write", ("b/",)),
        make_grant("ou:o-a1b2c3d4e5/r-ab12/ou-ab12-11111111", "read-write"),
    ]
    bucket_level = {a for actions in ACCESS_ACTIONS.values() for a in actions.listing + actions.bucket}
    object_level = {a for actions in ACCESS_ACTIONS.values() for a in actions.objects}
    for statement in rendered(*grants):
        if set(statement["Action"]) <= bucket_level:
            assert statement["Resource"] == [f"arn:aws:s3:::{BUCKET}"]
        else:
            assert set(statement["Action"]) <= object_level
            assert all(r.startswith(f"arn:aws:s3:::{BUCKET}/") for r in statement["Resource"])


# --- merging -------------------------------------------------------------------------------


def test_hundred_account_readers_of_one_prefix_share_one_statement_per_part() -> None:
    accounts = [f"{200000000000 + i:012d}" for i in range(100)]
    statements = rendered(*(make_grant(a, "read", ("models/fraud/",)) for a in accounts))
    assert [s["Sid"] for s in statements] == [
        "BucketShareBucketReadAccountAll",
        "BucketShareListReadAccountPD8D6D6E718",
        "BucketShareObjectsReadAccountPD8D6D6E718",
    ]
    objects = by_sid(statements)["BucketShareObjectsReadAccountPD8D6D6E718"]
    assert objects["Principal"] == {"AWS": sorted(root(a) for a in accounts)}
    assert objects["Resource"] == [f"arn:aws:s3:::{BUCKET}/models/fraud/*"]
    assert policy_size(policy_document(statements)) < POLICY_SIZE_LIMIT


def test_same_account_in_two_grants_is_listed_once() -> None:
    statements = rendered(
        make_grant("222222222222", "read", ("a/",)),
        make_grant("222222222222", "read", ("b/",)),
    )
    bucket = by_sid(statements)["BucketShareBucketReadAccountAll"]
    assert bucket["Principal"] == {"AWS": [root("222222222222")]}


def test_roles_of_different_accounts_merge_without_widening() -> None:
    first, second = "arn:aws:iam::222222222222:role/a", "arn:aws:iam::333333333333:role/b"
    statements = rendered(make_grant(first, "read", ("m/",)), make_grant(second, "read", ("m/",)))
    assert len(statements) == 3
    objects = next(s for s in statements if s["Sid"].startswith("BucketShareObjects"))
    assert objects["Principal"] == {"AWS": [root("222222222222"), root("333333333333")]}
    assert objects["Condition"] == {"ArnEquals": {"aws:PrincipalArn": [first, second]}}
    policy = policy_document(statements)
    key = f"arn:aws:s3:::{BUCKET}/m/x"
    assert is_allowed(policy, Request(first, "s3:GetObject", key))
    assert is_allowed(policy, Request(second, "s3:GetObject", key))
    assert not is_allowed(policy, Request("arn:aws:iam::222222222222:role/b", "s3:GetObject", key))
    assert not is_allowed(policy, Request("arn:aws:iam::333333333333:role/a", "s3:GetObject", key))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(make_grant("222222222222"), make_grant("333333333333", "write"), id="access"),
        pytest.param(make_grant("222222222222", prefixes=("a/",)), make_grant("333333333333"), id="scope"),
        pytest.param(
            make_grant("222222222222", prefixes=("a/",)),
            make_grant("333333333333", prefixes=("a/", "b/")),
            id="prefix-set",
        ),
    ],
)
def test_grants_of_different_access_or_scope_do_not_share_object_statements(
    first: Grant, second: Grant
) -> None:
    statements = rendered(first, second)
    for statement in statements:
        if statement["Sid"].startswith(("BucketShareObjects", "BucketShareList")):
            assert len(statement["Principal"]["AWS"]) == 1, statement


def test_each_kind_of_principal_gets_its_own_statements() -> None:
    grants = [
        make_grant("222222222222", "read", ("shared/",)),
        make_grant("arn:aws:iam::333333333333:role/reader", "read", ("shared/",)),
        make_grant("arn:aws:iam::444444444444:user/reader", "read", ("shared/",)),
        make_grant("org:o-a1b2c3d4e5", "read", ("shared/",)),
        make_grant("ou:o-f6g7h8i9j0/r-ab12/ou-ab12-22222222", "read", ("shared/",)),
    ]
    statements = rendered(*grants)
    # Roles and users are the same kind (root principal + aws:PrincipalArn): 4 kinds x 3 parts.
    assert len(statements) == 12
    for statement in statements:
        condition = statement.get("Condition", {})
        kind = re.fullmatch(
            r"BucketShare(?:Objects|List|Bucket)Read(Account|Arn|Org|Ou)\w+", statement["Sid"]
        )
        assert kind is not None, statement["Sid"]
        if kind[1] == "Account":
            assert statement["Principal"] == {"AWS": [root("222222222222")]}
            assert set(condition) <= {"StringLike"}
        elif kind[1] == "Arn":
            assert statement["Principal"] == {"AWS": [root("333333333333"), root("444444444444")]}
            assert condition["ArnEquals"]["aws:PrincipalArn"] == [
                "arn:aws:iam::333333333333:role/reader",
                "arn:aws:iam::444444444444:user/reader",
            ]
        elif kind[1] == "Org":
            assert statement["Principal"] == "*"
            assert condition["StringEquals"] == {"aws:PrincipalOrgID": ["o-a1b2c3d4e5"]}
            assert "ForAnyValue:StringLike" not in condition
        else:
            assert statement["Principal"] == "*"
            assert condition["StringEquals"] == {"aws:PrincipalOrgID": ["o-f6g7h8i9j0"]}
            assert condition["ForAnyValue:StringLike"] == {
                "aws:PrincipalOrgPaths": ["o-f6g7h8i9j0/r-ab12/ou-ab12-22222222/*"]
            }


def test_org_and_ou_grants_do_not_widen_each_other() -> None:
    statements = rendered(
        make_grant("org:o-a1b2c3d4e5", "read", ("org-wide/",)),
        make_grant("ou:o-f6g7h8i9j0/r-ab12/ou-ab12-22222222", "write", ("ou-only/",)),
    )
    policy = policy_document(statements)
    in_org = ("arn:aws:iam::555555555555:role/x", "o-a1b2c3d4e5", ("o-a1b2c3d4e5/r-zz99/",))
    in_ou = ("arn:aws:iam::666666666666:role/x", "o-f6g7h8i9j0", ("o-f6g7h8i9j0/r-ab12/ou-ab12-22222222/",))
    same_org_other_ou = (
        "arn:aws:iam::777777777777:role/x",
        "o-f6g7h8i9j0",
        ("o-f6g7h8i9j0/r-ab12/ou-ab12-33333333/",),
    )

    def allowed(who: tuple[str, str, tuple[str, ...]], action: str, key: str) -> bool:
        return is_allowed(policy, Request(who[0], action, f"arn:aws:s3:::{BUCKET}/{key}", who[1], who[2]))

    assert allowed(in_org, "s3:GetObject", "org-wide/a")
    assert not allowed(in_org, "s3:PutObject", "ou-only/a")
    assert allowed(in_ou, "s3:PutObject", "ou-only/a")
    assert not allowed(in_ou, "s3:GetObject", "org-wide/a")
    assert not allowed(same_org_other_ou, "s3:PutObject", "ou-only/a")


# --- Sids ----------------------------------------------------------------------------------

MIXED = [
    make_grant("222222222222", "read", ("models/fraud/",), line=1),
    make_grant("333333333333", "read-write", ("models/training/",), line=2),
    make_grant("arn:aws:iam::444444444444:role/inference/batch", "read", ("features/", "models/"), line=3),
    make_grant("org:o-a1b2c3d4e5", "read", ("models/shared/",), line=4),
    make_grant("ou:o-a1b2c3d4e5/r-ab12/ou-ab12-11111111", "read", ("datasets/",), line=5),
    make_grant("arn:aws:iam::555555555555:role/trainer", "write", ("models/fraud/candidates/",), line=6),
]


def test_sids_are_prefixed_alphanumeric_and_unique() -> None:
    config = Config(sid_prefix="Acme2")
    sids = [s["Sid"] for s in rendered(*MIXED, config=config)]
    assert len(sids) == len(set(sids))
    for sid in sids:
        assert sid.startswith("Acme2")
        assert re.fullmatch(r"[A-Za-z0-9]+", sid), sid


def test_rendering_is_deterministic_and_ignores_grant_order() -> None:
    assert rendered(*MIXED) == rendered(*MIXED)
    assert rendered(*MIXED) == rendered(*reversed(MIXED))


@pytest.mark.parametrize(
    "added",
    [
        pytest.param(make_grant("888888888888", "write", ("uploads/",)), id="new-access-and-scope"),
        pytest.param(
            make_grant("ou:o-a1b2c3d4e5/r-ab12/ou-ab12-99999999", "write"), id="new-kind-and-access"
        ),
        pytest.param(make_grant("arn:aws:iam::999999999999:user/u", "read-write"), id="new-arn-read-write"),
    ],
)
def test_adding_a_grant_of_a_new_shape_leaves_every_statement_unchanged(added: Grant) -> None:
    before = rendered(*MIXED)
    after = by_sid(rendered(*MIXED, added))
    for statement in before:
        assert after.pop(statement["Sid"]) == statement
    assert after, "the added grant rendered nothing"


@pytest.mark.parametrize("removed", range(len(MIXED)))
def test_removing_a_grant_leaves_unrelated_statements_unchanged(removed: int) -> None:
    before = render_bucket(make_share(*MIXED), Config(), TODAY)
    after = by_sid(rendered(*(g for i, g in enumerate(MIXED) if i != removed)))
    gone = MIXED[removed]
    for desired in before.statements:
        if gone not in desired.grants:
            assert after.get(desired.sid) == desired.statement
        elif desired.grants == (gone,):
            assert desired.sid not in after
        else:
            # Shared with another grant: same Sid, only that grant's principal leaves.
            assert desired.sid in after
    assert set(after) <= {s.sid for s in before.statements}, "removing a grant renamed a statement"


def test_adding_a_reader_of_an_existing_shape_changes_only_principals() -> None:
    before = by_sid(rendered(*MIXED))
    after = by_sid(rendered(*MIXED, make_grant("777777777777", "read", ("models/fraud/",))))
    assert set(after) == set(before)
    changed = {sid for sid in before if before[sid] != after[sid]}
    assert changed == {
        "BucketShareBucketReadAccountAll",
        "BucketShareListReadAccountPD8D6D6E718",
        "BucketShareObjectsReadAccountPD8D6D6E718",
    }
    for sid in changed:
        assert {k: v for k, v in after[sid].items() if k != "Principal"} == {
            k: v for k, v in before[sid].items() if k != "Principal"
        }
        assert root("777777777777") in after[sid]["Principal"]["AWS"]


# --- partition -----------------------------------------------------------------------------


def test_aws_cn_partition_renders_every_arn_in_that_partition() -> None:
    config = Config(partition="aws-cn")
    statements = rendered(
        make_grant("222222222222", "read", ("m/",), partition="aws-cn"),
        make_grant("arn:aws-cn:iam::333333333333:role/r", "write", partition="aws-cn"),
        config=config,
    )
    text = json.dumps(statements)
    assert "arn:aws:" not in text
    assert root("222222222222", "aws-cn") in text
    assert "arn:aws-cn:iam::333333333333:role/r" in text
    for statement in statements:
        for resource in statement["Resource"]:
            assert resource.startswith(f"arn:aws-cn:s3:::{BUCKET}")


def test_an_arn_of_another_partition_is_refused(write_shares: WriteShares) -> None:
    shares = write_shares(
        {
            "test.yaml": f"""\
version: 1
bucket: {BUCKET}
account: "{OWNER}"
grants:
  - to: arn:aws:iam::333333333333:role/r
    access: read
"""
        }
    )
    _, problems = load_shares(shares, Config(partition="aws-cn"), TODAY)
    assert [p.message for p in errors_only(problems)] == [
        "ARN partition 'aws' does not match the configured partition 'aws-cn'"
    ]


# --- size limit ----------------------------------------------------------------------------


def _size_problems(*grants: Grant) -> list[str]:
    declarations = Declarations((make_share(*grants),))
    _, problems = render_declarations(declarations, Config(), TODAY)
    return [str(p) for p in problems]


def test_many_distinct_prefixes_exceed_the_size_limit() -> None:
    prefixes = tuple(f"models/team-{i:04d}/artifacts/" for i in range(400))
    problems = _size_problems(make_grant("222222222222", "read", prefixes))
    assert len(problems) == 1
    assert problems[0].startswith(f"{WHERE}: bucket {BUCKET}: rendered policy is ")
    assert f"over the {POLICY_SIZE_LIMIT}-byte S3 limit" in problems[0]


def test_many_role_grants_exceed_the_size_limit() -> None:
    grants = [make_grant(f"arn:aws:iam::{300000000000 + i:012d}:role/model-reader") for i in range(200)]
    problems = _size_problems(*grants)
    assert len(problems) == 1
    assert f"bucket {BUCKET}:" in problems[0]


def test_size_limit_names_only_the_bucket_over_it() -> None:
    big = make_share(
        *(make_grant("222222222222", "read", (f"p{i:04d}/deep/folder/name/",)) for i in range(300)),
        bucket="acme-big",
    )
    small = make_share(make_grant("222222222222"), bucket="acme-small")
    _, problems = render_declarations(Declarations((big, small)), Config(), TODAY)
    assert len(problems) == 1
    assert problems[0].severity is Severity.ERROR
    assert "bucket acme-big:" in problems[0].message


def _padded_statements(size: int) -> tuple[DesiredStatement, ...]:
    statement = {"Sid": "BucketSharePad", "Effect": "Allow", "Action": "s3:GetObject", "Resource": ""}
    padding = size - policy_size(policy_document([statement]))
    statement["Resource"] = "x" * padding
    assert policy_size(policy_document([statement])) == size
    return (DesiredStatement("BucketSharePad", statement, ()),)


def test_size_limit_is_inclusive_of_exactly_20480_bytes() -> None:
    bucket = render_bucket(make_share(), Config(), TODAY)
    assert size_problem(bucket, _padded_statements(POLICY_SIZE_LIMIT)) is None
    problem = size_problem(bucket, _padded_statements(POLICY_SIZE_LIMIT + 1))
    problems = [problem] if problem else []
    assert [p.message for p in problems] == [
        f"bucket {BUCKET}: rendered policy is {POLICY_SIZE_LIMIT + 1} bytes, over the "
        f"{POLICY_SIZE_LIMIT}-byte S3 limit; use fewer distinct prefixes or an org/OU grant"
    ]


def test_size_counts_utf8_bytes_not_characters() -> None:
    # S3 limits bytes; a prefix of 2-byte characters must count double.
    prefixes = tuple(f"modèles/équipe-{i:03d}/ß-ü/" for i in range(160))
    statements = rendered(make_grant("222222222222", "read", prefixes))
    text = json.dumps(policy_document(statements), separators=(",", ":"), ensure_ascii=False)
    assert policy_size(policy_document(statements)) == len(text.encode())
    assert len(text) <= POLICY_SIZE_LIMIT < len(text.encode())
    assert len(_size_problems(make_grant("222222222222", "read", prefixes))) == 1


# --- expiry --------------------------------------------------------------------------------


def test_grant_is_rendered_until_the_day_before_it_expires() -> None:
    expires = dt.date(2026, 3, 31)
    temporary = make_grant("666666666666", "read", ("models/fraud/",), expires=expires)
    permanent = make_grant("555555555555", "read", ("models/fraud/",))
    day_before = rendered(permanent, temporary, today=expires - dt.timedelta(days=1))
    assert root("666666666666") in json.dumps(day_before)
    on_the_day = rendered(permanent, temporary, today=expires)
    assert root("666666666666") not in json.dumps(on_the_day)
    assert on_the_day == rendered(permanent, today=expires)
    assert rendered(temporary, today=expires + dt.timedelta(days=30)) == []


def test_expired_grant_in_yaml_is_a_warning_and_not_rendered(write_shares: WriteShares) -> None:
    shares = write_shares(
        {
            "test.yaml": f"""\
version: 1
bucket: {BUCKET}
account: "{OWNER}"
grants:
  - to: "222222222222"
    access: read
  - to: "333333333333"
    access: read
    expires: 2026-01-15
"""
        }
    )
    declarations, problems = load_shares(shares, Config(), TODAY)
    assert [(p.severity, p.message) for p in problems] == [
        (Severity.WARNING, "grant expired on 2026-01-15 and is no longer rendered; delete it")
    ]
    desired, render_problems = render_declarations(declarations, Config(), TODAY)
    assert render_problems == []
    assert "333333333333" not in json.dumps([s.statement for s in desired[0].statements])


# --- prefixes that IAM would read as syntax ------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "principal", "expanded_key"),
    [
        pytest.param(
            "drop/${aws:PrincipalAccount}/",
            "arn:aws:iam::333333333333:role/writer",
            "drop/333333333333/x",
            id="principal-account",
        ),
        pytest.param(
            "home/${aws:username}/", "arn:aws:iam::333333333333:user/alice", "home/alice/x", id="username"
        ),
    ],
)
def test_a_prefix_is_literal_never_a_policy_variable(
    write_shares: WriteShares, prefix: str, principal: str, expanded_key: str
) -> None:
    """S3 keys may contain `${`, but IAM expands `${...}` in Resource and condition values.

    Either the loader refuses such a prefix (as it refuses `*` and `?`), or the rendered
    policy must grant exactly the literal prefix (IAM's escape for `$` is `${$}`).
    """
    grantee = "333333333333" if principal.split(":")[5].startswith("role/") else principal
    shares = write_shares(
        {
            "test.yaml": f"""\
version: 1
bucket: {BUCKET}
account: "{OWNER}"
grants:
  - to: {grantee}
    access: read-write
    prefixes: ["{prefix}"]
"""
        }
    )
    declarations, problems = load_shares(shares, Config(), TODAY)
    if errors_only(problems):
        return
    desired, _ = render_declarations(declarations, Config(), TODAY)
    policy = policy_document([s.statement for s in desired[0].statements])
    literal = f"arn:aws:s3:::{BUCKET}/{prefix}x"
    expanded = f"arn:aws:s3:::{BUCKET}/{expanded_key}"
    assert not is_allowed(policy, Request(principal, "s3:PutObject", expanded)), (
        f"prefix {prefix!r} was rendered as a policy variable: {principal} may write {expanded_key}"
    )
    assert is_allowed(policy, Request(principal, "s3:GetObject", literal)), "literal prefix not granted"
    listing = Request(principal, "s3:ListBucket", f"arn:aws:s3:::{BUCKET}", s3_prefix=expanded_key)
    assert not is_allowed(policy, listing)


# --- CLI -----------------------------------------------------------------------------------

TWO_BUCKETS = f"""\
version: 1
bucket: {BUCKET}
account: "{OWNER}"
grants:
  - to: "222222222222"
    access: read
---
version: 1
bucket: acme-ml-shared
account: "{OWNER}"
grants:
  - to: org:o-a1b2c3d4e5
    access: read
    prefixes: [models/shared/]
"""


def test_cli_render_json_prints_one_policy_per_bucket(write_shares: WriteShares, run_cli: RunCli) -> None:
    shares = write_shares({"test.yaml": TWO_BUCKETS})
    rc, out, err = run_cli("render", "--shares", shares, "--format", "json")
    assert (rc, err) == (0, "")
    documents = json.loads(out)
    assert set(documents) == {BUCKET, "acme-ml-shared"}
    declarations, _ = load_shares(shares, Config(), dt.date.today())
    desired, _ = render_declarations(declarations, Config(), dt.date.today())
    for bucket in desired:
        assert documents[bucket.bucket] == {
            "Version": "2012-10-17",
            "Statement": [s.statement for s in bucket.statements],
        }
    # Printed a bucket at a time, the text is still that of one json.dumps of the whole object.
    assert out == json.dumps(documents, indent=2) + "\n"


def test_cli_render_json_of_no_bucket_is_an_empty_object(write_shares: WriteShares, run_cli: RunCli) -> None:
    shares = write_shares({})
    rc, out, err = run_cli("render", "--shares", shares, "--format", "json")
    assert (rc, out, err) == (0, "{}\n", "")


def test_cli_render_one_bucket(write_shares: WriteShares, run_cli: RunCli) -> None:
    shares = write_shares({"test.yaml": TWO_BUCKETS})
    rc, out, _ = run_cli("render", "--shares", shares, "--bucket", "acme-ml-shared", "--format", "json")
    assert rc == 0
    documents = json.loads(out)
    assert list(documents) == ["acme-ml-shared"]
    assert {s["Sid"] for s in documents["acme-ml-shared"]["Statement"]} == {
        "BucketShareBucketReadOrgAll",
        "BucketShareListReadOrgPD65DA23F86",
        "BucketShareObjectsReadOrgPD65DA23F86",
    }


def test_cli_render_text_names_each_statement_and_its_source(
    write_shares: WriteShares, run_cli: RunCli
) -> None:
    shares = write_shares({"test.yaml": TWO_BUCKETS})
    rc, out, _ = run_cli("render", "--shares", shares, "--bucket", BUCKET)
    assert rc == 0
    assert out.startswith(f"# {BUCKET} (account {OWNER}): 3 statements\n")
    source = f"{shares / 'test.yaml'}:5:5"
    for sid in ("BucketShareBucketReadAccountAll", "BucketShareListReadAccountAll"):
        assert f"## {sid}  <- {source}\n" in out


def test_cli_render_unknown_bucket_is_a_user_error(write_shares: WriteShares, run_cli: RunCli) -> None:
    shares = write_shares({"test.yaml": TWO_BUCKETS})
    rc, out, err = run_cli("render", "--shares", shares, "--bucket", "nope-bucket")
    assert (rc, out) == (1, "")
    assert err == f"error: bucket nope-bucket is not declared under {shares}\n"


def test_cli_render_refuses_a_policy_over_the_size_limit(write_shares: WriteShares, run_cli: RunCli) -> None:
    prefixes = ", ".join(f"models/team-{i:04d}/artifacts/" for i in range(400))
    shares = write_shares(
        {
            "test.yaml": f"""\
version: 1
bucket: {BUCKET}
account: "{OWNER}"
grants:
  - to: "222222222222"
    access: read
    prefixes: [{prefixes}]
"""
        }
    )
    rc, out, err = run_cli("render", "--shares", shares, "--format", "json")
    assert (rc, out) == (1, "")
    assert f"{shares / 'test.yaml'}:2:9: bucket {BUCKET}: rendered policy is " in err


def test_cli_render_shipped_examples(run_cli: RunCli) -> None:
    rc, out, _ = run_cli("render", "--shares", REPO / "shares", "--format", "json")
    assert rc == 0
    documents = json.loads(out)
    assert set(documents) == {"acme-ml-shared", "acme-model-artifacts"}
    for document in documents.values():
        assert document["Version"] == "2012-10-17"
        assert all(s["Sid"].startswith("BucketShare") for s in document["Statement"])


@pytest.mark.parametrize(
    "value",
    [
        {"Version": "2012-10-17", "Statement": []},
        {"Statement": [{"Sid": "modèles-ß", "Condition": {"StringLike": {"s3:prefix": ["a/", "a/*"]}}}]},
        {"Principal": "*", "Action": ["s3:GetObject"], "Empty": {}, "N": 3, "B": True, "Z": None},
        ["\u2028 line separator", 'quote " and \\ backslash', "\x00"],
    ],
)
def test_render_json_writes_what_json_dumps_indent_2_writes(value: Any) -> None:
    # render --format json writes policies with its own indenter (json's indented form has no
    # C encoder); a reader diffing the output against json.dumps must see no difference.
    assert indented(value, 0) == json.dumps(value, indent=2)
    assert indented({"b": value}, 1) == json.dumps({"b": value}, indent=2).replace("\n", "\n  ")


def test_the_sids_with_expired_grants_are_known_without_rendering_them() -> None:
    # A plan asks which Sids the statements before an expiry had, to rule out an expiry-only
    # change cheaply; the answer must be the Sids those statements really have.
    expired = TODAY - dt.timedelta(days=1)
    share = make_share(
        make_grant("222222222222", "read-write", ("models/",)),
        make_grant("333333333333", "write", ("exports/",), expires=expired),
        make_grant("arn:aws:iam::444444444444:role/reader", "read", expires=expired),
    )
    desired = render_bucket(share, Config(), TODAY)
    for variant in (desired, desired.under_owner_acl()):
        assert variant.with_expired is not None
        assert variant.sids_with_expired() == sorted(s.sid for s in variant.with_expired)
        assert len(variant.sids_with_expired()) > len(variant.statements)
