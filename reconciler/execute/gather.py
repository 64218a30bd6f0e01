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

from reconciler.edge.aws_errors import BucketAccessError
from reconciler.edge.s3 import S3Edge
from reconciler.live.facts import Encryption
from reconciler.plan.bucket import build_plan
from reconciler.plan.changed import Selection
from reconciler.plan.facts import needs_for
from reconciler.plan.keys import managed_keys, plan_keys
from reconciler.plan.model import ENCRYPTION, BucketAction, BucketPlan, Plan
from reconciler.plan.scopes import EVERY_ACCOUNT, AccountScope
from reconciler.policy.desired import DesiredState

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
    # Ownership and encryption only for declared buckets: discovered ones get no grants.
    needs = {b.bucket: needs_for(b) for b in desired}
    live = edge.iter_policies(targets, progress(len(targets)), needs)
    # Declaration warnings (expired grants, grants in the owner's own account) belong in the
    # plan a reviewer reads, with the YAML line to edit.
    warnings = [*(f"{p.location}: {p.message}" for p in state.warnings), *warnings]
    plan = build_plan(
        desired, live, config.sid_prefix, config.partition, warnings, errors, region=edge.region
    )
    plan = replace(plan, keys=_plan_keys(state, plan, edge, wanted))
    planned = {b.bucket for b in desired}
    expiring = tuple(e for e in state.expiring() if e.bucket in planned)
    return replace(
        plan, expiring=expiring, partial_since=partial.ref if partial else None, account_scope=scope
    )


def _plan_keys(
    state: DesiredState, plan: Plan, edge: S3Edge, wanted: Callable[[str], bool]
) -> tuple[BucketPlan, ...]:
    """kms: manage: a key's users are known once every managing bucket's default encryption
    is, including the buckets a partial plan did not read."""
    managing = [d for d in state.buckets if d.manage_key and wanted(d.account)]
    if not managing:
        return ()
    encryption: dict[str, Encryption | str] = {}
    for bucket in plan.buckets:
        if bucket.facts is not None and bucket.facts.encryption is not None:
            encryption[bucket.bucket] = bucket.facts.encryption
        elif bucket.action is BucketAction.CREATE:
            # Apply creates it with SSE-S3: no key of ours to serve.
            encryption[bucket.bucket] = Encryption(ENCRYPTION)
    # Any other bucket is read now: a plan error of another kind says nothing of its key.
    unread = [d for d in managing if d.bucket not in encryption]
    found = edge.read_encryptions([(d.bucket, d.account) for d in unread])
    encryption.update((d.bucket, e) for d, e in zip(unread, found, strict=True))
    keys = managed_keys(managing, encryption)
    live = edge.read_key_policies(keys.targets())
    return plan_keys(keys, live, state.config.sid_prefix, state.config.partition)


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
