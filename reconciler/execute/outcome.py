"""What became of each bucket (or key) in an apply or rollback: its kind, for code and scripts
to branch on, and its message for a person (worded in outcome_messages.py)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from reconciler.plan.kinds import PolicyKind


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


class ApplyInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) during apply or rollback. After one press the buckets in flight were
    finished and the rest not started; after a second, the ones still in flight were left
    (`settled` False). Carries every bucket's outcome, in order, so the command can say which."""

    def __init__(self, outcomes: list[BucketOutcome]) -> None:
        super().__init__("interrupted")
        self.outcomes = outcomes
