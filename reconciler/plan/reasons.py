"""The sentences a change carries: who gains or loses what, the ACL condition, expiry-only changes."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from reconciler.plan.explain import AccessChange, change_sentences
from reconciler.plan.model import ChangeKind, StatementChange
from reconciler.policy.normalize import same_statements
from reconciler.policy.render import DesiredBucket

_ACL_SENTENCE = (
    "uploads must set the bucket-owner-full-control ACL (s3:x-amz-acl), so that under the bucket's "
    "Object Ownership BucketOwnerPreferred every object another account writes becomes the owner's"
)


_ACL_SPLIT_SENTENCE = (
    "replaced by separate read and write statements: the upload ACL condition of BucketOwnerPreferred "
    "must not apply to reads"
)


_ACL_READS_SENTENCE = (
    "holds the reads of read-write grants, split from their writes: the upload ACL condition of "
    "BucketOwnerPreferred must not apply to reads"
)


_ACL_DROPPED_SENTENCE = (
    "uploads no longer need the bucket-owner-full-control ACL: the bucket's Object Ownership is now "
    "BucketOwnerEnforced (ACLs off, the owner owns every object), so reads and writes render as before"
)


def holds_acl_condition(ours: list[Any]) -> bool:
    """Whether our live statements were written for BucketOwnerPreferred."""
    return any("s3:x-amz-acl" in json.dumps(s).lower() for s in ours)


def _acl_sentence(change: StatementChange, acl_required: bool) -> str:
    if not acl_required:
        return _ACL_DROPPED_SENTENCE
    if change.kind is ChangeKind.REMOVE:
        return _ACL_SPLIT_SENTENCE
    return _ACL_SENTENCE if "s3:x-amz-acl" in json.dumps(change.after) else _ACL_READS_SENTENCE


def explained_changes(
    changes: list[StatementChange],
    rows: tuple[AccessChange, ...],
    sid_prefix: str,
    acl_sids: frozenset[str] = frozenset(),
    acl_required: bool = False,
) -> list[StatementChange]:
    """Each change with the reviewer's sentences for it (worded by reconciler.plan.explain)."""
    explained = []
    for c in changes:
        sentences = c.sentences or change_sentences(c.sid, c.kind, c.before, c.after, rows, sid_prefix)
        if c.sid in acl_sids and not any(r.sid == c.sid for r in rows):
            sentences = (_acl_sentence(c, acl_required),)
        explained.append(replace(c, sentences=sentences))
    return explained


def is_expiry_only(desired: DesiredBucket | None, ours: list[Any], partition: str) -> bool:
    """True when the live statements are exactly what rendered before some grants expired."""
    if desired is None or not desired.has_expired():
        return False  # nothing expired: no need to render what would have been
    # The canonical form keeps the Sid: different Sids can never be the same statements.
    if sorted(str(s.get("Sid")) for s in ours) != desired.sids_with_expired():
        return False
    return same_statements(ours, [w.statement for w in desired.with_expired or ()], partition)
