"""What apply reports per bucket, the run it works in, and the wording of outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from reconciler.edge.aws_errors import BucketAccessError
from reconciler.edge.s3 import S3Edge
from reconciler.execute.journal import Journal
from reconciler.live.policy import LivePolicy
from reconciler.plan.model import PolicyKind
from reconciler.policy.documents import (
    KEY_POLICY_SIZE_LIMIT,
    POLICY_SIZE_LIMIT,
)

T = TypeVar("T")


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


@dataclass(frozen=True)
class BucketOutcome:
    bucket: str
    ok: bool
    message: str
    started: bool = True
    """False when apply was interrupted before this bucket began: nothing was read or written."""
    written_hash: str | None = None
    """Hash of the policy read back after a write that succeeded."""
    settled: bool = True
    """False when a second Ctrl-C stopped the run while this bucket was in flight: whether
    its write happened is unknown (its journal record may say `pending`)."""
    kind: PolicyKind = PolicyKind.BUCKET
    """What `bucket` names: a bucket, or a KMS key by its ARN."""


@dataclass(frozen=True)
class Run:
    """What every write of one apply or rollback run shares."""

    edge: S3Edge
    journal: Journal
    partition: str
    rolls_back: str | None = None
    """For a rollback: the apply run it undoes, recorded on each of its journal records."""

    @property
    def id(self) -> str:
        """The edge's run id: the journal entries and the assumed-role sessions share it."""
        return self.edge.run_id


@dataclass(frozen=True)
class PolicyTarget:
    """One resource policy we co-own, as apply and rollback read and write it: a bucket's, or
    a KMS key's (named by its ARN). Everything else about a safe write is the same for both."""

    edge: S3Edge
    name: str
    account: str
    kind: PolicyKind = PolicyKind.BUCKET
    just_created: bool = False
    """A bucket this run created: a NoSuchBucket on reading it may be transient."""

    @property
    def size_limit(self) -> int:
        return KEY_POLICY_SIZE_LIMIT if self.kind is PolicyKind.KEY else POLICY_SIZE_LIMIT

    def read(self) -> LivePolicy:
        if self.kind is PolicyKind.KEY:
            return self.edge.read_key_policy(self.name, self.account)
        if self.just_created:
            return self.edge.read_new_policy(self.name, self.account)
        return self.edge.read_policy(self.name, self.account)

    def write(self, text: str | None) -> None:
        """Put text, or delete the policy when text is None (never for a key: it always has one)."""
        if self.kind is PolicyKind.KEY:
            if text is None:
                raise BucketAccessError("refused: a key policy is never deleted; restore it by hand")
            self.edge.put_key_policy(self.name, self.account, text)
        elif text is None:
            self.edge.delete_policy(self.name, self.account)
        else:
            self.edge.put_policy(self.name, self.account, text)

    def is_public(self) -> bool | None:
        # Block Public Access judges bucket policies; a key policy's grants name principals.
        return False if self.kind is PolicyKind.KEY else self.edge.policy_is_public(self.name, self.account)


class ApplyInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) during apply or rollback. After one press the buckets in flight were
    finished and the rest not started; after a second, the ones still in flight were left
    (`settled` False). Carries every bucket's outcome, in order, so the command can say which."""

    def __init__(self, outcomes: list[BucketOutcome]) -> None:
        super().__init__("interrupted")
        self.outcomes = outcomes
