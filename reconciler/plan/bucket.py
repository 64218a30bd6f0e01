"""Plan one bucket: compare the statements we want with a live policy we co-own with others.

Pure: no AWS calls. Statements whose Sid starts with the configured prefix are ours; every
other statement is kept exactly as read, in its order. The result is a frozen Plan that
renderers print and apply executes, so there is one planning logic only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from deepdiff import DeepDiff

from reconciler.live.policy import LivePolicy, ReadError
from reconciler.plan.adoption import adopt_statements, held_rows
from reconciler.plan.bucket_facts import check_bucket_facts, consumer_policies_for
from reconciler.plan.checks import (
    is_ours,
    kept_problems,
    new_document,
    orphan_warnings,
    public_warnings,
    sid_collisions,
    write_problems,
)
from reconciler.plan.explain import access_changes
from reconciler.plan.model import (
    NO_BUCKET_HASH,
    BucketAction,
    BucketPlan,
    ChangeKind,
    Creation,
    Plan,
    StatementChange,
    ordered_messages,
    policy_hash,
)
from reconciler.plan.reasons import explained_changes, holds_acl_condition, is_expiry_only
from reconciler.policy.documents import (
    policy_size,
)
from reconciler.policy.normalize import canonical, normalize_statement, statements_of
from reconciler.policy.render import DesiredBucket, DesiredStatement


def _error_plan(live: LivePolicy, declared: bool, message: str) -> BucketPlan:
    return BucketPlan(
        live.bucket, live.account, BucketAction.ERROR, declared, policy_hash(live.text), errors=(message,)
    )


def plan_bucket(
    desired: DesiredBucket | None,
    live: LivePolicy,
    sid_prefix: str,
    partition: str,
    region: str | None = None,
) -> BucketPlan:
    """region: where a missing bucket declared with `create: true` would be created."""
    declared = desired is not None
    if live.error_kind is ReadError.NO_BUCKET and desired is not None and desired.share.create:
        return _creation_plan(desired, live, sid_prefix, partition, region)
    if live.error is not None:
        return _error_plan(live, declared, live.error)
    try:
        document = json.loads(live.text) if live.text is not None else None
    except json.JSONDecodeError as exc:
        return _error_plan(live, declared, f"live policy is not valid JSON ({exc}); fix it by hand first")
    live_statements = statements_of(document)
    facts = check_bucket_facts(desired, live.facts, sid_prefix, partition)
    desired = facts.desired
    wanted = desired.statements if desired is not None else ()
    kept = [s for s in live_statements if not is_ours(s, sid_prefix)]
    ours = [s for s in live_statements if is_ours(s, sid_prefix)]
    errors = [*facts.errors, *sid_collisions(kept, wanted)]
    changes = diff_statements(ours, wanted, PlanContext(sid_prefix, partition, declared))
    adoption = adopt_statements(desired, kept, live.bucket, partition, bool(changes))
    errors.extend(adoption.errors)
    kept = adoption.kept
    # No change means the live statements we own render the declared grants: nothing to explain.
    access = held_rows(access_changes(desired, ours), desired, adoption.held) if changes else ()
    acl_sids = facts.acl_sids if facts.acl_required or holds_acl_condition(ours) else frozenset()
    changes = explained_changes(changes, access, sid_prefix, acl_sids, facts.acl_required) + adoption.changes
    statements = [*kept, *(w.statement for w in wanted)]
    new_policy = new_document(document, statements)
    if not changes:
        action = BucketAction.NOOP
    else:
        action = BucketAction.PUT if new_policy is not None else BucketAction.DELETE
    new_size = policy_size(new_policy) if new_policy is not None else 0
    if action is BucketAction.PUT:
        errors.extend(write_problems(new_policy or {}, new_size, wanted, live.bucket, partition))
        errors.extend(kept_problems(document, kept))
    warnings = [*facts.warnings, *orphan_warnings(live_statements), *adoption.warnings]
    if action is BucketAction.NOOP:
        warnings.extend(public_warnings(live_statements))
    return BucketPlan(
        bucket=live.bucket,
        account=live.account,
        action=BucketAction.ERROR if errors else action,
        declared=declared,
        live_hash=policy_hash(live.text),
        changes=tuple(changes),
        kept_statements=len(kept),
        warnings=tuple(warnings),
        errors=tuple(errors),
        new_policy=new_policy,
        new_size=new_size,
        owners=desired.share.owners if desired is not None else (),
        expiry_only=bool(changes) and not adoption.changes and is_expiry_only(desired, ours, partition),
        access=access,
        adopted=tuple(c.sid for c in adoption.changes),
        facts=live.facts,
        kms_key=facts.key_arn,
        key_statements=facts.key_statements,
        consumer_policies=consumer_policies_for(desired, access, facts.key_arn, partition),
    )


@dataclass(frozen=True)
class PlanContext:
    sid_prefix: str
    partition: str
    declared: bool


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
    old = normalize_statement(before, ctx.partition) if before is not None else {}
    new = normalize_statement(after, ctx.partition) if after is not None else {}
    field_diff: tuple[str, ...] = ()
    if kind is ChangeKind.CHANGE:
        field_diff = tuple(DeepDiff(old, new, ignore_order=True, verbose_level=2).pretty().splitlines())
    sources = tuple(sorted({str(g.location) for g in desired.grants})) if desired else ()
    return StatementChange(sid, kind, before, after, field_diff, (), sources)


def _not_ours_to_read(live: LivePolicy) -> bool:
    return live.error_kind in (ReadError.DENIED, ReadError.NO_BUCKET)


def build_plan(
    desired: Sequence[DesiredBucket],
    live: Iterable[LivePolicy],
    sid_prefix: str,
    partition: str,
    warnings: Sequence[str] = (),
    errors: Sequence[str] = (),
    region: str | None = None,
) -> Plan:
    """A plan over every declared bucket plus every discovered bucket that holds our statements;
    region: where missing buckets declared with `create: true` would be created."""
    by_bucket = {d.bucket: d for d in desired}
    plans = []
    skipped = []
    # Each bucket is planned as its read arrives (live may be a lazy stream), so planning
    # overlaps the reads still in flight; the plan is sorted by bucket at the end.
    for state in live:
        if state.bucket not in by_bucket and state.error is not None and _not_ours_to_read(state):
            # A discovered bucket we cannot read may not be ours at all: say so, don't fail.
            skipped.append((state.bucket, f"discovery could not read bucket {state.bucket}: {state.error}"))
            continue
        bucket_plan = plan_bucket(by_bucket.get(state.bucket), state, sid_prefix, partition, region)
        if bucket_plan.declared or bucket_plan.action is not BucketAction.NOOP:
            plans.append(bucket_plan)
    plans.sort(key=lambda b: b.bucket)
    found = [message for _, message in skipped]
    return Plan(
        tuple(plans), sid_prefix, partition, ordered_messages([*warnings, *found]), ordered_messages(errors)
    )


def _creation_plan(
    desired: DesiredBucket, live: LivePolicy, sid_prefix: str, partition: str, region: str | None
) -> BucketPlan:
    """The plan of a bucket to create: its policy planned as for an existing bucket without
    one (every statement ours, nothing kept), then the bucket's own action."""
    empty = plan_bucket(desired, LivePolicy(live.bucket, live.account, None), sid_prefix, partition)
    if region is None:
        errors = (*empty.errors, "cannot plan creating the bucket: no AWS region is set; set AWS_REGION")
        return replace(empty, action=BucketAction.ERROR, live_hash=NO_BUCKET_HASH, errors=errors)
    action = BucketAction.ERROR if empty.action is BucketAction.ERROR else BucketAction.CREATE
    creation = Creation(region, desired.share.versioning) if action is BucketAction.CREATE else None
    return replace(empty, action=action, live_hash=NO_BUCKET_HASH, create=creation)
