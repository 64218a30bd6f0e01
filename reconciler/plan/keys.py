"""`kms: manage`: which customer managed keys a plan reconciles, and their plans. Pure.

A key can encrypt several buckets: its policy carries the statements for the grants of all
of them (the `kms: manage` buckets whose default encryption names it), planned once per key
like a bucket policy, by the co-owned policy planner: the key administrators' statements
are kept exactly. A key's plan must know every bucket it serves, including buckets a partial
plan did not read and buckets with no grant left (their statements must go): when the
default encryption of a `kms: manage` bucket is unknown, the keys of its account are not
planned but reported, since a plan without that bucket's grants would revoke them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from reconciler.live.facts import Encryption, KeyKind, key_account, key_kind
from reconciler.live.policy import LivePolicy
from reconciler.plan.checks import orphan_warnings, sid_collisions
from reconciler.plan.co_owned import PlanContext, diff_statements, merge, split_live
from reconciler.plan.facts import active_grants
from reconciler.plan.kinds import RULES, PolicyKind
from reconciler.plan.model import BucketAction, BucketPlan, policy_hash
from reconciler.plan.reasons import explained_changes
from reconciler.policy.key import render_key_statements
from reconciler.policy.render import DesiredBucket, DesiredStatement

_RULES = RULES[PolicyKind.KEY]

Encryptions = Mapping[str, Encryption | str]
"""Bucket -> its default encryption, or why it could not be read."""


@dataclass(frozen=True)
class ManagedKeys:
    users: dict[str, list[DesiredBucket]] = field(default_factory=dict)
    """Key ARN -> the `kms: manage` buckets whose default encryption names it."""
    unknown: dict[str, list[str]] = field(default_factory=dict)
    """Account -> why some of its `kms: manage` buckets' encryption is not known."""

    def targets(self) -> list[tuple[str, str]]:
        """(key ARN, the account that owns the key) for each key to read, in key order."""
        return [(key, key_account(key)) for key in sorted(self.users) if not self.blocked(key)]

    def blocked(self, key: str) -> list[str]:
        accounts = {key_account(key), *(b.account for b in self.users[key])}
        return [why for account in sorted(accounts) for why in self.unknown.get(account, [])]


def managed_keys(managing: Sequence[DesiredBucket], encryption: Encryptions) -> ManagedKeys:
    found = ManagedKeys()
    for bucket in managing:
        known = encryption.get(bucket.bucket)
        if not isinstance(known, Encryption):
            why = known or "its default encryption was not read"
            found.unknown.setdefault(bucket.account, []).append(f"bucket {bucket.bucket}: {why}")
        elif key_kind(known) is KeyKind.CUSTOMER:
            found.users.setdefault(str(known.kms_key_id), []).append(bucket)
    return found


def plan_keys(
    keys: ManagedKeys, live: Sequence[LivePolicy], sid_prefix: str, partition: str
) -> tuple[BucketPlan, ...]:
    by_key = {policy.bucket: policy for policy in live}
    plans = []
    for key in sorted(keys.users):
        users = keys.users[key]
        names = sorted(b.bucket for b in users)
        blocked = keys.blocked(key)
        if blocked:
            plans.append(_unknown_users(key, names, blocked))
            continue
        grants = [grant for bucket in users for grant in active_grants(bucket)]
        wanted = render_key_statements(grants, key, sid_prefix, partition)
        policy = by_key[key]
        plans.append(plan_key_policy(key, key_account(key), policy, wanted, names, sid_prefix, partition))
    return tuple(plans)


def _unknown_users(key: str, users: list[str], why: list[str]) -> BucketPlan:
    message = (
        "not planned: which grants this key must carry is not known, since the default encryption "
        f"of a kms: manage bucket could not be read ({'; '.join(why)}); a plan without that bucket "
        "would revoke its grants. Fix that read, then plan again"
    )
    plan = BucketPlan(key, key_account(key), BucketAction.ERROR, True, policy_hash(None), errors=(message,))
    return replace(plan, kind=PolicyKind.KEY, key_users=tuple(users))


def plan_key_policy(
    key_arn: str,
    account: str,
    live: LivePolicy,
    wanted: Sequence[DesiredStatement],
    users: Sequence[str],
    sid_prefix: str,
    partition: str,
) -> BucketPlan:
    """A KMS key's policy, planned as the bucket policies are: statements with our Sid prefix
    are ours, every other (the key administrators', the key users') is kept exactly and in
    order; the kind's rules (plan/kinds.py) say it must fit 32 KB and is never deleted."""
    base = BucketPlan(
        key_arn,
        account,
        BucketAction.ERROR,
        True,
        policy_hash(live.text),
        kind=PolicyKind.KEY,
        key_users=tuple(users),
    )
    split = split_live(live, _RULES, sid_prefix)
    if isinstance(split, str):
        return replace(base, errors=(split,))
    errors = sid_collisions(split.kept, wanted)
    diff = diff_statements(split.ours, wanted, PlanContext(sid_prefix, partition, True))
    changes = explained_changes(diff, (), sid_prefix)
    merged = merge(_RULES, key_arn, split.document, split.kept, wanted, bool(changes), partition)
    errors.extend(merged.errors)
    return replace(
        base,
        action=BucketAction.ERROR if errors else merged.action,
        changes=tuple(changes),
        kept_statements=len(split.kept),
        errors=tuple(errors),
        warnings=tuple(orphan_warnings(split.statements)),
        new_policy=merged.new_policy,
        new_size=merged.new_size,
    )
