"""The digest of a plan: what a reviewer approved, so apply on merge runs nothing else.

One line per bucket that changes (put-policy, delete-policy or create-bucket), and per KMS
key whose policy changes (`kms: manage`, named by its ARN), sorted:
`bucket<TAB>account<TAB>action<TAB>live_hash<TAB>new_hash`, where live_hash is the hash of
the live policy text the plan was made against (`no-bucket` for a bucket to create)
and new_hash the hash of the exact text apply would write (`none` for a delete). For a
create-bucket, new_hash covers what the creation is as well as the policy: SHA-256 of
`create-bucket region=R versioning=on|off` and a newline, then the policy text (nothing
when there is none), so a plan whose region, versioning or policy differs has another
digest. The digest is `sha256:` + SHA-256 of those lines, each ended by a newline. Buckets
without a change, errors and all prose are left out: two plans with equal digests write
the same bytes to the same buckets from the same starting point.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zlib

from reconciler.plan.model import BucketPlan, Plan, policy_hash

DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}\Z")


def digest_lines(plan: Plan) -> list[str]:
    # A key policy's line names the key ARN where a bucket's names the bucket: they never collide.
    rows = [
        "\t".join((b.bucket, b.account, b.action.value, b.live_hash, new_hash(b)))
        for b in plan.policies
        if b.writes
    ]
    return sorted(rows)


def new_hash(bucket: BucketPlan) -> str:
    """The hash of what apply would do to the bucket: its new policy text, and for a creation
    also the bucket's settings (a create reviewed is the create applied)."""
    if bucket.create is None:
        return policy_hash(bucket.new_policy_text)
    versioning = "on" if bucket.create.versioning else "off"
    head = f"create-bucket region={bucket.create.region} versioning={versioning}\n"
    return policy_hash(head + (bucket.new_policy_text or ""))


def plan_digest(plan: Plan) -> str:
    return digest_of(digest_lines(plan))


def digest_of(lines: list[str]) -> str:
    """The digest of a plan's digest_lines: for a renderer that also encodes them (a comment),
    as hashing every new policy twice cost a large plan a second."""
    body = "".join(line + "\n" for line in lines)
    return "sha256:" + hashlib.sha256(body.encode("utf-8")).hexdigest()


def check_digest_text(text: str) -> str | None:
    """A problem with a digest given on the command line, or None."""
    if DIGEST_RE.match(text):
        return None
    return f"{text!r} is not a plan digest; copy the sha256:... value shown in the plan"


Reviewed = dict[str, tuple[str, str, str]]
"""bucket -> (action, live hash, new hash) of one reviewed plan, as the comment records it."""


OLD_SHORT = 16
"""Hex digits of each hash that reviewed-bucket lists of earlier versions kept: still read
(a prefix match, until the pull request's next plan rewrites its comment), never written.
A list now keeps full hashes, as the digest does: the list approves changes bucket by
bucket, so a truncated hash would be a weaker check than the digest it stands beside."""
MAX_REVIEWED_CHARS = 16_000
"""Above this (about 150 changing buckets) the list is left out of the comment: the digest
alone decides, and a refusal names the pull request whose list was too long to keep."""


def encode_reviewed(lines: list[str]) -> str | None:
    """A plan's digest_lines, compact and comment-safe: what a later run checks, bucket by bucket."""
    body = "\n".join(lines).encode("utf-8")
    text = base64.b64encode(zlib.compress(body, 9)).decode("ascii")
    return text if len(text) <= MAX_REVIEWED_CHARS else None


def decode_reviewed(text: str) -> Reviewed | None:
    """bucket -> (action, live hash, new hash) as reviewed; None when text is not ours."""
    try:
        # A bounded inflate: the comment is untrusted, and must not become a zip bomb.
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base64.b64decode(text, validate=True), 1 << 20)
        if inflater.unconsumed_tail:
            return None
        lines = raw.decode("utf-8").split("\n") if raw else []
        rows = [line.split("\t") for line in lines]
    except (ValueError, zlib.error, UnicodeDecodeError):
        return None
    if any(len(row) != 5 for row in rows):
        return None
    return {row[0]: (row[2], row[3], row[4]) for row in rows}


def _changes(plan: Plan) -> Reviewed:
    return {
        bucket: (action, live, new)
        for bucket, _, action, live, new in (line.split("\t") for line in digest_lines(plan))
    }


def _same_hash(reviewed: str, now: str) -> bool:
    if len(reviewed) == OLD_SHORT and not reviewed.startswith("sha256:"):
        return now.removeprefix("sha256:")[:OLD_SHORT] == reviewed
    return reviewed == now


def _same(reviewed: tuple[str, str, str] | None, now: tuple[str, str, str] | None) -> bool:
    if reviewed is None or now is None:
        return reviewed is now
    return reviewed[0] == now[0] and _same_hash(reviewed[1], now[1]) and _same_hash(reviewed[2], now[2])


def _moved(bucket: str, before: tuple[str, str, str], after: tuple[str, str, str]) -> str:
    """How a change differs from the last review that showed its bucket."""
    if before[0] != after[0]:
        # e.g. a bucket to create that someone created meanwhile: now a put-policy.
        return f"{bucket}: was {before[0]} in the reviewed plan, is {after[0]} now"
    if not _same_hash(before[1], after[1]):
        return f"{bucket}: its live policy changed since review (a hand edit or another merge)"
    return f"{bucket}: the planned policy differs from the reviewed one ({after[0]})"


def unreviewed_changes(reviews: list[Reviewed], plan: Plan) -> list[str]:
    """One sentence per change of plan that no review showed exactly; empty: all were reviewed.

    Review is per bucket: every change (its action, the live policy it starts from and what
    it writes) must be one that some reviewed plan showed, so several pull requests merged
    between two applies are applied together, each bucket as its own reviewers saw it. A
    bucket that no longer changes needs no review: nothing is written to it.
    """
    found = []
    for bucket, change in sorted(_changes(plan).items()):
        shown = [review[bucket] for review in reviews if bucket in review]
        if any(_same(seen, change) for seen in shown):
            continue
        if not shown:
            found.append(f"{bucket}: changes ({change[0]}) but no reviewed plan showed it")
        else:
            # The last review that showed the bucket says best what moved since.
            found.append(_moved(bucket, shown[-1], change))
    return found
