"""Who gains and who loses what: the plan explained to a reviewer.

The planner decides; this module only explains. Gains come from the grants each rendered
statement carries (so they name the YAML line that asked for them); losses come from the
content of the live statements we own (their principals, actions and resources), never
from parsing Sids back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconciler.declare.model import GRANTEE_KIND_NAMES, Grant
from reconciler.plan.effective import Block
from reconciler.policy.access import BUILT_IN, Access
from reconciler.policy.normalize import normalize_statement
from reconciler.policy.render import DesiredBucket

_Names = dict[frozenset[str], str]
"""A level's name by its object actions (lower-case): how a live statement names its access."""


def _level_names(levels: Iterable[Access]) -> _Names:
    return {frozenset(a.lower() for a in level.actions.objects): str(level) for level in levels}


def administration_note(access: Access) -> str:
    """What a reviewer must see about a level that administers the bucket; "" for the others."""
    if not access.administration:
        return ""
    return f"{access} administers the bucket (policy, ACL or configuration actions)"


class Direction(StrEnum):
    GAINS = "gains"
    LOSES = "loses"


@dataclass(frozen=True, order=True)
class AccessChange:
    """One row of the reviewer's table: a grantee gains or loses an access on the bucket."""

    direction: Direction
    grantee: str
    """As a person reads it: `account 222222222222`, `role arn:...`, `organization o-...`."""
    access: str
    prefixes: tuple[str, ...]
    """Empty: the whole bucket."""
    sid: str
    """The object-level statement that carries the grant."""
    expires: str | None = None
    declared_at: str | None = None
    """`path:line:col` of the grant for a gain; None for a loss."""
    why: str = ""
    """For a loss: why the grant is going."""
    reason: str = ""
    """For a gain: the grant's `reason:`, shown beside what it gains. Prose about the change,
    not the change: two rows that differ only in it grant the same."""
    held_by: str = ""
    """For a gain the hand-written statements kept beside ours already grant: which ones
    (`Sid X (position N)`); the grantee gains nothing new."""
    administration: bool = False
    """The gained level administers the bucket (a defined level with `administration: true`)."""
    blocked_by: tuple[Block, ...] = ()
    """For a gain: the kept Deny statements that AWS would apply to the grant's requests, and
    the actions each denies (reconciler.plan.effective); the rest of the plan goes ahead."""

    @property
    def blocked_text(self) -> str:
        """`blocked by Sid X` (`and statement 3 (no Sid)`); "" when nothing blocks the row."""
        if not self.blocked_by:
            return ""
        return "blocked by " + " and ".join(block.statement.named for block in self.blocked_by)

    @property
    def scope(self) -> str:
        return ", ".join(self.prefixes) if self.prefixes else "the whole bucket"

    def key(self) -> _Key:
        """(grantee, access, prefixes): what the row is about, as grant_key says it of a grant."""
        return (self.grantee, self.access, self.prefixes)

    def sentence(self) -> str:
        where = f" ({self.declared_at})" if self.declared_at else ""
        if self.held_by:
            return (
                f"{self.grantee}: {self.access} on {self.scope} already granted by {self.held_by}; "
                f"adopt it to let bucketshare manage it{where}"
            )
        text = f"{self.grantee} {self.direction.value} {self.access} on {self.scope}"
        if self.direction is Direction.GAINS:
            mark = " [administers the bucket: policy, ACL or configuration actions]"
            return text + (mark if self.administration else "") + where
        return f"{text} ({self.why})"


UNDECLARED = "not declared in shares/"
"""Why a grantee loses access no declaration grants: the live statement can't tell a grant
removed from shares/ from one added by hand outside bucketshare, so readers name both."""

_Key = tuple[str, str, tuple[str, ...]]
"""(grantee as read, access, prefixes): the granularity at which statements group grants."""


def grant_key(grant: Grant) -> _Key:
    return (
        f"{GRANTEE_KIND_NAMES[grant.grantee.kind]} {grant.grantee.id}",
        grant.access.value,
        grant.prefixes,
    )


def _texts(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [] if value is None else [value])]


def object_scope(statement: Any) -> tuple[frozenset[str], tuple[str, ...]] | None:
    """(object actions, prefixes) of an object-level statement; None for bucket-level ones."""
    if not isinstance(statement, dict):
        return None
    # Only Resource and Action matter here: cheaper than normalising the whole statement.
    resources = sorted(set(_texts(statement.get("Resource"))))
    if not resources or not all("/" in r.partition(":::")[2] for r in resources):
        return None
    actions = frozenset(a.lower() for a in _texts(statement.get("Action")))
    prefixes = sorted(r.partition(":::")[2].partition("/")[2].removesuffix("*") for r in resources)
    return actions, tuple(p for p in prefixes if p)


def _access_name(actions: frozenset[str], names: _Names) -> str:
    return names.get(actions, "the actions " + ", ".join(sorted(actions)))


