"""Which buckets a partial plan covers: those declared in files changed since a revision.

Both sides count: a bucket declared in a changed file now, and a bucket the file declared
at the revision (so a grant moved between buckets, or a deleted file, plans every bucket
it touched). A changed reconciler.yaml, or a file at the revision that no longer parses,
or a change to the reconciler's own code, means a full plan: anything could render
differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.declare.share_file import load_text
from reconciler.errors import errors_only
from reconciler.live.changes import ChangedShares
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
    if changed.everything is not None:
        return Selection(changed.ref, True, changed.everything)
    declared = {
        share.bucket
        for share in state.declarations.buckets
        if any(Path(location.path).resolve() in changed.current for location in share.locations)
    }
    before: dict[str, str] = {}
    for path, text in changed.previous:
        documents, problems = load_text(text, path, state.config)
        if errors_only(problems):
            return Selection(changed.ref, True, f"{path} does not load at {changed.ref}")
        for document in documents:
            if document.account is not None:
                before.setdefault(document.bucket, document.account)
    now = {b.bucket for b in state.buckets}
    declared |= before.keys() & now
    undeclared = tuple(sorted((b, a) for b, a in before.items() if b not in now))
    return Selection(changed.ref, False, declared=frozenset(declared), undeclared=undeclared)
