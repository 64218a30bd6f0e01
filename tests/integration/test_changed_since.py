"""`plan --changed-since REF` plans only the buckets whose declarations changed since REF,
on both sides of the change, and gives for them exactly what a full plan gives."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from .conftest import Workspace, bucket_plan, read_grant

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def git(ws: Workspace, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=ws.root,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(ws: Workspace) -> tuple[Workspace, list[str]]:
    """Four applied buckets, committed; returns the workspace and the bucket names."""
    buckets = sorted(ws.bucket(f"cs{i}") for i in range(4))
    for bucket in buckets:
        ws.declare(bucket, read_grant("222222222222"))
    assert ws.apply().rc == 0
    git(ws, "init", "-q", "-b", "main")
    git(ws, "add", "shares", "reconciler.yaml")
    git(ws, "commit", "-q", "-m", "base")
    return ws, buckets


def planned(plan: dict[str, Any]) -> list[str]:
    return sorted(b["bucket"] for b in plan["buckets"])


def same_as_full(ws: Workspace, partial: dict[str, Any]) -> None:
    _, full = ws.plan_json()
    for entry in partial["buckets"]:
        assert entry == bucket_plan(full, entry["bucket"])


def test_an_edited_file_plans_only_its_bucket(repo: tuple[Workspace, list[str]]) -> None:
    ws, buckets = repo
    ws.declare(buckets[1], read_grant("222222222222") + read_grant("333333333333"))
    result, plan = ws.plan_json("--changed-since", "HEAD")
    assert result.rc == 0, result.text
    assert planned(plan) == [buckets[1]]
    assert plan["partial_since"] == "HEAD"
    assert bucket_plan(plan, buckets[1])["action"] == "put-policy"
    same_as_full(ws, plan)
    text = ws.plan("--changed-since", "HEAD")
    assert text.out.splitlines()[1].startswith(
        "Partial plan: only the buckets whose declarations changed since HEAD (1 bucket)"
    )


def test_added_deleted_and_moved_declarations_plan_both_sides(repo: tuple[Workspace, list[str]]) -> None:
    ws, buckets = repo
    new = ws.bucket("csnew")
    ws.declare(new, read_grant("222222222222"))  # an added, untracked file
    (ws.shares / f"{buckets[0]}.yaml").unlink()  # a deleted file: its bucket loses our statements
    # A grant moved from one bucket's file to another's.
    ws.write(f"{buckets[2]}.yaml", f'version: 1\nbucket: {buckets[2]}\naccount: "{ws.account}"\n')
    ws.declare(buckets[3], read_grant("222222222222") + read_grant("444444444444"))
    result, plan = ws.plan_json("--changed-since", "HEAD")
    assert result.rc == 0, result.text
    assert planned(plan) == sorted([new, buckets[0], buckets[2], buckets[3]])
    assert bucket_plan(plan, buckets[0])["declared"] is False
    assert bucket_plan(plan, buckets[0])["action"] == "delete-policy"
    same_as_full(ws, plan)


def test_a_renamed_file_plans_its_bucket_from_both_names(repo: tuple[Workspace, list[str]]) -> None:
    ws, buckets = repo
    git(ws, "mv", f"shares/{buckets[1]}.yaml", "shares/renamed.yaml")
    result, plan = ws.plan_json("--changed-since", "HEAD")
    assert result.rc == 0, result.text
    assert planned(plan) == [buckets[1]]
    assert bucket_plan(plan, buckets[1])["action"] == "no-op"


def test_a_changed_config_plans_everything(repo: tuple[Workspace, list[str]]) -> None:
    ws, buckets = repo
    ws.set_config("version: 1\nexpiry_warning_days: 30\n")
    result, plan = ws.plan_json("--changed-since", "HEAD")
    assert result.rc == 0, result.text
    assert planned(plan) == buckets
    assert plan["partial_since"] is None
    assert any("reconciler.yaml changed" in w for w in plan["warnings"])


def test_the_saved_partial_plan_and_its_digest_cover_only_the_planned_buckets(
    repo: tuple[Workspace, list[str]],
) -> None:
    ws, buckets = repo
    ws.declare(buckets[0], read_grant("333333333333"))
    saved = ws.root / "plan.json"
    digest = ws.plan("--changed-since", "HEAD", "--save", saved, "--digest-only")
    assert digest.rc == 0, digest.text
    result = ws.apply_saved(saved, "--expect-digest", digest.out.strip())
    assert result.rc == 0, result.text
    assert [line.split(":")[0] for line in result.out.splitlines() if ": ok: " in line] == [buckets[0]]


@pytest.mark.parametrize("ref", ["no-such-ref", "--output=/tmp/x", "HEAD~5"])
def test_a_bad_revision_is_one_line_before_any_aws_call(repo: tuple[Workspace, list[str]], ref: str) -> None:
    ws, _ = repo
    ws.point("http://127.0.0.1:9")  # nothing listens there: any AWS call would fail loudly
    result = ws.plan(f"--changed-since={ref}")
    assert result.rc == 1
    assert result.err.strip().splitlines()[-1].startswith("error: --changed-since"), result.err
    assert "Traceback" not in result.text


def test_outside_a_git_repository_is_one_line(ws: Workspace) -> None:
    ws.declare(ws.bucket("nogit"), read_grant("222222222222"))
    result = ws.plan("--changed-since", "HEAD")
    assert result.rc == 1
    assert "error: --changed-since 'HEAD' is not a commit in this repository" in result.err


def test_a_change_to_the_reconcilers_code_plans_everything(repo: tuple[Workspace, list[str]]) -> None:
    # The plan workflow runs on reconciler/** too: new code may render every bucket anew.
    ws, buckets = repo
    (ws.root / "reconciler").mkdir()
    (ws.root / "reconciler" / "render.py").write_text("# v1\n", encoding="utf-8")
    git(ws, "add", "reconciler")
    git(ws, "commit", "-q", "-m", "code")
    (ws.root / "reconciler" / "render.py").write_text("# v2\n", encoding="utf-8")
    result, plan = ws.plan_json("--changed-since", "HEAD")
    assert result.rc == 0, result.text
    assert planned(plan) == buckets
    assert any("the reconciler's code changed" in w for w in plan["warnings"])


def test_partial_loads_plan_what_a_full_plan_plans_for_their_buckets(
    repo: tuple[Workspace, list[str]],
) -> None:
    # Partial plans load only some files; a bucket declared in two files must still be
    # planned from both, and a broken file outside the change must not stop the plan.
    ws, buckets = repo
    ws.declare(buckets[3], read_grant("555555555555"), name="also.yaml")
    ws.write("broken.yaml", "version: 1\nbucket: [oops\n")
    git(ws, "add", "shares")
    git(ws, "commit", "-q", "-m", "two files for one bucket, and a broken one")
    ws.declare(buckets[3], read_grant("666666666666"), name="also.yaml")
    result, partial = ws.plan_json("--changed-since", "HEAD")
    assert result.rc == 0, result.text
    assert planned(partial) == [buckets[3]]
    entry = bucket_plan(partial, buckets[3])
    assert entry["action"] == "put-policy"
    shard = ws.plan("--account", ws.account)
    assert (
        shard.rc == 1 and "shares/broken.yaml:3:1: YAML syntax error" in shard.err
    )  # its account is unknown: it may be in scope
    (ws.shares / "broken.yaml").unlink()
    shard, scoped = ws.plan_json("--account", ws.account)
    assert shard.rc == 0, shard.text
    assert planned(scoped) == buckets
    same_as_full(ws, partial)
    same_as_full(ws, scoped)
    policy = json.dumps(entry)
    assert "222222222222" in policy and "666666666666" in policy and "555555555555" not in policy


def test_a_broken_file_inside_the_change_is_one_located_line(repo: tuple[Workspace, list[str]]) -> None:
    ws, buckets = repo
    ws.write(f"{buckets[2]}.yaml", f"version: 1\nbucket: {buckets[2]}\ngrants: [oops\n")
    result = ws.plan("--changed-since", "HEAD")
    assert result.rc == 1
    assert result.err.splitlines()[0] == (
        f"shares/{buckets[2]}.yaml:4:1: YAML syntax error: did not find expected ',' or ']'"
    )
    assert "Traceback" not in result.text
