"""The words of apply's and rollback's outcomes that code and tests share: what a person reads
about a bucket that was refused, left alone or only partly done, and what to do next."""

STALE_SINCE_PLAN = "the live policy changed since the plan; run plan again"


STALE_SINCE_APPLY = (
    "not restored: the live policy changed since the apply being rolled back; "
    "compare it with the journal and restore by hand"
)


NOT_STARTED = "not started: interrupted"


IN_FLIGHT = "in flight when stopped: its write may or may not have happened"


NOTHING_TO_UNDO = "nothing to undo"


ALREADY_ROLLED_BACK = "already rolled back; nothing to do"


WRITTEN_BUT = "written, but "
"""How a failure after a write that took effect begins."""


PUBLIC_RESTORED = (
    "written, but S3 reports the bucket policy as public (GetBucketPolicyStatus IsPublic: true), "
    "which with RestrictPublicBuckets blocks every cross-account grant on it; the previous policy "
    "was restored. Find the public statement (plan warns about it) and fix it, then plan again"
)


PUBLIC_UNKNOWN = (
    "written, but S3 did not say whether the bucket policy is public (GetBucketPolicyStatus "
    "failed); check it with `aws s3api get-bucket-policy-status` before relying on the grants"
)


ROLL_BACK_FIRST = "not restored: apply run {run} wrote it since; roll that run back first (--run {run})"
RESTORE_WAS_PUBLIC = (
    "not restored: an earlier rollback wrote the previous policy, S3 reported it as public, so "
    "the policy it replaced was put back; find the public statement in the journal's previous "
    "policy and restore by hand"
)
CREATED_KEPT = (
    "created bucket {bucket} is kept (rollback never deletes a bucket); delete it by hand if unwanted"
)


MAYBE_CREATED = (
    "bucket {bucket} may have been created by run {run} (journalled pending: it stopped during the "
    "creation); rollback never deletes a bucket: check it and delete it by hand if unwanted"
)


OVERWRITTEN = (
    "written, then overwritten before apply ended (by another apply or a person: S3 has no "
    "conditional write); run plan again"
)
