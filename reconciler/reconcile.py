"""Gather live state through the AWS edge and plan it: declared buckets, plus discovery.

Discovery needs no state file: every account bucketshare manages (owners declared in
shares/ plus config.managed_accounts) is listed with ListBuckets, and any undeclared
bucket still holding statements with our Sid prefix is planned for their removal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from reconciler.aws import BucketAccessError, S3Edge
from reconciler.desired import DesiredState
from reconciler.facts import needs_for
from reconciler.partial import Selection
from reconciler.plan import Plan, build_plan

Progress = Callable[[int], Callable[[], None]]
"""Given a total, returns the callback to advance by one."""


def gather_plan(
    state: DesiredState,
    edge: S3Edge,
    declared_only: bool,
    progress: Progress,
    only: Selection | None = None,
) -> Plan:
    """Read and plan every declared bucket (plus discovery), or only the selection's buckets."""
    config = state.config
    partial = only if only is not None and not only.everything else None
    desired = [b for b in state.buckets if partial is None or b.bucket in partial.declared]
    targets = [(b.bucket, b.account) for b in desired]
    if partial is not None:
        targets += list(partial.undeclared)
    warnings: list[str] = []
    errors: list[str] = []
    if only is not None and only.everything:
        warnings.append(f"planned every bucket, not only those changed since {only.ref}: {only.reason}")
    if not declared_only and partial is None:
        discovered, found_warnings, errors = _discover(state, edge)
        warnings += found_warnings
        seen = {bucket for bucket, _ in targets}
        for bucket, account in discovered:
            if bucket not in seen:
                seen.add(bucket)
                targets.append((bucket, account))
    # Ownership and encryption only for declared buckets: discovered ones get no grants.
    needs = {b.bucket: needs_for(b) for b in desired}
    live = edge.iter_policies(targets, progress(len(targets)), needs)
    # Declaration warnings (expired grants, grants in the owner's own account) belong in the
    # plan a reviewer reads, with the YAML line to edit.
    warnings = [*(str(p) for p in state.warnings), *warnings]
    plan = build_plan(desired, live, config.sid_prefix, config.partition, warnings, errors)
    planned = {b.bucket for b in desired}
    expiring = tuple(e for e in state.expiring() if e.bucket in planned)
    return replace(plan, expiring=expiring, partial_since=partial.ref if partial else None)


def _discover(state: DesiredState, edge: S3Edge) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    accounts = sorted(state.declarations.owner_accounts() | state.config.managed_accounts)
    caller = edge.caller_account()
    found: list[tuple[str, str]] = []
    warnings: list[str] = []
    errors: list[str] = []
    if caller is None:
        # Without knowing whose buckets ListBuckets returns, we could attribute them to
        # the wrong owner: skip rather than guess.
        warnings.append(
            "discovery skipped: sts:GetCallerIdentity failed, so the credentials' account is unknown"
        )
        return found, warnings, errors
    for account in accounts:
        if account != caller:
            warnings.append(
                f"discovery skipped for account {account}: the credentials are for account {caller}, and "
                "ListBuckets only lists the caller's own buckets; undeclared buckets there keep "
                "bucketshare's statements until a run with that account's credentials"
            )
            continue
        try:
            found += [(name, account) for name in edge.list_buckets(account)]
        except BucketAccessError as exc:
            errors.append(str(exc))
    return found, warnings, errors
