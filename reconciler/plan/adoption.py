"""Adoption: hand-written statements (named in `adopt:`) that the grants replace.

A statement is named by its Sid, or, when it has none, by `sha256:` and the hash of its
canonical content (what import wrote): a statement changed since then no longer hashes the
same, so its adoption is refused like that of a statement whose Sid went missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from reconciler.declare.model import HASH_PREFIX, STATEMENT_HASH_RE, Adoption
from reconciler.plan.explain import AccessChange, Direction, grant_key
from reconciler.plan.model import BucketPlan, ChangeKind, StatementChange
from reconciler.policy.atoms import (
    Atom,
    NotModelled,
    covers,
    describe_uncovered,
    exact_atoms,
    grant_atoms,
    policy_atoms,
    statement_atoms,
    uncovered,
)
from reconciler.policy.normalize import content_hash
from reconciler.policy.render import DesiredBucket


def matching(entry: str, statements: list[Any], partition: str) -> list[Any]:
    """The statements an `adopt:` entry names: by Sid, or (sha256:...) by content hash among
    the statements without a Sid."""
    if STATEMENT_HASH_RE.match(entry):
        digest = entry.removeprefix(HASH_PREFIX)
        return [
            s
            for s in statements
            if isinstance(s, dict) and not s.get("Sid") and content_hash(s, partition) == digest
        ]
    return [s for s in statements if isinstance(s, dict) and s.get("Sid") == entry]


@dataclass(frozen=True)
class Held:
    """What the grantees hold already, apart from the statements we own."""

    adopted: frozenset[Atom] = frozenset()
    """What the adopted statements granted (importer atoms): no gain to a reviewer."""
    kept: tuple[Any, ...] = ()
    """The hand-written statements that stay, in policy order: what they certainly grant is
    "already granted", not a gain."""
    bucket: str = ""
    partition: str = "aws"
    live: tuple[Any, ...] = ()
    """Every live statement, in policy order: a kept statement is named by its place there,
    as the person reading the bucket's policy counts."""

    def kept_grants(self) -> list[tuple[str, frozenset[Atom]]]:
        """(label, what it certainly grants) of each kept statement."""
        return [
            (
                _kept_label(statement, self._position(statement, index)),
                exact_atoms(statement, self.bucket, self.partition),
            )
            for index, statement in enumerate(self.kept)
        ]

    def _position(self, statement: Any, fallback: int) -> int:
        # By identity: two hand-written statements may be equal, yet each has its own place.
        return next((i for i, live in enumerate(self.live) if live is statement), fallback)


def _kept_label(statement: Any, index: int) -> str:
    sid = statement.get("Sid") if isinstance(statement, dict) else None
    if isinstance(sid, str) and sid:
        return f"Sid {sid} (position {index + 1})"
    return f"statement {index + 1} (no Sid)"


@dataclass(frozen=True)
class _Adoption:
    kept: list[Any]
    """The unmanaged statements that stay: all but the adopted ones, in their order."""
    changes: list[StatementChange] = field(default_factory=list)
    held: Held = field(default_factory=Held)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def adopt_statements(
    desired: DesiredBucket | None,
    live: list[Any],
    kept: list[Any],
    bucket: str,
    partition: str,
    ours_change: bool,
) -> _Adoption:
    """Drop the hand-written statements `adopt:` names, only where ours grant all they grant.

    A Sid that is no longer live was adopted by an earlier apply when ours are already in
    place (a warning: remove it from adopt:); otherwise it is an error, since the person
    expects a statement to be replaced that is not there (typo, or changed by hand).
    """
    adoptions = desired.share.adopted if desired is not None else ()
    if not adoptions or desired is None:
        return _Adoption(
            kept, held=Held(kept=tuple(kept), bucket=bucket, partition=partition, live=tuple(live))
        )
    granted = policy_atoms([w.statement for w in desired.statements], bucket, partition)
    result = _Adoption(list(kept))
    held: set[Atom] = set()
    for adoption in adoptions:
        matches = matching(adoption.sid, kept, partition)
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
                if not matches and adoption.digest is None
                else ""
            )
            result.errors.append(f"{adoption.location}: {problem}{hint}")
    return replace(result, held=Held(frozenset(held), tuple(result.kept), bucket, partition, tuple(live)))


def _adoption_problem(
    adoption: Adoption, matches: list[Any], granted: frozenset[Atom], bucket: str, partition: str
) -> str | None:
    sid = adoption.sid
    if not matches and adoption.digest is not None:
        return (
            f"adopted statement {sid!r} is not in the live policy: no statement without a Sid has that "
            "content any more (changed or removed since the import); import again to see it as it is"
        )
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
    rows: tuple[AccessChange, ...], desired: DesiredBucket | None, held: Held
) -> tuple[AccessChange, ...]:
    """The reviewer's rows without the gains an adopted statement already gave (no one gains),
    and with the gains the kept hand-written statements already give said as such."""
    if desired is None or not any(row.direction is Direction.GAINS for row in rows):
        return rows
    by_key = {grant_key(g): g for g in desired.share.grants}
    kept = held.kept_grants() if held.kept else []
    kept_rows = []
    for row in rows:
        grant = by_key.get(row.key()) if row.direction is Direction.GAINS else None
        if grant is None:
            kept_rows.append(row)
            continue
        wanted = grant_atoms(grant.grantee, grant.access, grant.prefixes)
        if held.adopted and not uncovered(wanted, held.adopted):
            continue
        granted_by = _granted_by(wanted, kept)
        kept_rows.append(replace(row, held_by=granted_by) if granted_by else row)
    return tuple(kept_rows)


def _granted_by(wanted: frozenset[Atom], kept: list[tuple[str, frozenset[Atom]]]) -> str:
    """The kept statements that together grant all of wanted, named; "" when they do not."""
    if not kept or uncovered(wanted, frozenset().union(*(atoms for _, atoms in kept))):
        return ""
    names = [label for label, atoms in kept if any(covers(atoms, atom) for atom in wanted)]
    return " and ".join(names)


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
        matches = matching(sid, kept, partition)
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
