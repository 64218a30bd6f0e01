"""Who gains and loses what, as the reviewer's tables show it: one row per access change (the
terminal) or per grantee and bucket (the comment), losses first because they break things.
Shared by the terminal and Markdown renderers so the two never tell a reviewer different things."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.plan.explain import AccessChange, Direction
from reconciler.plan.model import BucketAction, BucketPlan, Plan


@dataclass(frozen=True)
class GranteeRow:
    bucket: str
    change: AccessChange


def grantee_rows(plan: Plan) -> list[GranteeRow]:
    """Every gain and loss of the buckets that change, losses first: they break things."""
    rows = [GranteeRow(b.bucket, row) for b in plan.buckets if b.writes for row in b.access]
    return sorted(rows, key=lambda r: (r.change.direction.value != "loses", r.bucket, r.change))


def row_cells(row: GranteeRow) -> list[str]:
    """grantee, bucket, access, prefixes, expires, declared at (or why it goes)."""
    change = row.change
    where = f"by {change.held_by}" if change.held_by else change.declared_at or change.why
    return [
        verb(change),
        change.grantee,
        row.bucket,
        change.access,
        change.scope,
        change.expires or "-",
        where or "-",
    ]


ROW_HEADERS = ("", "grantee", "bucket", "access", "prefixes", "expires", "declared at / why")


@dataclass(frozen=True)
class GranteeChange:
    """What one grantee gains and loses on one bucket: one row of the reviewer's table, so a
    widened prefix list or a new access level reads as one change, not a loss and a gain."""

    grantee: str
    lost: tuple[AccessChange, ...]
    gained: tuple[AccessChange, ...]

    @property
    def verb(self) -> str:
        if self.lost and self.gained:
            return "changes"
        if self.gained and all(row.held_by for row in self.gained):
            return ALREADY_GRANTED
        return Direction.GAINS.value if self.gained else Direction.LOSES.value


ALREADY_GRANTED = "already granted"
"""The verb for a gain that kept hand-written statements already give: nothing new to review."""


def verb(row: AccessChange) -> str:
    return ALREADY_GRANTED if row.held_by else row.direction.value


def grantee_changes(bucket: BucketPlan) -> list[GranteeChange]:
    """The bucket's access rows joined per grantee: losses alone first (they break things),
    then changes, then gains."""
    by_grantee: dict[str, tuple[list[AccessChange], list[AccessChange]]] = {}
    held: list[GranteeChange] = []
    for row in bucket.access:
        if row.held_by:
            held.append(GranteeChange(row.grantee, (), (row,)))
            continue
        lost, gained = by_grantee.setdefault(row.grantee, ([], []))
        (gained if row.direction is Direction.GAINS else lost).append(row)
    changes = [GranteeChange(g, tuple(lost), tuple(gained)) for g, (lost, gained) in by_grantee.items()]
    changes += held
    order = {"loses": 0, "changes": 1, "gains": 2, ALREADY_GRANTED: 3}
    return sorted(changes, key=lambda c: (order[c.verb], c.grantee))


def table_buckets(plan: Plan) -> list[BucketPlan]:
    """The buckets the reviewer's table shows: those that fail, then those that change."""
    failing = [b for b in plan.buckets if b.action is BucketAction.ERROR]
    return failing + [b for b in plan.buckets if b.writes]
