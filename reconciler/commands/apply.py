"""reconciler apply: apply a saved plan, or plan and apply after confirmation."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from reconciler.commands.outcomes import (
    Recorded,
    announce_finishing,
    dumps_outcomes,
    outcomes_document,
    report_interrupted,
    report_outcomes,
)
from reconciler.commands.plan import add_live_arguments, make_plan, scope_from_args
from reconciler.commands.source import Source, add_source_arguments, describe
from reconciler.declare.config import Config
from reconciler.declare.yaml_source import NotReadable, read_regular
from reconciler.edge.s3 import S3Edge
from reconciler.errors import BucketshareError, ExitCode
from reconciler.execute.apply import apply_plan
from reconciler.execute.journal import Journal
from reconciler.execute.outcome import ApplyInterrupted
from reconciler.plan.digest import check_digest_text, plan_digest
from reconciler.plan.file_read import loads
from reconciler.plan.model import BucketAction, Plan
from reconciler.plan.scheduled import select_scheduled
from reconciler.plan.scopes import EVERY_ACCOUNT, AccountScope
from reconciler.report.terminal import make_console, render_terminal

NO_TERMINAL = (
    "refusing to apply without a terminal to confirm: pass --auto-approve, or apply a saved plan "
    "(reconciler plan --save plan.json, then reconciler apply plan.json)"
)
LEFT_FOR_REVIEW = "drift is reported, not fixed; set drift: fix in reconciler.yaml to fix it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(
        parser,
        "reconciler apply plan.json --expect-digest sha256:...  # exactly the plan reviewed "
        "(made by reconciler plan --save plan.json)",
        "reconciler apply --auto-approve  # plan and apply in one go",
    )
    add_source_arguments(parser)
    parser.add_argument(
        "plan_file",
        nargs="?",
        type=Path,
        default=None,
        metavar="PLAN.json",
        help="a plan saved by `reconciler plan --save`, applied as it is without asking "
        "(default: plan now, show it, and ask)",
    )
    parser.add_argument(
        "--auto-approve",
        action="store_true",
        help="apply the plan made now without asking (default: ask y/N; without a terminal, refuse)",
    )
    parser.add_argument(
        "--journal",
        type=Path,
        default=None,
        metavar="FILE",
        help="the JSON-lines file each write is recorded in before it is made, for rollback "
        "(default: journal: in reconciler.yaml, else .bucketshare/journal.jsonl)",
    )
    parser.add_argument(
        "--expect-digest",
        default=None,
        metavar="DIGEST",
        help="refuse unless the plan's digest is this one (the sha256:... that was reviewed; "
        "default: no check)",
    )
    parser.add_argument(
        "--scheduled",
        action="store_true",
        help="the unattended run: apply only expired-grant removals, or all drift with drift: fix "
        "(default: apply every change)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people; json prints one JSON document on stdout (each policy's name, "
        "account, kind and message, the totals and the exit code) and everything else on "
        "stderr (default: text), e.g. --format json",
    )
    add_live_arguments(parser)


@dataclass(frozen=True)
class ApplyOptions:
    source: Source
    plan_file: Path | None = None
    auto_approve: bool = False
    journal: Path | None = None
    expect_digest: str | None = None
    scheduled: bool = False
    parallelism: int = 16
    declared_only: bool = False
    scope: AccountScope = EVERY_ACCOUNT
    output_format: str = "text"

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Self:
        if args.expect_digest is not None and (problem := check_digest_text(args.expect_digest)):
            raise BucketshareError(f"--expect-digest: {problem}")
        return cls(
            source=Source.from_args(args),
            plan_file=args.plan_file,
            auto_approve=args.auto_approve,
            journal=args.journal,
            expect_digest=args.expect_digest,
            scheduled=args.scheduled,
            parallelism=args.parallelism,
            declared_only=args.declared_only,
            scope=scope_from_args(args),
            output_format=args.format,
        )


def run(options: ApplyOptions) -> int:
    if options.output_format == "json":
        return run_json(options)
    return run_text(options)


def run_json(options: ApplyOptions) -> int:
    """One JSON document on stdout; what apply says to people goes to stderr meanwhile."""
    record = Recorded()
    stdout = sys.stdout
    try:
        with contextlib.redirect_stdout(sys.stderr):
            code = run_text(options, record)
    except BucketshareError as exc:
        print(dumps_outcomes(outcomes_document(record, ExitCode.ERROR, str(exc))), file=stdout)
        raise
    print(dumps_outcomes(outcomes_document(record, code)), file=stdout)
    return code


def run_text(options: ApplyOptions, record: Recorded | None = None) -> int:
    if options.plan_file is None and not options.auto_approve and not sys.stdin.isatty():
        # Before planning: a plan shown to nobody is pages of output ending in a refusal.
        raise BucketshareError(NO_TERMINAL)
    if options.plan_file is not None:
        if not options.scope.everything:
            raise BucketshareError(
                "--account and --shard choose what to plan; a saved plan is applied as it is"
            )
        # A saved plan is applied as it is: the declarations need not validate today.
        config = options.source.load_config()
        journal = journal_path(options.journal, config)
        plan = load_plan_file(options.plan_file)
        if (plan.sid_prefix, plan.partition) != (config.sid_prefix, config.partition):
            # Which statements are ours is the config's to say, never a file's.
            raise BucketshareError(
                f"{options.plan_file}: planned with sid_prefix {plan.sid_prefix!r} and partition "
                f"{plan.partition!r}, but reconciler.yaml says {config.sid_prefix!r} and "
                f"{config.partition!r}; run plan again"
            )
        edge = None  # made once there is something to write: a refused plan makes no AWS call
    else:
        state = options.source.load()
        config = state.config
        journal = journal_path(options.journal, config)
        # Planned with the apply role too: the plan an apply writes from is read as it writes.
        edge = apply_edge(config, options.parallelism)
        plan = make_plan(state, edge, options.declared_only, scope=options.scope)
        render_terminal(plan, make_console(sys.stdout))
    saved = options.plan_file is not None
    if options.expect_digest is not None:
        check_digest(plan, options.expect_digest, saved)
    if options.scheduled:
        plan = scheduled_part(plan, config)
    made = edge
    return apply_command(
        plan,
        journal,
        options.auto_approve or saved,
        lambda: made or apply_edge(config, options.parallelism),
        record,
    )


def apply_edge(config: Config, parallelism: int) -> S3Edge:
    """The edge for writes: apply and rollback assume each account's `apply` role."""
    return S3Edge(parallelism, roles=config.roles, mode="apply")


