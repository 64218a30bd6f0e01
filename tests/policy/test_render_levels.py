"""Access levels defined in reconciler.yaml render exactly as the built-ins do."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from parliament import analyze_policy_string

from reconciler.declare.config import Config, load_config
from reconciler.declare.model import BucketShare, Grant
from reconciler.declare.share_file import parse_grantee
from reconciler.errors import Location
from reconciler.plan.explain import access_changes
from reconciler.policy.access import ACCESS_ACTIONS, Access
from reconciler.policy.consumer import bucket_access, grants_of
from reconciler.policy.documents import policy_document
from reconciler.policy.key import render_key_statements
from reconciler.policy.render import DesiredBucket, render_bucket

BUCKET = "acme-models"
ARN = f"arn:aws:s3:::{BUCKET}"
LEVELS = """\
access_levels:
  read-delete:
    actions: [s3:GetObject, s3:GetObjectVersion, s3:ListBucket, s3:GetBucketLocation, s3:DeleteObject]
  uploader:
    actions: [s3:PutObject, s3:PutObjectAcl, s3:DeleteObject]
    administration: true
  list-only:
    actions: [s3:ListBucket, s3:GetBucketVersioning]
"""


def _config(tmp_path: Path) -> Config:
    path = tmp_path / "reconciler.yaml"
    path.write_text(LEVELS, encoding="utf-8")
    config, problems = load_config(path)
    assert problems == []
    return config


def _render(access: Access, prefixes: tuple[str, ...] = ("models/",)) -> DesiredBucket:
    _, grantee = parse_grantee("222222222222", "aws")
    assert grantee is not None
    grant = Grant(grantee, access, prefixes, Location("shares/a.yaml", 5, 5))
    share = BucketShare(BUCKET, "111111111111", (grant,), (Location("shares/a.yaml", 2, 9),))
    return render_bucket(share, Config(), dt.date(2026, 1, 1))


def _by_sid(desired: DesiredBucket, owner_acl: bool = False) -> dict[str, dict[str, Any]]:
    rendered = desired.under_owner_acl() if owner_acl else desired
    return {s.sid: s.statement for s in rendered.statements}


def test_a_defined_level_renders_objects_listing_and_bucket_like_read(tmp_path: Path) -> None:
    level = _config(tmp_path).access_levels["read-delete"]
    statements = _by_sid(_render(level))
    # Sids name the shape, with the level in CamelCase: <prefix><part>ReadDelete<principal class><scope>.
    assert {sid.partition("ReadDeleteAccount")[0] for sid in statements} == {
        "BucketShareObjects",
        "BucketShareList",
        "BucketShareBucket",
    }
    objects, listing, bucket = (
        next(s for sid, s in statements.items() if sid.startswith(f"BucketShare{part}"))
        for part in ("Objects", "List", "Bucket")
    )
    assert objects["Action"] == ["s3:DeleteObject", "s3:GetObject", "s3:GetObjectVersion"]
    assert objects["Resource"] == [f"{ARN}/models/*"]
    assert listing["Action"] == ["s3:ListBucket"]
    assert listing["Condition"]["StringLike"] == {"s3:prefix": ["models/", "models/*"]}
    assert bucket["Action"] == ["s3:GetBucketLocation"] and bucket["Resource"] == [ARN]
    # Same resources and conditions as the built-in read on the same prefix.
    read = _by_sid(_render(Access.READ))
    assert sorted(s["Resource"] for s in read.values()) == sorted(s["Resource"] for s in statements.values())


def test_a_level_without_object_actions_renders_no_object_statement(tmp_path: Path) -> None:
    statements = _by_sid(_render(_config(tmp_path).access_levels["list-only"]))
    assert sorted(s["Action"][0] for s in statements.values()) == ["s3:GetBucketVersioning", "s3:ListBucket"]
    assert all(s["Resource"] == [ARN] for s in statements.values())


def test_under_bucket_owner_preferred_only_uploads_carry_the_acl_condition(tmp_path: Path) -> None:
    statements = _by_sid(_render(_config(tmp_path).access_levels["uploader"]), owner_acl=True)
    uploads = [s for s in statements.values() if "Condition" in s]
    others = [s for s in statements.values() if "Condition" not in s]
    assert [s["Action"] for s in uploads] == [["s3:PutObject", "s3:PutObjectAcl"]]
    assert uploads[0]["Condition"] == {"StringEquals": {"s3:x-amz-acl": ["bucket-owner-full-control"]}}
    assert [s["Action"] for s in others] == [["s3:DeleteObject"]]


def test_rendered_defined_levels_pass_an_independent_linter(tmp_path: Path) -> None:
    for level in _config(tmp_path).access_levels.values():
        for owner_acl in (False, True):
            statements = list(_by_sid(_render(level), owner_acl).values())
            findings = analyze_policy_string(json.dumps(policy_document(statements))).findings
            assert [f.issue for f in findings if f.issue in ("RESOURCE_MISMATCH", "UNKNOWN_ACTION")] == []


def test_kms_needs_follow_the_object_actions(tmp_path: Path) -> None:
    levels = _config(tmp_path).access_levels
    assert levels["read-delete"].actions.key == ACCESS_ACTIONS[Access.READ].key == ("kms:Decrypt",)
    assert levels["uploader"].actions.key == ACCESS_ACTIONS[Access.WRITE].key
    assert levels["list-only"].actions.key == ()
    key = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    for name, use in (("read-delete", "Read"), ("uploader", "Write")):
        [statement] = render_key_statements(_render(levels[name]).share.grants, key, "BucketShare", "aws")
        assert statement.sid == f"BucketShareKms{use}Account"
    assert render_key_statements(_render(levels["list-only"]).share.grants, key, "BucketShare", "aws") == ()


def test_a_gained_administration_level_is_marked(tmp_path: Path) -> None:
    levels = _config(tmp_path).access_levels
    [admin] = access_changes(_render(levels["uploader"]), [])
    assert "[administers the bucket: policy, ACL or configuration actions]" in admin.sentence()
    assert admin.reason.startswith("uploader administers the bucket")
    [plain] = access_changes(_render(levels["read-delete"]), [])
    assert "administers" not in plain.sentence()


def test_live_statements_of_a_defined_level_are_named_by_it(tmp_path: Path) -> None:
    # An unchanged defined-level grant is neither lost nor gained when its bucket's plan changes.
    desired = _render(_config(tmp_path).access_levels["read-delete"])
    live = [s.statement for s in desired.statements]
    assert access_changes(desired, live) == ()


def test_the_consumer_policy_of_a_defined_level_carries_its_actions_and_key_needs(tmp_path: Path) -> None:
    level = _config(tmp_path).access_levels["read-delete"]
    desired = _render(level)
    key = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    found = bucket_access(BUCKET, desired.statements, grants_of("222222222222", None), key, "aws")
    assert found is not None
    actions = sorted(a for s in found.statements for a in s["Action"])
    assert actions == [
        "s3:DeleteObject",
        "s3:GetBucketLocation",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:ListBucket",
    ]
    assert found.key_actions == ("kms:Decrypt",)
