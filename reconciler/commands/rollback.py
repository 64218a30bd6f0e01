"""reconciler rollback: restore the policy each bucket held before its last write that took effect."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from reconciler.apply import ApplyInterrupted, rollback
from reconciler.commands.apply import apply_edge, report_interrupted, report_outcomes
from reconciler.commands.source import Source, add_source_arguments
from reconciler.errors import BucketshareError
from reconciler.journal import Journal

RESTORED = "restored or with nothing to undo"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("journal", type=Path)
    parser.add_argument("--bucket", default=None)
    add_source_arguments(parser, shares=False)


@dataclass(frozen=True)
class RollbackOptions:
    source: Source
    journal: Path
    bucket: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Self:
        return cls(Source.from_args(args), args.journal, args.bucket)


def run(options: RollbackOptions) -> int:
    config = options.source.load_config()
    path = options.journal
    check_readable(path)
    journal = Journal(path)
    try:
        outcomes = rollback(journal, apply_edge(config, 16), options.bucket, config.partition)
    except ApplyInterrupted as interrupted:
        warn_skipped(journal)
        return report_interrupted(interrupted, "Run rollback again to finish.", RESTORED, config.partition)
    warn_skipped(journal)
    if not outcomes:
        bucket = options.bucket
        raise BucketshareError(
            f"{path}: no applied write to roll back" + (f" for {bucket}" if bucket else "")
        )
    return report_outcomes(outcomes, RESTORED, config.partition)


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
