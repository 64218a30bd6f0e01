"""How `adopt:` names the statements import expressed: by Sid, or sha256: and the content hash
when a statement has none; an entry two statements share names neither, so it is not offered."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reconciler.declare.model import HASH_PREFIX
from reconciler.importer.result import Unmanaged
from reconciler.policy.normalize import content_hash


def adoption_entry(statement: Any, partition: str) -> str:
    """How `adopt:` names a statement: its Sid, or sha256: and its content hash when it has none."""
    sid = statement.get("Sid") if isinstance(statement, dict) else None
    if isinstance(sid, str) and sid:
        return sid
    return HASH_PREFIX + content_hash(statement, partition)


def _entry_counts(statements: Sequence[Any], partition: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for statement in statements:
        entry = adoption_entry(statement, partition)
        counts[entry] = counts.get(entry, 0) + 1
    return counts


def adoptable(statements: Sequence[Any], expressed: list[int], partition: str) -> list[str]:
    counts = _entry_counts(statements, partition)
    entries = [adoption_entry(statements[i], partition) for i in sorted(expressed)]
    return [entry for entry in entries if counts[entry] == 1]


def not_adoptable(
    statements: Sequence[Any], expressed: list[int], labels: list[str], partition: str
) -> list[Unmanaged]:
    counts = _entry_counts(statements, partition)
    found = []
    for i in sorted(expressed):
        entry = adoption_entry(statements[i], partition)
        if counts[entry] > 1:
            what = "content" if entry.startswith(HASH_PREFIX) else "Sid"
            found.append(Unmanaged(labels[i], f"expressed by the grants below, but its {what} is not unique"))
    return found
