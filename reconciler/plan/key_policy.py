"""Plan one KMS key policy: our statements in a key policy co-owned with others."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

from reconciler.live.policy import LivePolicy
from reconciler.plan.bucket import PlanContext, diff_statements
from reconciler.plan.checks import is_ours, kept_problems, new_document, orphan_warnings, sid_collisions
from reconciler.plan.model import BucketAction, BucketPlan, PolicyKind, policy_hash
from reconciler.plan.reasons import explained_changes
from reconciler.policy.documents import (
    KEY_POLICY_SIZE_LIMIT,
    policy_size,
)
from reconciler.policy.normalize import statements_of
from reconciler.policy.render import DesiredStatement


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
    order; the merged policy must fit KMS's 32 KB. A key policy is never deleted."""
    base = BucketPlan(
        key_arn,
        account,
        BucketAction.ERROR,
        True,
        policy_hash(live.text),
        kind=PolicyKind.KEY,
        size_limit=KEY_POLICY_SIZE_LIMIT,
        key_users=tuple(users),
    )
    if live.error is not None:
        return replace(base, errors=(live.error,))
    try:
        document = json.loads(live.text) if live.text is not None else None
    except json.JSONDecodeError as exc:
        return replace(base, errors=(f"the key policy is not valid JSON ({exc}); fix it by hand first",))
    statements = statements_of(document)
    kept = [s for s in statements if not is_ours(s, sid_prefix)]
    ours = [s for s in statements if is_ours(s, sid_prefix)]
    errors = sid_collisions(kept, wanted)
    changes = explained_changes(
        diff_statements(ours, wanted, PlanContext(sid_prefix, partition, True)), (), sid_prefix
    )
    new_policy = new_document(document, [*kept, *(w.statement for w in wanted)])
    new_size = policy_size(new_policy) if new_policy is not None else 0
    if changes and new_policy is not None:
        if not kept:
            errors.append(
                "the key policy would hold only bucketshare's statements: no administrator could manage "
                "the key any more (KMS refuses such a policy); add the key administrators' statement by hand"
            )
        if new_size > KEY_POLICY_SIZE_LIMIT:
            errors.append(
                f"the merged key policy would be {new_size} bytes, over KMS's {KEY_POLICY_SIZE_LIMIT}-byte "
                "limit; remove grants or unmanaged statements"
            )
        errors.extend(kept_problems(document, kept))
    if changes and new_policy is None:
        errors.append("the key policy would hold no statement at all; a key policy is never deleted")
    action = BucketAction.PUT if changes else BucketAction.NOOP
    return replace(
        base,
        action=BucketAction.ERROR if errors else action,
        changes=tuple(changes),
        kept_statements=len(kept),
        errors=tuple(errors),
        warnings=tuple(orphan_warnings(statements)),
        new_policy=new_policy,
        new_size=new_size,
    )
