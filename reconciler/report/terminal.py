"""The plan in a terminal with rich: coloured on a TTY, plain otherwise or with NO_COLOR.

The plan is built as (text, style) lines first. Off a terminal (CI logs, pipes, --out)
they are written as they are; on a terminal they go to rich as one styled Text. Rich's
Table measured and wrapped every cell, which on 10,000 grantee rows cost most of a
plan's time and hundreds of MB.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import IO

from rich.console import Console
from rich.text import Text

from reconciler.digest import plan_digest
from reconciler.expiry import utc_today
from reconciler.explain import Direction
from reconciler.plan import BucketAction, BucketPlan, ChangeKind, Plan, PolicyKind
from reconciler.report import summary
from reconciler.report.diffs import statement_diff
from reconciler.report.inert import inert

_STYLE = {
    BucketAction.PUT: "yellow",
    BucketAction.DELETE: "red",
    BucketAction.CREATE: "cyan",
    BucketAction.NOOP: "green",
    BucketAction.ERROR: "bold red",
}
_DIFF_STYLE = {"+": "green", "-": "red", "@": "cyan"}
_MARKER = {ChangeKind.ADD: "+", ChangeKind.CHANGE: "~", ChangeKind.REMOVE: "-"}
LOG_WIDTH = 200
"""Columns for rich off a terminal, where it would otherwise assume 80."""

Line = tuple[str, str]
"""Text and its rich style ("" for none)."""


def make_console(file: IO[str]) -> Console:
    tty = file.isatty()
    plain = "NO_COLOR" in os.environ or not tty
    return Console(
        file=file,
        no_color=plain,
        highlight=False,
        soft_wrap=True,
        color_system=None if plain else "auto",
        width=None if tty else LOG_WIDTH,
    )


def render_terminal(plan: Plan, console: Console) -> None:
    """Errors, warnings, expiring grants, totals, who gains and loses what; then each bucket."""
    lines = plan_lines(plan)
    if not console.is_terminal:
        console.file.write("".join(text + "\n" for text, _ in lines))
        return
    out = Text()
    for text, style in lines:
        out.append(text + "\n", style=style or None)
    console.print(out, end="")


def plan_lines(plan: Plan) -> Iterator[Line]:
    yield "bucketshare plan", "bold"
    if (partial := summary.partial(plan)) is not None:
        yield inert(partial), "cyan"
    yield from ((inert(f"error: {m}"), "bold red") for m in summary.errors(plan))
    yield from ((inert(f"warning: {m}"), "yellow") for m in summary.warnings(plan))
    yield from ((inert(f"expiring soon: {m}"), "yellow") for m in summary.expiring(plan, utc_today()))
    yield summary.totals(plan), ""
    yield f"digest: {plan_digest(plan)}", ""
    yield from _grantee_table(summary.grantee_rows(plan))
    for policy in plan.policies:
        yield from _bucket_lines(policy, plan.partition)
    if not plan.has_changes and not plan.has_errors:
        yield "No changes. Live bucket policies match the declarations.", ""


def _grantee_table(rows: list[summary.GranteeRow]) -> Iterator[Line]:
    """Aligned columns; cells are never cut short (an ARN cut short misleads)."""
    if not rows:
        return
    cells = [[inert(cell) for cell in summary.row_cells(row)] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(summary.ROW_HEADERS)]
    yield "", ""
    yield "who gains and who loses access", "bold"
    yield "  ".join(h.ljust(w) for h, w in zip(summary.ROW_HEADERS, widths, strict=True)).rstrip(), "bold"
    yield "  ".join("-" * w for w in widths), ""
    for row, texts in zip(rows, cells, strict=True):
        style = "green" if row.change.direction is Direction.GAINS else "red"
        yield "  ".join(t.ljust(w) for t, w in zip(texts, widths, strict=True)).rstrip(), style


def _bucket_lines(plan: BucketPlan, partition: str) -> Iterator[Line]:
    if plan.action is BucketAction.NOOP and not plan.warnings:
        return
    owners = f" [{', '.join(plan.owners)}]" if plan.owners else ""
    size = f"  [{plan.new_size:,}/{plan.size_limit:,} bytes]" if plan.new_policy is not None else ""
    yield "", ""
    header = inert(
        f"{summary.policy_name(plan)} (account {plan.account}){owners}: {plan.action.value}{size}"
    )
    yield header, _STYLE[plan.action]
    if plan.kind is PolicyKind.BUCKET:
        yield inert(f"  {summary.locators(plan.bucket, partition)}"), ""
    if plan.create is not None:
        yield inert(f"  {plan.create.describe()}"), _STYLE[BucketAction.CREATE]
    yield from ((inert(f"  error: {m}"), "bold red") for m in plan.errors)
    yield from ((inert(f"  warning: {m}"), "yellow") for m in plan.warnings)
    for change in plan.changes:
        yield inert(f"  {_MARKER[change.kind]} {change.sid}"), ""
        yield from ((inert(f"      {s}"), "") for s in change.sentences)
        for line in statement_diff(change) if change.kind is ChangeKind.CHANGE else ():
            yield inert(f"      {line}"), _DIFF_STYLE.get(line[:1], "")
    if plan.changes:
        kept = summary.plural(plan.kept_statements, "statement")
        yield f"  keeps {kept} bucketshare does not own, unchanged", ""
    yield from _documents(plan)


def _documents(plan: BucketPlan) -> Iterator[Line]:
    """The statements others must add: to the KMS key's policy, and to each new consumer's side."""
    if plan.key_statements:
        yield inert(f"  statements the key policy of {plan.kms_key} needs:"), "yellow"
        yield from ((inert(f"      {line}"), "") for line in summary.json_lines(list(plan.key_statements)))
    for consumer in plan.consumer_policies:
        yield inert(f"  identity policy {consumer.grantee} attaches on its side:"), ""
        yield from ((inert(f"      {line}"), "") for line in summary.json_lines(consumer.document))
