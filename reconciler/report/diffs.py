"""Statements as a reviewer reads them: pretty JSON, and unified diffs of changed statements,
shared by the terminal and Markdown renderers.

Both sides of a diff are normalised first (reconciler.policy.normalize), so the rewrites AWS makes
when it stores a policy (one-item lists as strings, reordered principals, bare account ids)
never show beside the real change."""

from __future__ import annotations

import difflib
import json

from reconciler.plan.model import StatementChange
from reconciler.policy.normalize import normalize_statement

COMMENT_COLUMNS = 86
"""Characters of JSON a code block in a pull-request comment shows without scrolling (a 746 px
body, 12 px monospace), less the diff's two-character mark."""


def pretty_json(value: object, width: int = COMMENT_COLUMNS, sort_keys: bool = False) -> list[str]:
    """Valid JSON over lines at most `width` wide where it can be: a list or object stays on
    one line when it fits, else one member per line. Shorter than one key per line, and no
    line runs off the edge for a string shorter than the width."""

    def flat(item: object) -> str:
        return json.dumps(item, ensure_ascii=False, sort_keys=sort_keys)

    def render(item: object, indent: int, lead: str) -> list[str]:
        one_line = " " * indent + lead + flat(item)
        if len(one_line) <= width or not isinstance(item, (dict, list)) or not item:
            return [one_line]
        members = sorted(item.items()) if isinstance(item, dict) and sort_keys else None
        if isinstance(item, dict):
            pairs = [(flat(k) + ": ", v) for k, v in (members or item.items())]
            opening, closing = "{", "}"
        else:
            pairs = [("", v) for v in item]
            opening, closing = "[", "]"
        lines = [" " * indent + lead + opening]
        for index, (key, member) in enumerate(pairs):
            rendered = render(member, indent + 2, key)
            if index < len(pairs) - 1:
                rendered[-1] += ","
            lines += rendered
        return [*lines, " " * indent + closing]

    return render(value, 0, "")


def _lines(statement: object, partition: str, width: int | None) -> list[str]:
    if statement is None:
        return []
    shown = normalize_statement(statement, partition, fold_case=False)
    if width is not None:
        return pretty_json(shown, width, sort_keys=True)
    return json.dumps(shown, indent=2, sort_keys=True).splitlines()


def statement_diff(change: StatementChange, partition: str = "aws", width: int | None = None) -> list[str]:
    """The changed statement as a unified diff; with a width, of JSON kept within it."""
    lines = difflib.unified_diff(
        _lines(change.before, partition, width),
        _lines(change.after, partition, width),
        f"live {change.sid}",
        f"planned {change.sid}",
        lineterm="",
        n=3,
    )
    return list(lines)


def added_lines(statement: object) -> list[str]:
    """A new statement whole, as apply writes it, one `+` line per line of pretty JSON."""
    return [f"+ {line}" for line in pretty_json(statement)]


def removed_lines(statement: object) -> list[str]:
    """A statement going, whole, as it is live."""
    return [f"- {line}" for line in pretty_json(statement)]