def statement_grantees(statement: Any) -> set[str]:
    """The grantees a statement of ours names, as a person reads them."""
    normal = normalize_statement(statement)
    conditions = normal.get("Condition", {})
    if not isinstance(conditions, dict):
        return set()
    arns = conditions.get("ArnEquals", {}).get("aws:principalarn", [])
    if arns:
        return {("user " if ":user/" in a else "role ") + a for a in arns}
    paths = conditions.get("ForAnyValue:StringLike", {}).get("aws:principalorgpaths", [])
    if paths:
        return {"organizational unit " + p.removesuffix("/*") for p in paths}
    orgs = conditions.get("StringEquals", {}).get("aws:principalorgid", [])
    if orgs:
        return {"organization " + o for o in orgs}
    roots = normal.get("Principal", {}).get("AWS", [])
    return {"account " + r.split(":")[4] for r in roots if r.count(":") >= 5 and r.split(":")[4]}


def _live_keys(ours: list[tuple[Any, set[str]]], names: _Names) -> dict[_Key, str]:
    """What each grantee holds through the live statements we own (each with its grantees),
    per prefixes.

    A level's object actions may span two statements (under BucketOwnerPreferred uploads get
    the owner's ACL condition: read-write renders as a read and a write statement), so the
    actions a grantee holds on the same prefixes are joined before they are named."""
    held: dict[tuple[str, tuple[str, ...]], tuple[set[str], str]] = {}
    for statement, grantees in ours:
        scope = object_scope(statement)
        if scope is None:
            continue
        actions, prefixes = scope
        for grantee in grantees:
            found, _ = held.setdefault((grantee, prefixes), (set(), str(statement.get("Sid"))))
            found.update(actions)
    return {
        (grantee, _access_name(frozenset(actions), names), prefixes): sid
        for (grantee, prefixes), (actions, sid) in held.items()
    }


def _object_sids(desired: DesiredBucket) -> dict[Grant, list[str]]:
    """Each rendered grant's object-level statements, worked out once per bucket: usually one,
    two for a read-write grant whose uploads must carry the owner's ACL (reads and writes)."""
    sids: dict[Grant, list[str]] = {}
    for statement in desired.statements:
        if object_scope(statement.statement) is not None:
            for grant in statement.grants:
                sids.setdefault(grant, []).append(statement.sid)
    return sids


def access_changes(desired: DesiredBucket | None, ours: Sequence[Any]) -> tuple[AccessChange, ...]:
    """Gains and losses between the live statements we own and the declared grants.

    A grantee named by the same statement (Sid) on both sides keeps its access even when a
    hand edit changed that statement's content: that is a restoration, not a gain or loss.
    """
    levels = [*BUILT_IN.values(), *(g.access for g in desired.share.grants)] if desired else BUILT_IN.values()
    # Each live statement's grantees, worked out once: both the keys and the Sids need them.
    read = [(s, statement_grantees(s)) for s in ours if isinstance(s, dict)]
    live = _live_keys(read, _level_names(levels))
    live_by_sid = {str(s.get("Sid")): grantees for s, grantees in read}
    wanted: dict[_Key, tuple[Grant, str]] = {}
    expired: dict[_Key, Grant] = {}
    wanted_by_sid: dict[str, set[str]] = {}
    if desired is not None:
        rendered = {g for s in desired.statements for g in s.grants}
        object_sids = _object_sids(desired)
        for grant in desired.share.grants:
            if grant in rendered:
                sids = object_sids.get(grant) or [""]
                wanted[grant_key(grant)] = (grant, sids[0])
                for sid in sids:
                    wanted_by_sid.setdefault(sid, set()).add(grant_key(grant)[0])
            else:
                expired[grant_key(grant)] = grant
    rows = []
    for key, (grant, sid) in wanted.items():
        if key not in live and key[0] not in live_by_sid.get(sid, set()):
            expires = grant.expires.isoformat() if grant.expires else None
            reason = grant.reason or ""
            reason = "; ".join(r for r in (administration_note(grant.access), reason) if r)
            gain = AccessChange(
                Direction.GAINS,
                *key,
                sid,
                expires,
                str(grant.location),
                reason=reason,
                administration=grant.access.administration,
            )
            rows.append(gain)
    for key, sid in live.items():
        if key not in wanted and key[0] not in wanted_by_sid.get(sid, set()):
            why = _why_lost(key, desired, expired)
            rows.append(AccessChange(Direction.LOSES, *key, sid, why=why))
    return tuple(sorted(rows))


def _why_lost(key: _Key, desired: DesiredBucket | None, expired: dict[_Key, Grant]) -> str:
    if desired is None:
        return "the bucket is no longer declared"
    grant = expired.get(key)
    if grant is not None:
        return f"expired on {grant.expires}, {grant.location}"
    return UNDECLARED


def change_sentences(
    sid: str, kind: str, before: Any, after: Any, rows: Sequence[AccessChange], sid_prefix: str
) -> tuple[str, ...]:
    """What one statement change means to a reviewer: the gains and losses it carries, or, for
    a change no grantee notices, why it happens. kind is add, change or remove."""
    carried = tuple(r.sentence() for r in rows if r.sid == sid)
    if carried:
        return carried
    if kind == "change" and statement_grantees(before) == statement_grantees(after):
        return (f"statement {sid} was changed outside bucketshare; it will be restored",)
    losers = {r.grantee for r in rows if r.direction is Direction.LOSES}
    if kind == "remove" and not statement_grantees(before) & losers:
        return (f"removes statement {sid}: its Sid starts with {sid_prefix} but no declaration renders it",)
    return ()
