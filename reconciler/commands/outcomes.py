"""What apply and rollback say about each policy: a line per policy and the totals, or (apply
--format json) one JSON document for scripts. Both are made from the outcomes' kinds."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.errors import ExitCode
from reconciler.execute.outcome import ApplyInterrupted, BucketOutcome
from reconciler.plan.kinds import RULES, PolicyKind, Target
from reconciler.report.summary import plural, target_locators

OUTCOMES_FORMAT_VERSION = 1


def status(outcome: BucketOutcome) -> str:
    """The word apply's line and the workflow comment show."""
    return "ok" if outcome.ok else "FAILED" if outcome.settled else "UNKNOWN"


def report_lines(outcomes: Sequence[BucketOutcome], partition: str = "aws") -> None:
    """One line per policy begun, then how people and tools name it (a key's ARN names it)."""
    for outcome in outcomes:
        if not outcome.started:
            continue
        print(f"{RULES[outcome.policy].shown(outcome.bucket)}: {status(outcome)}: {outcome.message}")
        locators = target_locators(Target(outcome.policy, outcome.bucket, outcome.account), partition)
        if locators is not None:
            print(f"  {locators}")


def failed(outcomes: Sequence[BucketOutcome]) -> int:
    return sum(1 for o in outcomes if o.failed)


def report_outcomes(outcomes: Sequence[BucketOutcome], done: str = "applied", partition: str = "aws") -> int:
    report_lines(outcomes, partition)
    print(f"{counted([o for o in outcomes if o.ok])} {done}, {failed(outcomes):,} failed{unknown(outcomes)}")
    return ExitCode.ERROR if failed(outcomes) else ExitCode.OK


def unknown(outcomes: Sequence[BucketOutcome]) -> str:
    """The summary's last part after a second Ctrl-C: how many were left in flight."""
    left = sum(1 for o in outcomes if not o.settled)
    return f", {left:,} unknown" if left else ""


def counted(outcomes: Sequence[BucketOutcome]) -> str:
    """How many buckets, and KMS keys when there are any: a key is not a bucket."""
    keys = sum(1 for o in outcomes if o.policy is PolicyKind.KEY)
    said = plural(len(outcomes) - keys, "bucket")
    return f"{said} and {plural(keys, 'KMS key')}" if keys else said


def announce_finishing(in_flight: int) -> None:
    """The first Ctrl-C: say what apply (or rollback) still waits for, and how to stop it."""
    print(
        f"interrupted: finishing the {plural(in_flight, 'bucket')} in flight, starting no more; "
        "press Ctrl-C again to stop now",
        file=sys.stderr,
        flush=True,
    )


def report_interrupted(
    interrupted: ApplyInterrupted, again: str, summary: Callable[[list[BucketOutcome]], int]
) -> int:
    """Ctrl-C: what was done, which buckets were never started (nothing read or written), and
    after a second Ctrl-C which were left in flight (their outcome unknown)."""
    outcomes = interrupted.outcomes
    summary(outcomes)
    skipped = [o.bucket for o in outcomes if not o.started]
    for bucket in skipped:
        print(f"{bucket}: not started")
    left = sum(1 for o in outcomes if not o.settled)
    if left:
        said = f"stopped: {plural(left, 'bucket')} left in flight, state unknown"
    else:
        said = "interrupted: the buckets in flight were finished"
    print(f"{said}; {plural(len(skipped), 'bucket')} not started. {again}", file=sys.stderr)
    return ExitCode.INTERRUPTED


@dataclass
class Recorded:
    """What an apply did, kept for --format json."""

    outcomes: list[BucketOutcome] = field(default_factory=list)
    journal: str | None = None

    def add(self, outcomes: Sequence[BucketOutcome], journal: Path) -> None:
        self.outcomes.extend(outcomes)
        self.journal = str(journal)


def _total(outcome: BucketOutcome) -> str:
    if outcome.ok:
        return "ok"
    if not outcome.started:
        return "not_started"
    return "failed" if outcome.settled else "unknown"


def outcomes_document(record: Recorded, exit_code: int, error: str | None = None) -> dict[str, Any]:
    """apply --format json: every policy's outcome, the totals and the exit code."""
    totals = dict.fromkeys(("ok", "failed", "unknown", "not_started"), 0)
    for outcome in record.outcomes:
        totals[_total(outcome)] += 1
    return {
        "format_version": OUTCOMES_FORMAT_VERSION,
        "exit_code": int(exit_code),
        "error": error,
        "journal": record.journal,
        "totals": totals,
        "outcomes": [
            {
                "name": o.bucket,
                "account": o.account,
                "policy": o.policy.value,
                "shown": RULES[o.policy].shown(o.bucket),
                "kind": o.kind.value,
                "ok": o.ok,
                "message": o.message,
            }
            for o in record.outcomes
        ],
    }


def dumps_outcomes(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)
