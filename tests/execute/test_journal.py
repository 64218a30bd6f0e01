"""The journal as rollback reads it: apply runs in order, each with the rollbacks of it,
journals of the previous version (rollback records naming no run) included."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.execute.journal import Journal
from reconciler.execute.journal_entry import JournalEntry

T = "2026-01-15T10:00:00+00:00"


def entry(
    run: str,
    bucket: str,
    action: str,
    previous: str | None,
    new: str | None,
    outcome: str,
    rolls_back: str | None = None,
) -> JournalEntry:
    return JournalEntry(run, T, bucket, "111111111111", action, previous, new, outcome, rolls_back=rolls_back)


def write(path: Path, *entries: JournalEntry) -> Journal:
    journal = Journal(path)
    for item in entries:
        journal.append(item)
    journal.close()
    return journal


def test_runs_are_the_apply_runs_in_order_with_their_rollbacks(tmp_path: Path) -> None:
    journal = write(
        tmp_path / "j.jsonl",
        entry("a1", "x", "put-policy", "P", "X", "pending"),
        entry("a1", "x", "put-policy", "P", "X", "applied"),
        entry("a2", "x", "put-policy", "X", "Y", "applied"),
        entry("a2", "y", "delete-policy", "Q", None, "applied"),
        entry("r1", "x", "rollback", "Y", "X", "applied", rolls_back="a2"),
    )
    first, second = journal.runs()
    assert (first.id, first.buckets, second.id, second.buckets) == ("a1", ["x"], "a2", ["x", "y"])
    assert first.writes["x"][0].previous_policy == "P"
    assert second.rolled_back("x") and not second.rolled_back("y") and not first.rolled_back("x")


def test_a_rollback_record_of_the_previous_version_belongs_to_the_last_run_that_wrote_its_bucket(
    tmp_path: Path,
) -> None:
    journal = write(
        tmp_path / "j.jsonl",
        entry("a1", "x", "put-policy", "P", "X", "applied"),
        entry("a2", "y", "put-policy", None, "Y", "applied"),
        entry("old", "x", "rollback", "X", "P", "applied"),
    )
    first, second = journal.runs()
    assert first.rolled_back("x") and second.rollbacks == {}


def test_a_rollback_that_undid_a_rollback_leaves_the_run_not_rolled_back(tmp_path: Path) -> None:
    journal = write(
        tmp_path / "j.jsonl",
        entry("a1", "x", "put-policy", "P", "X", "applied"),
        entry("old1", "x", "rollback", "X", "P", "applied"),
        entry("old2", "x", "rollback", "P", "X", "applied"),  # the previous version's second run
    )
    (run,) = journal.runs()
    assert not run.rolled_back("x")


def test_apply_records_keep_the_previous_format_and_rollback_records_name_their_run(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write(
        path,
        entry("a1", "x", "put-policy", "P", "X", "applied"),
        entry("r1", "x", "rollback", "X", "P", "applied", rolls_back="a1"),
    )
    applied, rolled = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    assert "rolls_back" not in applied and rolled["rolls_back"] == "a1"


def test_a_rolls_back_that_is_not_a_run_id_is_a_skipped_line(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write(path, entry("a1", "x", "put-policy", "P", "X", "applied"))
    record = json.loads(path.read_text(encoding="utf-8"))
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({**record, "run": "r1", "action": "rollback", "rolls_back": 7}) + "\n")
    journal = Journal(path)
    (run,) = journal.runs()
    assert run.rollbacks == {}
    assert journal.skipped == [
        f"{path}:2:1: skipped, not a journal entry (rolls_back must be a string or null)"
    ]
