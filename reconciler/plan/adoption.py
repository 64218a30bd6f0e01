"""Adoption: hand-written statements (named by Sid in `adopt:`) that the grants replace."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from reconciler.declare.model import Adoption
from reconciler.plan.explain import AccessChange, Direction
from reconciler.plan.model import BucketPlan, ChangeKind, StatementChange
from reconciler.policy.atoms import (
    Atom,
    NotModelled,
    describe_uncovered,
    grant_atoms,
    policy_atoms,
    statement_atoms,
    uncovered,
)
from reconciler.policy.render import DesiredBucket


@dataclass(frozen=True)
class _Adoption:
    kept: list[Any]
    """The unmanaged statements that stay: all but the adopted ones, in their order."""
    changes: list[StatementChange] = field(default_factory=list)
    held: frozenset[Atom] = frozenset()
    """What the adopted statements granted (importer atoms): no gain to a reviewer."""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def adopt_statements(
    desired: DesiredBucket | None, kept: list[Any], bucket: str, partition: str, ours_change: bool
) -> _Adoption:
    """Drop the hand-written statements `adopt:` names, only where ours grant all they grant.

    A Sid that is no longer live was adopted by an earlier apply when ours are already in
    place (a warning: remove it from adopt:); otherwise it is an error, since the person
    expects a statement to be replaced that is not there (typo, or changed by hand).
    """
    adoptions = desired.share.adopted if desired is not None else ()
    if not adoptions or desired is None:
        return _Adoption(kept)
    granted = policy_atoms([w.statement for w in desired.statements], bucket, partition)
    result = _Adoption(list(kept))
    held: set[Atom] = set()
    for adoption in adoptions:
        matches = [s for s in kept if isinstance(s, dict) and s.get("Sid") == adoption.sid]
        problem = _adoption_problem(adoption, matches, granted, bucket, partition)
        if problem is None:
            result.kept.remove(matches[0])
            held.update(statement_atoms(matches[0], bucket, partition))
            result.changes.append(_adopted_change(adoption, matches[0]))
        elif not matches and not ours_change:
            result.warnings.append(f"{adoption.location}: {problem} (adopted before?); remove it from adopt:")
        else:
            hint = (
                "; remove it from adopt: if an earlier apply adopted it, or fix the Sid"
                if not matches
                else ""
            )
            result.errors.append(f"{adoption.location}: {problem}{hint}")
    return replace(result, held=frozenset(held))


def _adoption_problem(
    adoption: Adoption, matches: list[Any], granted: frozenset[Atom], bucket: str, partition: str
) -> str | None:
    sid = adoption.sid
    if not matches:
        return f"adopted statement {sid!r} is not in the live policy"
    if len(matches) > 1:
        return f"adopted statement {sid!r} is in the live policy {len(matches)} times; give each its own Sid"
    try:
        atoms = statement_atoms(matches[0], bucket, partition)
    except NotModelled as exc:
        return f"statement {sid!r} cannot be adopted ({exc}); remove it from adopt: to keep it"
    missing = uncovered(atoms, granted)
    if missing:
        return (
            f"statement {sid!r} cannot be adopted: it grants {describe_uncovered(missing)}, which the "
            "declarations do not render; declare that, or remove it from adopt: to keep it"
        )
    return None


def _adopted_change(adoption: Adoption, statement: Any) -> StatementChange:
    sentence = (
        f"replaces hand-written statement {adoption.sid} (adopted at {adoption.location}): "
        "the managed statements grant all it granted, in the same write"
    )
    where = (str(adoption.location),)
    return StatementChange(adoption.sid, ChangeKind.REMOVE, statement, None, (), (sentence,), where)


def held_rows(
    rows: tuple[AccessChange, ...], desired: DesiredBucket | None, held: frozenset[Atom]
) -> tuple[AccessChange, ...]:
    """The reviewer's rows without the gains an adopted statement already gave: no one gains."""
    if not held or desired is None:
        return rows
    by_location = {str(g.location): g for g in desired.share.grants}
    kept_rows = []
    for row in rows:
        grant = by_location.get(row.declared_at or "")
        gained = row.direction is Direction.GAINS and grant is not None
        if gained and grant and not uncovered(grant_atoms(grant.grantee, grant.access, grant.prefixes), held):
            continue
        kept_rows.append(row)
    return tuple(kept_rows)


def drop_adopted(
    bucket_plan: BucketPlan, kept: list[Any], ours: list[Any], partition: str
) -> tuple[list[Any], str | None]:
    """kept without the statements the plan adopts, or why the plan may not drop them."""
    if not bucket_plan.adopted:
        return kept, None
    if len(set(bucket_plan.adopted)) != len(bucket_plan.adopted):
        return kept, "refused: the saved plan adopts one statement twice; run plan again"
    granted = policy_atoms(ours, bucket_plan.bucket, partition)
    remaining = list(kept)
    for sid in bucket_plan.adopted:
        matches = [s for s in kept if isinstance(s, dict) and s.get("Sid") == sid]
        if len(matches) != 1:
            return (
                kept,
                f"refused: the saved plan adopts statement {sid!r}, which the live policy does not hold once",
            )
        try:
            atoms = statement_atoms(matches[0], bucket_plan.bucket, partition)
        except NotModelled:
            atoms = None
        if atoms is None or uncovered(atoms, granted):
            return kept, (
                f"refused: the saved plan drops hand-written statement {sid!r} without its own statements "
                "granting all it grants; run plan again"
            )
        remaining.remove(matches[0])
    return remaining, None
