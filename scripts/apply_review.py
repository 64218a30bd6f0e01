"""Decide whether apply may run: only changes reviewed on a merged PR, or a digest approved by hand.

    python scripts/apply_review.py --plan plan.json --markdown plan.md --since SHA --refused-out FILE

The plan covers everything changed since --since, the last commit applied (empty: no record
yet, a full plan). The pull requests merged in since..GITHUB_SHA are found from the commits
on main's first-parent line (`commits/{sha}/pulls`); each one's plan comment (the one rule
in ghapi.marked_comment, made for the PR's last head) says which bucket changes its
reviewers saw. Apply may go ahead when every change of the plan is one of those (or the
plan's digest is one reviewed whole, or APPROVE_DIGEST, the workflow_dispatch input).

Writes the step outputs `prs` (the merged pull requests, space-separated) and, when apply
may go ahead, `expect_digest`. Otherwise writes the refused comment to --refused-out, sets
`refused=true` and exits 1; the report job posts it (it alone may comment on a commit).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import ghapi

from reconciler.plan.digest import Reviewed, check_digest_text, plan_digest, unreviewed_changes
from reconciler.plan.file_read import loads
from reconciler.plan.model import Plan
from reconciler.report.markdown_text import escape
from reconciler.report.review_marks import MARKER, parse_review, parse_reviewed

REFUSED_MARKER = "<!-- bucketshare-apply-refused -->"


class Review(NamedTuple):
    pr: int
    digest: str | None
    """None: this PR's comment is not trusted (why says so)."""
    why: str
    buckets: Reviewed | None = None


def first_parent_commits(since: str, sha: str) -> list[str]:
    """The commits main gained since `since` (just `sha` without a record), oldest first."""
    if not since:
        return [sha]
    done = subprocess.run(
        ["git", "rev-list", "--first-parent", "--reverse", f"{since}..{sha}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"::error::git rev-list {since}..{sha}: {done.stderr.strip()}")
    return done.stdout.split()


def merged_prs(repo: str, commits: list[str]) -> list[dict[str, Any]]:
    """The pull requests whose merge landed one of these commits, in merge order."""
    landed = set(commits)
    found: dict[int, dict[str, Any]] = {}
    for commit in commits:
        for pr in ghapi.get(f"repos/{repo}/commits/{commit}/pulls"):
            # A rebase merge lands several commits; its merge_commit_sha is the last of them.
            if pr.get("merged_at") and pr.get("merge_commit_sha") in landed:
                found.setdefault(int(pr["number"]), dict(pr))
    return list(found.values())


def review_of(repo: str, pr: dict[str, Any]) -> Review:
    """What the PR's reviewers saw: THE plan comment, if it was made for the PR's last head."""
    number = int(pr["number"])
    comments = ghapi.get_all(f"repos/{repo}/issues/{number}/comments")
    found = ghapi.marked_comment(comments, MARKER)
    if found.others:
        return Review(number, None, f"pull request #{number}: {found.others_text()}; none is trusted")
    review = None if found.comment is None else parse_review(str(found.comment["body"]))
    if found.comment is None or review is None:
        return Review(number, None, f"pull request #{number} has no plan comment by {ghapi.BOT_LOGIN}")
    digest, commit = review
    head = str(pr["head"]["sha"])
    if commit != head:
        why = f"pull request #{number}: its plan comment was made for commit {commit}, not the head {head}"
        return Review(number, None, why)
    buckets = parse_reviewed(str(found.comment["body"]))
    why = f"reviewed on pull request #{number} at commit {head}"
    if buckets is None:
        # More buckets changed than the comment can list: bucket by bucket, nothing matches.
        why += " (its comment lists no buckets, too many changed to keep: only its whole digest can match)"
    return Review(number, digest, why, buckets)


def decide(plan: Plan, reviews: list[Review], approved: str) -> tuple[bool, list[str]]:
    """(apply?, what no review showed, bucket by bucket)."""
    new = plan_digest(plan)
    if approved:
        return approved == new, []
    trusted = [r for r in reviews if r.digest is not None]
    if any(r.digest == new for r in trusted):
        return True, []
    problems = unreviewed_changes([r.buckets for r in trusted if r.buckets is not None], plan)
    return not problems, problems


def refused_body(sha: str, seen: list[str], new: str, markdown: str, problems: list[str]) -> str:
    moved = ""
    if problems:
        moved = "What no review showed:\n\n" + "\n".join(f"- {escape(p)}" for p in problems) + "\n\n"
    head = f"""{REFUSED_MARKER}
## bucketshare apply: nothing applied

The plan of commit `{sha}` holds changes that were not reviewed, so nothing was written.

{chr(10).join(seen)}
- new digest: `{new}`

Something changed since the review: a bucket policy was edited by hand, pull requests merged
in another order than they were planned, a branch moved after its last plan, or a commit was
pushed without a pull request. The new plan is below. If it is right, a maintainer can apply
exactly this plan by running the **apply** workflow by hand (Run workflow) with
`approve_digest` = `{new}`.

{moved}"""
    note = "_The plan was trimmed to fit a comment; the full plan is in the workflow run._"
    return ghapi.fit(head + ghapi.strip_head(markdown), note)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--markdown", type=Path, required=True)
    parser.add_argument("--since", default="")
    parser.add_argument("--refused-out", type=Path, required=True)
    args = parser.parse_args()
    repo, sha = ghapi.repository(), os.environ["GITHUB_SHA"]
    plan = loads(args.plan.read_text(encoding="utf-8"), str(args.plan))
    new = plan_digest(plan)
    prs = merged_prs(repo, first_parent_commits(args.since, sha))
    ghapi.set_output("prs", " ".join(str(pr["number"]) for pr in prs))
    approved = os.environ.get("APPROVE_DIGEST", "").strip()
    if approved and (problem := check_digest_text(approved)):
        print(f"::error::{problem}")
        return 1
    reviews = [review_of(repo, pr) for pr in prs]
    ok, problems = decide(plan, reviews, approved)
    if approved:
        seen = [f"- approved digest (the approve_digest input): `{approved}`"]
    elif not reviews:
        span = f"since {args.since}" if args.since else f"commit {sha}"
        seen = [f"- no review: no pull request merged the commits {span}"]
    else:
        seen = [f"- `{r.digest}`: {r.why}" if r.digest else f"- no review: {r.why}" for r in reviews]
    if ok:
        print(f"apply {new}: " + "; ".join(line.removeprefix("- ") for line in seen))
        ghapi.set_output("expect_digest", new)
        return 0
    body = refused_body(sha, seen, new, args.markdown.read_text(encoding="utf-8"), problems)
    args.refused_out.parent.mkdir(parents=True, exist_ok=True)
    args.refused_out.write_text(body, encoding="utf-8")
    ghapi.set_output("refused", "true")
    ghapi.write_summary(body)
    print(f"::error::nothing applied: the new plan {new} holds changes that were not reviewed")
    return 1


if __name__ == "__main__":
    sys.exit(main())
