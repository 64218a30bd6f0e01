"""Join the plans of shards (`plan --shard I/N` or `plan --account ID`) into one plan.

Pure. The joined plan is the plan one run over every account would have made: the same
buckets, warnings, errors, expiring grants and so the same digest. A missing or repeated
shard, or plans made with different settings, is refused: a merged plan that silently
lacks an account would be reviewed as if that account had no changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.plan.model import BucketPlan, Plan, ordered_messages
from reconciler.plan.scopes import EVERY_ACCOUNT, AccountScope


class MergeError(ValueError):
    """Why these plans cannot be joined; names the file."""


@dataclass(frozen=True)
class ShardPlan:
    origin: str
    """Where the plan came from (its file), for messages."""
    plan: Plan


def merge_plans(shards: Sequence[ShardPlan]) -> Plan:
    if not shards:
        raise MergeError("no plans to merge")
    first = shards[0]
    for shard in shards[1:]:
        _check_same_settings(first, shard)
    scope = _merged_scope(shards)
    buckets = _joined(shards, key_plans=False)
    plan = first.plan
    keys = _joined(shards, key_plans=True)
    return Plan(
        buckets=buckets,
        keys=keys,
        sid_prefix=plan.sid_prefix,
        partition=plan.partition,
        warnings=ordered_messages(w for s in shards for w in s.plan.warnings),
        errors=ordered_messages(e for s in shards for e in s.plan.errors),
        expiring=tuple(sorted({e for s in shards for e in s.plan.expiring})),
        partial_since=plan.partial_since,
        account_scope=scope,
    )


def _check_same_settings(first: ShardPlan, other: ShardPlan) -> None:
    for name in ("sid_prefix", "partition", "partial_since", "format_version"):
        mine, theirs = getattr(first.plan, name), getattr(other.plan, name)
        if mine != theirs:
            raise MergeError(
                f"{other.origin}: {name} is {theirs!r} but {first.origin} has {mine!r}; "
                "shards of one plan are made with the same settings: plan them again"
            )


def _joined(shards: Sequence[ShardPlan], key_plans: bool) -> tuple[BucketPlan, ...]:
    """The shards' bucket (or key) plans in one sorted tuple; one named twice is refused."""
    seen: dict[str, str] = {}
    joined = []
    for shard in shards:
        for policy in shard.plan.keys if key_plans else shard.plan.buckets:
            if policy.bucket in seen:
                why = (
                    f"KMS key {policy.bucket} is also planned in {seen[policy.bucket]}: a key encrypting "
                    "buckets of accounts in different shards cannot be planned by shard"
                    if key_plans
                    else f"bucket {policy.bucket} is also in {seen[policy.bucket]}; shards must not "
                    "overlap: give each plan its own accounts"
                )
                raise MergeError(f"{shard.origin}: {why}")
            seen[policy.bucket] = shard.origin
            joined.append(policy)
    return tuple(sorted(joined, key=lambda p: p.bucket))


def _merged_scope(shards: Sequence[ShardPlan]) -> AccountScope:
    """Every account for a complete set of `--shard I/N` plans; the union for `--account`
    plans; otherwise refused."""
    if len(shards) == 1 and shards[0].plan.account_scope.everything:
        return EVERY_ACCOUNT
    for shard in shards:
        scope = shard.plan.account_scope
        if (scope.shard is None) == (scope.accounts is None):
            what = "a plan of every account" if scope.everything else f"scope {shard.plan.scope!r}"
            raise MergeError(
                f"{shard.origin}: {what} cannot be merged; merge the plans of "
                "`plan --shard I/N` (all of them) or of `plan --account ID`"
            )
    by_shard = [(s.origin, s.plan.account_scope.shard) for s in shards]
    if all(shard is not None for _, shard in by_shard):
        _check_complete([(origin, *shard) for origin, shard in by_shard if shard is not None])
        return EVERY_ACCOUNT
    if all(s.plan.account_scope.accounts is not None for s in shards):
        accounts: dict[str, str] = {}
        for shard in shards:
            for account in sorted(shard.plan.account_scope.accounts or ()):
                if account in accounts:
                    raise MergeError(f"{shard.origin}: account {account} is also in {accounts[account]}")
                accounts[account] = shard.origin
        return AccountScope(accounts=frozenset(accounts))
    raise MergeError("merge either the plans of `plan --shard I/N` or of `plan --account ID`, not both")


def _check_complete(shards: list[tuple[str, int, int]]) -> None:
    counts = {count for _, _, count in shards}
    if len(counts) != 1:
        raise MergeError(
            f"the plans were split into different numbers of shards ({sorted(counts)}); plan again"
        )
    count = counts.pop()
    indexes: dict[int, str] = {}
    for origin, index, _ in shards:
        if index in indexes:
            raise MergeError(f"{origin}: shard {index}/{count} is also {indexes[index]}")
        indexes[index] = origin
    missing = [f"{i}/{count}" for i in range(count) if i not in indexes]
    if missing:
        raise MergeError(
            f"shard {', '.join(missing)} missing: a merged plan must cover every account; "
            "merge the plans of all shards"
        )
