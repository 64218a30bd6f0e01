"""Rollback undoes one apply run, once: run again (as people do during an incident), after a
`--bucket` rollback, or over a journal the previous version wrote, it never puts a grant back.
With several apply runs in one journal it lists them, takes the last, and `--run` picks another."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reconciler.edge.s3 import S3Edge
from reconciler.execute.journal import Journal
from reconciler.execute.outcome_messages import RESTORE_WAS_PUBLIC
from reconciler.execute.rollback import rollback

from .conftest import Result, Workspace, read_grant, statement


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def shell(ws: Workspace, *args: str | Path) -> Result:
    """The CLI as a person runs it from a shell: its own process, this workspace's AWS setup."""
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", *map(str, args)],
        cwd=ws.root,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def held_policy(ws: Workspace, label: str) -> tuple[str, str]:
    """A bucket holding a statement someone else wrote: (bucket, its policy text)."""
    bucket = ws.bucket(label)
    policy = {"Version": "2012-10-17", "Statement": [statement("Theirs", bucket)]}
    return bucket, ws.put_policy(bucket, policy)


def test_rollback_run_twice_writes_nothing_the_second_time(ws: Workspace) -> None:
    held, before = held_policy(ws, "twiceheld")
    bare = ws.bucket("twicebare")
    ws.declare(held, read_grant("222222222222"))
    ws.declare(bare, read_grant("222222222222"))
    journal = ws.root / "journal.jsonl"
    assert ws.apply("--journal", journal).rc == 0

    first = shell(ws, "rollback", journal)
    assert first.rc == 0, first.text
    assert (ws.policy_text(held), ws.policy_text(bare)) == (before, None)
    kept = journal.read_bytes()

    second = shell(ws, "rollback", journal)
    assert second.rc == 0, second.text
    assert "already rolled back; nothing to do" in second.out
    assert f"{held}: ok: already rolled back; nothing to do" in second.out
    assert "0 buckets restored, 2 already as before the run, 0 failed" in second.out
    assert (ws.policy_text(held), ws.policy_text(bare)) == (before, None), "the grant came back"
    assert journal.read_bytes() == kept, "the second rollback wrote"
    assert "Traceback" not in second.err


def test_rollback_of_one_bucket_then_all_leaves_that_bucket_alone(ws: Workspace) -> None:
    first, first_before = held_policy(ws, "onefirst")
    second, second_before = held_policy(ws, "onesecond")
    ws.declare(first, read_grant("222222222222"))
    ws.declare(second, read_grant("222222222222"))
    journal = ws.root / "journal.jsonl"
    assert ws.apply("--journal", journal).rc == 0

    one = ws.run("rollback", journal, "--bucket", first)
    assert one.rc == 0, one.text
    assert ws.policy_text(first) == first_before

    every = ws.run("rollback", journal)
    assert every.rc == 0, every.text
    assert f"{first}: ok: already rolled back; nothing to do" in every.out
    assert f"{second}: ok: wrote the policy" in every.out
    assert (ws.policy_text(first), ws.policy_text(second)) == (first_before, second_before)
    apply_run = records(journal)[0]["run"]
    rollback_records = records(journal)[4:]
    assert rollback_records and {r["rolls_back"] for r in rollback_records} == {apply_run}
    assert {r["bucket"] for r in rollback_records if r["outcome"] == "applied"} == {first, second}


def two_applies(ws: Workspace, journal: Path) -> tuple[str, str, str, str, str]:
    """Run 1 grants `both`; run 2 changes `both` and grants `later`. Returns the two buckets,
    the policy `both` held first and after run 1, and `later`'s first policy."""
    both, original = held_policy(ws, "runsboth")
    later, later_original = held_policy(ws, "runslater")
    ws.declare(both, read_grant("222222222222"))
    assert ws.apply("--journal", journal).rc == 0
    after_first = ws.policy_text(both)
    assert after_first is not None
    ws.declare(both, read_grant("333333333333"))
    ws.declare(later, read_grant("222222222222"))
    assert ws.apply("--journal", journal).rc == 0
    return both, later, original, after_first, later_original


