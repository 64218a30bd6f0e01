"""The plan in a terminal with rich: coloured on a TTY, plain otherwise or with NO_COLOR.

The plan is built as (text, style) lines first. Off a terminal (CI logs, pipes, --out)
they are written as they are; on a terminal they go to rich as one styled Text. Rich's
Table measured and wrapped every cell, which on 10,000 grantee rows cost most of a
plan's time and hundreds of MB.
"""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, NamedTuple

from reconciler.declare.expiry import utc_today
from reconciler.plan.digest import plan_digest
from reconciler.plan.explain import Direction
from reconciler.plan.model import BucketAction, BucketPlan, ChangeKind, Plan
from reconciler.report import access_changes, summary
from reconciler.report.diffs import statement_diff
from reconciler.report.inert import inert

if TYPE_CHECKING:
    from rich.console import Console

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
"""Columns for rich off a terminal without COLUMNS, where it would otherwise assume 80."""
MIN_WIDTH = 40
"""Narrower than this, wrapping hurts more than long lines do."""
HANGING = "    "
"""Extra indent of a wrapped line's continuation."""


class Line(NamedTuple):
    text: str
    style: str = ""
    """rich style; "" for none."""
    verbatim: bool = False
    """JSON to paste or a diff: never re-wrapped (a break inside a string would change it)."""


class PlainConsole:
    """A console for a file rich would not treat as a terminal (a pipe, a CI log, --out), where
    the plan is written as it is: importing rich there cost every run about 2 MB and 30 ms."""

    is_terminal = False

    def __init__(self, file: IO[str]) -> None:
        self.file = file
        self.width = _columns() or LOG_WIDTH

    def print(self, text: str = "", end: str = "\n") -> None:
        self.file.write(text + end)


def make_console(file: IO[str]) -> Console | PlainConsole:
    """rich's console on a terminal, or wherever the environment may make rich treat the file
    as one (FORCE_COLOR, TTY_COMPATIBLE); else the plain one, without importing rich."""
    if file.isatty() or "FORCE_COLOR" in os.environ or "TTY_COMPATIBLE" in os.environ:
        return rich_console(file)
    return PlainConsole(file)


def rich_console(file: IO[str]) -> Console:
    """rich's console for file: coloured on a terminal unless NO_COLOR, plain elsewhere."""
    from rich.console import Console  # only here: see PlainConsole

    tty = file.isatty()
    plain = "NO_COLOR" in os.environ or not tty
    # width=None lets rich read COLUMNS (then the terminal's size); a fixed width overrode it.
    columns = tty or _columns() is not None
    return Console(
        file=file,
        no_color=plain,
        highlight=False,
        soft_wrap=True,
        color_system=None if plain else "auto",
        width=None if columns else LOG_WIDTH,
    )


