"""Decide whether apply may run: only the plan a reviewer saw, or the digest a maintainer approved.

    python scripts/apply_review.py --plan plan.json --markdown plan.md

Reads GITHUB_REPOSITORY, GITHUB_SHA and APPROVE_DIGEST (workflow_dispatch input, may be
empty). Finds the pull request that merged GITHUB_SHA, reads the plan comment the bot
wrote on it, and compares its digest with the plan just made of the merge commit. Writes
the step outputs `pr` and, when apply may go ahead, `expect_digest`. Otherwise posts the
new plan (on the PR, or on the commit for a push without one) and exits 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import ghapi

from reconciler.digest import changes_since_review, check_digest_text, plan_digest
from reconciler.plan import Plan
from reconciler.report.jsonplan import loads
from reconciler.report.markdown import MARKER, escape, parse_review, parse_reviewed

REFUSED_MARKER = "<!-- bucketshare-apply-refused -->"


def merged_pr(repo: str, sha: str) -> dict[str, Any] | None:
    pulls = ghapi.get(f"repos/{repo}/commits/{sha}/pulls")
    for pr in pulls:
        if pr.get("merge_commit_sha") == sha and pr.get("merged_at"):
            return dict(pr)
    return None


Reviewed = dict[str, tuple[str, str, str]]


def reviewed_digest(repo: str, pr: dict[str, Any]) -> tuple[str | None, str, Reviewed | None]:
    """(digest, why, reviewed buckets) of the last bot plan comment for the PR's last head."""
    comments = ghapi.get_all(f"repos/{repo}/issues/{pr['number']}/comments")
    bodies = [c["body"] for c in ghapi.bot_items_marked(comments, MARKER) if parse_review(c["body"])]
    if not bodies:
        return None, f"pull request #{pr['number']} has no plan comment by {ghapi.BOT_LOGIN}", None
    review = parse_review(bodies[-1])
    assert review is not None
    digest, commit = review
    head = str(pr["head"]["sha"])
    if commit != head:
        why = f"the last plan comment was made for commit {commit}, not the head commit {head}"
        return None, why, None
    return digest, f"reviewed on pull request #{pr['number']} at commit {head}", parse_reviewed(bodies[-1])


def moved_since_review(reviewed: Reviewed | None, plan: Plan) -> str:
    """Bucket by bucket, what differs from the reviewed plan (when the comment listed it)."""
    if reviewed is None:
        return ""
    lines = [f"- {escape(line)}" for line in changes_since_review(reviewed, plan)]
    return "What changed since review:\n\n" + "\n".join(lines) + "\n\n" if lines else ""


def refused_body(sha: str, seen: str, new: str, markdown: str, moved: str) -> str:
    head = f"""{REFUSED_MARKER}
## bucketshare apply: nothing applied

The plan of commit `{sha}` is not the plan that was approved, so nothing was written.

{seen}
- new digest: `{new}`

Something changed since the review: another pull request merged first, a bucket policy was
edited by hand, the branch moved after its last plan, or this commit was pushed without a
pull request. The new plan is below. If it is right, a maintainer can apply exactly this plan
by running the **apply** workflow by hand (Run workflow) with `approve_digest` = `{new}`.

{moved}"""
    note = "_The plan was trimmed to fit a comment; the full plan is in the workflow run._"
    return ghapi.fit(head + ghapi.strip_head(markdown), note)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--markdown", type=Path, required=True)
    args = parser.parse_args()
    repo, sha = ghapi.repository(), os.environ["GITHUB_SHA"]
    plan = loads(args.plan.read_text(encoding="utf-8"), str(args.plan))
    new = plan_digest(plan)
    pr = merged_pr(repo, sha)
    ghapi.set_output("pr", str(pr["number"]) if pr else "")
    approved = os.environ.get("APPROVE_DIGEST", "").strip()
    moved = ""
    if approved:
        problem = check_digest_text(approved)
        if problem:
            print(f"::error::{problem}")
            return 1
        reviewed, why = approved, "given as approve_digest"
        seen = f"- approved digest (the approve_digest input): `{approved}`"
    elif pr is None:
        reviewed, why = None, f"no pull request merged commit {sha}"
        seen = f"- no review: {why}"
    else:
        reviewed, why, buckets = reviewed_digest(repo, pr)
        moved = moved_since_review(buckets, plan)
        seen = f"- reviewed digest: `{reviewed}` ({why})" if reviewed else f"- no review: {why}"
    if reviewed == new:
        print(f"apply {new}: {why}")
        ghapi.set_output("expect_digest", new)
        return 0
    body = refused_body(sha, seen, new, args.markdown.read_text(encoding="utf-8"), moved)
    if pr is not None:
        ghapi.send("POST", f"repos/{repo}/issues/{pr['number']}/comments", {"body": body})
    else:
        ghapi.send("POST", f"repos/{repo}/commits/{sha}/comments", {"body": body})
    ghapi.write_summary(body)
    print(f"::error::nothing applied: the new plan {new} was not reviewed ({why})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
