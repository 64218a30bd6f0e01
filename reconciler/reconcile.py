"""Gather live state through the AWS edge and plan it: declared buckets, plus discovery.

Discovery needs no state file: every account bucketshare manages (owners declared in
shares/, config.managed_accounts and the accounts with their own role) is listed with
ListBuckets, and any undeclared bucket still holding statements with our Sid prefix is
planned for their removal. A run may be limited to some owner accounts (a shard): then
only their buckets are read and only they are searched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from reconciler.aws import BucketAccessError, S3Edge
from reconciler.desired import DesiredState
from reconciler.partial import Selection
from reconciler.plan import Plan, build_plan
from reconciler.shards import EVERY_ACCOUNT, AccountScope

Progress = Callable[[int], Callable[[], None]]
"""Given a total, returns the callback to advance by one."""


def gather_plan(
    state: DesiredState,
    edge: S3Edge,
    declared_only: bool,
    progress: Progress,
    only: Selection | None = None,
    scope: AccountScope = EVERY_ACCOUNT,
) -> Plan:
    """Read and plan every declared bucket (plus discovery), or only the selection's buckets;
    of those, only the buckets of the accounts in scope."""
    config = state.config
    partial = only if only is not None and not only.everything else None
    wanted = scope.includes

    desired = [
        b for b in state.buckets if (partial is None or b.bucket in partial.declared) and wanted(b.account)
    ]
    targets = [(b.bucket, b.account) for b in desired]
    if partial is not None:
        targets += [(bucket, account) for bucket, account in partial.undeclared if wanted(account)]
    warnings: list[str] = []
    errors: list[str] = []
    if only is not None and only.everything:
        warnings.append(f"planned every bucket, not only those changed since {only.ref}: {only.reason}")
    if not declared_only and partial is None:
        discovered, found_warnings, errors = _discover(state, edge, wanted)
        warnings += found_warnings
        seen = {bucket for bucket, _ in targets}
        for bucket, account in discovered:
            if bucket not in seen:
                seen.add(bucket)
                targets.append((bucket, account))
    live = edge.iter_policies(targets, progress(len(targets)))
    # Declaration warnings (expired grants, grants in the owner's own account) belong in the
    # plan a reviewer reads, with the YAML line to edit.
    warnings = [*(str(p) for p in state.warnings), *warnings]
    plan = build_plan(
        desired, live, config.sid_prefix, config.partition, warnings, errors, region=edge.region
    )
    planned = {b.bucket for b in desired}
    expiring = tuple(e for e in state.expiring() if e.bucket in planned)
    return replace(
        plan, expiring=expiring, partial_since=partial.ref if partial else None, scope=scope.describe()
    )


def _discover(
    state: DesiredState, edge: S3Edge, wanted: Callable[[str], bool]
) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    managed = state.declarations.owner_accounts() | state.config.all_managed_accounts
    accounts = sorted(a for a in managed if wanted(a))
    found: list[tuple[str, str]] = []
    warnings: list[str] = []
    errors: list[str] = []
    # An assumed role acts in its own account; only ambient credentials need the caller's id.
    ambient = [a for a in accounts if edge.role_for(a) is None]
    caller = edge.caller_account() if ambient else None
    if ambient and caller is None:
        # Without knowing whose buckets ListBuckets returns, we could attribute them to
        # the wrong owner: skip rather than guess.
        warnings.append(
            "discovery skipped: sts:GetCallerIdentity failed, so the credentials' account is unknown"
        )
        accounts = [a for a in accounts if a not in ambient]
    listed = []
    for account in accounts:
        if edge.role_for(account) is None and account != caller:
            warnings.append(
                f"discovery skipped for account {account}: the credentials are for account {caller}, and "
                "ListBuckets only lists the caller's own buckets; undeclared buckets there keep "
                "bucketshare's statements until a run with that account's credentials"
            )
        else:
            listed.append(account)
    for account, names in edge.list_buckets_of(listed):
        if isinstance(names, BucketAccessError):
            errors.append(str(names))
        else:
            found += [(name, account) for name in names]
    return found, warnings, errors
