"""The hidden lines of a plan comment: the marker, the reviewed digest and the reviewed buckets."""

from __future__ import annotations

import re

from reconciler.plan.digest import decode_reviewed, encode_reviewed

MARKER = "<!-- bucketshare-plan -->"
"""First line of every plan comment: how the workflows find the one comment per PR."""


_REVIEW_LINE = re.compile(
    r"^<!-- bucketshare-review digest=(sha256:[0-9a-f]{64}) commit=([0-9a-f]{7,64}|none) -->$"
)


_REVIEWED_LINE = re.compile(r"^<!-- bucketshare-reviewed-buckets ([A-Za-z0-9+/=]*) -->$")


def review_line(digest: str, commit: str | None) -> str:
    """The hidden second line: the digest reviewers saw and the commit it was planned on."""
    return f"<!-- bucketshare-review digest={digest} commit={commit or 'none'} -->"


def reviewed_line(digest_lines: list[str]) -> str | None:
    """The hidden third line: the changing buckets (a plan's digest_lines), so apply can say
    what moved since review."""
    encoded = encode_reviewed(digest_lines)
    return None if encoded is None else f"<!-- bucketshare-reviewed-buckets {encoded} -->"


def parse_reviewed(body: str) -> dict[str, tuple[str, str, str]] | None:
    """The reviewed buckets from a plan comment's third line, or None when absent."""
    if parse_review(body) is None:
        return None
    lines = body.replace("\r\n", "\n").split("\n", 3)
    match = _REVIEWED_LINE.match(lines[2]) if len(lines) > 2 else None
    return None if match is None else decode_reviewed(match.group(1))


def parse_review(body: str) -> tuple[str, str | None] | None:
    """(digest, commit) from a plan comment's head, or None when it is not one.

    Only the first two lines count: anything further down is rendered plan content, and
    text from YAML or a live policy must never pass for a marker.
    """
    lines = body.replace("\r\n", "\n").split("\n", 2)
    if len(lines) < 2 or lines[0] != MARKER:
        return None
    match = _REVIEW_LINE.match(lines[1])
    if match is None:
        return None
    commit = match.group(2)
    return match.group(1), None if commit == "none" else commit
