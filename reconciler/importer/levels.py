"""Choose, for one grantee, the smallest access levels that cover what its statements allow.

A grantee's atoms group by prefix (object and listing actions at that prefix); bucket-wide
actions belong to the grantee. Each group takes the level with the fewest actions that
holds all of the group's actions: it may add actions (a widening, which import states next
to the grant), never drop one. A level never adds object actions to a prefix where the
grantee had none (listing a folder is not reading it). Where no level fits exactly, the exact
action list is proposed as a level for reconciler.yaml, so a second import converts it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.declare.model import Grantee
from reconciler.policy.access import Access, lookup
from reconciler.policy.atoms import (
    BUCKET,
    LIST,
    OBJECTS,
    Atom,
    covers,
    grant_atoms,
    scope_text,
    spell,
    spell_actions,
)


@dataclass(frozen=True)
class Choice:
    access: Access
    prefix: str
    atoms: frozenset[Atom]
    """The held atoms this choice covers."""


@dataclass(frozen=True)
class Failure:
    atoms: frozenset[Atom]
    reason: str


@dataclass(frozen=True)
class Proposal:
    """An access level that would express some statements exactly."""

    name: str
    actions: tuple[str, ...]
    administration: bool

    def snippet(self) -> list[str]:
        lines = [f"  {self.name}:", f"    actions: [{', '.join(self.actions)}]"]
        if self.administration:
            lines.append("    administration: true")
        return lines


@dataclass(frozen=True)
class GranteePlan:
    choices: tuple[Choice, ...]
    failures: tuple[Failure, ...]
    proposals: tuple[Proposal, ...]


def plan_grantee(grantee: Grantee, atoms: frozenset[Atom], levels: Sequence[Access]) -> GranteePlan:
    groups: dict[str, set[Atom]] = {}
    on_bucket = {a for a in atoms if a.scope == BUCKET}
    for atom in atoms - on_bucket:
        groups.setdefault(atom.prefix, set()).add(atom)
    bucket_actions = frozenset(a.action for a in on_bucket)
    if not groups:
        actions = sorted(bucket_actions)
        proposal = propose(actions, levels)
        reason = (
            f"{grantee.describe()} gets only {', '.join(spell_actions(actions))} on the bucket, which no "
            f"access level is; proposed level {proposal.name}"
        )
        return GranteePlan((), (Failure(atoms, reason),), (proposal,))
    # Each prefix its own smallest level first; bucket-wide actions are then usually covered by
    # one of them. Only when they are not, ask every prefix's level to hold them too.
    chosen = _choose_all(groups, bucket_actions, levels, with_bucket=False)
    missing = _missing(chosen, bucket_actions)
    if missing or any(c is None for c in chosen.values()):
        both = _choose_all(groups, bucket_actions, levels, with_bucket=True)
        if all(c is not None for c in both.values()):
            chosen, missing = both, frozenset()
    return _outcome(grantee, atoms, groups, on_bucket, chosen, missing, bucket_actions, levels)


def _outcome(
    grantee: Grantee,
    atoms: frozenset[Atom],
    groups: dict[str, set[Atom]],
    on_bucket: set[Atom],
    chosen: dict[str, Access | None],
    missing: frozenset[str],
    bucket_actions: frozenset[str],
    levels: Sequence[Access],
) -> GranteePlan:
    choices, failures, proposals = [], [], []
    for prefix, group in sorted(groups.items()):
        level = chosen[prefix]
        needed = sorted({a.action for a in group} | bucket_actions)
        # Exact: the level adds nothing the grantee does not already hold (at this prefix or above).
        scope = (prefix,) if prefix else ()
        exact = level is not None and all(covers(atoms, a) for a in grant_atoms(grantee, level, scope))
        proposal = None if exact else propose(needed, levels)
        if proposal is not None and proposal not in proposals:
            proposals.append(proposal)
        if level is None:
            assert proposal is not None
            what = ", ".join(spell_actions({a.action for a in group}))
            failures.append(
                Failure(
                    frozenset(group),
                    f"{grantee.describe()} gets {what} on {scope_text(prefix)}, which no access level "
                    f"covers; proposed level {proposal.name}",
                )
            )
        else:
            choices.append(Choice(level, prefix, frozenset(group)))
    held = {a for a in on_bucket if a.action not in missing}
    if choices and held:
        first = choices[0]
        choices[0] = Choice(first.access, first.prefix, first.atoms | held)
    if missing:
        what = ", ".join(spell_actions(missing))
        failures.append(
            Failure(
                frozenset(a for a in on_bucket if a.action in missing),
                f"{grantee.describe()} gets {what} on the bucket, which none of its access levels include",
            )
        )
    return GranteePlan(tuple(choices), tuple(failures), tuple(proposals))


def _missing(chosen: dict[str, Access | None], bucket_actions: frozenset[str]) -> frozenset[str]:
    return bucket_actions - {x.lower() for c in chosen.values() if c for x in c.actions.bucket}


def _choose_all(
    groups: dict[str, set[Atom]], bucket_actions: frozenset[str], levels: Sequence[Access], with_bucket: bool
) -> dict[str, Access | None]:
    return {
        prefix: _smallest(group, bucket_actions if with_bucket else frozenset(), levels)
        for prefix, group in groups.items()
    }


def _smallest(group: set[Atom], bucket_actions: frozenset[str], levels: Sequence[Access]) -> Access | None:
    objects = {a.action for a in group if a.scope == OBJECTS}
    listing = {a.action for a in group if a.scope == LIST}
    fits = [
        level
        for level in levels
        if objects <= _lower(level.actions.objects)
        and listing <= _lower(level.actions.listing)
        and bucket_actions <= _lower(level.actions.bucket)
        and bool(objects) == bool(level.actions.objects)
    ]
    return min(fits, key=lambda lv: (len(lv.actions.s3()), not lv.built_in, str(lv)), default=None)


def _lower(actions: tuple[str, ...]) -> set[str]:
    return {a.lower() for a in actions}


def propose(actions: Sequence[str], levels: Sequence[Access] = ()) -> Proposal:
    """A level of exactly these actions, named after them when few, else by their hash; never
    the name of a level that exists already."""
    spelled = tuple(spell_actions(actions))
    words = [spell(a).removeprefix("s3:").lower() for a in spelled]
    if len(words) <= 3:
        name = "-".join(words)
    else:
        name = "imported-" + hashlib.sha256(" ".join(words).encode()).hexdigest()[:6]
    taken = {str(level) for level in levels}
    base, number = name, 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    administration = any(found.administration for found in (lookup(a) for a in spelled) if found)
    return Proposal(name, spelled, administration)
