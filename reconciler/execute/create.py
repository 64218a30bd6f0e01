"""Create a declared bucket with its defaults, then write its policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from reconciler.edge.aws_errors import BucketAccessError
from reconciler.edge.s3 import S3Edge
from reconciler.execute.journal import CREATED, JournalEntry, now
from reconciler.execute.outcome import WRITTEN_BUT, BucketOutcome, OutcomeKind, PolicyTarget, Run
from reconciler.execute.write import write_policy
from reconciler.plan.model import BucketAction, BucketPlan, Creation, policy_hash
from reconciler.plan.verify import check_creation_against_live


def create_bucket(bucket_plan: BucketPlan, run: Run, sid_prefix: str) -> BucketOutcome:
    """Create a missing bucket with the safe defaults, journalled, then write its policy
    through the same safe write as any other bucket."""
    bucket, account, edge = bucket_plan.bucket, bucket_plan.account, run.edge
    refusal = _creation_refusal(bucket_plan, run, sid_prefix)
    if refusal is not None:
        return BucketOutcome(bucket, OutcomeKind.FAILED, refusal)
    creation = bucket_plan.create
    assert creation is not None  # checked by _creation_refusal
    entry = JournalEntry(run.id, now(), bucket, account, CREATED, None, None, "pending", creation.describe())
    run.journal.append(entry)
    try:
        edge.create_bucket(bucket, account, creation.region)
    except BucketAccessError as exc:
        run.journal.append(replace(entry, time=now(), outcome="failed", message=str(exc)))
        return BucketOutcome(bucket, OutcomeKind.FAILED, str(exc))
    problem = _set_defaults(edge, bucket, account, creation)
    done = creation.describe() if problem is None else f"created, but {problem}"
    run.journal.append(replace(entry, time=now(), outcome="applied", message=done))
    if problem is not None:
        # Plan sees an existing bucket from now on and never sets these: say so, loudly.
        return BucketOutcome(
            bucket,
            OutcomeKind.WRITTEN_BUT_FAILED,
            f"created the bucket, but {problem}; the bucket has no policy yet: set that default by "
            "hand, then plan and apply again",
        )
    if bucket_plan.new_policy_text is None:
        return BucketOutcome(bucket, OutcomeKind.APPLIED, "created the bucket (no grants: no policy)")
    target = PolicyTarget(edge, bucket, account, just_created=True)
    text = bucket_plan.new_policy_text
    written = write_policy(run, target, policy_hash(None), text, BucketAction.PUT.value, live=target.read())
    # The bucket exists now, whatever became of its policy: a failure is after a write.
    kind = written.kind if written.ok else OutcomeKind.WRITTEN_BUT_FAILED
    return replace(written, kind=kind, message=_after_creation(written))


def _after_creation(written: BucketOutcome) -> str:
    """What the policy write said, as the second half of a creation's one sentence."""
    if written.kind is OutcomeKind.WRITTEN_BUT_FAILED:
        return "created the bucket and wrote its policy, but " + written.message.removeprefix(WRITTEN_BUT)
    return ("created the bucket and " if written.ok else "created the bucket, but ") + written.message


def _creation_refusal(bucket_plan: BucketPlan, run: Run, sid_prefix: str) -> str | None:
    """Why this bucket must not be created now: it exists (anyone's), the plan does not add
    up, or the credentials are of another account than the declared owner."""
    bucket, account, edge = bucket_plan.bucket, bucket_plan.account, run.edge
    live = edge.read_policy(bucket, account)
    try:
        region = edge.client_region(account)
    except BucketAccessError as exc:
        return str(exc)
    # This re-read is the only guard against a bucket that appeared since the plan: in
    # us-east-1, CreateBucket on a bucket the caller already owns succeeds without a word.
    refusal = check_creation_against_live(bucket_plan, live, sid_prefix, region)
    if refusal is not None:
        return refusal
    # CreateBucket takes no ExpectedBucketOwner: it creates in the credentials' own account.
    owner = edge.credentials_account(account)
    if owner != account:
        whose = f"of account {owner}" if owner else "of an account sts:GetCallerIdentity could not tell"
        return (
            f"refused: the credentials for account {account} are {whose}, and CreateBucket would "
            "create the bucket there; use that account's credentials or role"
        )
    return None


def _set_defaults(edge: S3Edge, bucket: str, account: str, creation: Creation) -> str | None:
    """The safe defaults on a bucket just created, Block Public Access first; None when all
    are set, else which failed and why (the later ones are not tried)."""
    steps: list[tuple[str, Callable[[], None]]] = [
        ("Block Public Access", lambda: edge.block_public_access(bucket, account)),
        ("object ownership", lambda: edge.enforce_bucket_owner(bucket, account)),
        ("default encryption", lambda: edge.encrypt_by_default(bucket, account)),
    ]
    if creation.versioning:
        steps.append(("versioning", lambda: edge.enable_versioning(bucket, account)))
    for done, (name, step) in enumerate(steps):
        try:
            step()
        except BucketAccessError as exc:
            missing = ", ".join(n for n, _ in steps[done:])
            return f"setting {name} failed ({exc}), so it lacks: {missing}"
    return None
