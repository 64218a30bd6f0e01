"""Import a live bucket policy: the grants that replace its statements exactly, and what stays unmanaged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.declare.model import Grantee
from reconciler.policy.access import Access
from reconciler.policy.atoms import (
    OBJECTS,
    Atom,
    NotModelled,
    atom_difference,
    grant_atoms,
    object_actions,
    scope_text,
    spell_actions,
    statement_atoms,
    statement_label,
)

_ACCESS_ORDER = (Access.READ, Access.WRITE, Access.READ_WRITE)


@dataclass(frozen=True)
class ImportedGrant:
    grantee: Grantee
    access: Access
    prefixes: tuple[str, ...]
    statements: tuple[str, ...]
    """Labels of the statements it was read from (for the declaration's reason)."""


@dataclass(frozen=True)
class Unmanaged:
    label: str
    """`Sid "X"` or `statement #3 (no Sid)`."""
    reason: str


@dataclass(frozen=True)
class ImportResult:
    grants: tuple[ImportedGrant, ...]
    unmanaged: tuple[Unmanaged, ...]
    """Statements no grant expresses: kept exactly as they are by every plan."""
    adoptable: tuple[str, ...]
    """Sids of the statements the grants express in full, in policy order."""
    not_adoptable: tuple[Unmanaged, ...]
    """Statements the grants express in full that cannot be adopted by Sid (none, or repeated)."""


def grants_for(grantee: Grantee, atoms: frozenset[Atom]) -> list[tuple[Access, tuple[str, ...]]]:
    """The grants whose rendering allows grantee exactly atoms; NotModelled says what differs."""
    by_prefix: dict[str, set[str]] = {}
    for atom in atoms:
        if atom.scope == OBJECTS:
            by_prefix.setdefault(atom.prefix, set()).add(atom.action)
    if not by_prefix:
        raise NotModelled(f"{grantee.describe()} gets only bucket-level actions, which no access level is")
    by_access: dict[Access, list[str]] = {}
    for prefix, actions in sorted(by_prefix.items()):
        access = next((a for a in _ACCESS_ORDER if object_actions(a) == actions), None)
        if access is None:
            raise NotModelled(
                f"{grantee.describe()} gets {', '.join(spell_actions(actions))} on {scope_text(prefix)}, "
                "which are not the object actions of one access level"
            )
        by_access.setdefault(access, []).append(prefix)
    grants: list[tuple[Access, tuple[str, ...]]] = []
    for access, prefixes in by_access.items():
        if "" in prefixes:
            grants.append((access, ()))
        if [p for p in prefixes if p]:
            grants.append((access, tuple(p for p in prefixes if p)))
    expected = frozenset().union(*(grant_atoms(grantee, a, p) for a, p in grants))
    if expected != atoms:
        raise NotModelled(f"{grantee.describe()}: {atom_difference(expected, atoms)}")
    return grants


def import_policy(
    statements: Sequence[Any], bucket: str, account: str, partition: str, sid_prefix: str
) -> ImportResult:
    """Grants for what the statements express exactly, and the statements left unmanaged."""
    parsed: dict[int, frozenset[Atom]] = {}
    reasons: dict[int, str] = {}
    for index, statement in enumerate(statements):
        try:
            parsed[index] = _importable_atoms(statement, bucket, account, partition, sid_prefix)
        except NotModelled as exc:
            reasons[index] = str(exc)
    by_grantee: dict[Grantee, set[Atom]] = {}
    for atoms in parsed.values():
        for atom in atoms:
            by_grantee.setdefault(atom.grantee, set()).add(atom)
    exact: dict[Grantee, list[tuple[Access, tuple[str, ...]]]] = {}
    failed: dict[Grantee, str] = {}
    for grantee, held in by_grantee.items():
        try:
            exact[grantee] = grants_for(grantee, frozenset(held))
        except NotModelled as exc:
            failed[grantee] = str(exc)
    for index, atoms in parsed.items():
        why = sorted({failed[a.grantee] for a in atoms if a.grantee in failed})
        if why:
            reasons[index] = "; ".join(why)
    labels = [statement_label(s, i) for i, s in enumerate(statements)]
    grants = _imported_grants(exact, parsed, labels)
    return ImportResult(
        grants=grants,
        unmanaged=tuple(Unmanaged(labels[i], reasons[i]) for i in sorted(reasons)),
        adoptable=tuple(_adoptable(statements, [i for i in parsed if i not in reasons])),
        not_adoptable=tuple(_not_adoptable(statements, [i for i in parsed if i not in reasons], labels)),
    )


def _importable_atoms(
    statement: Any, bucket: str, account: str, partition: str, sid_prefix: str
) -> frozenset[Atom]:
    sid = statement.get("Sid") if isinstance(statement, dict) else None
    if isinstance(sid, str) and sid.startswith(sid_prefix):
        raise NotModelled(f"already bucketshare's (its Sid starts with {sid_prefix}); plan manages it")
    atoms = statement_atoms(statement, bucket, partition)
    if any(a.grantee.account == account for a in atoms):
        raise NotModelled(f"grants the bucket's own account {account}, whose IAM policies already suffice")
    return atoms


def _imported_grants(
    exact: dict[Grantee, list[tuple[Access, tuple[str, ...]]]],
    parsed: dict[int, frozenset[Atom]],
    labels: list[str],
) -> tuple[ImportedGrant, ...]:
    grants = []
    for grantee, found in exact.items():
        sources = tuple(labels[i] for i, atoms in parsed.items() if any(a.grantee == grantee for a in atoms))
        grants += [ImportedGrant(grantee, access, prefixes, sources) for access, prefixes in found]
    return tuple(sorted(grants, key=lambda g: (g.grantee.kind, g.grantee.id, g.access, g.prefixes)))


def _sid_counts(statements: Sequence[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for statement in statements:
        sid = statement.get("Sid") if isinstance(statement, dict) else None
        if isinstance(sid, str) and sid:
            counts[sid] = counts.get(sid, 0) + 1
    return counts


def _adoptable(statements: Sequence[Any], expressed: list[int]) -> list[str]:
    counts = _sid_counts(statements)
    sids = [statements[i].get("Sid") for i in sorted(expressed)]
    return [sid for sid in sids if isinstance(sid, str) and counts.get(sid) == 1]


def _not_adoptable(statements: Sequence[Any], expressed: list[int], labels: list[str]) -> list[Unmanaged]:
    counts = _sid_counts(statements)
    found = []
    for i in sorted(expressed):
        sid = statements[i].get("Sid")
        if not isinstance(sid, str) or not sid:
            found.append(Unmanaged(labels[i], "expressed by the grants below, but has no Sid to adopt it by"))
        elif counts[sid] > 1:
            found.append(Unmanaged(labels[i], "expressed by the grants below, but its Sid is not unique"))
    return found