MAX_PLAN_BYTES = 256 * 1024 * 1024


def load_plan_file(path: Path) -> Plan:
    """A saved plan; a FIFO given as the plan must not hang apply (read_regular)."""
    try:
        data = read_regular(path, MAX_PLAN_BYTES)
    except NotReadable as exc:
        if exc.reason == "too big":
            raise BucketshareError(f"{path}: not a plan: over {MAX_PLAN_BYTES} bytes") from exc
        raise BucketshareError(f"{path}: cannot read plan ({exc.reason})") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BucketshareError(f"{path}: not a JSON plan (not UTF-8 at byte {exc.start})") from exc
    return loads(text, str(path))


def journal_path(given: Path | None, config: Config) -> Path:
    """--journal or the config's; refused before planning when it is not a file to append to."""
    path = given or Path(config.journal)
    if path.exists() and not path.is_file():
        raise BucketshareError(f"{path}: the journal must be a regular file")
    return path


def check_digest(plan: Plan, expected: str, saved: bool) -> None:
    """Apply exactly what was reviewed: the digest is recomputed, never read from the file."""
    actual = plan_digest(plan)
    if actual == expected:
        return
    why = (
        "the saved plan is not the one that was reviewed"
        if saved
        else "the live plan is not the one that was reviewed (policies or declarations changed since)"
    )
    raise BucketshareError(
        f"plan digest {actual} does not match --expect-digest {expected}: {why}; nothing was applied"
    )


def scheduled_part(plan: Plan, config: Config) -> Plan:
    """What the scheduled run applies; says which changing buckets it leaves for review."""
    selected = select_scheduled(plan, fix_all_drift=config.drift == "fix")
    kept = {b.bucket: b.action for b in selected.policies}
    for bucket in plan.policies:
        if bucket.writes and kept.get(bucket.bucket) is BucketAction.NOOP:
            print(
                f"{bucket.bucket} (account {bucket.account}): left for review, not applied: {LEFT_FOR_REVIEW}"
            )
    return selected


def confirm(auto_approve: bool) -> bool:
    if auto_approve:
        return True
    if not sys.stdin.isatty():
        raise BucketshareError(NO_TERMINAL)
    answer = input("Apply these changes? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def apply_command(
    plan: Plan,
    journal_path: Path,
    auto_approve: bool,
    edge: Callable[[], S3Edge],
    record: Recorded | None = None,
) -> int:
    """record: where the outcomes and the journal go too, for --format json."""
    if not plan.has_changes:
        print("Nothing to apply.")
        return ExitCode.ERROR if plan.has_errors else ExitCode.OK
    if not confirm(auto_approve):
        print("Apply cancelled; nothing was written.")
        return ExitCode.ERROR
    try:
        outcomes = apply_plan(plan, edge(), Journal(journal_path), announce_finishing)
    except ApplyInterrupted as interrupted:
        print(f"journal: {journal_path}")
        if record is not None:
            record.add(interrupted.outcomes, journal_path)
        return report_interrupted(
            interrupted,
            "Plan and apply again to finish.",
            lambda outcomes: report_outcomes(outcomes, partition=plan.partition),
        )
    print(f"journal: {journal_path}")
    if record is not None:
        record.add(outcomes, journal_path)
    return report_outcomes(outcomes, partition=plan.partition)
