"""A proposed access level is named by what it holds, so the person pasting the snippet into
reconciler.yaml (and every reviewer of a grant using it) can tell what it allows; a hash
suffix appears only when that name is taken."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from reconciler.declare.config import Config, load_config
from reconciler.importer.grants import import_policy
from reconciler.importer.result import ImportResult

BUCKET = "acme-models"
OWNER = "111111111111"
ARN = f"arn:aws:s3:::{BUCKET}"
READ_WRITE = [
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
    "s3:ListBucket",
    "s3:GetBucketLocation",
    "s3:ListBucketMultipartUploads",
]


def run(*statements: Any, config: Config | None = None) -> ImportResult:
    levels = (config or Config()).all_access_levels()
    return import_policy(list(statements), BUCKET, OWNER, "aws", "BucketShare", levels)


def allow(actions: list[str], to: str = "222222222222") -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"AWS": to}, "Action": actions, "Resource": [ARN, f"{ARN}/*"]}


@pytest.mark.parametrize(
    ("actions", "name"),
    [
        # A built-in level and what it adds.
        ([*READ_WRITE, "s3:DeleteObject"], "read-write-delete"),
        # Part of a built-in level (GetBucketLocation only says where the bucket is).
        (["s3:GetObject"], "get-only"),
        (["s3:GetObject", "s3:ListBucket"], "get-list-only"),
        (["s3:ListBucket", "s3:GetBucketLocation"], "list-only"),
        # Actions of the built-in levels with others.
        (["s3:PutObject", "s3:PutObjectAcl"], "put-with-acl"),
        (["s3:GetObject", "s3:ListBucket", "s3:PutObject", "s3:DeleteObject"], "get-list-put-with-delete"),
        # Too many to list: what is missing from a built-in level, or the first few and a count.
        ([a for a in READ_WRITE if a != "s3:ListBucketMultipartUploads"], "read-write-without-list-uploads"),
        (
            # A pastebin policy of the corpus (26).
            [
                "s3:GetObject",
                "s3:PutObject",
                "s3:ListBucket",
                "s3:GetBucketLocation",
                "s3:GetObjectAcl",
                "s3:PutObjectAcl",
                "s3:GetBucketAcl",
            ],
            "get-list-put-with-3-more",
        ),
        # Every action of S3 a bucket policy can grant, or all of some verbs.
        (["s3:*"], "all-s3-actions"),
        (["s3:Get*", "s3:List*"], "all-get-list"),
    ],
)
def test_a_proposed_level_is_named_by_what_it_holds(actions: list[str], name: str) -> None:
    [proposal] = run(allow(actions)).proposals
    assert proposal.name == name, proposal


def test_the_same_name_for_other_actions_gets_a_hash_suffix_and_equal_actions_share_a_level() -> None:
    # Both read as "list-only" (GetBucketLocation is not named), but hold different actions;
    # the third grantee holds the first one's actions and shares its level.
    result = run(
        allow(["s3:ListBucket"], "222222222222"),
        allow(["s3:ListBucket", "s3:GetBucketLocation"], "333333333333"),
        allow(["s3:ListBucket"], "444444444444"),
    )
    digest = hashlib.sha256(b"s3:getbucketlocation s3:listbucket").hexdigest()[:6]
    assert [(p.name, p.actions) for p in result.proposals] == [
        ("list-only", ("s3:ListBucket",)),
        (f"list-only-{digest}", ("s3:GetBucketLocation", "s3:ListBucket")),
    ]


def test_a_name_a_defined_level_holds_gets_a_hash_suffix_and_converts_on_the_second_import(
    tmp_path: Any,
) -> None:
    path = tmp_path / "reconciler.yaml"
    path.write_text("access_levels:\n  get-only:\n    actions: [s3:GetObjectTagging]\n", encoding="utf-8")
    config, problems = load_config(path)
    assert problems == []
    [proposal] = run(allow(["s3:GetObject"]), config=config).proposals
    digest = hashlib.sha256(b"s3:getobject").hexdigest()[:6]
    assert proposal.name == f"get-only-{digest}"
    path.write_text(path.read_text(encoding="utf-8") + "\n".join(proposal.snippet()) + "\n", encoding="utf-8")
    config, problems = load_config(path)
    assert problems == []
    result = run(allow(["s3:GetObject"]), config=config)
    assert [str(g.access) for g in result.grants] == [proposal.name]
    assert result.proposals == () and result.unmanaged == ()


def test_a_level_of_the_same_actions_is_not_proposed_again_for_the_owner_acl(tmp_path: Any) -> None:
    # The S3 user guide's upload policy: PutObject only with bucket-owner-full-control. No
    # level holds that condition (bucketshare renders it under BucketOwnerPreferred), so once
    # a level of exactly PutObject exists, importing again must propose nothing more.
    upload = {
        "Sid": "Upload",
        "Effect": "Allow",
        "Principal": {"AWS": "222222222222"},
        "Action": "s3:PutObject",
        "Resource": f"{ARN}/*",
        "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
    }
    [proposal] = run(upload).proposals
    path = tmp_path / "reconciler.yaml"
    path.write_text("\n".join(["access_levels:", *proposal.snippet()]) + "\n", encoding="utf-8")
    config, problems = load_config(path)
    assert problems == []
    second = run(upload, config=config)
    assert second.proposals == ()
    [grant] = second.grants
    assert str(grant.access) == proposal.name
    assert any("bucket-owner-full-control" in line for line in grant.widening)
