"""The plan in a terminal with rich: coloured on a TTY, plain otherwise or with NO_COLOR."""

from __future__ import annotations

import os
import unicodedata
from typing import IO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from reconciler.digest import plan_digest
from reconciler.explain import Direction
from reconciler.plan import BucketAction, BucketPlan, ChangeKind, Plan
from reconciler.report import summary
from reconciler.report.diffs import statement_diff

_STYLE = {
    BucketAction.PUT: "yellow",
    BucketAction.DELETE: "red",
    BucketAction.NOOP: "green",
    BucketAction.ERROR: "bold red",
}
_DIFF_STYLE = {"+": "green", "-": "red", "@": "cyan"}


def _clean(text: str) -> str:
    """Strip control characters (terminal escapes) from text that came from YAML or AWS."""
    return "".join("?" if unicodedata.category(c) == "Cc" else c for c in text)


LOG_WIDTH = 200
"""Columns for a file or CI log, where rich would otherwise assume 80 and squeeze the table."""


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
    console.print(Text("bucketshare plan", style="bold"))
    if (partial := summary.partial(plan)) is not None:
        console.print(Text(_clean(partial), style="cyan"))
    for message in summary.errors(plan):
        console.print(Text(_clean(f"error: {message}"), style="bold red"))
    for message in summary.warnings(plan):
        console.print(Text(_clean(f"warning: {message}"), style="yellow"))
    for message in summary.expiring(plan):
        console.print(Text(_clean(f"expiring soon: {message}"), style="yellow"))
    console.print(Text(summary.totals(plan)))
    console.print(Text(f"digest: {plan_digest(plan)}"))
    rows = summary.grantee_rows(plan)
    if rows:
        table = Table(title="who gains and who loses access", title_justify="left")
        for header in summary.ROW_HEADERS:
            table.add_column(header, overflow="fold")  # wrap, never cut: an ARN cut short misleads
        for row in rows:
            cells = [_clean(cell) for cell in summary.row_cells(row)]
            style = "green" if row.change.direction is Direction.GAINS else "red"
            table.add_row(*cells, style=style)
        console.print(table)
    for bucket in plan.buckets:
        _render_bucket(bucket, console)
    if not plan.has_changes and not plan.has_errors:
        console.print("No changes. Live bucket policies match the declarations.")


def _render_bucket(plan: BucketPlan, console: Console) -> None:
    if plan.action is BucketAction.NOOP and not plan.warnings:
        return
    owners = f" [{', '.join(plan.owners)}]" if plan.owners else ""
    header = Text("\n" + _clean(f"{plan.bucket} (account {plan.account}){owners}: "))
    header.append(plan.action.value, style=_STYLE[plan.action])
    if plan.new_policy is not None:
        header.append(f"  [{plan.new_size:,}/{plan.size_limit:,} bytes]")
    console.print(header)
    for message in plan.errors:
        console.print(Text(_clean(f"  error: {message}"), style="bold red"))
    for message in plan.warnings:
        console.print(Text(_clean(f"  warning: {message}"), style="yellow"))
    for change in plan.changes:
        marker = {ChangeKind.ADD: "+", ChangeKind.CHANGE: "~", ChangeKind.REMOVE: "-"}[change.kind]
        console.print(Text(_clean(f"  {marker} {change.sid}")))
        for sentence in change.sentences:
            console.print(Text(_clean(f"      {sentence}")))
        for line in statement_diff(change) if change.kind is ChangeKind.CHANGE else ():
            console.print(Text(_clean(f"      {line}"), style=_DIFF_STYLE.get(line[:1], "")))
    if plan.changes:
        kept = summary.plural(plan.kept_statements, "statement")
        console.print(Text(f"  keeps {kept} bucketshare does not own, unchanged"))
