"""reconciler.importer: hand-written policies, shaped like real ones, read back into grants."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.declare.model import Grantee, GranteeKind
from reconciler.importer.grants import ImportResult, import_policy
from reconciler.policy.access import Access
from reconciler.policy.atoms import Atom, covers, grant_atoms, statement_atoms, uncovered
from reconciler.policy.normalize import content_hash

BUCKET = "acme-models"
OWNER = "111111111111"
ARN = f"arn:aws:s3:::{BUCKET}"
ROLE = "arn:aws:iam::333333333333:role/inference"
ORG = "o-a1b2c3d4e5"
OU = f"{ORG}/r-ab12/ou-ab12-11111111"


def run(*statements: Any) -> ImportResult:
    return import_policy(list(statements), BUCKET, OWNER, "aws", "BucketShare")


def grants(result: ImportResult) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(g.grantee.id, g.access.value, g.prefixes) for g in result.grants}


def reasons(result: ImportResult) -> dict[str, str]:
    return {u.label: u.reason for u in result.unmanaged}


def read_objects(sid: str, principal: Any, prefix: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": principal,
        "Action": ["s3:GetObject", "s3:GetObjectVersion"],
        "Resource": f"{ARN}/{prefix}*",
        **extra,
    }


def read_bucket(sid: str, principal: Any, prefix: str = "", **extra: Any) -> dict[str, Any]:
    statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": principal,
        "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
        "Resource": ARN,
        **extra,
    }
    if prefix:
        # GetBucketLocation does not honour s3:prefix: a prefix listing is its own statement.
        statement["Action"] = "s3:ListBucket"
        statement["Condition"] = {"StringLike": {"s3:prefix": [f"{prefix}*"]}}
    return statement


LOCATION = {
    "Sid": "Location",
    "Effect": "Allow",
    "Principal": {"AWS": "222222222222"},
    "Action": "s3:GetBucketLocation",
    "Resource": ARN,
}


def test_an_account_reading_the_whole_bucket_in_two_statements() -> None:
    # Stored forms: a bare account id in one statement, the root ARN in the other.
    result = run(
        read_objects("Objects", {"AWS": "222222222222"}),
        read_bucket("Bucket", {"AWS": "arn:aws:iam::222222222222:root"}),
    )
    assert grants(result) == {("222222222222", "read", ())}
    assert result.unmanaged == ()
    assert result.adoptable == ("Objects", "Bucket")


def test_a_prefix_read_with_listing_scoped_by_s3_prefix() -> None:
    result = run(
        read_objects("Objects", {"AWS": ["222222222222"]}, "models/fraud/"),
        read_bucket("List", {"AWS": "222222222222"}, "models/fraud/"),
        LOCATION,
    )
    assert grants(result) == {("222222222222", "read", ("models/fraud/",))}
    assert result.adoptable == ("Objects", "List", "Location")


def test_a_listing_of_the_whole_bucket_is_not_turned_into_reading_it() -> None:
    # The prefix read imports; listing the whole bucket is no level (read would add reading
    # every object): its statement stays, blamed alone, with an exact level proposed.
    result = run(
        read_objects("Objects", {"AWS": "222222222222"}, "models/"),
        read_bucket("Bucket", {"AWS": "222222222222"}),
    )
    assert grants(result) == {("222222222222", "read", ("models/",))}
    assert reasons(result) == {
        "Sid 'Bucket'": "account 222222222222 gets s3:ListBucket on the whole bucket, which no access level "
        "covers; proposed level getbucketlocation-listbucket"
    }
    assert [p.actions for p in result.proposals] == [("s3:GetBucketLocation", "s3:ListBucket")]
    assert result.adoptable == ("Objects",)


def test_get_object_alone_imports_as_read_with_its_widening_stated() -> None:
    result = run(
        {
            "Sid": "GetOnly",
            "Effect": "Allow",
            "Principal": {"AWS": "222222222222"},
            "Action": "s3:GetObject",
            "Resource": f"{ARN}/*",
        }
    )
    assert grants(result) == {("222222222222", "read", ())}
    assert result.grants[0].widening == (
        "adds s3:GetObjectVersion on the whole bucket, s3:ListBucket on the whole bucket, "
        "s3:GetBucketLocation on the bucket",
    )
    assert result.unmanaged == ()
    assert [(p.name, p.actions) for p in result.proposals] == [("getobject", ("s3:GetObject",))]


def test_mixed_principals_in_one_statement_and_a_role_by_arn() -> None:
    both = ["arn:aws:iam::222222222222:root", ROLE, "444444444444"]
    result = run(read_objects("Objects", {"AWS": both}), read_bucket("Bucket", {"AWS": both}))
    assert grants(result) == {
        ("222222222222", "read", ()),
        ("444444444444", "read", ()),
        (ROLE, "read", ()),
    }
    assert {g.grantee.kind for g in result.grants} == {GranteeKind.ACCOUNT, GranteeKind.ROLE}


def test_a_role_as_root_plus_principal_arn_is_the_role() -> None:
    condition = {"ArnEquals": {"aws:PrincipalArn": ROLE}}
    result = run(
        read_objects("Objects", {"AWS": "333333333333"}, Condition=condition),
        read_bucket("Bucket", {"AWS": "arn:aws:iam::333333333333:root"}, Condition=condition),
    )
    assert grants(result) == {(ROLE, "read", ())}


def test_root_of_another_account_than_the_principal_arn_is_not_modelled() -> None:
    condition = {"ArnEquals": {"aws:PrincipalArn": ROLE}}
    result = run(read_objects("Objects", {"AWS": "222222222222"}, Condition=condition))
    assert "not exactly the root accounts" in reasons(result)["Sid 'Objects'"]


def test_an_orphaned_role_id_is_listed_and_the_other_statements_import() -> None:
    result = run(
        read_objects("Gone", {"AWS": "AROAEXAMPLEID1234567"}),
        read_objects("Objects", {"AWS": "222222222222"}),
        read_bucket("Bucket", {"AWS": "222222222222"}),
    )
    assert grants(result) == {("222222222222", "read", ())}
    assert "orphaned principal AROAEXAMPLEID1234567" in reasons(result)["Sid 'Gone'"]


def test_an_organization_by_principal_org_id() -> None:
    condition = {"StringEquals": {"aws:PrincipalOrgID": ORG}}
    result = run(
        read_objects("Objects", "*", Condition=condition),
        read_bucket("Bucket", {"AWS": "*"}, Condition=condition),
    )
    assert grants(result) == {(ORG, "read", ())}
    assert result.grants[0].grantee == Grantee(GranteeKind.ORG, ORG, org=ORG)


def test_an_ou_by_principal_org_paths_with_the_fixed_org_id() -> None:
    condition = {
        "StringEquals": {"aws:PrincipalOrgID": [ORG]},
        "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": f"{OU}/*"},
    }
    result = run(
        read_objects("Objects", "*", Condition=condition),
        read_bucket("Bucket", "*", Condition=condition),
    )
    assert grants(result) == {(OU, "read", ())}


def test_org_paths_without_the_org_id_is_public_and_stays() -> None:
    condition = {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": f"{OU}/*"}}
    result = run(read_objects("Objects", "*", Condition=condition))
    assert "without a fixing condition" in reasons(result)["Sid 'Objects'"]


@pytest.mark.parametrize(
    ("statement", "why"),
    [
        ({**read_objects("D", {"AWS": "222222222222"}), "Effect": "Deny"}, "Effect 'Deny'"),
        (
            {k: v for k, v in read_objects("N", None).items() if k != "Principal"}
            | {"NotPrincipal": {"AWS": "222222222222"}},
            "uses NotPrincipal",
        ),
        (
            {k: v for k, v in read_objects("N", {"AWS": "222222222222"}).items() if k != "Action"}
            | {"NotAction": "s3:DeleteObject"},
            "uses NotAction",
        ),
        (read_objects("P", "*"), "Principal * without a fixing condition"),
        (read_objects("S", {"Service": "logging.s3.amazonaws.com"}), "names a Service principal"),
        (
            read_objects("T", {"AWS": "222222222222"}, Condition={"Bool": {"aws:SecureTransport": True}}),
            "condition Bool aws:securetransport is not one bucketshare renders",
        ),
        (
            read_objects(
                "V", {"AWS": "222222222222"}, Condition={"StringEquals": {"aws:SourceVpce": "vpce-1"}}
            ),
            "condition StringEquals aws:sourcevpce",
        ),
        (
            {**read_objects("W", {"AWS": "222222222222"}), "Action": "s3:Get*"},
            "s3:GetObjectAcl, s3:GetObjectAttributes,",
        ),
        (
            {**read_objects("X", {"AWS": "222222222222"}), "Action": "s3:DeleteObject"},
            "gets s3:DeleteObject on the whole bucket, which no access level covers; proposed level "
            "deleteobject",
        ),
        (
            {**read_objects("Z", {"AWS": "222222222222"}), "Action": "s3:GetObjekt"},
            "grants s3:getobjekt, which is not an S3 action AWS's reference lists",
        ),
        (
            {**read_objects("O", {"AWS": "222222222222"}), "Resource": "arn:aws:s3:::other/*"},
            "not this bucket",
        ),
        ({**read_objects("K", {"AWS": "222222222222"}), "Resource": f"{ARN}/models/a.bin"}, "whole prefix"),
        (
            {**read_objects("F", {"AWS": "222222222222"}), "Resource": f"{ARN}/models*"},
            "does not end in a folder",
        ),
        (read_objects("BucketShareObjectsReadAccountAll", {"AWS": "222222222222"}), "already bucketshare's"),
        (read_objects("Own", {"AWS": OWNER}), "the bucket's own account"),
    ],
)
def test_what_stays_unmanaged_and_why(statement: dict[str, Any], why: str) -> None:
    result = run(statement)
    assert result.grants == ()
    [reason] = reasons(result).values()
    assert why in reason, reason


def test_a_real_world_policy_with_several_statements() -> None:
    policy = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [ARN, f"{ARN}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "InferenceRead",
            "Effect": "Allow",
            "Principal": {"AWS": ["222222222222", ROLE]},
            "Action": ["s3:GetObjectVersion", "s3:GetObject"],
            "Resource": [f"{ARN}/models/*"],
        },
        {
            "Sid": "InferenceList",
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::222222222222:root", ROLE]},
            "Action": "s3:ListBucket",
            "Resource": ARN,
            "Condition": {"StringLike": {"s3:prefix": ["models/", "models/*"]}},
        },
        {
            "Effect": "Allow",
            "Principal": {"AWS": ["222222222222", ROLE]},
            "Action": "s3:GetBucketLocation",
            "Resource": ARN,
        },
        {
            "Sid": "TrainingWrite",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::555555555555:root"},
            "Action": [
                "s3:PutObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
                "s3:GetObject",
                "s3:GetObjectVersion",
            ],
            "Resource": f"{ARN}/training/*",
        },
        {
            "Sid": "TrainingBucket",
            "Effect": "Allow",
            "Principal": {"AWS": "555555555555"},
            "Action": ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
            "Resource": ARN,
            "Condition": {"StringLike": {"s3:prefix": "training/*"}},
        },
    ]
    result = run(*policy)
    # TrainingBucket puts GetBucketLocation under s3:prefix, which its requests do not carry:
    # only its listing counts, and read-write adds the bucket actions it really lacked.
    assert grants(result) == {
        ("222222222222", "read", ("models/",)),
        (ROLE, "read", ("models/",)),
        ("555555555555", "read-write", ("training/",)),
    }
    [training] = [g for g in result.grants if g.grantee.id == "555555555555"]
    assert training.widening == (
        "adds s3:GetBucketLocation on the bucket, s3:ListBucketMultipartUploads on the bucket",
    )
    assert set(reasons(result)) == {"Sid 'DenyInsecureTransport'"}
    location_hash = "sha256:" + content_hash(policy[3])
    adopt = ("InferenceRead", "InferenceList", location_hash, "TrainingWrite", "TrainingBucket")
    assert result.adoptable == adopt
    assert result.not_adoptable == ()


def test_read_on_one_prefix_and_write_on_another_are_two_grants() -> None:
    principal = {"AWS": "222222222222"}
    result = run(
        read_objects("Read", principal, "models/"),
        {
            "Sid": "Write",
            "Effect": "Allow",
            "Principal": principal,
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
            "Resource": f"{ARN}/uploads/*",
        },
        read_bucket("List", principal, "models/"),
        {
            "Sid": "Bucket",
            "Effect": "Allow",
            "Principal": principal,
            "Action": ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
            "Resource": ARN,
        },
    )
    assert grants(result) == {
        ("222222222222", "read", ("models/",)),
        ("222222222222", "write", ("uploads/",)),
    }


def test_duplicate_sids_are_expressed_but_not_adoptable() -> None:
    result = run(read_objects("Same", {"AWS": "222222222222"}), read_bucket("Same", {"AWS": "222222222222"}))
    assert grants(result) == {("222222222222", "read", ())}
    assert result.adoptable == ()
    assert [u.reason for u in result.not_adoptable] == [
        "expressed by the grants below, but its Sid is not unique"
    ] * 2


def test_a_grantee_with_a_partial_level_is_widened_and_says_so() -> None:
    # 444 has only the object half: read adds the listing, said next to 444's grant only.
    result = run(
        read_objects("Shared", {"AWS": ["222222222222", "444444444444"]}),
        read_bucket("Bucket", {"AWS": "222222222222"}),
    )
    assert grants(result) == {("222222222222", "read", ()), ("444444444444", "read", ())}
    widening = {g.grantee.id: g.widening for g in result.grants}
    assert widening == {
        "222222222222": (),
        "444444444444": ("adds s3:ListBucket on the whole bucket, s3:GetBucketLocation on the bucket",),
    }
    assert result.adoptable == ("Shared", "Bucket")


def test_coverage_a_prefix_is_covered_by_the_whole_bucket_and_a_role_by_its_account() -> None:
    account = Grantee(GranteeKind.ACCOUNT, "333333333333", account="333333333333")
    role = Grantee(GranteeKind.ROLE, ROLE, account="333333333333")
    granted = grant_atoms(account, Access.READ, ())
    assert covers(granted, Atom(role, "s3:getobject", "objects", "models/"))
    assert uncovered(grant_atoms(role, Access.READ_WRITE, ()), granted)
    adopted = statement_atoms(read_objects("X", {"AWS": ROLE}, "models/"), BUCKET, "aws")
    assert uncovered(adopted, granted) == []
