"""reconciler plan: read the live policies and show what apply would change."""

from __future__ import annotations

import argparse
import gc
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from reconciler.commands.source import Source, add_source_arguments, describe, positive
from reconciler.declare.identifiers import check_account
from reconciler.edge.git import changed_shares
from reconciler.edge.s3 import S3Edge
from reconciler.errors import BucketshareError, DeclarationError, ExitCode
from reconciler.execute.gather import gather_plan
from reconciler.live.changes import ChangedShares
from reconciler.plan.changed import (
    ChangedBuckets,
    Selection,
    declared_before,
    scope_buckets,
    select_changed,
)
from reconciler.plan.digest import plan_digest
from reconciler.plan.file_write import plan_chunks
from reconciler.plan.model import Plan
from reconciler.plan.scopes import EVERY_ACCOUNT, AccountScope, parse_shard
from reconciler.policy.desired import DesiredState
from reconciler.report.markdown import render_markdown, render_unplanned
from reconciler.report.progress import ReadProgress
from reconciler.report.terminal import make_console, render_terminal

JOB_SUMMARY_CHARS = 1_000_000
"""GitHub refuses a step summary over 1 MiB; a plan that large is trimmed the same way."""
FORMATS = ("text", "markdown", "json")
# The same shape the review line of a plan comment accepts (reconciler.report.markdown).
_COMMIT = re.compile(r"^[0-9a-f]{7,64}\Z")


def add_live_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--parallelism",
        type=positive,
        default=16,
        metavar="N",
        help="concurrent S3 requests (default: 16), e.g. --parallelism 32",
    )
    parser.add_argument(
        "--declared-only",
        action="store_true",
        help="skip discovery of undeclared buckets, which is faster (default: discover them)",
    )
    parser.add_argument(
        "--account",
        action="append",
        default=None,
        metavar="ID",
        help="only this owner account's buckets, discovery included; repeatable "
        "(default: every account), e.g. --account 111111111111",
    )
    parser.add_argument(
        "--shard",
        default=None,
        metavar="INDEX/COUNT",
        help="only the owner accounts of this shard, by a hash of the account id "
        "(default: every account), e.g. --shard 0/4",
    )


def scope_from_args(args: argparse.Namespace) -> AccountScope:
    accounts = None
    if args.account is not None:
        for account in args.account:
            if (problem := check_account(account)) is not None:
                raise BucketshareError(f"--account: {problem}")
        accounts = frozenset(args.account)
    try:
        shard = parse_shard(args.shard) if args.shard is not None else None
    except ValueError as exc:
        raise BucketshareError(str(exc)) from exc
    return AccountScope(accounts, shard)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(
        parser,
        "reconciler plan  # every bucket, as a table in the terminal",
        "reconciler plan --changed-since HEAD^1 --format markdown --out plan.md --save plan.json",
    )
    add_source_arguments(parser)
    add_output_arguments(parser)
    parser.add_argument(
        "--changed-since",
        default=None,
        metavar="REF",
        help="plan only the buckets whose declarations changed since this git revision "
        "(default: every bucket), e.g. --changed-since HEAD^1",
    )
    add_live_arguments(parser)


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """Where and how a plan goes: shared by plan and merge-plans."""
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text for a terminal, markdown for a pull-request comment, json for tools "
        "(default: text), e.g. --format markdown",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the plan here (default: stdout), e.g. --out plan.md; a markdown plan is written "
        "even when the declarations have errors, so the comment shows them",
    )
    parser.add_argument(
        "--save",
        type=Path,
        default=None,
        metavar="FILE",
        help="also save the JSON plan for apply (default: not saved), e.g. --save plan.json",
    )
    parser.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 2 when changes are present (default: exit 0 with or without changes)",
    )
    parser.add_argument(
        "--commit",
        default=None,
        metavar="SHA",
        help='the commit planned on, recorded in a markdown plan (default: none), e.g. --commit "$HEAD_SHA"',
    )
    parser.add_argument(
        "--digest-only",
        action="store_true",
        help="print only the plan digest (sha256:...) to stdout (default: the whole plan)",
    )
    parser.add_argument(
        "--summary-out",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the whole plan as Markdown, untrimmed up to GitHub's 1 MiB job-summary "
        "limit (default: not written), e.g. --summary-out summary.md",
    )


@dataclass(frozen=True)
class PlanOutput:
    output_format: str = "text"
    out: Path | None = None
    save: Path | None = None
    detailed_exitcode: bool = False
    commit: str | None = None
    digest_only: bool = False
    summary_out: Path | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Self:
        if args.commit is not None and not _COMMIT.match(args.commit):
            raise BucketshareError(
                f"--commit {args.commit!r} is not a commit SHA; give 7 to 64 lowercase hex characters"
            )
        return cls(
            output_format=args.format,
            out=args.out,
            save=args.save,
            detailed_exitcode=args.detailed_exitcode,
            commit=args.commit,
            digest_only=args.digest_only,
            summary_out=args.summary_out,
        )

    def check_writable(self) -> None:
        """Before any AWS call: a plan that cannot be written is better refused unmade."""
        for path in (self.out, self.save, self.summary_out):
            check_writable(path)

    def emit(self, plan: Plan) -> int:
        """Show, save and summarise the plan as asked; the command's exit code."""
        if self.digest_only:
            if self.out is not None:
                show(plan, self.output_format, self.out, self.commit)
            sys.stdout.write(plan_digest(plan) + "\n")
        else:
            show(plan, self.output_format, self.out, self.commit)
        if self.save is not None:
            write_file(self.save, plan_chunks(plan))
        if self.summary_out is not None:
            hint = "the plan.json artifact of this workflow run"
            full = render_markdown(plan, hint, self.commit, max_chars=JOB_SUMMARY_CHARS)
            write_file(self.summary_out, full)
        return plan_exit_code(plan, self.detailed_exitcode)

    def emit_unplanned(self, error: BucketshareError) -> None:
        """When no plan could be made: the Markdown files still say why, so a pull request's
        comment shows the errors in place of a stale plan (and carries nothing to approve)."""
        problems = [str(p) for p in error.problems] if isinstance(error, DeclarationError) else [str(error)]
        comment = render_unplanned(problems, isinstance(error, DeclarationError))
        if self.out is not None and self.output_format == "markdown":
            write_file(self.out, comment)
        if self.summary_out is not None:
            write_file(self.summary_out, comment)


