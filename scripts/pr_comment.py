"""Create or update the workflow's one comment of a kind on a pull request.

The kind is the body's first line (a hidden marker such as `<!-- bucketshare-plan -->`).
The existing comment is searched among ALL the PR's comments (paginated) and must be
authored by the workflow's bot: a comment anybody else wrote with the same marker is
never edited, and apply never trusts it.

    python scripts/pr_comment.py --pr N --body-file plan.md
    python scripts/pr_comment.py --pr N --fork-notice --soft-fail
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import ghapi

FORK_MARKER = "<!-- bucketshare-fork-notice -->"
FORK_NOTICE = f"""{FORK_MARKER}
## bucketshare: validation only

This pull request comes from a fork, so it ran validation only: fork pull requests never get
AWS credentials. The live plan (which apply on merge checks against) runs once a maintainer
pushes this branch to this repository and opens the pull request from there.
"""


def upsert(pr: int, body: str) -> str:
    """Edit the bot's comment carrying body's marker, or create it; returns what was done."""
    repo = ghapi.repository()
    marker = ghapi.first_line(body)
    if not marker.startswith("<!-- bucketshare-"):
        raise SystemExit(f"the comment body must start with a bucketshare marker, not {marker[:60]!r}")
    comments = ghapi.get_all(f"repos/{repo}/issues/{pr}/comments")
    mine = ghapi.bot_items_marked(comments, marker)
    body = ghapi.fit(body, "_Trimmed to fit a comment; the full plan is in the workflow run._")
    if mine:
        comment_id = mine[0]["id"]
        ghapi.send("PATCH", f"repos/{repo}/issues/comments/{comment_id}", {"body": body})
        return f"updated comment {comment_id} on #{pr}"
    created = ghapi.send("POST", f"repos/{repo}/issues/{pr}/comments", {"body": body})
    return f"created comment {created['id']} on #{pr}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pr", type=int, required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--body-file", type=Path)
    source.add_argument("--fork-notice", action="store_true")
    parser.add_argument(
        "--soft-fail",
        action="store_true",
        help="on HTTP 403 (a fork's read-only token) write the body to the job summary instead",
    )
    args = parser.parse_args()
    body = FORK_NOTICE if args.fork_notice else args.body_file.read_text(encoding="utf-8")
    try:
        print(upsert(args.pr, body))
    except ghapi.GhError as exc:
        if not (args.soft_fail and exc.forbidden):
            print(exc, file=sys.stderr)
            return 1
        ghapi.write_summary(body)
        print("::notice::could not comment on the pull request (read-only token); see the job summary")
    return 0


if __name__ == "__main__":
    sys.exit(main())
