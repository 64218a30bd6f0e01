"""An append-only JSON-lines journal of every policy write, written before the write.

It holds the exact previous policy text, so nothing a bucket held before bucketshare
touched it is ever lost, and `reconciler rollback` can restore it.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict
from pathlib import Path
from typing import IO

from reconciler.errors import BucketshareError
from reconciler.execute.apply_run import ApplyRun, group_runs
from reconciler.execute.journal_entry import JournalEntry, entry_from_json


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
                    entries.append(entry_from_json(json.loads(raw.decode("utf-8"))))
                except (UnicodeDecodeError, json.JSONDecodeError, TypeError, ValueError) as exc:
                    self.skipped.append(f"{self.path}:{number}:1: skipped, not a journal entry ({exc})")
        return entries

    def runs(self) -> list[ApplyRun]:
        """Every apply run, oldest first, with the rollbacks of each (see group_runs)."""
        return group_runs(self.entries())
