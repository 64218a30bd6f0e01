"""`kms: manage`: which customer managed keys a plan reconciles, and their plans. Pure.

A key can encrypt several buckets: its policy carries the statements for the grants of all
of them (of the buckets with `kms: manage`), planned once per key like a bucket policy, by
reconciler.plan.plan_key_policy: the key administrators' statements are kept exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.facts import active_grants, key_account
from reconciler.keypolicy import render_key_statements
from reconciler.plan import BucketAction, BucketPlan, LivePolicy, Plan, plan_key_policy
from reconciler.render import DesiredBucket


def keys_to_manage(plan: Plan, desired: Sequence[DesiredBucket]) -> dict[str, list[DesiredBucket]]:
    """Key ARN -> the `kms: manage` buckets it encrypts (whose plans read it, without error)."""
    managing = {d.bucket: d for d in desired if d.manage_key}
    found: dict[str, list[DesiredBucket]] = {}
    for bucket in plan.buckets:
        users = managing.get(bucket.bucket)
        if users is not None and bucket.kms_key is not None and bucket.action is not BucketAction.ERROR:
            found.setdefault(bucket.kms_key, []).append(users)
    return found


def key_targets(keys: Mapping[str, Sequence[DesiredBucket]]) -> list[tuple[str, str]]:
    """(key ARN, the account that owns the key) for each key, in key order."""
    return [(key, key_account(key)) for key in sorted(keys)]


def plan_keys(
    keys: Mapping[str, Sequence[DesiredBucket]],
    live: Sequence[LivePolicy],
    sid_prefix: str,
    partition: str,
) -> tuple[BucketPlan, ...]:
    by_key = {policy.bucket: policy for policy in live}
    plans = []
    for key in sorted(keys):
        users = keys[key]
        grants = [grant for bucket in users for grant in active_grants(bucket)]
        wanted = render_key_statements(grants, key, sid_prefix, partition)
        names = sorted(b.bucket for b in users)
        policy = by_key[key]
        plans.append(plan_key_policy(key, key_account(key), policy, wanted, names, sid_prefix, partition))
    return tuple(plans)
