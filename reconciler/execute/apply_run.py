"""One apply run as the journal tells it: its writes and creations per bucket, and what every
rollback of it did; and grouping the journal's records into runs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from reconciler.execute.journal_entry import CREATED, RESTORED_PUBLIC, ROLLBACK, JournalEntry
from reconciler.plan.kinds import PolicyKind


@dataclass(frozen=True)
class ApplyRun:
    """One apply run as the journal tells it, with the records of every rollback of it."""

    id: str
    started: str
    """The time of its first record."""
    writes: dict[str, list[JournalEntry]]
    """Per bucket (or key ARN), the run's policy-write records, in journal order: the first
    one's previous policy is what the bucket held before the run."""
    created: dict[str, JournalEntry]
    """Per bucket, the last record of a creation that took effect or may have (`pending`)."""
    rollbacks: dict[str, list[JournalEntry]]
    """Per bucket, the records rollbacks of this run wrote, in journal order."""

    @property
    def buckets(self) -> list[str]:
        return sorted(self.writes.keys() | self.created.keys())

    @property
    def keys(self) -> int:
        """How many of `buckets` are KMS keys."""
        return sum(1 for records in self.writes.values() if records[0].kind == PolicyKind.KEY)

    def last_restore(self, bucket: str) -> JournalEntry | None:
        """The last record a rollback of this run wrote for bucket, when it is one of a write
        restoring the policy the bucket held before this run (whatever its outcome)."""
        records, writes = self.rollbacks.get(bucket), self.writes.get(bucket)
        if not records or not writes:
            return None
        last = records[-1]
        # Checked against the run, not taken from the record's word: a journal is a file anyone
        # can edit, and the previous version's rollback could undo its own rollback.
        restores = last.action == ROLLBACK and last.new_policy == writes[0].previous_policy
        return last if restores else None

    def restore_was_public(self, bucket: str) -> bool:
        """Whether the last thing a rollback of this run did to bucket was to put back what it
        had replaced, because S3 called the restored policy public: trying again would only
        make the bucket public for a moment once more."""
        records = self.rollbacks.get(bucket)
        return records is not None and records[-1].action == RESTORED_PUBLIC

    def rolled_back(self, bucket: str) -> bool:
        """Whether a rollback of this run restored bucket, and that is the last it did to it."""
        last = self.last_restore(bucket)
        return last is not None and last.outcome == "applied"


def group_runs(entries: Iterable[JournalEntry]) -> list[ApplyRun]:
    """Every apply run in the journal's entries, oldest first, with the rollbacks of each. A
    rollback record of the previous version names no run: it undid the latest write to its
    bucket, so it belongs to the latest apply run that wrote that bucket before it."""
    rollback_runs: dict[str, bool] = {}
    applies: dict[str, ApplyRun] = {}
    latest: dict[str, str] = {}
    for entry in entries:
        is_rollback = entry.rolls_back is not None or entry.action == ROLLBACK
        if rollback_runs.setdefault(entry.run, is_rollback):
            target = applies.get(entry.rolls_back or latest.get(entry.bucket, ""))
            if target is not None:
                target.rollbacks.setdefault(entry.bucket, []).append(entry)
            continue
        run = applies.setdefault(entry.run, ApplyRun(entry.run, entry.time, {}, {}, {}))
        if entry.action == CREATED:
            run.created.pop(entry.bucket, None)
            run.created[entry.bucket] = entry
        else:
            run.writes.setdefault(entry.bucket, []).append(entry)
            latest[entry.bucket] = entry.run
    for run in applies.values():
        for bucket in [b for b, e in run.created.items() if e.outcome == "failed"]:
            del run.created[bucket]  # a failed CreateBucket created nothing
    return list(applies.values())
