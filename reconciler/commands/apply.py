from __future__ import annotations

import sys
from pathlib import Path

from reconciler.apply import BucketOutcome, apply_plan, rollback
from reconciler.aws import S3Edge
from reconciler.errors import BucketshareError
from reconciler.journal import Journal
from reconciler.plan import Plan
from reconciler.report.jsonplan import loads
from reconciler.report.terminal import make_console, render_terminal

EXIT_OK, EXIT_ERROR = 0, 1


def load_plan_file(path: Path) -> Plan:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BucketshareError(f"{path}: cannot read plan ({exc.strerror})") from exc
    return loads(text, str(path))


def confirm(auto_approve: bool) -> bool:
    if auto_approve:
        return True
    if not sys.stdin.isatty():
        raise BucketshareError("refusing to apply without a terminal to confirm; pass --auto-approve")
    answer = input("Apply these changes? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def report_outcomes(outcomes: list[BucketOutcome]) -> int:
    for outcome in outcomes:
        status = "ok" if outcome.ok else "FAILED"
        print(f"{outcome.bucket}: {status}: {outcome.message}")
    failed = sum(1 for o in outcomes if not o.ok)
    print(f"{len(outcomes) - failed} buckets applied, {failed} failed")
    return EXIT_ERROR if failed else EXIT_OK


def apply_command(plan: Plan, journal_path: Path, auto_approve: bool, parallelism: int, saved: bool) -> int:
    if not saved:
        render_terminal(plan, make_console(sys.stdout))
    if not plan.has_changes:
        print("Nothing to apply.")
        return EXIT_ERROR if plan.has_errors else EXIT_OK
    if not saved and not confirm(auto_approve):
        print("Apply cancelled; nothing was written.")
        return EXIT_ERROR
    outcomes = apply_plan(plan, S3Edge(parallelism), Journal(journal_path))
    print(f"journal: {journal_path}")
    return report_outcomes(outcomes)


def rollback_command(journal_path: Path, bucket: str | None, partition: str) -> int:
    outcomes = rollback(Journal(journal_path), S3Edge(), bucket, partition)
    if not outcomes:
        raise BucketshareError(
            f"{journal_path}: no applied write to roll back" + (f" for {bucket}" if bucket else "")
        )
    return report_outcomes(outcomes)
