"""Verify a saved plan against live state just before apply writes."""

from __future__ import annotations

import json

from reconciler.live.policy import LivePolicy, ReadError
from reconciler.plan.adoption import drop_adopted
from reconciler.plan.checks import is_ours, new_document
from reconciler.plan.model import NO_BUCKET_HASH, BucketAction, BucketPlan
from reconciler.policy.documents import (
    minified,
)
from reconciler.policy.normalize import statements_of


def check_against_live(
    bucket_plan: BucketPlan, live_text: str | None, sid_prefix: str, partition: str = "aws"
) -> str | None:
    """Why a saved bucket plan must not be written over this live policy, or None.

    A saved plan is a file anyone could edit. Rebuilding the document from the live policy
    (what we do not own, kept exactly and in order, but for the statements the plan adopts)
    and the plan's own statements must give exactly the text the plan would write, with the
    action the plan names. A plan may drop an adopted statement only when its own statements
    grant everything that statement grants, so an edited `adopted` list cannot revoke access.
    """
    try:
        live = json.loads(live_text) if live_text is not None else None
    except json.JSONDecodeError:
        return "refused: the live policy is not valid JSON; fix it by hand, then plan again"
    kept = [s for s in statements_of(live) if not is_ours(s, sid_prefix)]
    planned = statements_of(bucket_plan.new_policy)
    ours_planned = [s for s in planned if is_ours(s, sid_prefix)]
    kept, refusal = drop_adopted(bucket_plan, kept, ours_planned, partition)
    if refusal is not None:
        return refusal
    if [s for s in planned if not is_ours(s, sid_prefix)] != kept:
        return (
            "refused: the saved plan does not keep every statement bucketshare does not own exactly "
            "as the live policy holds it; run plan again"
        )
    rebuilt = new_document(live, [*kept, *ours_planned])
    action = BucketAction.PUT if rebuilt is not None else BucketAction.DELETE
    if action is not bucket_plan.action:
        planned_action = bucket_plan.action.value
        return f"refused: the saved plan says {planned_action} where its policy means {action.value}"
    if (minified(rebuilt) if rebuilt is not None else None) != bucket_plan.new_policy_text:
        return "refused: the saved plan's policy is not what plan builds from the live policy; run plan again"
    return None


EXISTS_NOW = "refused: the bucket exists now; run plan again"


def check_creation_against_live(
    bucket_plan: BucketPlan, live: LivePolicy, sid_prefix: str, region: str
) -> str | None:
    """Why a saved create-bucket plan must not be applied now, or None.

    The bucket must still be missing (a bucket that appeared since, anyone's, is not the one
    reviewed), the plan must be for the region apply creates in, and its policy must be
    exactly what plan builds for a new bucket: only statements bucketshare owns.
    """
    if live.error_kind is not ReadError.NO_BUCKET:
        return live.error if live.error is not None else EXISTS_NOW
    creation = bucket_plan.create
    if creation is None or bucket_plan.live_hash != NO_BUCKET_HASH:
        return "refused: the saved plan says create-bucket without a bucket to create; run plan again"
    if creation.region != region:
        return (
            f"refused: the plan creates the bucket in {creation.region}, but apply runs in {region}; "
            f"set AWS_REGION={creation.region} or run plan again"
        )
    if bucket_plan.adopted:
        return "refused: the saved plan adopts statements of a bucket that does not exist; run plan again"
    planned = statements_of(bucket_plan.new_policy)
    if any(not is_ours(s, sid_prefix) for s in planned):
        return (
            "refused: the saved plan writes statements bucketshare does not own to a new bucket; "
            "run plan again"
        )
    rebuilt = new_document(None, planned)
    if (minified(rebuilt) if rebuilt is not None else None) != bucket_plan.new_policy_text:
        return "refused: the saved plan's policy is not what plan builds for a new bucket; run plan again"
    return None
