"""An append-only JSON-lines journal of every policy write, written before the write.

It holds the exact previous policy text, so nothing a bucket held before bucketshare
touched it is ever lost, and `reconciler rollback` can restore it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import IO

from reconciler.errors import BucketshareError
from reconciler.plan.kinds import PolicyKind


@dataclass(frozen=True)
class JournalEntry:
    run: str
    time: str
    bucket: str
    account: str
    action: str
    """put-policy, delete-policy, rollback, restore-not-public, or create-bucket (a bucket
    apply created: no policy texts, never undone by rollback)."""
    previous_policy: str | None
    new_policy: str | None
    outcome: str
    """pending (written before the call), applied, or failed."""
    message: str = ""
    written_hash: str | None = None
    """Hash of the policy read back after an applied write: rollback's stale check."""
    kind: str = PolicyKind.BUCKET.value
    """A PolicyKind: bucket-policy (`bucket` names the bucket) or key-policy (`bucket` holds the key ARN)."""
    rolls_back: str | None = None
    """On a rollback's records: the id of the apply run it undoes. Journals written before this
    field existed lack it; their rollback records are matched to a run by `runs()`."""


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


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


CREATED = "create-bucket"
"""The action of a creation record: BucketAction.CREATE's word."""
ROLLBACK = "rollback"
"""The action of a record of rollback's own write."""
RESTORED_PUBLIC = "restore-not-public"
"""The action of putting back the policy a write replaced, because S3 said the written one is
public (with RestrictPublicBuckets it would cut off every cross-account grant)."""

_TEXT_FIELDS = ("run", "time", "bucket", "account", "action", "outcome", "message", "kind")
KINDS = tuple(kind.value for kind in PolicyKind)
_OPTIONAL_FIELDS = ("previous_policy", "new_policy", "written_hash", "rolls_back")


def _entry(data: object) -> JournalEntry:
    """A record, with every field of the type rollback relies on."""
    if not isinstance(data, dict):
        raise ValueError("not an object")
    known = {f.name for f in fields(JournalEntry)}
    if unknown := sorted(set(data) - known):
        raise ValueError(f"unknown field {unknown[0]!r}")
    if missing := sorted(f.name for f in fields(JournalEntry) if f.name not in data and f.default is MISSING):
        raise ValueError(f"missing field {missing[0]!r}")
    entry = JournalEntry(**data)
    for name in _TEXT_FIELDS:
        if not isinstance(getattr(entry, name), str):
            raise ValueError(f"{name} must be a string")
    for name in _OPTIONAL_FIELDS:
        if not isinstance(getattr(entry, name), str | None):
            raise ValueError(f"{name} must be a string or null")
    if entry.kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    return entry


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


class Journal:
    """Safe to append from several apply workers at once: one line per record, each on disk
    (fsync) before append returns, so a record written before a policy write survives a crash."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._handle: IO[bytes] | None = None
        self.skipped: list[str] = []
        """Lines entries() could not read, each with its place and why."""

    def open(self) -> None:
        """Open for appending now, so an unwritable journal stops apply before its first write."""
        with self._lock:
            self._open_locked()

    def _open_locked(self) -> IO[bytes]:
        if self._handle is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                handle = self.path.open("ab")
                # A crash can leave a partial last line: start ours on a fresh one.
                if handle.tell() > 0 and not _ends_with_newline(self.path):
                    handle.write(b"\n")
            except OSError as exc:
                raise BucketshareError(
                    f"{self.path}: cannot write the journal ({exc.strerror}); nothing was written to AWS"
                ) from exc
            self._handle = handle
        return self._handle

    def append(self, entry: JournalEntry) -> None:
        record = asdict(entry)
        if entry.rolls_back is None:
            # Apply's records stay exactly as the previous version wrote them, so it can still
            # read a journal this version appended to.
            del record["rolls_back"]
        line = (json.dumps(record, sort_keys=True) + "\n").encode("utf-8")
        try:
            with self._lock:
                handle = self._open_locked()
                handle.write(line)
                handle.flush()
                descriptor = handle.fileno()
            # Outside the lock: concurrent fsyncs of one file coalesce instead of queueing.
            os.fsync(descriptor)
        except OSError as exc:
            # A full disk or a file-size limit: the record announcing a write could not be kept,
            # so that write must not happen (append comes before every write).
            raise BucketshareError(
                f"{self.path}: cannot write the journal ({exc.strerror}); {entry.bucket} was not "
                "written, and apply stopped"
            ) from exc

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def entries(self) -> list[JournalEntry]:
        """Every complete record. A line that is not one (a crash mid-write, a hand edit) is
        skipped and named in `skipped`: one bad line must not cost every other bucket its rollback."""
        if not self.path.exists():
            raise BucketshareError(f"{self.path}: journal not found")
        entries = []
        self.skipped = []
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    entries.append(_entry(json.loads(raw.decode("utf-8"))))
                except (UnicodeDecodeError, json.JSONDecodeError, TypeError, ValueError) as exc:
                    self.skipped.append(f"{self.path}:{number}:1: skipped, not a journal entry ({exc})")
        return entries

    def runs(self) -> list[ApplyRun]:
        """Every apply run, oldest first, with the rollbacks of each. A rollback record of the
        previous version names no run: it undid the latest write to its bucket, so it belongs to
        the latest apply run that wrote that bucket before it."""
        rollback_runs: dict[str, bool] = {}
        applies: dict[str, ApplyRun] = {}
        latest: dict[str, str] = {}
        for entry in self.entries():
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
