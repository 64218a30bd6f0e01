"""A policy as read from AWS, or why it could not be read: what the edge returns to the planner."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from reconciler.live.facts import BucketFacts


class ReadError(StrEnum):
    """What kind of failure a read was, decided by the AWS edge from the error code."""

    DENIED = "denied"
    NO_BUCKET = "no-bucket"
    OTHER = "other"


@dataclass(frozen=True)
class LivePolicy:
    """One bucket's policy as the AWS edge read it."""

    bucket: str
    account: str
    text: str | None
    """The policy text as returned; None when the bucket has no policy."""
    error: str | None = None
    error_kind: ReadError | None = None
    """Set with error; decides what plan does, so rewording a message never changes a plan."""
    facts: BucketFacts | None = None
    """Object Ownership and default encryption, read for declared buckets only; None: not read."""
