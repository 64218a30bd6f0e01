"""One record of the journal: its fields, the words of its actions, and checking a record read
back (a journal is a file anyone can edit)."""

from __future__ import annotations

import datetime as dt
from dataclasses import MISSING, dataclass, fields

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


def entry_from_json(data: object) -> JournalEntry:
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
