"""A saved plan is a file anyone could edit: apply rebuilds each bucket's policy from the
live policy and the plan's own statements, and refuses whatever does not match, before any
write. Every case: a clear message, exit 1, no traceback, the live policy untouched."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import Workspace, bucket_plan, read_grant, statement

Edit = Callable[[dict[str, Any], str], None]


def _drop_unmanaged(plan: dict[str, Any], bucket: str) -> None:
    entry = bucket_plan(plan, bucket)
    entry["new_policy"]["Statement"] = [
        s for s in entry["new_policy"]["Statement"] if s["Sid"].startswith("BucketShare")
    ]


def _delete_instead(plan: dict[str, Any], bucket: str) -> None:
    entry = bucket_plan(plan, bucket)
    entry["action"], entry["new_policy"] = "delete-policy", None


def _put_nothing(plan: dict[str, Any], bucket: str) -> None:
    entry = bucket_plan(plan, bucket)
    entry["new_policy"]["Statement"] = []


def _edit_their_statement(plan: dict[str, Any], bucket: str) -> None:
    entry = bucket_plan(plan, bucket)
    theirs = next(s for s in entry["new_policy"]["Statement"] if s["Sid"] == "Theirs")
    theirs["Effect"] = "Allow"
    theirs["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": "o-evilevilev"}}


def _smuggle_a_grant(plan: dict[str, Any], bucket: str) -> None:
    entry = bucket_plan(plan, bucket)
    ours = next(s for s in entry["new_policy"]["Statement"] if s["Sid"].startswith("BucketShareObjects"))
    ours["Principal"] = {"AWS": ["arn:aws:iam::999999999999:root"]}


def _claim_theirs_is_ours(plan: dict[str, Any], bucket: str) -> None:
    plan["sid_prefix"] = ""


def _policy_not_an_object(plan: dict[str, Any], bucket: str) -> None:
    bucket_plan(plan, bucket)["new_policy"] = ["Statement"]


def _version_true(plan: dict[str, Any], bucket: str) -> None:
    plan["format_version"] = True


CASES: list[tuple[Edit, str]] = [
    (_drop_unmanaged, "does not keep every statement bucketshare does not own exactly"),
    (_delete_instead, "does not keep every statement bucketshare does not own exactly"),
    (_put_nothing, "does not keep every statement bucketshare does not own exactly"),
    (_edit_their_statement, "does not keep every statement bucketshare does not own exactly"),
    (_claim_theirs_is_ours, "planned with sid_prefix ''"),
    (_policy_not_an_object, "new_policy must be an object or null"),
    (_version_true, "unsupported plan format_version True"),
]


@pytest.mark.parametrize(("edit", "message"), CASES, ids=[c[0].__name__.strip("_") for c in CASES])
def test_a_hand_edited_plan_writes_nothing(ws: Workspace, edit: Edit, message: str) -> None:
    bucket = ws.bucket("edited")
    original = ws.put_policy(bucket, {"Version": "2012-10-17", "Statement": [statement("Theirs", bucket)]})
    ws.declare(bucket, read_grant("222222222222"))
    _, plan = ws.plan_json()
    edit(plan, bucket)
    saved = ws.root / "edited-plan.json"
    saved.write_text(json.dumps(plan), encoding="utf-8")
    journal = ws.root / "journal.jsonl"
    result = ws.apply_saved(saved, "--journal", journal)
    assert result.rc == 1, result.text
    assert message in result.text, result.text
    assert "Traceback" not in result.text
    assert ws.policy_text(bucket) == original
    pending = [json.loads(line) for line in journal.read_text().splitlines()] if journal.exists() else []
    assert [e for e in pending if e["outcome"] == "pending"] == []


def test_an_edited_plan_that_smuggles_a_grant_fails_its_digest(ws: Workspace, tmp_path: Path) -> None:
    # Our own statements may legitimately differ from a fresh render (that is what a plan
    # is), so a smuggled grant is caught by the digest the reviewers approved, not the rebuild.
    bucket = ws.bucket("smuggled")
    ws.declare(bucket, read_grant("222222222222"))
    digest = ws.plan("--digest-only").out.strip()
    _, plan = ws.plan_json()
    _smuggle_a_grant(plan, bucket)
    saved = tmp_path / "smuggled.json"
    saved.write_text(json.dumps(plan), encoding="utf-8")
    result = ws.apply_saved(saved, "--expect-digest", digest)
    assert result.rc == 1
    assert "does not match --expect-digest" in result.err
    assert ws.policy_text(bucket) is None