def test_a_journal_of_two_applies_rolls_back_the_last_and_run_picks_the_other(ws: Workspace) -> None:
    journal = ws.root / "journal.jsonl"
    both, later, original, after_first, later_original = two_applies(ws, journal)
    runs = list(dict.fromkeys(r["run"] for r in records(journal)))
    assert len(runs) == 2

    last = ws.run("rollback", journal)
    assert last.rc == 0, last.text
    lines = last.out.splitlines()
    assert lines[0] == f"{journal} holds 2 apply runs, oldest first:"
    assert lines[1].startswith(f"  run {runs[0]}  ") and lines[1].endswith("  1 bucket")
    assert lines[2].startswith(f"  run {runs[1]}  ") and lines[2].endswith("  2 buckets")
    assert lines[3] == f"rolling back run {runs[1]} (the last apply run; --run RUN_ID for another)"
    assert (ws.policy_text(both), ws.policy_text(later)) == (after_first, later_original)

    again = ws.run("rollback", journal)
    assert again.rc == 0 and f"run {runs[1]}: already rolled back; nothing to do" in again.out, again.text
    assert again.out.splitlines()[2].endswith("  2 buckets, rolled back")

    earlier = ws.run("rollback", journal, "--run", runs[0])
    assert earlier.rc == 0, earlier.text
    assert f"rolling back run {runs[0]}\n" in earlier.out
    assert (ws.policy_text(both), ws.policy_text(later)) == (original, later_original)


def test_rollback_of_an_earlier_run_refuses_a_bucket_a_later_run_changed(ws: Workspace) -> None:
    journal = ws.root / "journal.jsonl"
    both, _, _, after_first, _ = two_applies(ws, journal)
    first_run = records(journal)[0]["run"]
    second_written = ws.policy_text(both)
    assert second_written != after_first

    second_run = records(journal)[-1]["run"]
    result = ws.run("rollback", journal, "--run", first_run)
    assert result.rc == 1
    assert (
        f"{both}: FAILED: not restored: apply run {second_run} wrote it since; roll that run back first "
        f"(--run {second_run})"
    ) in result.out
    assert ws.policy_text(both) == second_written


def test_an_unknown_run_is_one_line_naming_the_runs(ws: Workspace) -> None:
    journal = ws.root / "journal.jsonl"
    two_applies(ws, journal)
    runs = list(dict.fromkeys(r["run"] for r in records(journal)))
    result = ws.run("rollback", journal, "--run", "nosuchrun")
    assert (result.rc, result.out) == (1, "")
    assert result.err == (
        f"error: {journal}: no apply run nosuchrun in the journal (its apply runs: {', '.join(runs)})\n"
    )


def test_bucket_alone_takes_the_last_run_that_wrote_it(ws: Workspace) -> None:
    journal = ws.root / "journal.jsonl"
    first, first_before = held_policy(ws, "lastfirst")
    ws.declare(first, read_grant("222222222222"))
    assert ws.apply("--journal", journal).rc == 0
    other = ws.bucket("lastother")
    ws.declare(other, read_grant("222222222222"))
    assert ws.apply("--journal", journal).rc == 0  # writes only `other`

    result = ws.run("rollback", journal, "--bucket", first)
    assert result.rc == 0, result.text
    first_run = records(journal)[0]["run"]
    assert f"rolling back bucket {first} of run {first_run} (the last apply run that wrote {first};" in (
        result.out
    )
    assert ws.policy_text(first) == first_before


def old_rollback(journal: Path, apply_record: dict[str, Any], run: str, new_policy: str | None) -> None:
    """Append the records the previous version's rollback wrote: action rollback, no rolls_back."""
    pending = {
        **apply_record,
        "run": run,
        "action": "rollback",
        "previous_policy": apply_record["new_policy"],
        "new_policy": new_policy,
        "outcome": "pending",
        "written_hash": None,
    }
    with journal.open("a", encoding="utf-8") as handle:
        for record in (pending, {**pending, "outcome": "applied"}):
            handle.write(json.dumps(record, sort_keys=True) + "\n")


