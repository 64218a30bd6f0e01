"""What apply reports per bucket, the run it works in, and the wording of outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from reconciler.edge.aws_errors import BucketAccessError
from reconciler.edge.s3 import S3Edge
from reconciler.execute.journal import Journal
from reconciler.live.policy import LivePolicy
from reconciler.plan.kinds import RULES, KindRules, PolicyKind, Target

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


class OutcomeKind(StrEnum):
    """What became of one policy in an apply or rollback: what code, scripts and the JSON
    report branch on. The message says it to a person and is never parsed back."""

    APPLIED = "applied"
    """The write (or the creation) took effect as planned."""
    NO_OP = "no-op"
    """Nothing to write: the live policy already was what the plan writes."""
    NOTHING_TO_UNDO = "nothing-to-undo"
    """Rollback: the run's write never took effect, or was undone already."""
    FAILED = "failed"
    """Nothing was written: refused, an AWS error, or the plan's error."""
    STALE = "stale"
    """Nothing was written: the live policy changed since the plan (or the apply rolled back)."""
    WRITTEN_BUT_FAILED = "written-but-failed"
    """Something was written, then a later step failed: a check after the write, the rest of a
    creation, or a second writer overwriting it."""
    UNKNOWN = "unknown"
    """A second Ctrl-C left it in flight: whether its write happened is not known."""
    NOT_STARTED = "not-started"
    """Interrupted before it began: nothing was read or written."""


SUCCEEDED = frozenset((OutcomeKind.APPLIED, OutcomeKind.NO_OP, OutcomeKind.NOTHING_TO_UNDO))


@dataclass(frozen=True)
class BucketOutcome:
    bucket: str
    kind: OutcomeKind
    message: str
    written_hash: str | None = None
    """Hash of the policy read back after a write that succeeded."""
    account: str = ""
    """The account that owns it (set by apply for every outcome, begun or not)."""
    policy: PolicyKind = PolicyKind.BUCKET
    """What `bucket` names: a bucket, or a KMS key by its ARN."""

    @property
    def ok(self) -> bool:
        return self.kind in SUCCEEDED

    @property
    def started(self) -> bool:
        return self.kind is not OutcomeKind.NOT_STARTED

    @property
    def settled(self) -> bool:
        return self.kind is not OutcomeKind.UNKNOWN

    @property
    def failed(self) -> bool:
        """Known to have failed: begun, settled, not ok."""
        return self.started and self.settled and not self.ok


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
    a KMS key's (named by its ARN). What differs between kinds is their row in plan/kinds.py."""

    edge: S3Edge
    name: str
    account: str
    kind: PolicyKind = PolicyKind.BUCKET
    just_created: bool = False
    """A resource this run created: a NoSuchBucket on reading it may be transient."""

    @classmethod
    def of(cls, edge: S3Edge, target: Target) -> PolicyTarget:
        return cls(edge, target.name, target.account, target.kind)

    @property
    def rules(self) -> KindRules:
        return RULES[self.kind]

    def read(self) -> LivePolicy:
        calls = self.rules.calls
        read = calls.read_new if self.just_created and calls.read_new is not None else calls.read
        return read(self.edge, self.name, self.account)

    def write(self, text: str | None) -> None:
        """Put text, or delete the policy when text is None (refused for a kind never deleted)."""
        calls = self.rules.calls
        if text is not None:
            calls.put(self.edge, self.name, self.account, text)
        elif calls.delete is None:
            raise BucketAccessError(f"refused: a {self.rules.noun} is never deleted; restore it by hand")
        else:
            calls.delete(self.edge, self.name, self.account)

    def is_public(self) -> bool | None:
        status = self.rules.calls.public_status
        return False if status is None else status(self.edge, self.name, self.account)


class ApplyInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) during apply or rollback. After one press the buckets in flight were
    finished and the rest not started; after a second, the ones still in flight were left
    (`settled` False). Carries every bucket's outcome, in order, so the command can say which."""

    def __init__(self, outcomes: list[BucketOutcome]) -> None:
        super().__init__("interrupted")
        self.outcomes = outcomes
