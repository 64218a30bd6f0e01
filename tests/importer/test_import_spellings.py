"""Import reads the spellings real policies use: wildcards, s3:prefix, the owner's ACL
condition, organizations, roles by aws:PrincipalArn. Each maps to grants; what a grant adds
is stated; nothing is narrowed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from reconciler.declare.config import Config, load_config
from reconciler.declare.model import BucketShare, Grant
from reconciler.declare.share_file import load_text, parse_grantee
from reconciler.errors import Location
from reconciler.importer.grants import ImportResult, import_policy
from reconciler.importer.writer import declaration_text
from reconciler.policy.access import Access
from reconciler.policy.render import render_bucket

BUCKET = "acme-models"
OWNER = "111111111111"
ARN = f"arn:aws:s3:::{BUCKET}"
READER = "222222222222"
ROOT = f"arn:aws:iam::{READER}:root"
ROLE = f"arn:aws:iam::{READER}:role/inference"
ORG = "o-a1b2c3d4e5"
OU = f"{ORG}/r-ab12/ou-ab12-11111111"
PATHS = "aws:PrincipalOrgPaths"
ARN_KEY = "aws:PrincipalArn"


def run(*statements: Any, config: Config | None = None) -> ImportResult:
    levels = (config or Config()).all_access_levels()
    return import_policy(list(statements), BUCKET, OWNER, "aws", "BucketShare", levels)


def grants(result: ImportResult) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(g.grantee.id, str(g.access), g.prefixes) for g in result.grants}


def allow(action: Any, resource: Any, principal: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": principal if principal is not None else {"AWS": READER},
        "Action": action,
        "Resource": resource,
        **extra,
    }


READ_OBJECTS = ["s3:GetObject", "s3:GetObjectVersion"]


def test_the_seed_policy_imports_as_one_read_grant_with_its_widening_stated() -> None:
    seed = allow("s3:GetObject", f"{ARN}/*", {"AWS": f"arn:aws:iam::{READER}:root"})
    result = run(seed)
    [grant] = result.grants
    assert (grant.grantee.id, str(grant.access), grant.prefixes) == (READER, "read", ())
    assert grant.widening == (
        "adds s3:GetObjectVersion on the whole bucket, s3:ListBucket on the whole bucket, "
        "s3:GetBucketLocation on the bucket",
    )
    assert result.unmanaged == ()
    text = declaration_text(BUCKET, OWNER, result, adopt=True)
    assert "  # widens: adds s3:GetObjectVersion on the whole bucket" in text
    assert "  - to: '222222222222'\n    access: read\n" in text
    documents, problems = load_text(text, "x.yaml", Config())
    assert problems == [] and [a.digest for a in documents[0].adopted] != [None]


@pytest.mark.parametrize(
    ("condition", "notes"),
    [
        pytest.param({"StringLike": {"s3:prefix": ["models/", "models/*"]}}, (), id="like-both"),
        pytest.param({"StringLike": {"s3:prefix": "models/*"}}, (), id="like-star"),
        pytest.param(
            {"StringLike": {"s3:prefix": "models/"}},
            ("it lists only exactly models/, not below",),
            id="like-no-star",
        ),
        pytest.param(
            {"StringEquals": {"s3:prefix": "models/"}},
            ("it lists only exactly models/, not below",),
            id="equals-no-star",
        ),
        pytest.param(
            {"StringEquals": {"s3:prefix": ["models/", "models/*"]}},
            (
                "StringEquals matches s3:prefix 'models/*' literally, star included",
                "it lists only exactly models/, not below",
            ),
            id="equals-star",
        ),
    ],
)
def test_s3_prefix_spellings(condition: dict[str, Any], notes: tuple[str, ...]) -> None:
    listing = allow("s3:ListBucket", ARN, Sid="List", Condition=condition)
    objects = allow(READ_OBJECTS, f"{ARN}/models/*", Sid="Get")
    result = run(objects, listing, allow("s3:GetBucketLocation", ARN))
    assert grants(result) == {(READER, "read", ("models/",))}
    assert result.grants[0].widening == tuple(f"Sid 'List' allowed less: {n}" for n in notes)
    assert result.unmanaged == ()
    assert len(result.adoptable) == 3


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        pytest.param("s3:GetObject*", "read", id="cdk-getobject-star"),
        pytest.param(["s3:Get*", "s3:List*"], None, id="get-list-stars"),
        pytest.param("s3:*", None, id="s3-star"),
        pytest.param("*", None, id="star"),
    ],
)
def test_wildcards_expand_to_the_actions_they_match(action: Any, expected: str | None) -> None:
    result = run(allow(action, [ARN, f"{ARN}/*"], Sid="Cdk"))
    if expected is not None:
        # GetObject* is 13 object actions: more than read, so a level is proposed for them.
        assert result.grants == ()
        [proposal] = result.proposals
        assert "s3:GetObjectAcl" in proposal.actions and "s3:GetObjectTagging" in proposal.actions
        assert not proposal.administration
        return
    [proposal] = result.proposals
    assert "s3:ListBucket" in proposal.actions and "s3:ListAllMyBuckets" not in proposal.actions
    assert "s3:GetAccessPoint" not in proposal.actions  # no bucket or object resource type
    assert proposal.administration is (action in ("s3:*", "*"))
    [reason] = [u.reason for u in result.unmanaged]
    assert f"proposed level {proposal.name}" in reason


def test_cdk_grant_read_imports_with_a_proposed_level_and_converts_on_a_second_import(tmp_path: Any) -> None:
    cdk = [allow(["s3:GetObject*", "s3:GetBucket*", "s3:List*"], [ARN, f"{ARN}/*"], {"AWS": ROOT})]
    first = run(*cdk)
    assert first.grants == () and len(first.proposals) == 1
    snippet = "\n".join(["access_levels:", *first.proposals[0].snippet()])
    path = tmp_path / "reconciler.yaml"
    path.write_text(snippet + "\n", encoding="utf-8")
    config, problems = load_config(path)
    assert problems == []
    second = run(*cdk, config=config)
    [grant] = second.grants
    assert str(grant.access) == first.proposals[0].name and grant.widening == ()
    assert second.unmanaged == () and second.proposals == ()


def test_a_partial_read_converts_exactly_once_its_proposed_level_is_defined(tmp_path: Any) -> None:
    seed = allow("s3:GetObject", f"{ARN}/*")
    [proposal] = run(seed).proposals
    path = tmp_path / "reconciler.yaml"
    path.write_text("\n".join(["access_levels:", *proposal.snippet()]) + "\n", encoding="utf-8")
    config, _ = load_config(path)
    result = run(seed, config=config)
    assert grants(result) == {(READER, "getobject", ())}
    assert result.grants[0].widening == () and result.proposals == ()


def test_bucketshares_own_bucket_owner_preferred_output_imports() -> None:
    _, grantee = parse_grantee(READER, "aws")
    assert grantee is not None
    grant = Grant(grantee, Access.READ_WRITE, ("models/",), Location("x.yaml", 5, 5))
    share = BucketShare("acme-models", OWNER, (grant,), (Location("x.yaml", 2, 9),))
    desired = render_bucket(share, Config(), dt.date(2026, 1, 1)).under_owner_acl()
    rendered = [dict(s.statement, Sid=s.sid.replace("BucketShare", "Hand")) for s in desired.statements]
    assert any("s3:x-amz-acl" in str(s.get("Condition")) for s in rendered)
    result = run(*rendered)
    assert grants(result) == {(READER, "read-write", ("models/",))}
    assert result.grants[0].widening == (
        "allows s3:AbortMultipartUpload, s3:ListMultipartUploadParts, s3:PutObject without the "
        "bucket-owner-full-control ACL the statements required (bucketshare renders that condition when "
        "the bucket's Object Ownership is BucketOwnerPreferred)",
    )
    assert len(result.adoptable) == len(rendered)


@pytest.mark.parametrize(
    ("principal", "condition", "grantee", "note"),
    [
        pytest.param("*", {"StringEquals": {"aws:PrincipalOrgID": ORG}}, ORG, None, id="org-equals"),
        pytest.param("*", {"StringLike": {"aws:PrincipalOrgID": [ORG]}}, ORG, None, id="org-like"),
        pytest.param(
            "*",
            {"StringEquals": {"aws:PrincipalOrgID": ORG}, "ForAnyValue:StringLike": {PATHS: f"{OU}/*"}},
            OU,
            None,
            id="ou-paths-like",
        ),
        pytest.param(
            "*",
            {"StringEquals": {"aws:PrincipalOrgID": ORG}, "ForAnyValue:StringEquals": {PATHS: f"{OU}/"}},
            OU,
            "directly in the OU",
            id="ou-paths-equals",
        ),
        pytest.param({"AWS": ROOT}, {"ArnEquals": {ARN_KEY: ROLE}}, ROLE, None, id="root-arn-equals"),
        pytest.param({"AWS": READER}, {"StringEquals": {ARN_KEY: ROLE}}, ROLE, None, id="root-string"),
        pytest.param("*", {"ArnLike": {"aws:PrincipalArn": ROLE}}, ROLE, None, id="star-arn-like"),
        pytest.param({"AWS": ROOT}, {"ArnEquals": {ARN_KEY: ROOT}}, READER, "root user", id="arn-root"),
        pytest.param("*", {"StringEquals": {"aws:PrincipalAccount": READER}}, READER, None, id="account"),
    ],
)
def test_principal_spellings(
    principal: Any, condition: dict[str, Any], grantee: str, note: str | None
) -> None:
    objects = allow(READ_OBJECTS, f"{ARN}/*", principal, Condition=condition)
    bucket = allow(["s3:ListBucket", "s3:GetBucketLocation"], ARN, principal, Condition=condition)
    result = run(objects, bucket)
    assert grants(result) == {(grantee, "read", ())}
    widening = " ".join(result.grants[0].widening)
    assert (note in widening) if note else widening == ""


@pytest.mark.parametrize(
    ("condition", "why"),
    [
        ({"Bool": {"aws:SecureTransport": "true"}}, "condition Bool aws:securetransport is not one"),
        ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, "condition IpAddress aws:sourceip is not one"),
        ({"StringEquals": {"s3:x-amz-acl": "public-read"}}, "s3:x-amz-acl public-read is not one"),
        ({"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{READER}:role/data-*"}}, "is a pattern"),
    ],
)
def test_other_conditions_keep_the_statement_with_the_reason(condition: dict[str, Any], why: str) -> None:
    result = run(allow(READ_OBJECTS, f"{ARN}/*", Condition=condition))
    assert result.grants == ()
    [unmanaged] = result.unmanaged
    assert unmanaged.label == "statement 1 (no Sid)"
    assert why in unmanaged.reason


def test_reasons_name_the_statement_that_causes_them() -> None:
    # One grantee, three statements: only the one granting DeleteObject carries its reason.
    result = run(
        allow(READ_OBJECTS, f"{ARN}/*", Sid="Read"),
        allow(["s3:ListBucket", "s3:GetBucketLocation"], ARN, Sid="List"),
        allow("s3:DeleteObject", f"{ARN}/tmp/*"),
    )
    assert grants(result) == {(READER, "read", ())}
    assert {u.label: u.reason for u in result.unmanaged} == {
        "statement 3 (no Sid)": "account 222222222222 gets s3:DeleteObject on tmp/, which no access level "
        "covers; proposed level deleteobject-getbucketlocation"
    }
    assert result.adoptable == ("Read", "List")


def test_a_proposal_never_takes_the_name_of_a_defined_level(tmp_path: Any) -> None:
    path = tmp_path / "reconciler.yaml"
    path.write_text("access_levels:\n  getobject:\n    actions: [s3:GetObjectTagging]\n", encoding="utf-8")
    config, _ = load_config(path)
    [proposal] = run(allow("s3:GetObject", f"{ARN}/*"), config=config).proposals
    assert (proposal.name, proposal.actions) == ("getobject-2", ("s3:GetObject",))