def test_a_journal_the_previous_version_rolled_back_is_not_rolled_back_again(ws: Workspace) -> None:
    bucket, before = held_policy(ws, "oldformat")
    ws.declare(bucket, read_grant("222222222222"))
    journal = ws.root / "journal.jsonl"
    assert ws.apply("--journal", journal).rc == 0
    assert all("rolls_back" not in r for r in records(journal)), "apply's records keep the old format"
    old_rollback(journal, records(journal)[0], "oldrollback1", before)
    ws.put_policy(bucket, before)
    kept = journal.read_bytes()

    result = ws.run("rollback", journal)
    assert result.rc == 0, result.text
    assert f"{bucket}: ok: already rolled back; nothing to do" in result.out
    assert ws.policy_text(bucket) == before
    assert journal.read_bytes() == kept

    # The previous version's second rollback reverted its first: the grant came back. That
    # record undoes a rollback, not the apply: the apply is undone once more.
    applied = records(journal)[1]
    old_rollback(journal, {**applied, "new_policy": before}, "oldrollback2", applied["new_policy"])
    ws.put_policy(bucket, applied["new_policy"])
    again = ws.run("rollback", journal)
    assert again.rc == 0, again.text
    assert f"{bucket}: ok: wrote the policy" in again.out
    assert ws.policy_text(bucket) == before


def test_a_long_journal_lists_the_last_ten_runs_and_the_one_chosen(ws: Workspace) -> None:
    bucket, before = held_policy(ws, "longjournal")
    journal = ws.root / "journal.jsonl"
    lines = []
    for day in range(1, 13):
        record = {
            "run": f"run{day:02}",
            "time": f"2026-01-{day:02}T03:00:00+00:00",
            "bucket": bucket,
            "account": ws.account,
            "action": "put-policy",
            "previous_policy": before,
            "new_policy": before,
            "outcome": "applied",
            "message": "",
            "written_hash": None,
        }
        lines.append(json.dumps(record) + "\n")
    journal.write_text("".join(lines), encoding="utf-8")

    result = ws.run("rollback", journal, "--run", "run01")
    assert result.rc == 0, result.text
    assert result.out.splitlines()[:4] == [
        f"{journal} holds 12 apply runs, oldest first:",
        "  (1 earlier run not listed)",
        "  run run01  2026-01-01T03:00:00+00:00  1 bucket",
        "  run run03  2026-01-03T03:00:00+00:00  1 bucket",
    ]
    assert "  run run12  2026-01-12T03:00:00+00:00  1 bucket\nrolling back run run01\n" in result.out


def test_rollback_of_an_earlier_run_refuses_a_bucket_a_later_run_wrote_the_same_again(ws: Workspace) -> None:
    # Run 1 grants; a person puts the old policy back by hand; run 2 grants again, writing
    # the very text run 1 wrote. Undoing run 1 would silently undo run 2 as well.
    bucket, before = held_policy(ws, "samelater")
    journal = ws.root / "journal.jsonl"
    ws.declare(bucket, read_grant("222222222222"))
    assert ws.apply("--journal", journal).rc == 0
    granted = ws.policy_text(bucket)
    ws.put_policy(bucket, before)
    assert ws.apply("--journal", journal).rc == 0
    assert ws.policy_text(bucket) == granted
    first_run, second_run = dict.fromkeys(r["run"] for r in records(journal))

    result = ws.run("rollback", journal, "--run", first_run)

    assert result.rc == 1
    assert (
        f"{bucket}: FAILED: not restored: apply run {second_run} wrote it since; roll that run back first "
        f"(--run {second_run})"
    ) in result.out
    assert ws.policy_text(bucket) == granted


class CallsRestoredPublic(S3Edge):
    """S3's own view of "public" can differ from bucketshare's check: here it calls every
    written policy public, and counts the writes."""

    def __init__(self) -> None:
        super().__init__(4)
        self.writes = 0

    def policy_is_public(self, bucket: str, account: str) -> bool | None:
        return True

    def put_policy(
        self, bucket: str, account: str, text: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.writes += 1
        super().put_policy(bucket, account, text, sleep)


def test_a_restore_s3_called_public_is_not_tried_again(ws: Workspace) -> None:
    bucket, _ = held_policy(ws, "publicrestore")
    journal = ws.root / "journal.jsonl"
    ws.declare(bucket, read_grant("222222222222"))
    assert ws.apply("--journal", journal).rc == 0
    granted = ws.policy_text(bucket)
    edge = CallsRestoredPublic()

    [first] = rollback(Journal(journal), edge, None, "aws")
    assert not first.ok
    assert (edge.writes, ws.policy_text(bucket)) == (2, granted)  # restored, then put back

    [again] = rollback(Journal(journal), edge, None, "aws")
    assert (again.ok, again.message) == (False, RESTORE_WAS_PUBLIC)
    assert (edge.writes, ws.policy_text(bucket)) == (2, granted)
