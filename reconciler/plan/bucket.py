"""Plan one bucket: the co-owned policy planner (reconciler.plan.co_owned) plus what only a
bucket has: its facts (ownership, encryption), adoption of hand-written statements, creation.

Pure: no AWS calls. The result is a frozen Plan that renderers print and apply executes, so
there is one planning logic only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from reconciler.live.policy import LivePolicy, ReadError
from reconciler.plan.adoption import adopt_statements, held_rows
from reconciler.plan.bucket_facts import acl_differences, check_bucket_facts, consumer_policies_for
from reconciler.plan.checks import orphan_warnings, public_warnings, sid_collisions
from reconciler.plan.co_owned import PlanContext, diff_statements, merge, split_live
from reconciler.plan.effective import Block, effective_access
from reconciler.plan.explain import AccessChange, Direction, access_changes, grant_key
from reconciler.plan.kinds import RULES, PolicyKind
from reconciler.plan.model import (
    NO_BUCKET_HASH,
    BucketAction,
    BucketPlan,
    Creation,
    Plan,
    ordered_messages,
    policy_hash,
)
from reconciler.plan.reasons import explained_changes, holds_acl_condition, is_expiry_only
from reconciler.policy.render import DesiredBucket, DesiredStatement

_RULES = RULES[PolicyKind.BUCKET]


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
    split = split_live(live, _RULES, sid_prefix)
    if isinstance(split, str):
        return _error_plan(live, declared, split)
    facts = check_bucket_facts(desired, live.facts, sid_prefix, partition)
    desired = facts.desired
    wanted = desired.statements if desired is not None else ()
    errors = [*facts.errors, *sid_collisions(split.kept, wanted)]
    changes = diff_statements(split.ours, wanted, PlanContext(sid_prefix, partition, declared))
    adoption = adopt_statements(desired, split.statements, split.kept, live.bucket, partition, bool(changes))
    errors.extend(adoption.errors)
    # No change means the live statements we own render the declared grants: nothing to explain.
    access = held_rows(access_changes(desired, split.ours), desired, adoption.held) if changes else ()
    acl_sids: frozenset[str] = frozenset()
    if facts.acl_required:
        acl_sids = facts.acl_sids
    elif facts.acl_checked and desired is not None and holds_acl_condition(split.ours):
        # Our live statements were written under BucketOwnerPreferred; now they need no ACL.
        acl_sids = acl_differences(desired)
    changes = explained_changes(changes, access, sid_prefix, acl_sids, facts.acl_required) + adoption.changes
    merged = merge(_RULES, live.bucket, split.document, adoption.kept, wanted, bool(changes), partition)
    errors.extend(merged.errors)
    access, blocked = _effective_access(access, wanted, merged.new_policy, live.account)
    warnings = [*facts.warnings, *orphan_warnings(split.statements), *adoption.warnings, *blocked]
    if merged.action is BucketAction.NOOP:
        warnings.extend(public_warnings(split.statements))
    return BucketPlan(
        bucket=live.bucket,
        account=live.account,
        action=BucketAction.ERROR if errors else merged.action,
        declared=declared,
        live_hash=policy_hash(live.text),
        changes=tuple(changes),
        kept_statements=len(adoption.kept),
        warnings=tuple(warnings),
        errors=tuple(errors),
        new_policy=merged.new_policy,
        new_size=merged.new_size,
        owners=desired.share.owners if desired is not None else (),
        expiry_only=bool(changes) and not adoption.changes and is_expiry_only(desired, split.ours, partition),
        access=access,
        adopted=tuple(c.sid for c in adoption.changes),
        facts=live.facts,
        kms_key=facts.key_arn,
        key_statements=facts.key_statements,
        consumer_policies=consumer_policies_for(desired, access, facts.key_arn, partition),
    )


def _effective_access(
    rows: tuple[AccessChange, ...],
    wanted: Sequence[DesiredStatement],
    new_policy: dict[str, Any] | None,
    owner: str,
) -> tuple[tuple[AccessChange, ...], list[str]]:
    """The gains a kept Deny of the merged policy blocks: each row says by which statement,
    and a warning per Deny names the actions; the rest of the bucket's plan goes ahead.
    A gain the kept statements already give is evaluated too: if a kept Deny takes it away,
    the grantee holds nothing, so the row is a blocked gain, not "already granted"."""
    gains = {(row.key(), row.declared_at): row for row in rows if row.direction is Direction.GAINS}
    if new_policy is None or not gains:
        return rows, []
    grants = {g: (grant_key(g), str(g.location)) for s in wanted for g in s.grants}
    gained = [g for g, found in grants.items() if found in gains]
    blocked_by: dict[tuple[Any, ...], tuple[Block, ...]] = {}
    warnings = []
    for result in effective_access(new_policy, wanted, gained, owner):
        warnings.extend(result.warnings())
        certain = tuple(b for b in result.blocks if b.certain)
        if certain:
            blocked_by[grants[result.grant]] = certain
    marked = tuple(
        replace(row, blocked_by=blocked_by[found], held_by="")
        if row.direction is Direction.GAINS and (found := (row.key(), row.declared_at)) in blocked_by
        else row
        for row in rows
    )
    return marked, warnings


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
        desired_bucket = by_bucket.get(state.bucket)
        # A fresh copy: what the plan renders of it is dropped with it, not kept for the run.
        fresh = desired_bucket.fresh() if desired_bucket is not None else None
        bucket_plan = plan_bucket(fresh, state, sid_prefix, partition, region)
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
