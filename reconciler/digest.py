"""The digest of a plan: what a reviewer approved, so apply on merge runs nothing else.

One line per bucket that changes (put-policy or delete-policy), sorted by bucket:
`bucket<TAB>account<TAB>action<TAB>live_hash<TAB>new_hash`, where live_hash is the hash of
the live policy text the plan was made against and new_hash the hash of the exact text
apply would write (`none` for a delete). The digest is `sha256:` + SHA-256 of those lines,
each ended by a newline. Buckets without a change, errors and all prose are left out:
two plans with equal digests write the same bytes to the same buckets from the same
starting point.
"""

from __future__ import annotations

import hashlib
import re

from reconciler.plan import BucketAction, Plan, policy_hash

DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}\Z")


def digest_lines(plan: Plan) -> list[str]:
    rows = [
        "\t".join(
            (b.bucket, b.account, b.action.value, b.live_hash, policy_hash(b.new_policy_text))
        )
        for b in plan.buckets
        if b.action in (BucketAction.PUT, BucketAction.DELETE)
    ]
    return sorted(rows)


def plan_digest(plan: Plan) -> str:
    body = "".join(line + "\n" for line in digest_lines(plan))
    return "sha256:" + hashlib.sha256(body.encode("utf-8")).hexdigest()


def check_digest_text(text: str) -> str | None:
    """A problem with a digest given on the command line, or None."""
    if DIGEST_RE.match(text):
        return None
    return f"{text!r} is not a plan digest; copy the sha256:... value shown in the plan"