@dataclass(frozen=True)
class PlanOptions:
    source: Source
    output: PlanOutput = PlanOutput()
    changed_since: str | None = None
    parallelism: int = 16
    declared_only: bool = False
    scope: AccountScope = EVERY_ACCOUNT

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Self:
        return cls(
            source=Source.from_args(args),
            output=PlanOutput.from_args(args),
            changed_since=args.changed_since,
            parallelism=args.parallelism,
            declared_only=args.declared_only,
            scope=scope_from_args(args),
        )


def run(options: PlanOptions) -> int:
    options.output.check_writable()
    try:
        plan = _plan(options)
    except BucketshareError as exc:
        options.output.emit_unplanned(exc)
        raise
    return options.output.emit(plan)


def _plan(options: PlanOptions) -> Plan:
    source = options.source
    only = None
    if options.changed_since is not None:
        changed = changed_shares(options.changed_since, source.shares, source.config_path())
        state, only = _load_changed(source, changed)
    elif not options.scope.everything:
        # A shard loads only the files that declare its accounts' buckets.
        state = source.load(scope_buckets(options.scope))
    else:
        state = source.load()
    edge = S3Edge(options.parallelism, roles=state.config.roles, mode="plan")
    return make_plan(state, edge, options.declared_only, only, options.scope)


def _load_changed(source: Source, changed: ChangedShares) -> tuple[DesiredState, Selection]:
    """A pull request's plan loads only the files that declare the buckets it covers."""
    if changed.everything is None:
        before = declared_before(changed, source.load_config())
        if not isinstance(before, Selection):
            chooser = ChangedBuckets(changed, before)
            return source.load(chooser), chooser.selection
    state = source.load()
    return state, select_changed(state, changed)


def make_plan(
    state: DesiredState,
    edge: S3Edge,
    declared_only: bool,
    only: Selection | None = None,
    scope: AccountScope = EVERY_ACCOUNT,
) -> Plan:
    if state.errors:
        raise DeclarationError(state.errors)
    # The declarations outlive the reads: keep the cyclic GC from walking them again and again
    # while the read workers allocate (measured: about 20% of the read phase at 1,000 buckets).
    gc.freeze()
    progress = ReadProgress()
    try:
        plan = gather_plan(state, edge, declared_only, progress, only, scope)
    finally:
        gc.unfreeze()
        progress.stop()
    progress.report()
    return plan


def render(plan: Plan, output_format: str, commit: str | None = None) -> Iterable[str] | None:
    """The plan as text for a file or pipe, in pieces; None means print to the terminal with rich."""
    if output_format == "json":
        return plan_chunks(plan)
    if output_format == "markdown":
        return [render_markdown(plan, commit=commit)]
    return None


def show(plan: Plan, output_format: str, out: Path | None, commit: str | None = None) -> None:
    text = render(plan, output_format, commit)
    if out is not None:
        if text is None:
            try:
                with out.open("w", encoding="utf-8") as handle:
                    render_terminal(plan, make_console(handle))
            except OSError as exc:
                raise BucketshareError(f"{out}: cannot write the plan ({exc.strerror})") from exc
        else:
            write_file(out, text)
    elif text is None:
        render_terminal(plan, make_console(sys.stdout))
    else:
        sys.stdout.writelines(text)


def plan_exit_code(plan: Plan, detailed: bool) -> int:
    if plan.has_errors:
        return ExitCode.ERROR
    return ExitCode.CHANGES if detailed and plan.has_changes else ExitCode.OK


def check_writable(path: Path | None) -> None:
    """Refuse, before any AWS call, a path the plan could not be written to once it is made."""
    if path is None:
        return
    if path.is_dir():
        raise BucketshareError(f"{path}: cannot write the plan (Is a directory)")
    folder = path.parent
    if not folder.is_dir():
        problem = "is not a directory" if folder.exists() else "does not exist"
        raise BucketshareError(f"{path}: cannot write the plan (folder {folder} {problem}; create it first)")


def write_file(path: Path, text: str | Iterable[str]) -> None:
    """Write text, or its pieces one after another (a big plan is never whole in memory)."""
    try:
        with path.open("w", encoding="utf-8") as handle:
            handle.writelines([text] if isinstance(text, str) else text)
    except OSError as exc:
        raise BucketshareError(f"{path}: cannot write the plan ({exc.strerror})") from exc
