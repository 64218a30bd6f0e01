"""Statement atoms: a bucket-policy statement as the set of accesses it allows.

The pure core of `reconciler import` (importer/grants.py). A statement is read as a set of
atoms, one per (grantee, action, scope, prefix) it allows. For each grantee the atoms of all
its statements (people often write the object-level and the bucket-level part as separate
statements) must be exactly what rendering some grants of ours would allow
(reconciler.policy.render): then those grants replace them without any grantee gaining or
losing access. Everything else stays unmanaged, with the reason.

The same atoms tell the planner whether the statements an `adopt:` list names are covered
by what the declarations render, so adopting them never takes access away.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.declare.model import Grantee, GranteeKind
from reconciler.policy.access import Access, lookup
from reconciler.policy.reading import BUCKET, LIST, OBJECTS, NotModelled, read_statement

__all__ = ["BUCKET", "LIST", "OBJECTS", "Atom", "NotModelled", "Reading"]


@dataclass(frozen=True)
class Atom:
    """One thing a statement allows: grantee may do action on the bucket (scope bucket), on
    objects under prefix (scope objects), or list keys under prefix (scope list); prefix ""
    is the whole bucket."""

    grantee: Grantee
    action: str
    scope: str
    prefix: str = ""
    owner_acl: bool = False
    """Only for requests that carry the bucket-owner-full-control ACL."""


@dataclass(frozen=True)
class Reading:
    atoms: frozenset[Atom]
    notes: tuple[str, ...]
    """Where the statement allows less than its atoms (a condition read as allowing more)."""


def statement_label(statement: Any, index: int) -> str:
    """How a person finds the statement: by Sid, or by position when it has none."""
    sid = statement.get("Sid") if isinstance(statement, dict) else None
    if isinstance(sid, str) and sid:
        return f"Sid {sid!r}"
    return f"statement {index + 1} (no Sid)"


def read_atoms(statement: Any, bucket: str, partition: str) -> Reading:
    """Everything an Allow statement we can read allows on bucket; NotModelled otherwise."""
    part = read_statement(statement, bucket, partition)
    atoms: set[Atom] = set()
    for action, scope in part.actions:
        prefixes = part.objects if scope == OBJECTS else part.listing if scope == LIST else ("",)
        atoms.update(Atom(g, action, scope, p, part.owner_acl) for g in part.grantees for p in prefixes)
    return Reading(frozenset(atoms), part.notes)


def statement_atoms(statement: Any, bucket: str, partition: str) -> frozenset[Atom]:
    return read_atoms(statement, bucket, partition).atoms


def grant_atoms(grantee: Grantee, access: Access, prefixes: Sequence[str]) -> frozenset[Atom]:
    """What reconciler.policy.render grants grantee for one grant, as atoms."""
    actions = access.actions
    scopes = tuple(prefixes) or ("",)
    atoms = {Atom(grantee, a.lower(), OBJECTS, p) for a in actions.objects for p in scopes}
    atoms |= {Atom(grantee, a.lower(), LIST, p) for a in actions.listing for p in scopes}
    atoms |= {Atom(grantee, a.lower(), BUCKET) for a in actions.bucket}
    return frozenset(atoms)


def spell(action: str) -> str:
    """An action as AWS's reference spells it (atoms hold it lower-cased)."""
    found = lookup(action)
    return found.name if found else action


def spell_actions(actions: Iterable[str]) -> list[str]:
    return sorted(spell(a) for a in actions)


def scope_text(prefix: str) -> str:
    return prefix or "the whole bucket"


def _describe_atoms(atoms: Iterable[Atom]) -> str:
    shown = sorted(f"{spell(a.action)} on {scope_text(a.prefix)}" for a in atoms)
    more = f" and {len(shown) - 3} more" if len(shown) > 3 else ""
    return ", ".join(shown[:3]) + more


def atom_difference(expected: frozenset[Atom], atoms: frozenset[Atom]) -> str:
    parts = []
    if expected - atoms:
        parts.append(f"its access level also needs {_describe_atoms(expected - atoms)}")
    if atoms - expected:
        parts.append(f"it also gets {_describe_atoms(atoms - expected)}, beyond that access level")
    return "; ".join(parts)


def covers(granted: frozenset[Atom], atom: Atom) -> bool:
    """Whether granted allows what atom allows: a prefix covers the prefixes below it, and an
    account root covers every role and user of that account."""
    for candidate in granted:
        if candidate.action != atom.action or candidate.scope != atom.scope:
            continue
        holder = candidate.grantee
        same = holder == atom.grantee or (
            holder.kind is GranteeKind.ACCOUNT and holder.account == atom.grantee.account
        )
        # A grant that needs the owner's ACL covers only what needs it too.
        acl_ok = atom.owner_acl or not candidate.owner_acl
        if same and acl_ok and atom.prefix.startswith(candidate.prefix):
            return True
    return False


def uncovered(adopted: frozenset[Atom], granted: frozenset[Atom]) -> list[Atom]:
    return [atom for atom in adopted if not covers(granted, atom)]


def describe_uncovered(atoms: Sequence[Atom]) -> str:
    grantees = sorted({a.grantee.describe() for a in atoms})
    return f"{', '.join(grantees)}: {_describe_atoms(atoms)}"


def policy_atoms(statements: Iterable[Any], bucket: str, partition: str) -> frozenset[Atom]:
    """What the statements among these certainly allow: the others (not of our grammar, or
    read as allowing more than they do) are skipped, so coverage is never overstated."""
    found: set[Atom] = set()
    for statement in statements:
        found.update(exact_atoms(statement, bucket, partition))
    return frozenset(found)


def exact_atoms(statement: Any, bucket: str, partition: str) -> frozenset[Atom]:
    """What a statement certainly allows: its atoms when reading it lost no condition, else
    nothing (never claim a statement grants what a condition of it may deny)."""
    try:
        reading = read_atoms(statement, bucket, partition)
    except NotModelled:
        return frozenset()
    return frozenset() if reading.notes else reading.atoms
