"""Apply and rollback work on buckets concurrently, as plan does: each worker does one
bucket's whole safe write; the journal stays one complete record per line; outcomes are
printed in plan order whatever order the workers finish in.

Concurrency is observed, not timed: a proxy that holds each request for a while records
how many PutBucketPolicy requests it was serving at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.errors import BucketshareError
from reconciler.execute.journal import Journal

from .conftest import Workspace, read_grant
from .faultproxy import FaultProxy


def declare_many(ws: Workspace, count: int) -> list[str]:
    buckets = sorted(ws.bucket(f"par{i}") for i in range(count))
    for bucket in buckets:
        ws.declare(bucket, read_grant("222222222222"))
    return buckets


def journal_records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(("parallelism", "least"), [(1, 1), (8, 4)])
def test_apply_writes_buckets_concurrently_at_the_parallelism(
    ws: Workspace, fault_proxy: FaultProxy, parallelism: int, least: int
) -> None:
    buckets = declare_many(ws, 8)
    plan_file = ws.root / "plan.json"
    assert ws.plan("--save", plan_file).rc == 0
    ws.point(fault_proxy.url)
    fault_proxy.latency = 0.25
    journal = ws.root / "journal.jsonl"
    result = ws.apply_saved(plan_file, "--parallelism", str(parallelism), "--journal", journal)
    assert result.rc == 0, result.text
    # Workers drift apart by scheduling jitter, so bound it, never exceed it.
    assert least <= fault_proxy.max_in_flight["*"] <= parallelism
    assert fault_proxy.max_in_flight["PUT"] <= parallelism
    # Outcomes in plan order, one per bucket, whatever order the workers finished in.
    shown = [line.split(":")[0] for line in result.out.splitlines() if ": ok: " in line]
    assert shown == buckets
    records = journal_records(journal)
    assert sorted(r["bucket"] for r in records if r["outcome"] == "pending") == buckets
    assert sorted(r["bucket"] for r in records if r["outcome"] == "applied") == buckets
    for bucket in buckets:
        assert ws.policy(bucket) is not None


def test_rollback_restores_buckets_concurrently(ws: Workspace, fault_proxy: FaultProxy) -> None:
    buckets = declare_many(ws, 6)
    journal = ws.root / "journal.jsonl"
    assert ws.apply("--journal", journal).rc == 0
    ws.point(fault_proxy.url)
    fault_proxy.latency = 0.25
    result = ws.run("rollback", journal)
    assert result.rc == 0, result.text
    assert fault_proxy.max_in_flight["*"] >= 4
    for bucket in buckets:
        assert ws.policy(bucket) is None


def test_a_journal_that_cannot_be_written_stops_apply_before_any_write(ws: Workspace) -> None:
    (bucket,) = declare_many(ws, 1)
    (ws.root / "a-file").write_text("", encoding="utf-8")
    (ws.root / "journal-is-a-directory").mkdir()
    for blocked in (ws.root / "journal-is-a-directory", ws.root / "a-file" / "journal.jsonl"):
        result = ws.apply("--journal", blocked)
        assert result.rc == 1
        errors = [line for line in result.err.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and str(blocked) in errors[0], result.err
        assert "Traceback" not in result.text
        assert ws.policy(bucket) is None


def test_journal_open_failure_is_one_line(tmp_path: Path) -> None:
    # The check inside apply itself, whatever the command line checked before it.
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    journal = Journal(tmp_path / "a-file" / "journal.jsonl")
    with pytest.raises(BucketshareError, match=r"cannot write the journal .*; nothing was written to AWS"):
        journal.open()


def test_appends_after_a_torn_last_line_start_on_a_fresh_line(ws: Workspace) -> None:
    (bucket,) = declare_many(ws, 1)
    journal = ws.root / "journal.jsonl"
    journal.write_text('{"run": "crashed", "bucket": "x", "outc', encoding="utf-8")
    assert ws.apply("--journal", journal).rc == 0
    lines = journal.read_text(encoding="utf-8").splitlines()
    assert lines[0] == '{"run": "crashed", "bucket": "x", "outc'
    assert [json.loads(line)["bucket"] for line in lines[1:]] == [bucket, bucket]


def test_rollback_uses_every_complete_record_around_a_torn_line(ws: Workspace) -> None:
    first, second = declare_many(ws, 2)
    journal = ws.root / "journal.jsonl"
    assert ws.apply("--journal", journal).rc == 0
    lines = journal.read_text(encoding="utf-8").splitlines()
    # A crash tore a line in the middle of the journal.
    journal.write_text("\n".join([lines[0], '{"run": "torn", "buck', *lines[1:]]) + "\n", encoding="utf-8")
    result = ws.run("rollback", journal)
    assert result.rc == 0, result.text
    assert f"warning: {journal}:2:1: skipped, not a journal entry (" in result.err
    assert ws.policy(first) is None and ws.policy(second) is None


def test_a_journal_that_fills_up_stops_apply_before_the_write_it_would_announce(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    (bucket,) = declare_many(ws, 1)
    journal = ws.root / "journal.jsonl"

    def full_disk(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("reconciler.execute.journal.os.fsync", full_disk)
    result = ws.apply("--journal", journal)
    assert result.rc == 1
    assert f"cannot write the journal (No space left on device); {bucket} was not written" in result.err
    assert "Traceback" not in result.text
    assert ws.policy(bucket) is None
