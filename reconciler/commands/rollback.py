"""reconciler rollback: restore the policy each bucket held before an apply run.

Rollback undoes one apply run (the last by default) and journals its own writes as undoing
it, so running it again, or after a `--bucket` rollback, writes nothing it already wrote.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from reconciler.commands.apply import apply_edge
from reconciler.commands.outcomes import (
    announce_finishing,
    counted,
    failed,
    report_interrupted,
    report_lines,
    unknown,
)
from reconciler.commands.source import Source, add_source_arguments, describe
from reconciler.errors import BucketshareError, ExitCode
from reconciler.execute.journal import ApplyRun, Journal
from reconciler.execute.outcome import ApplyInterrupted, BucketOutcome
from reconciler.execute.rollback import choose_run, rollback
from reconciler.report.summary import plural

AGAIN = "Run rollback again to finish: it restores only what is left."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(
        parser,
        "reconciler rollback .bucketshare/journal.jsonl  # undo the last apply run",
        "reconciler rollback .bucketshare/journal.jsonl --run 5f0c2b1a9e3d --bucket acme-data",
    )
    parser.add_argument(
        "journal",
        type=Path,
        metavar="JOURNAL",
        help="the journal apply wrote (.bucketshare/journal.jsonl unless journal: in reconciler.yaml "
        "or apply --journal said otherwise)",
    )
    parser.add_argument(
        "--run",
        default=None,
        metavar="RUN_ID",
        help="the apply run to undo, from the list rollback prints (default: the last apply run)",
    )
    parser.add_argument(
        "--bucket",
        default=None,
        metavar="BUCKET",
        help="restore only this bucket (or KMS key ARN) (default: every bucket the run wrote)",
    )
    add_source_arguments(parser, shares=False)


@dataclass(frozen=True)
class RollbackOptions:
    source: Source
    journal: Path
    bucket: str | None = None
    run: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Self:
        return cls(Source.from_args(args), args.journal, args.bucket, args.run)


def run(options: RollbackOptions) -> int:
    config = options.source.load_config()
    path = options.journal
    check_readable(path)
    journal = Journal(path)
    runs = journal.runs()
    warn_skipped(journal)
    try:
        choice = choose_run(runs, options.run, options.bucket)
    except BucketshareError as exc:
        raise BucketshareError(f"{path}: {exc}") from None
    chosen = choice.run
    list_runs(path, runs, chosen, options)
    edge = apply_edge(config, 16)
    try:
        outcomes = rollback(journal, edge, options.bucket, config.partition, choice, announce_finishing)
    except ApplyInterrupted as interrupted:
        return report_interrupted(
            interrupted, AGAIN, lambda outcomes: report_rollback(outcomes, config.partition)
        )
    if all(o.ok and o.written_hash is None for o in outcomes) and any(
        chosen.rolled_back(o.bucket) for o in outcomes
    ):
        print(f"run {chosen.id}: already rolled back; nothing to do")
    return report_rollback(outcomes, config.partition)


def run_line(run: ApplyRun) -> str:
    """A run as the list shows it: id, start, what it wrote, and whether it was rolled back."""
    keys = run.keys
    what = plural(len(run.buckets) - keys, "bucket") + (f" and {plural(keys, 'KMS key')}" if keys else "")
    written = list(run.writes)
    undone = sum(1 for b in written if run.rolled_back(b))
    if written and undone == len(written):
        what += ", rolled back"
    elif undone:
        what += f", partly rolled back ({undone:,} of {len(written):,})"
    return f"  run {run.id}  {run.started}  {what}"


LISTED = 10
"""The most recent runs listed: a journal kept for a year holds hundreds."""


def list_runs(path: Path, runs: Sequence[ApplyRun], chosen: ApplyRun, options: RollbackOptions) -> None:
    print(f"{path} holds {plural(len(runs), 'apply run')}, oldest first:")
    shown = list(runs[-LISTED:])
    if chosen not in shown:
        shown.insert(0, chosen)
    if len(runs) > len(shown):
        print(f"  ({plural(len(runs) - len(shown), 'earlier run')} not listed)")
    for run in shown:
        print(run_line(run))
    which = f"bucket {options.bucket} of run {chosen.id}" if options.bucket else f"run {chosen.id}"
    if options.run is not None:
        print(f"rolling back {which}")
    else:
        last = "the last apply run" + (f" that wrote {options.bucket}" if options.bucket else "")
        print(f"rolling back {which} ({last}; --run RUN_ID for another)")


def report_rollback(outcomes: list[BucketOutcome], partition: str) -> int:
    report_lines(outcomes, partition)
    restored = [o for o in outcomes if o.ok and o.written_hash is not None]
    unchanged = sum(1 for o in outcomes if o.ok and o.written_hash is None)
    said = f"{counted(restored)} restored, {unchanged:,} already as before the run"
    print(f"{said}, {failed(outcomes):,} failed{unknown(outcomes)}")
    return ExitCode.ERROR if failed(outcomes) else ExitCode.OK


def warn_skipped(journal: Journal) -> None:
    for line in journal.skipped:
        print(f"warning: {line}", file=sys.stderr)


def check_readable(path: Path) -> None:
    """A journal that is a directory or unreadable is a one-line error, not a traceback."""
    if not path.exists():
        return  # Journal says "journal not found"
    if not path.is_file():
        raise BucketshareError(f"{path}: the journal must be a regular file")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise BucketshareError(f"{path}: cannot read the journal ({exc.strerror})") from exc
