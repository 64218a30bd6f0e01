"""Import a live bucket policy: grants for what its statements allow, and what stays unmanaged.

Each grantee gets the smallest access levels (built-in or defined in reconciler.yaml) that
cover what its statements allow (importer/levels.py). A grant may allow more than the
statements did: import says exactly what it adds next to the grant; it never allows less.
A statement is expressed when the grants cover everything it allows: only then may
`--adopt` list it (by Sid, or by content hash when it has none) for apply to replace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from reconciler.declare.model import HASH_PREFIX, Grantee
from reconciler.importer.levels import Choice, Failure, Proposal, plan_grantee
from reconciler.policy.access import BUILT_IN, Access
from reconciler.policy.atoms import (
    BUCKET,
    LIST,
    OBJECTS,
    Atom,
    NotModelled,
    Reading,
    covers,
    grant_atoms,
    read_atoms,
    scope_text,
    spell,
    spell_actions,
    statement_label,
)
from reconciler.policy.normalize import content_hash


@dataclass(frozen=True)
class ImportedGrant:
    grantee: Grantee
    access: Access
    prefixes: tuple[str, ...]
    statements: tuple[str, ...]
    """Labels of the statements it was read from (for the declaration's reason)."""
    widening: tuple[str, ...] = ()
    """What the grant allows beyond those statements, one sentence each; empty when exact."""


@dataclass(frozen=True)
class Unmanaged:
    label: str
    """`Sid 'X'` or `statement 3 (no Sid)`."""
    reason: str


@dataclass(frozen=True)
class ImportResult:
    grants: tuple[ImportedGrant, ...]
    unmanaged: tuple[Unmanaged, ...]
    """Statements no grant expresses: kept exactly as they are by every plan."""
    adoptable: tuple[str, ...]
    """`adopt:` entries (Sid, or sha256: and content hash) of the statements the grants express
    in full, in policy order."""
    not_adoptable: tuple[Unmanaged, ...]
    """Statements the grants express in full that cannot be named alone (a repeated Sid or content)."""
    proposals: tuple[Proposal, ...] = ()
    """Access levels that would express statements exactly, for reconciler.yaml."""


def import_policy(
    statements: Sequence[Any],
    bucket: str,
    account: str,
    partition: str,
    sid_prefix: str,
    levels: Sequence[Access] = tuple(BUILT_IN.values()),
) -> ImportResult:
    """Grants for what the statements allow, and the statements left unmanaged."""
    labels = [statement_label(s, i) for i, s in enumerate(statements)]
    readings: dict[int, Reading] = {}
    reasons: dict[int, list[str]] = {}
    for index, statement in enumerate(statements):
        try:
            readings[index] = _importable(statement, bucket, account, partition, sid_prefix)
        except NotModelled as exc:
            reasons[index] = [str(exc)]
    sources: dict[Atom, set[int]] = {}
    for index, reading in readings.items():
        for atom in reading.atoms:
            sources.setdefault(atom, set()).add(index)
    by_grantee: dict[Grantee, set[Atom]] = {}
    for atom in sources:
        by_grantee.setdefault(atom.grantee, set()).add(atom)
    grants: list[ImportedGrant] = []
    proposals: list[Proposal] = []
    for grantee, held in sorted(by_grantee.items(), key=lambda item: (item[0].kind, item[0].id)):
        plan = plan_grantee(grantee, frozenset(held), levels)
        grants += _grants(grantee, plan.choices, frozenset(held), sources, readings, labels)
        proposals += [p for p in plan.proposals if p not in proposals]
        for failure in plan.failures:
            _blame(failure, sources, reasons)
    granted = frozenset().union(*(grant_atoms(g.grantee, g.access, g.prefixes) for g in grants))
    expressed = [
        i for i, read in readings.items() if i not in reasons and all(covers(granted, a) for a in read.atoms)
    ]
    return ImportResult(
        grants=tuple(sorted(grants, key=lambda g: (g.grantee.kind, g.grantee.id, str(g.access), g.prefixes))),
        unmanaged=tuple(Unmanaged(labels[i], "; ".join(reasons[i])) for i in sorted(reasons)),
        adoptable=tuple(_adoptable(statements, expressed, partition)),
        not_adoptable=tuple(_not_adoptable(statements, expressed, labels, partition)),
        proposals=tuple(proposals),
    )


def _importable(statement: Any, bucket: str, account: str, partition: str, sid_prefix: str) -> Reading:
    sid = statement.get("Sid") if isinstance(statement, dict) else None
    if isinstance(sid, str) and sid.startswith(sid_prefix):
        raise NotModelled(f"already bucketshare's (its Sid starts with {sid_prefix}); plan manages it")
    reading = read_atoms(statement, bucket, partition)
    if any(a.grantee.account == account for a in reading.atoms):
        raise NotModelled(f"grants the bucket's own account {account}, whose IAM policies already suffice")
    return reading


def _blame(failure: Failure, sources: dict[Atom, set[int]], reasons: dict[int, list[str]]) -> None:
    """The failure's reason, on the statements whose atoms caused it (and only those)."""
    for index in sorted({i for atom in failure.atoms for i in sources[atom]}):
        if failure.reason not in reasons.setdefault(index, []):
            reasons[index].append(failure.reason)


def _grants(
    grantee: Grantee,
    choices: tuple[Choice, ...],
    everything: frozenset[Atom],
    sources: dict[Atom, set[int]],
    readings: dict[int, Reading],
    labels: list[str],
) -> list[ImportedGrant]:
    by_level: dict[Access, list[Choice]] = {}
    for choice in choices:
        by_level.setdefault(choice.access, []).append(choice)
    grants = []
    for access, chosen in by_level.items():
        whole = [c for c in chosen if c.prefix == ""]
        # A whole-bucket grant of a level already covers that level at every prefix.
        groups = [whole] if whole else [chosen]
        for group in groups:
            prefixes = tuple(sorted(c.prefix for c in group if c.prefix))
            held = frozenset().union(*(c.atoms for c in chosen))
            indices = sorted({i for atom in held for i in sources[atom]})
            rendered = grant_atoms(grantee, access, prefixes)
            widening = _widening(rendered, everything, indices, readings, labels)
            statements = tuple(labels[i] for i in indices)
            grants.append(ImportedGrant(grantee, access, prefixes, statements, widening))
    return grants


def _widening(
    rendered: frozenset[Atom],
    held: frozenset[Atom],
    indices: list[int],
    readings: dict[int, Reading],
    labels: list[str],
) -> tuple[str, ...]:
    order = {OBJECTS: 0, LIST: 1, BUCKET: 2}
    added = sorted(
        (a for a in rendered if not covers(held, a)), key=lambda a: (order[a.scope], a.prefix, a.action)
    )
    # Held only with the owner's ACL: the grant drops that condition rather than adds the action.
    unconditioned = [a for a in added if replace(a, owner_acl=True) in held]
    added = [a for a in added if a not in unconditioned]
    said = []
    if added:
        listed = ", ".join(
            f"{spell(a.action)} on " + ("the bucket" if a.scope == BUCKET else scope_text(a.prefix))
            for a in added
        )
        said.append(f"adds {listed}")
    if unconditioned:
        said.append(
            f"allows {', '.join(spell_actions({a.action for a in unconditioned}))} without the "
            "bucket-owner-full-control ACL the statements required (bucketshare renders that condition "
            "when the bucket's Object Ownership is BucketOwnerPreferred)"
        )
    for index in indices:
        said += [f"{labels[index]} allowed less: {note}" for note in readings[index].notes]
    return tuple(said)


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


def _adoptable(statements: Sequence[Any], expressed: list[int], partition: str) -> list[str]:
    counts = _entry_counts(statements, partition)
    entries = [adoption_entry(statements[i], partition) for i in sorted(expressed)]
    return [entry for entry in entries if counts[entry] == 1]


def _not_adoptable(
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
