"""The plan in a terminal with rich: coloured on a TTY, plain otherwise or with NO_COLOR."""

from __future__ import annotations

import os
import unicodedata
from typing import IO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from reconciler.plan import BucketAction, BucketPlan, ChangeKind, Plan
from reconciler.report.diffs import statement_diff
from reconciler.report.jsonplan import summary

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


def make_console(file: IO[str]) -> Console:
    plain = "NO_COLOR" in os.environ or not file.isatty()
    return Console(
        file=file, no_color=plain, highlight=False, soft_wrap=True, color_system=None if plain else "auto"
    )


def render_terminal(plan: Plan, console: Console) -> None:
    counts = summary(plan)
    table = Table(title="bucketshare plan")
    for column in ("buckets", "put-policy", "delete-policy", "no-op", "error", "statements +/~/-"):
        table.add_column(column)
    table.add_row(
        str(counts["buckets"]),
        str(counts["put_policy"]),
        str(counts["delete_policy"]),
        str(counts["no_op"]),
        str(counts["error"]),
        f"+{counts['statements_added']} ~{counts['statements_changed']} -{counts['statements_removed']}",
    )
    console.print(table)
    for message in plan.errors:
        console.print(Text(_clean(f"error: {message}"), style="bold red"))
    for message in plan.warnings:
        console.print(Text(_clean(f"warning: {message}"), style="yellow"))
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
        header.append(f"  [{plan.new_size}/{plan.size_limit} bytes]")
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
        console.print(Text(f"  keeps {plan.kept_statements} statements bucketshare does not own"))
