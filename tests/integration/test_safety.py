"""Never clobber a policy someone else changed; journal every write; roll back exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .conftest import Workspace, bucket_plan, read_grant, statement

STALE = "the live policy changed since the plan; run plan again"


def _journal(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_saved_plan_is_refused_for_a_bucket_changed_since(ws: Workspace) -> None:
    raced, calm = ws.bucket("raced"), ws.bucket("calm")
    ws.declare(raced, read_grant("222222222222"))
    ws.declare(calm, read_grant("333333333333"))
    saved = ws.root / "plan.json"
    result = ws.plan("--save", saved, "--detailed-exitcode")
    assert result.rc == 2, result.text
    assert bucket_plan(json.loads(saved.read_text()), raced)["action"] == "put-policy"

    theirs = ws.put_policy(
        raced, json.dumps({"Version": "2012-10-17", "Statement": [statement("Theirs", raced)]})
    )
    applied = ws.apply_saved(saved)
    assert applied.rc == 1, applied.text
    assert f"{raced}: FAILED: {STALE}" in applied.out
    assert f"{calm}: ok: wrote the policy" in applied.out
    assert ws.policy_text(raced) == theirs
    assert ws.policy(calm) is not None

    # Planning again folds their change in: their statement is kept beside ours.
    again = ws.apply()
    assert again.rc == 0, again.text
    live = ws.policy(raced)
    assert live is not None
    assert live["Statement"][0] == statement("Theirs", raced)
    assert len(live["Statement"]) == 4


def test_plan_json_out_is_applicable_and_stale_after_a_delete(ws: Workspace) -> None:
    bucket = ws.bucket("deleted")
    original = ws.put_policy(bucket, {"Version": "2012-10-17", "Statement": [statement("Theirs", bucket)]})
    ws.declare(bucket, read_grant("222222222222"))
    plan_file = ws.root / "out.json"
    assert ws.plan("--format", "json", "--out", plan_file).rc == 0

    ws.moto.s3(ws.account).delete_bucket_policy(Bucket=bucket)
    refused = ws.apply_saved(plan_file)
    assert refused.rc == 1
    assert STALE in refused.out
    assert ws.policy_text(bucket) is None

    ws.put_policy(bucket, original)
    applied = ws.apply_saved(plan_file)
    assert applied.rc == 0, applied.text
    assert ws.policy_text(bucket) != original


def test_rollback_restores_the_previous_policy_byte_for_byte(ws: Workspace) -> None:
    held, fresh = ws.bucket("held"), ws.bucket("fresh")
    kept = json.dumps(statement("A", held))
    ws.put_policy(held, '{ "Version":"2012-10-17",\n\t"Statement" : [ ' + kept + " ] }")
    before = ws.policy_text(held)
    ws.declare(held, read_grant("222222222222"))
    ws.declare(fresh, read_grant("333333333333"))
    journal = ws.root / "journal.jsonl"
    assert ws.apply("--journal", journal).rc == 0

    entries = _journal(journal)
    held_entries = [e for e in entries if e["bucket"] == held]
    assert [e["outcome"] for e in held_entries] == ["pending", "applied"]
    assert held_entries[0]["previous_policy"] == before
    assert held_entries[1]["new_policy"] == ws.policy_text(held)

    result = ws.run("rollback", journal)
    assert result.rc == 0, result.text
    assert ws.policy_text(held) == before
    assert ws.policy_text(fresh) is None
    assert f"{fresh}: ok: deleted the policy" in result.out


def test_rollback_of_one_bucket_touches_only_it(ws: Workspace) -> None:
    first, second = ws.bucket("first"), ws.bucket("second")
    before = ws.put_policy(first, {"Version": "2012-10-17", "Statement": [statement("A", first)]})
    ws.declare(first, read_grant("222222222222"))
    ws.declare(second, read_grant("333333333333"))
    assert ws.apply().rc == 0
    journal = ws.root / ".bucketshare" / "journal.jsonl"
    assert journal.exists(), "the journal defaults to .bucketshare/journal.jsonl"
    second_after = ws.policy_text(second)

    result = ws.run("rollback", journal, "--bucket", first)
    assert result.rc == 0, result.text
    assert ws.policy_text(first) == before
    assert ws.policy_text(second) == second_after
    assert second not in result.out


def test_rollback_refuses_when_the_policy_changed_after_apply(ws: Workspace) -> None:
    bucket = ws.bucket("moved")
    ws.put_policy(bucket, {"Version": "2012-10-17", "Statement": [statement("A", bucket)]})
    ws.declare(bucket, read_grant("222222222222"))
    journal = ws.root / "j.jsonl"
    assert ws.apply("--journal", journal).rc == 0
    theirs = ws.put_policy(bucket, {"Version": "2012-10-17", "Statement": [statement("B", bucket)]})

    result = ws.run("rollback", journal)
    assert result.rc == 1
    assert (
        f"{bucket}: FAILED: not restored: the live policy changed since the apply being rolled back; "
        "compare it with the journal and restore by hand"
    ) in result.out
    assert ws.policy_text(bucket) == theirs


def test_rollback_without_applied_writes_is_an_error(ws: Workspace) -> None:
    journal = ws.root / "empty.jsonl"
    journal.write_text("", encoding="utf-8")
    result = ws.run("rollback", journal)
    assert result.rc == 1
    assert "no applied write to roll back" in result.err


def test_rollback_restores_a_deleted_policy(ws: Workspace) -> None:
    gone, stays = ws.bucket("gone"), ws.bucket("stays")
    ws.declare(gone, read_grant("222222222222"), name="gone.yaml")
    ws.declare(stays, read_grant("333333333333"), name="stays.yaml")
    assert ws.apply().rc == 0
    ours = ws.policy_text(gone)
    (ws.shares / "gone.yaml").unlink()
    assert ws.apply().rc == 0
    assert ws.policy_text(gone) is None

    result = ws.run("rollback", ".bucketshare/journal.jsonl", "--bucket", gone)
    assert result.rc == 0, result.text
    assert ws.policy_text(gone) == ours


def test_journal_path_comes_from_the_config(ws: Workspace) -> None:
    bucket = ws.bucket("journaled")
    ws.set_config("version: 1\njournal: audit/writes.jsonl\n")
    ws.declare(bucket, read_grant("222222222222"))
    applied = ws.apply()
    assert applied.rc == 0, applied.text
    assert "journal: audit/writes.jsonl" in applied.out
    entries = _journal(ws.root / "audit" / "writes.jsonl")
    assert [(e["bucket"], e["action"], e["outcome"]) for e in entries] == [
        (bucket, "put-policy", "pending"),
        (bucket, "put-policy", "applied"),
    ]
    assert entries[0]["previous_policy"] is None


def test_apply_without_a_terminal_needs_auto_approve(ws: Workspace) -> None:
    bucket = ws.bucket("unconfirmed")
    ws.declare(bucket, read_grant("222222222222"))
    result = ws.run("apply", "--shares", "shares", "--config", ws.config)
    assert result.rc == 1
    assert "pass --auto-approve" in result.err
    assert ws.policy_text(bucket) is None


def test_public_policy_from_an_edited_plan_is_refused(ws: Workspace) -> None:
    """The plan file is an artifact; if it is edited to make the bucket public, apply
    re-checks it and writes nothing."""
    bucket = ws.bucket("edited")
    ws.declare(bucket, read_grant("222222222222"))
    saved = ws.root / "plan.json"
    assert ws.plan("--save", saved).rc == 0
    plan = json.loads(saved.read_text())
    public = {"Sid": "Sneaky", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}
    public["Resource"] = f"arn:aws:s3:::{bucket}/*"
    bucket_plan(plan, bucket)["new_policy"]["Statement"].append(public)
    saved.write_text(json.dumps(plan))

    result = ws.apply_saved(saved)
    assert result.rc == 1
    assert f"{bucket}: FAILED: refused: the planned policy holds a public statement" in result.out
    assert ws.policy(bucket) is None
