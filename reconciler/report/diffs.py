"""Unified diffs of changed statements, shared by the terminal and Markdown renderers.

Both sides are normalised first (reconciler.normalize), so the rewrites AWS makes when it
stores a policy (one-item lists as strings, reordered principals, bare account ids) never
show beside the real change."""

from __future__ import annotations

import difflib
import json

from reconciler.normalize import normalize_statement
from reconciler.plan import StatementChange


def _lines(statement: object, partition: str) -> list[str]:
    if statement is None:
        return []
    shown = normalize_statement(statement, partition, fold_case=False)
    return json.dumps(shown, indent=2, sort_keys=True).splitlines()


def statement_diff(change: StatementChange, partition: str = "aws") -> list[str]:
    lines = difflib.unified_diff(
        _lines(change.before, partition),
        _lines(change.after, partition),
        f"live {change.sid}",
        f"planned {change.sid}",
        lineterm="",
        n=3,
    )
    return list(lines)


def _pretty(statement: object) -> list[str]:
    return json.dumps(statement, indent=2, ensure_ascii=False).splitlines()


def added_lines(statement: object) -> list[str]:
    """A new statement whole, as apply writes it, one `+` line per line of pretty JSON."""
    return [f"+ {line}" for line in _pretty(statement)]


def removed_lines(statement: object) -> list[str]:
    """A statement going, whole, as it is live."""
    return [f"- {line}" for line in _pretty(statement)]
