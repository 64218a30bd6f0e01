"""The scheduled run's selection: which bucket plans a drift run applies."""

from __future__ import annotations

from dataclasses import replace

from reconciler.plan.model import BucketAction, Plan


def select_scheduled(plan: Plan, fix_all_drift: bool) -> Plan:
    """What the unattended scheduled run may apply: expired-grant removals, or all with `drift: fix`.

    Other changing buckets, and every key policy that changes, become no-ops, so apply writes
    nothing to them; their drift is still reported by the plan the run printed.
    """
    if fix_all_drift:
        return plan
    buckets = tuple(
        b if b.expiry_only or not b.writes else replace(b, action=BucketAction.NOOP, create=None)
        for b in plan.buckets
    )
    keys = tuple(replace(k, action=BucketAction.NOOP) if k.writes else k for k in plan.keys)
    return replace(plan, buckets=buckets, keys=keys)
