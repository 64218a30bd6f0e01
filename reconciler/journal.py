"""An append-only JSON-lines journal of every policy write, written before the write.

It holds the exact previous policy text, so nothing a bucket held before bucketshare
touched it is ever lost, and `reconciler rollback` can restore it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from reconciler.errors import BucketshareError


@dataclass(frozen=True)
class JournalEntry:
    run: str
    time: str
    bucket: str
    account: str
    action: str
    """put-policy, delete-policy, or rollback."""
    previous_policy: str | None
    new_policy: str | None
    outcome: str
    """pending (written before the call), applied, or failed."""
    message: str = ""
    written_hash: str | None = None
    """Hash of the policy read back after an applied write: rollback's stale check."""


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, entry: JournalEntry) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(entry), sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def entries(self) -> list[JournalEntry]:
        if not self.path.exists():
            raise BucketshareError(f"{self.path}: journal not found")
        entries = []
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    entries.append(JournalEntry(**json.loads(raw.decode("utf-8"))))
                except (UnicodeDecodeError, json.JSONDecodeError, TypeError) as exc:
                    raise BucketshareError(f"{self.path}:{number}:1: not a journal entry ({exc})") from exc
        return entries

    def last_applied(self) -> dict[str, JournalEntry]:
        """Per bucket, the most recent write that took effect."""
        latest: dict[str, JournalEntry] = {}
        for entry in self.entries():
            if entry.outcome == "applied":
                latest[entry.bucket] = entry
        return latest
