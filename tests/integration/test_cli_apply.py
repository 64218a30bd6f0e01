"""plan --digest-only/--commit and apply --expect-digest/--scheduled, against moto over HTTP; what
apply and rollback say, and their help."""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import reconciler.edge.s3
from reconciler.cli import build_parser
from reconciler.report.review_marks import parse_review

from .conftest import Workspace, bucket_name, read_grant, statement
from .faultproxy import FaultProxy
from .helpers import encrypted_bucket, key_with_policy

LEFT = (
    "left for review, not applied: drift is reported, not fixed; set drift: fix in reconciler.yaml to fix it"
)
OTHER_DIGEST = "sha256:" + "0" * 64


@pytest.fixture
def edge_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The S3Edge methods the reconciler calls, in order ("init" when an edge is made)."""
    calls: list[str] = []
    edge = reconciler.edge.s3.S3Edge
    for name in ("__init__", "read_policy", "iter_policies", "list_buckets", "put_policy", "delete_policy"):
        original: Callable[..., Any] = getattr(edge, name)

        def counted(
            *args: Any, _name: str = name, _original: Callable[..., Any] = original, **kw: Any
        ) -> Any:
            calls.append("init" if _name == "__init__" else _name)
            return _original(*args, **kw)

        monkeypatch.setattr(edge, name, functools.wraps(original)(counted))
    return calls


def _counting(original: Callable[..., Any], name: str, calls: list[str]) -> Callable[..., Any]:
    @functools.wraps(original)
    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append("init" if name == "__init__" else name)
        return original(*args, **kwargs)

    return counted


def writes(calls: list[str]) -> list[str]:
    return [c for c in calls if c in ("put_policy", "delete_policy")]


def saved_plan(ws: Workspace) -> tuple[Path, dict[str, Any]]:
    path = ws.root / "plan.json"
    result = ws.plan("--save", path)
    assert result.rc == 0, result.text
    return path, json.loads(path.read_text(encoding="utf-8"))


def test_digest_only_prints_the_digest_of_the_plan_saved_in_the_same_run(ws: Workspace) -> None:
    ws.declare(ws.bucket(), read_grant("222222222222"))
    path = ws.root / "plan.json"
    result = ws.plan("--digest-only", "--save", path, "--detailed-exitcode")
    assert result.rc == 2, result.text
    assert result.out == json.loads(path.read_text(encoding="utf-8"))["digest"] + "\n"


def test_digest_only_of_a_plan_without_changes_exits_0(ws: Workspace) -> None:
    ws.declare(ws.bucket(), read_grant("222222222222"))
    assert ws.apply().rc == 0
    path = ws.root / "plan.json"
    result = ws.plan("--digest-only", "--save", path, "--detailed-exitcode")
    assert (result.rc, result.out) == (0, json.loads(path.read_text(encoding="utf-8"))["digest"] + "\n")


def test_digest_only_still_writes_out(ws: Workspace) -> None:
    ws.declare(ws.bucket(), read_grant("222222222222"))
    out = ws.root / "plan.md"
    result = ws.plan("--digest-only", "--format", "markdown", "--out", out)
    assert result.rc == 0, result.text
    assert parse_review(out.read_text(encoding="utf-8")) == (result.out.strip(), None)


def test_markdown_plan_carries_the_commit_in_its_review_line(ws: Workspace) -> None:
    ws.declare(ws.bucket(), read_grant("222222222222"))
    sha = "0123456789abcdef0123456789abcdef01234567"
    result = ws.plan("--format", "markdown", "--commit", sha)
    assert result.rc == 0, result.text
    _, plan = saved_plan(ws)
    assert parse_review(result.out) == (plan["digest"], sha)


def test_saved_plan_with_another_digest_is_refused_without_any_aws_call(
    ws: Workspace, edge_calls: list[str]
) -> None:
    bucket = ws.bucket()
    ws.declare(bucket, read_grant("222222222222"))
    path, plan = saved_plan(ws)
    edge_calls.clear()
    result = ws.apply_saved(path, "--expect-digest", OTHER_DIGEST)
    assert (result.rc, result.out) == (1, "")
    assert result.err == (
        f"error: plan digest {plan['digest']} does not match --expect-digest {OTHER_DIGEST}: "
        "the saved plan is not the one that was reviewed; nothing was applied\n"
    )
    assert edge_calls == []
    assert ws.policy(bucket) is None


def test_an_edited_saved_plan_is_refused_although_its_digest_field_was_kept(
    ws: Workspace, edge_calls: list[str]
) -> None:
    bucket = ws.bucket()
    ws.declare(bucket, read_grant("222222222222"))
    path, plan = saved_plan(ws)
    reviewed = plan["digest"]
    # Someone widens the reviewed grant in the file and leaves the digest field as it was.
    plan["buckets"][0]["new_policy"]["Statement"][0]["Principal"] = {"AWS": "arn:aws:iam::999999999999:root"}
    path.write_text(json.dumps(plan), encoding="utf-8")
    edge_calls.clear()
    result = ws.apply_saved(path, "--expect-digest", reviewed)
    assert result.rc == 1
    assert f"does not match --expect-digest {reviewed}" in result.err
    assert "the saved plan is not the one that was reviewed" in result.err
    assert edge_calls == []
    assert ws.policy(bucket) is None


def test_saved_plan_with_the_reviewed_digest_applies(ws: Workspace) -> None:
    bucket = ws.bucket()
    ws.declare(bucket, read_grant("222222222222"))
    path, plan = saved_plan(ws)
    result = ws.apply_saved(path, "--expect-digest", plan["digest"])
    assert result.rc == 0, result.text
    assert f"{bucket}: ok: wrote the policy" in result.out
    assert ws.policy(bucket) == plan["buckets"][0]["new_policy"]


def test_live_plan_that_moved_since_review_writes_nothing(ws: Workspace, edge_calls: list[str]) -> None:
    bucket = ws.bucket()
    ws.declare(bucket, read_grant("222222222222"))
    reviewed = ws.plan("--digest-only").out.strip()
    # After review, someone adds a statement of their own: the live plan is no longer the reviewed one.
    held = ws.put_policy(bucket, {"Version": "2012-10-17", "Statement": [statement("Theirs", bucket)]})
    edge_calls.clear()
    result = ws.apply("--expect-digest", reviewed)
    assert result.rc == 1
    assert f"--expect-digest {reviewed}: the live plan is not the one that was reviewed" in result.err
    assert "nothing was applied" in result.err
    assert "iter_policies" in edge_calls
    assert writes(edge_calls) == []
    assert ws.policy_text(bucket) == held


def test_live_plan_with_the_reviewed_digest_applies_without_a_prompt(ws: Workspace) -> None:
    bucket = ws.bucket()
    ws.declare(bucket, read_grant("222222222222"))
    reviewed = ws.plan("--digest-only").out.strip()
    result = ws.apply("--expect-digest", reviewed)
    assert result.rc == 0, result.text
    assert f"{bucket}: ok: wrote the policy" in result.out
    assert ws.plan("--detailed-exitcode").rc == 0


def scheduled_plan(ws: Workspace) -> tuple[str, str, Path]:
    """Two changing buckets in a saved plan; the first marked expiry-only by hand."""
    expiring, drifted = ws.bucket("expiring"), ws.bucket("drifted")
    ws.declare(expiring, read_grant("222222222222"))
    ws.declare(drifted, read_grant("333333333333"))
    path, plan = saved_plan(ws)
    for bucket in plan["buckets"]:
        bucket["expiry_only"] = bucket["bucket"] == expiring
    path.write_text(json.dumps(plan), encoding="utf-8")
    return expiring, drifted, path


def test_scheduled_applies_expiry_only_buckets_and_leaves_drift_for_review(
    ws: Workspace, edge_calls: list[str]
) -> None:
    expiring, drifted, path = scheduled_plan(ws)
    edge_calls.clear()
    result = ws.apply_saved(path, "--scheduled")
    assert result.rc == 0, result.text
    assert result.out.splitlines() == [
        f"{drifted} (account {ws.account}): {LEFT}",
        f"journal: {Path('.bucketshare/journal.jsonl')}",
        f"{expiring}: ok: wrote the policy",
        f"  arn:aws:s3:::{expiring}  s3://{expiring}",
        "1 bucket applied, 0 failed",
    ]
    assert ws.policy(expiring) is not None
    assert ws.policy(drifted) is None
    assert writes(edge_calls) == ["put_policy"]


def test_scheduled_with_drift_fix_applies_every_change(ws: Workspace) -> None:
    ws.set_config("version: 1\ndrift: fix\n")
    expiring, drifted, path = scheduled_plan(ws)
    result = ws.apply_saved(path, "--scheduled")
    assert result.rc == 0, result.text
    assert "left for review" not in result.out
    assert ws.policy(expiring) is not None
    assert ws.policy(drifted) is not None


def test_scheduled_with_nothing_it_may_apply_writes_nothing(ws: Workspace, edge_calls: list[str]) -> None:
    drifted = ws.bucket("drifted")
    ws.declare(drifted, read_grant("333333333333"))
    path, _ = saved_plan(ws)
    edge_calls.clear()
    result = ws.apply_saved(path, "--scheduled")
    assert result.rc == 0, result.text
    assert result.out.splitlines() == [f"{drifted} (account {ws.account}): {LEFT}", "Nothing to apply."]
    assert edge_calls == []


def test_scheduled_live_run_removes_an_expired_grant_and_reports_drift(ws: Workspace) -> None:
    expiring, drifted = ws.bucket("expiring"), ws.bucket("drifted")
    ws.declare(expiring, read_grant("222222222222") + "    expires: 2099-01-01\n")
    assert ws.apply().rc == 0
    # The date passes (written here as an earlier date), and someone else's grant drifts in.
    ws.declare(expiring, read_grant("222222222222") + "    expires: 2020-01-01\n")
    ws.declare(drifted, read_grant("333333333333"))
    result = ws.apply("--scheduled")
    assert result.rc == 0, result.text
    assert f"{drifted} (account {ws.account}): {LEFT}" in result.out.splitlines()
    assert f"{expiring}: ok: deleted the policy" in result.out
    assert ws.policy(expiring) is None
    assert ws.policy(drifted) is None


def test_a_created_bucket_whose_public_status_is_unknown_is_said_in_one_sentence(
    ws: Workspace, fault_proxy: FaultProxy, no_retry_delay: None
) -> None:
    ws.point(fault_proxy.url)
    bucket = bucket_name("createdunknown")
    source = ws.root / ws.declare(bucket, read_grant("222222222222"))
    with source.open("a", encoding="utf-8") as handle:
        handle.write("create: true\n")
    fault_proxy.inject("internal_error", 1.0, operations={"GetBucketPolicyStatus"})
    applied = ws.apply()
    assert applied.rc == 1, applied.text
    said = f"{bucket}: FAILED: created the bucket and wrote its policy, but S3 did not say whether "
    assert said + "the bucket policy is public (GetBucketPolicyStatus failed)" in applied.out
    assert "but written" not in applied.out


def test_a_key_policy_outcome_is_named_as_a_key_not_as_a_bucket(ws: Workspace) -> None:
    _, key_arn, _ = key_with_policy(ws)
    bucket = encrypted_bucket(ws, key_arn)
    for command, done in (
        (("apply", "--auto-approve"), "1 bucket and 1 KMS key applied, 0 failed"),
        (("rollback", ".bucketshare/journal.jsonl"), "1 bucket and 1 KMS key restored, 0 already"),
    ):
        result = ws.run(*command)
        assert result.rc == 0, result.text
        assert done in result.out
        assert f"\nkey policy of {key_arn}: ok: " in result.out
        assert f"{bucket}: ok: " in result.out and f"arn:aws:s3:::{bucket}  s3://{bucket}" in result.out
        assert "arn:aws:s3:::arn:" not in result.out and "s3://arn:" not in result.out


def test_apply_without_a_terminal_refuses_in_one_line_before_planning(ws: Workspace) -> None:
    bucket = ws.bucket()
    ws.declare(bucket, read_grant("222222222222"))
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "apply"],
        cwd=ws.root,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "error: refusing to apply without a terminal to confirm: pass --auto-approve, or apply a saved "
        "plan (reconciler plan --save plan.json, then reconciler apply plan.json)\n"
    )
    assert ws.policy_text(bucket) is None


@pytest.mark.parametrize("command", ["apply", "rollback"])
def test_help_gives_every_option_a_text_its_default_and_an_example(command: str) -> None:
    parser = build_parser([command])
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    chosen = sub.choices[command]
    shown = chosen.format_help()
    for action in chosen._actions:
        assert action.help, f"{action.option_strings or action.dest} has no help"
        if action.default not in (None, False, argparse.SUPPRESS):
            assert f"default: {action.default}" in " ".join(shown.split()), action.dest
    assert "\nexamples:\n  reconciler " in shown
    assert f"\n  reconciler {command} " in shown.split("\nexamples:\n")[1]
    for option in ("--run", "--bucket") if command == "rollback" else ("--auto-approve", "--journal"):
        assert option in shown


def test_apply_format_json_prints_one_document_with_each_outcome_and_the_exit_code(ws: Workspace) -> None:
    fine, stale = ws.bucket("fine"), ws.bucket("stale")
    ws.declare(fine, read_grant("222222222222"))
    ws.declare(stale, read_grant("333333333333"))
    path, _ = saved_plan(ws)
    # After the plan, someone writes stale's policy: that bucket fails, the other applies.
    ws.put_policy(stale, {"Version": "2012-10-17", "Statement": [statement("Theirs", stale)]})
    result = ws.apply_saved(path, "--format", "json")
    assert result.rc == 1
    report = json.loads(result.out)  # stdout is the JSON document and nothing else
    by_name = {o["name"]: o for o in report["outcomes"]}
    assert by_name[fine] == {
        "name": fine,
        "account": ws.account,
        "policy": "bucket-policy",
        "shown": fine,
        "kind": "applied",
        "ok": True,
        "message": "wrote the policy",
    }
    assert (by_name[stale]["kind"], by_name[stale]["ok"]) == ("stale", False)
    assert by_name[stale]["message"] == "the live policy changed since the plan; run plan again"
    assert report["totals"] == {"ok": 1, "failed": 1, "unknown": 0, "not_started": 0}
    assert report["exit_code"] == result.rc and report["error"] is None
    # What people read goes to stderr, as apply prints it in text.
    assert f"{stale}: FAILED: the live policy changed since the plan" in result.err


def test_apply_format_json_says_why_nothing_was_applied(ws: Workspace) -> None:
    bucket = ws.bucket()
    ws.declare(bucket, read_grant("222222222222"))
    path, _ = saved_plan(ws)
    result = ws.apply_saved(path, "--format", "json", "--expect-digest", OTHER_DIGEST)
    assert result.rc == 1
    report = json.loads(result.out)
    assert report["outcomes"] == [] and report["exit_code"] == 1
    assert "does not match --expect-digest" in report["error"]
    assert ws.policy_text(bucket) is None
