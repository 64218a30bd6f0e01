"""Rollback after a crash or a failed read-back: a write is undone whenever the live policy
is the one it wrote, whatever its journal record says, and every bucket rollback cannot
restore says why. Rollback checks what it restores as apply checks what it writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .conftest import Workspace, read_grant, statement
from .faultproxy import FaultProxy

ROLLED_BACK_STALE = (
    "not restored: the live policy changed since the apply being rolled back; "
    "compare it with the journal and restore by hand"
)


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_records(path: Path, items: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in items), encoding="utf-8")


def applied_once(ws: Workspace, label: str) -> tuple[str, str, Path]:
    """A bucket with an unmanaged statement, applied once: (bucket, its previous text, journal)."""
    bucket = ws.bucket(label)
    before = ws.put_policy(bucket, {"Version": "2012-10-17", "Statement": [statement("Theirs", bucket)]})
    ws.declare(bucket, read_grant("222222222222"))
    journal = ws.root / "journal.jsonl"
    result = ws.apply("--journal", journal)
    assert result.rc == 0, result.text
    return bucket, before, journal


def crash_before_outcome(journal: Path) -> dict[str, Any]:
    """The journal as a SIGKILL between the write and its `applied` record leaves it."""
    pending, applied = records(journal)
    assert (pending["outcome"], applied["outcome"]) == ("pending", "applied")
    write_records(journal, [pending])
    return pending


def test_a_write_that_failed_its_read_back_is_rolled_back(ws: Workspace, fault_proxy: FaultProxy) -> None:
    bucket = ws.bucket("readback")
    before = ws.put_policy(bucket, {"Version": "2012-10-17", "Statement": [statement("Theirs", bucket)]})
    ws.declare(bucket, read_grant("222222222222"))
    saved = ws.root / "plan.json"
    assert ws.plan("--save", saved).rc == 0
    reads = []

    def garble_after_the_first_read(payload: bytes) -> bytes:
        # The re-read before the write sees the truth; the read-back does not.
        reads.append(payload)
        return payload if len(reads) == 1 else b'{"Version": "2012-10-17", "Statement": []}'

    fault_proxy.rewrite_policy(bucket, garble_after_the_first_read)
    ws.point(fault_proxy.url)
    journal = ws.root / "journal.jsonl"
    applied = ws.apply_saved(saved, "--journal", journal)
    assert applied.rc == 1
    assert f"{bucket}: FAILED: the policy read back differs from what was written" in applied.out
    assert [r["outcome"] for r in records(journal)] == ["pending", "failed"]
    assert ws.policy_text(bucket) != before  # the write took effect all the same

    ws.point()
    result = ws.run("rollback", journal)
    assert result.rc == 0, result.text
    assert f"{bucket}: ok: wrote the policy" in result.out
    assert ws.policy_text(bucket) == before


def test_a_pending_write_that_took_effect_is_rolled_back(ws: Workspace) -> None:
    bucket, before, journal = applied_once(ws, "pendingdone")
    crash_before_outcome(journal)

    result = ws.run("rollback", journal)
    assert result.rc == 0, result.text
    assert f"{bucket}: ok: wrote the policy" in result.out
    assert ws.policy_text(bucket) == before
    assert [r["outcome"] for r in records(journal)] == ["pending", "pending", "applied"]


def test_a_pending_write_s3_stored_reformatted_is_rolled_back(ws: Workspace) -> None:
    bucket, before, journal = applied_once(ws, "pendingreformatted")
    pending = crash_before_outcome(journal)
    # S3 hands back a stored policy in its own layout: equivalent, not byte-equal.
    ws.put_policy(bucket, json.dumps(json.loads(pending["new_policy"]), indent=4))
    assert ws.policy_text(bucket) != pending["new_policy"]

    result = ws.run("rollback", journal)
    assert result.rc == 0, result.text
    assert ws.policy_text(bucket) == before


def test_a_pending_write_that_never_happened_has_nothing_to_undo(ws: Workspace) -> None:
    bucket, before, journal = applied_once(ws, "pendingnever")
    crash_before_outcome(journal)
    ws.put_policy(bucket, before)  # as if the crash came before the write

    result = ws.run("rollback", journal)
    assert result.rc == 0, result.text
    assert (
        f"{bucket}: ok: nothing to undo: the last write (journalled pending) never took effect; "
        "the bucket still holds the policy it had before"
    ) in result.out
    assert ws.policy_text(bucket) == before
    assert len(records(journal)) == 1, "nothing was written, so nothing was journalled"


def test_a_crashed_write_that_never_happened_leaves_the_earlier_apply_to_undo_with_run(
    ws: Workspace,
) -> None:
    bucket, before, journal = applied_once(ws, "twice")
    first_written = ws.policy_text(bucket)
    ws.declare(bucket, read_grant("333333333333"))
    assert ws.apply("--journal", journal).rc == 0
    *earlier, pending, _applied = records(journal)
    write_records(journal, [*earlier, pending])
    ws.put_policy(bucket, first_written or "")  # the second apply's write never happened

    # The last run is the one rolled back by default: it changed nothing.
    result = ws.run("rollback", journal)
    assert result.rc == 0, result.text
    never = "nothing to undo: the last write (journalled pending) never took effect"
    assert f"{bucket}: ok: {never}" in result.out
    assert ws.policy_text(bucket) == first_written

    result = ws.run("rollback", journal, "--run", earlier[0]["run"])
    assert result.rc == 0, result.text
    assert ws.policy_text(bucket) == before


def test_a_pending_write_overtaken_by_someone_else_is_not_restored(ws: Workspace) -> None:
    bucket, _, journal = applied_once(ws, "pendingmoved")
    crash_before_outcome(journal)
    theirs = ws.put_policy(bucket, {"Version": "2012-10-17", "Statement": [statement("Other", bucket)]})

    result = ws.run("rollback", journal)
    assert result.rc == 1
    assert f"{bucket}: FAILED: {ROLLED_BACK_STALE}" in result.out
    assert "run plan again" not in result.out
    assert ws.policy_text(bucket) == theirs


def test_an_applied_write_changed_since_is_not_restored_and_says_rollback(ws: Workspace) -> None:
    bucket, _, journal = applied_once(ws, "appliedmoved")
    theirs = ws.put_policy(bucket, {"Version": "2012-10-17", "Statement": [statement("Other", bucket)]})

    result = ws.run("rollback", journal)
    assert result.rc == 1
    assert f"{bucket}: FAILED: {ROLLED_BACK_STALE}" in result.out
    assert ws.policy_text(bucket) == theirs


def test_each_bucket_says_what_rollback_did_and_the_rest_go_on(ws: Workspace) -> None:
    restored, moved = ws.bucket("restored"), ws.bucket("moved")
    ws.declare(restored, read_grant("222222222222"))
    ws.declare(moved, read_grant("222222222222"))
    journal = ws.root / "journal.jsonl"
    assert ws.apply("--journal", journal).rc == 0
    theirs = ws.put_policy(moved, {"Version": "2012-10-17", "Statement": [statement("Other", moved)]})

    result = ws.run("rollback", journal)
    assert result.rc == 1
    assert f"{restored}: ok: deleted the policy" in result.out
    assert f"{moved}: FAILED: {ROLLED_BACK_STALE}" in result.out
    assert "1 bucket restored, 0 already as before the run, 1 failed" in result.out
    assert ws.policy_text(restored) is None
    assert ws.policy_text(moved) == theirs


def edited_previous(journal: Path, document: dict[str, Any]) -> None:
    items = records(journal)
    for item in items:
        item["previous_policy"] = json.dumps(document)
    write_records(journal, items)


def test_rollback_refuses_to_restore_a_public_policy(ws: Workspace) -> None:
    bucket, _, journal = applied_once(ws, "public")
    written = ws.policy_text(bucket)
    public = {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}
    public["Resource"] = f"arn:aws:s3:::{bucket}/*"
    edited_previous(journal, {"Version": "2012-10-17", "Statement": [public]})

    result = ws.run("rollback", journal)
    assert result.rc == 1
    refused = "not restored: refused: the previous policy holds a public statement"
    assert f"{bucket}: FAILED: {refused}" in result.out
    assert ws.policy_text(bucket) == written


def test_rollback_refuses_to_restore_a_policy_over_the_size_limit(ws: Workspace) -> None:
    bucket, _, journal = applied_once(ws, "huge")
    written = ws.policy_text(bucket)
    keys = [f"arn:aws:s3:::{bucket}/{'k' * 100}{i}/*" for i in range(200)]
    big = statement("Theirs", bucket, Resource=keys)
    edited_previous(journal, {"Version": "2012-10-17", "Statement": [big]})

    result = ws.run("rollback", journal)
    assert result.rc == 1
    assert f"{bucket}: FAILED: not restored: refused: the previous policy is over the 20480-byte limit" in (
        result.out
    )
    assert ws.policy_text(bucket) == written