def _columns() -> int | None:
    value = os.environ.get("COLUMNS", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


def fit_width(console: Console | PlainConsole) -> int | None:
    """The columns the plan is fitted to: the terminal's, or COLUMNS when set (a pager, a
    narrow pane). None off a terminal without COLUMNS: logs and files keep whole lines."""
    if not console.is_terminal and _columns() is None:
        return None
    return max(console.width, MIN_WIDTH)


def render_terminal(plan: Plan, console: Console | PlainConsole) -> None:
    """Errors, warnings, expiring grants, totals, who gains and loses what; then each bucket."""
    lines = plan_lines(plan, fit_width(console))
    if isinstance(console, PlainConsole) or not console.is_terminal:
        # Line by line through the file's buffer: the text of a large plan joined first was
        # tens of MB at the process's peak.
        console.file.writelines(f"{line.text}\n" for line in lines)
        return
    from rich.text import Text  # a terminal's console is rich's: imported already

    out = Text()
    for line in lines:
        out.append(line.text + "\n", style=line.style or None)
    # soft_wrap: rich must not wrap again what plan_lines fitted (or left whole on purpose).
    console.print(out, end="")


def plan_lines(plan: Plan, width: int | None = None) -> Iterator[Line]:
    """The plan as lines; with a width, prose is wrapped and JSON pretty-printed to fit it."""
    for line in _plan_lines(plan, width):
        if width is None or line.verbatim or len(line.text) <= width:
            yield line
        else:
            yield from (Line(text, line.style) for text in _wrap(line.text, width))


def _wrap(text: str, width: int) -> list[str]:
    """Wrapped at spaces, continuation lines indented; ARNs, paths and Sids never split."""
    lead = text[: len(text) - len(text.lstrip(" "))]
    return textwrap.wrap(
        text,
        width,
        subsequent_indent=lead + HANGING,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [text]


def _plan_lines(plan: Plan, width: int | None) -> Iterator[Line]:
    yield Line("bucketshare plan", "bold")
    if (partial := summary.partial(plan)) is not None:
        yield Line(inert(partial), "cyan")
    yield from (Line(inert(f"error: {m}"), "bold red") for m in summary.errors(plan))
    yield from (Line(inert(f"warning: {m}"), "yellow") for m in summary.warnings(plan))
    yield from (Line(inert(f"expiring soon: {m}"), "yellow") for m in summary.expiring(plan, utc_today()))
    yield Line(summary.totals(plan))
    yield Line(f"digest: {plan_digest(plan)}")
    yield from _grantee_table(access_changes.grantee_rows(plan), width)
    for policy in plan.policies:
        yield from _bucket_lines(policy, plan.partition, width)
    if not plan.has_changes and not plan.has_errors:
        yield Line("No changes. Live bucket policies match the declarations.")


def _grantee_table(rows: list[access_changes.GranteeRow], width: int | None) -> Iterator[Line]:
    """Aligned columns; cells are never cut short (an ARN cut short misleads). A table wider
    than the screen becomes one labelled line per row, wrapped like the rest."""
    if not rows:
        return
    # inert() keeps a text's length, so the widths are measured on the raw cells and each
    # whole line is made inert once: a cell at a time was a tenth of a large plan's output.
    cells = [_cells(row) for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(access_changes.ROW_HEADERS)]
    styles = ["green" if row.change.direction is Direction.GAINS else "red" for row in rows]
    yield Line("")
    yield Line("who gains and who loses access", "bold")
    if width is not None and sum(widths) + 2 * (len(widths) - 1) > width:
        for row, style in zip(rows, styles, strict=True):
            yield Line(inert(_row_sentence(row)), style)
        return
    headers = "  ".join(h.ljust(w) for h, w in zip(access_changes.ROW_HEADERS, widths, strict=True))
    yield Line(headers.rstrip(), "bold")
    yield Line("  ".join("-" * w for w in widths))
    for texts, style in zip(cells, styles, strict=True):
        yield Line(inert("  ".join(t.ljust(w) for t, w in zip(texts, widths, strict=True))).rstrip(), style)


def _cells(row: access_changes.GranteeRow) -> list[str]:
    """The row's cells; a gain a kept Deny blocks says so after where it is declared."""
    cells = access_changes.row_cells(row)
    if row.change.blocked_by:
        cells[-1] = f"{cells[-1]}; {row.change.blocked_text}"
    return cells


def _row_sentence(row: access_changes.GranteeRow) -> str:
    """A row of the grantee table as one line, for a screen too narrow for the table."""
    change = row.change
    said = [
        f"{access_changes.verb(change)} {change.grantee}: {change.access} on {row.bucket}, {change.scope}"
    ]
    if change.expires:
        said.append(f"expires {change.expires}")
    if change.held_by:
        said.append(f"by {change.held_by}; adopt it to let bucketshare manage it")
    elif change.declared_at:
        said.append(f"declared at {change.declared_at}")
    elif change.why:
        said.append(change.why)
    if change.blocked_by:
        said.append(change.blocked_text)
    return "; ".join(said)


def _bucket_lines(plan: BucketPlan, partition: str, width: int | None) -> Iterator[Line]:
    if plan.action is BucketAction.NOOP and not plan.warnings:
        return
    owners = f" [{', '.join(plan.owners)}]" if plan.owners else ""
    size = f"  [{plan.new_size:,}/{plan.size_limit:,} bytes]" if plan.new_policy is not None else ""
    yield Line("")
    header = inert(f"{summary.policy_name(plan)} (account {plan.account}){owners}: {plan.action.value}{size}")
    yield Line(header, _STYLE[plan.action])
    if (locators := summary.target_locators(plan.target, partition)) is not None:
        yield Line(inert(f"  {locators}"))
    if plan.create is not None:
        yield Line(inert(f"  {plan.create.describe()}"), _STYLE[BucketAction.CREATE])
    yield from (Line(inert(f"  error: {m}"), "bold red") for m in plan.errors)
    yield from (Line(inert(f"  warning: {m}"), "yellow") for m in plan.warnings)
    for change in plan.changes:
        yield Line(inert(f"  {_MARKER[change.kind]} {change.sid}"))
        yield from (Line(inert(f"      {s}")) for s in change.sentences)
        for line in statement_diff(change) if change.kind is ChangeKind.CHANGE else ():
            yield Line(inert(f"      {line}"), _DIFF_STYLE.get(line[:1], ""), verbatim=True)
    if plan.changes:
        kept = summary.plural(plan.kept_statements, "statement")
        yield Line(f"  keeps {kept} bucketshare does not own, unchanged")
    yield from _documents(plan, width)


def _documents(plan: BucketPlan, width: int | None) -> Iterator[Line]:
    """The statements others must add: to the KMS key's policy, and to each new consumer's side."""
    if plan.key_statements:
        yield Line(inert(f"  statements the key policy of {plan.kms_key} needs:"), "yellow")
        yield from _json_block(list(plan.key_statements), width)
    for consumer in plan.consumer_policies:
        yield Line(inert(f"  identity policy {consumer.grantee} attaches on its side:"))
        yield from _json_block(consumer.document, width)


def _json_block(document: dict[str, object] | list[dict[str, object]], width: int | None) -> Iterator[Line]:
    """One statement a line, to read at a glance; pretty-printed when a line would not fit.
    Either way it is JSON to paste as it is."""
    indent = "      "
    lines = summary.json_lines(document)
    if width is not None and any(len(indent) + len(line) > width for line in lines):
        lines = json.dumps(document, indent=2, ensure_ascii=False).splitlines()
    yield from (Line(inert(indent + line), verbatim=True) for line in lines)
