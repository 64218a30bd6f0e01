"""Unified diffs of statements, shared by the terminal and Markdown renderers."""

from __future__ import annotations

import difflib
import json

from reconciler.plan import StatementChange


def statement_diff(change: StatementChange) -> list[str]:
    before = json.dumps(change.before, indent=2, sort_keys=True).splitlines() if change.before else []
    after = json.dumps(change.after, indent=2, sort_keys=True).splitlines() if change.after else []
    lines = difflib.unified_diff(
        before, after, f"live {change.sid}", f"planned {change.sid}", lineterm="", n=3
    )
    return list(lines)
