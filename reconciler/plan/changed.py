"""Which buckets a partial plan covers: those declared in files changed since a revision.

Both sides count: a bucket declared in a changed file now, and a bucket the file declared
at the revision (so a grant moved between buckets, or a deleted file, plans every bucket
it touched). A changed reconciler.yaml, or a file at the revision that no longer parses,
or a change to the reconciler's own code, means a full plan: anything could render
differently.

A partial plan need not load all of shares/ either: ChangedBuckets picks its buckets from
the index declare/tree.py builds (every file's bucket: lines), so only the files that declare
them are loaded, in full, and checked as a full load checks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.declare.config import Config
from reconciler.declare.index import Declared
from reconciler.declare.share_file import load_text
from reconciler.declare.tree import Chooser
from reconciler.errors import errors_only
from reconciler.live.changes import ChangedShares
from reconciler.plan.scopes import AccountScope
from reconciler.policy.desired import DesiredState


@dataclass(frozen=True)
class Selection:
    ref: str
    everything: bool
    reason: str = ""
    """Why the plan is full after all."""
    declared: frozenset[str] = frozenset()
    """Declared buckets to plan."""
    undeclared: tuple[tuple[str, str], ...] = ()
    """(bucket, account) declared only at the revision: planned for removal of our statements."""


def select_changed(state: DesiredState, changed: ChangedShares) -> Selection:
    """The selection, from a full load of shares/."""
    if changed.everything is not None:
        return Selection(changed.ref, True, changed.everything)
    before = declared_before(changed, state.config)
    if isinstance(before, Selection):
        return before
    declared = {
        share.bucket
        for share in state.declarations.buckets
        if any(Path(location.path).resolve() in changed.current for location in share.locations)
    }
    return _selection(changed.ref, declared, {b.bucket for b in state.buckets}, before)


def declared_before(changed: ChangedShares, config: Config) -> dict[str, str] | Selection:
    """bucket -> account as the changed files declared them at the revision; or, when one of
    them does not load there, a full selection saying so."""
    before: dict[str, str] = {}
    for path, text in changed.previous:
        documents, problems = load_text(text, path, config)
        if errors_only(problems):
            return Selection(changed.ref, True, f"{path} does not load at {changed.ref}")
        for document in documents:
            if document.account is not None:
                before.setdefault(document.bucket, document.account)
    return before


def _selection(ref: str, changed_now: set[str], now: set[str], before: dict[str, str]) -> Selection:
    declared = changed_now | (before.keys() & now)
    undeclared = tuple(sorted((b, a) for b, a in before.items() if b not in now))
    return Selection(ref, False, declared=frozenset(declared), undeclared=undeclared)


class ChangedBuckets:
    """A partial load's chooser (declare/tree.py's Chooser) for a pull request's plan: the
    buckets declared in changed files now or at the revision. Once the load has chosen,
    `selection` is what select_changed would say after a full load."""

    def __init__(self, changed: ChangedShares, before: dict[str, str]) -> None:
        self.changed = changed
        self.before = before
        self.selection = Selection(changed.ref, False)

    def __call__(self, declared: list[tuple[Declared, Path]]) -> frozenset[str]:
        resolved = {path: path.resolve() for path in {path for _, path in declared}}
        changed_now = {d.bucket for d, path in declared if resolved[path] in self.changed.current}
        now = {d.bucket for d, _ in declared}
        self.selection = _selection(self.changed.ref, changed_now, now, self.before)
        return self.selection.declared

    def outside(self, path: Path) -> bool:
        """A file the change leaves alone: were it broken, it was broken at the revision too."""
        return path.resolve() not in self.changed.current


def scope_buckets(scope: AccountScope) -> Chooser:
    """A partial load's chooser for one shard or some accounts: every bucket that any of its
    documents says an account in scope owns (two owners for one bucket is an error the load
    must still see)."""

    def choose(declared: list[tuple[Declared, Path]]) -> frozenset[str]:
        return frozenset(d.bucket for d, _ in declared if d.account is not None and scope.includes(d.account))

    return choose
