"""The one planner of a resource policy co-owned with others, whatever its kind (plan/kinds.py).

Pure: no AWS calls. Statements whose Sid starts with the configured prefix are ours; every
other statement is kept exactly as read, in its order. A kind's planner splits the live
policy (split_live), diffs our statements with the wanted ones (diff_statements) and merges
(merge); a bucket adds its facts, adoption and creation on top (reconciler.plan.bucket).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.live.policy import LivePolicy
from reconciler.plan.checks import is_ours, kept_problems, new_document
from reconciler.plan.kinds import KindRules, MergedPolicy
from reconciler.plan.model import BucketAction, ChangeKind, StatementChange
from reconciler.policy.documents import policy_size
from reconciler.policy.normalize import canonical, normalize_statement, statements_of
from reconciler.policy.render import DesiredStatement


@dataclass(frozen=True)
class PlanContext:
    sid_prefix: str
    partition: str
    declared: bool


@dataclass(frozen=True)
class LiveSplit:
    """A live policy's statements: every one as read, the ones we keep, and ours."""

    document: Any
    statements: list[Any]
    kept: list[Any]
    ours: list[Any]


def split_live(live: LivePolicy, rules: KindRules, sid_prefix: str) -> LiveSplit | str:
    """The live policy split by owner, or why it cannot be planned."""
    if live.error is not None:
        return live.error
    try:
        document = json.loads(live.text) if live.text is not None else None
    except json.JSONDecodeError as exc:
        return f"{rules.live_name} is not valid JSON ({exc}); fix it by hand first"
    statements = statements_of(document)
    kept = [s for s in statements if not is_ours(s, sid_prefix)]
    ours = [s for s in statements if is_ours(s, sid_prefix)]
    return LiveSplit(document, statements, kept, ours)


@dataclass(frozen=True)
class Merged:
    """What the plan writes: its action, the new policy and why it must not be written."""

    action: BucketAction
    new_policy: dict[str, Any] | None
    new_size: int
    errors: tuple[str, ...]


def merge(
    rules: KindRules,
    name: str,
    document: Any,
    kept: list[Any],
    wanted: Sequence[DesiredStatement],
    changed: bool,
    partition: str,
) -> Merged:
    """The kept statements then ours; deleted when none is left and the kind allows it."""
    new_policy = new_document(document, [*kept, *(w.statement for w in wanted)])
    new_size = policy_size(new_policy) if new_policy is not None else 0
    if not changed:
        return Merged(BucketAction.NOOP, new_policy, new_size, ())
    if new_policy is None:
        if rules.deletable:
            return Merged(BucketAction.DELETE, None, 0, ())
        never = f"the {rules.noun} would hold no statement at all; a {rules.noun} is never deleted"
        return Merged(BucketAction.PUT, None, 0, (never,))
    merged = MergedPolicy(new_policy, new_size, kept, wanted, name, partition)
    problems = (*rules.write_problems(merged), *kept_problems(document, kept))
    return Merged(BucketAction.PUT, new_policy, new_size, problems)


def diff_statements(
    ours: list[Any], wanted: Sequence[DesiredStatement], ctx: PlanContext
) -> list[StatementChange]:
    live_by_sid: dict[str, Any] = {}
    changes = []
    for statement in ours:
        sid = str(statement.get("Sid"))
        if sid in live_by_sid:
            sentence = f"removes a duplicate of statement {sid}; the first copy stays"
            changes.append(StatementChange(sid, ChangeKind.REMOVE, statement, None, (), (sentence,), ()))
        else:
            live_by_sid[sid] = statement
    wanted_by_sid = {w.sid: w for w in wanted}
    for sid in sorted(live_by_sid.keys() | wanted_by_sid.keys()):
        before, desired = live_by_sid.get(sid), wanted_by_sid.get(sid)
        if desired is None:
            changes.append(_change(sid, ChangeKind.REMOVE, before, None, None, ctx))
        elif before is None:
            changes.append(_change(sid, ChangeKind.ADD, None, desired.statement, desired, ctx))
        elif before != desired.statement and canonical(before, ctx.partition) != desired.canonical(
            ctx.partition
        ):
            # Equal dicts need no normalising: the common case for a policy we wrote ourselves.
            changes.append(_change(sid, ChangeKind.CHANGE, before, desired.statement, desired, ctx))
    return changes


def _change(
    sid: str,
    kind: ChangeKind,
    before: Any,
    after: dict[str, Any] | None,
    desired: DesiredStatement | None,
    ctx: PlanContext,
) -> StatementChange:
    field_diff: tuple[str, ...] = ()
    if kind is ChangeKind.CHANGE:
        # Imported here: deepdiff costs a plan process about 11 MB and a quarter of its import
        # time, and only a changed statement needs it.
        from deepdiff import DeepDiff

        # Normalised only here: an added or removed statement has no fields to compare.
        old = normalize_statement(before, ctx.partition)
        new = normalize_statement(after, ctx.partition)
        # Sorted: with ignore_order, DeepDiff lists its findings in set order, which changes
        # with the interpreter's hash seed, so the same plan printed differently run to run.
        field_diff = tuple(
            sorted(DeepDiff(old, new, ignore_order=True, verbose_level=2).pretty().splitlines())
        )
    sources = tuple(sorted({str(g.location) for g in desired.grants})) if desired else ()
    return StatementChange(sid, kind, before, after, field_diff, (), sources)
