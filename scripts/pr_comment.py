"""Create or update the workflow's one comment of a kind on a pull request.

The kind is the body's first line (a hidden marker such as `<!-- bucketshare-plan -->`).
The existing comment is searched among ALL the PR's comments (paginated) and must be
authored by the workflow's bot; which one is THE comment is `ghapi.marked_comment`, the
rule apply_review.py trusts by too. A comment anybody else wrote with the same marker is
never edited; a second one by the bot is named in a visible warning on the first.

    python scripts/pr_comment.py --pr N --body-file plan.md [--itself-since REV]
    python scripts/pr_comment.py --pr N --fork-notice --soft-fail
    python scripts/pr_comment.py --pr N --mark-outdated

--itself-since REV (the base: HEAD^1 of GitHub's test merge): when the pull request changes
files besides shares/ and reconciler.yaml since REV, the first visible line says the plan
was produced by the changed code. That line is advisory: it is written by the code under
review (a pull request that edits this script or plan.yml can leave it out); the control is
code-owner review of those paths (`reconciler codeowners`).
--mark-outdated is for a run whose plan job was skipped or failed: when the plan comment
was made for another commit than the pull request's head now, its first visible line says
it is outdated.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

import ghapi

from reconciler.report.review_marks import MARKER, parse_review

FORK_MARKER = "<!-- bucketshare-fork-notice -->"
FORK_NOTICE = f"""{FORK_MARKER}
## bucketshare: validation only

This pull request comes from a fork, so it ran validation only: fork pull requests never get
AWS credentials. The live plan (which apply on merge checks against) runs once a maintainer
pushes this branch to this repository and opens the pull request from there.
"""
ITSELF = (
    "**This pull request changes bucketshare itself: the plan below was produced by the changed code.**"
    " Review the code change as well as the plan."
)
OUTDATED = "**Outdated:**"
DUPLICATE = "**Warning:**"
NOTICES = (ITSELF, OUTDATED, DUPLICATE)
"""How each line this script puts above the visible plan starts, so a later edit replaces it."""


DECLARATIONS = ("shares/", "reconciler.yaml")
"""What a pull request may change while the plan still runs main's bucketshare code."""


def changes_itself(base: str) -> bool:
    """Whether the checkout changes anything but declarations since base."""
    excluded = [f":(exclude){path}" for path in DECLARATIONS]
    done = subprocess.run(
        ["git", "diff", "--name-only", base, "HEAD", "--", ".", *excluded],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"::error::git diff {base} HEAD: {done.stderr.strip()}")
    return bool(done.stdout.strip())


def outdated_line(commit: str | None, head: str) -> str:
    return (
        f"{OUTDATED} this plan was made for commit `{commit or 'unknown'}`, not for the pull request's "
        f"head `{head}`: the plan did not run or failed for the head (see its checks). Apply does not "
        "trust it; push again or re-run the plan once the checks pass."
    )


def duplicate_line(found: ghapi.Marked) -> str:
    return (
        f"{DUPLICATE} {found.others_text()}. Any job of a pull request can post as the bot, so "
        "apply trusts no plan comment of this pull request while they exist: delete them and re-run "
        "the plan, or a maintainer applies the plan by hand with `approve_digest`."
    )


def _split_notices(body: str) -> tuple[list[str], list[str], list[str]]:
    """(hidden head, our notice lines, the rest) of a comment body."""
    head, rest = ghapi.split_head(body)
    notices = []
    while rest and rest[0].startswith(NOTICES):
        notices.append(rest[0])
        rest = rest[2:] if len(rest) > 1 and rest[1] == "" else rest[1:]
    return head, notices, rest


def with_notices(body: str, notices: list[str]) -> str:
    """body with these notice lines (any earlier ones removed) as the first visible lines."""
    head, _, rest = _split_notices(body)
    added = [line for notice in notices for line in (notice, "")]
    return "\n".join(head + added + rest)


def upsert(pr: int, body: str, notices: list[str]) -> str:
    """Edit the bot's comment carrying body's marker, or create it; returns what was done."""
    repo = ghapi.repository()
    marker = ghapi.first_line(body)
    if not marker.startswith(ghapi.HEAD_PREFIX):
        raise SystemExit(f"the comment body must start with a bucketshare marker, not {marker[:60]!r}")
    found = ghapi.marked_comment(ghapi.get_all(f"repos/{repo}/issues/{pr}/comments"), marker)
    if found.others:
        print(f"::warning::pull request #{pr}: {found.others_text()}; apply trusts none of them")
        notices = [*notices, duplicate_line(found)]
    body = ghapi.fit(
        with_notices(body, notices), "_Trimmed to fit a comment; the full plan is in the workflow run._"
    )
    if found.comment is not None:
        comment_id = found.comment["id"]
        ghapi.send("PATCH", f"repos/{repo}/issues/comments/{comment_id}", {"body": body})
        return f"updated comment {comment_id} on #{pr}"
    created = ghapi.send("POST", f"repos/{repo}/issues/{pr}/comments", {"body": body})
    return f"created comment {created['id']} on #{pr}"


def mark_outdated(pr: int) -> str:
    repo = ghapi.repository()
    # The head now, not the event's: a newer push may have started a newer run meanwhile.
    head = str(ghapi.get(f"repos/{repo}/pulls/{pr}")["head"]["sha"])
    found = ghapi.marked_comment(ghapi.get_all(f"repos/{repo}/issues/{pr}/comments"), MARKER)
    comment: dict[str, Any] | None = found.comment
    review = None if comment is None else parse_review(str(comment["body"]))
    if comment is None or review is None:
        return f"no plan comment on #{pr}"
    if review[1] == head:
        return f"the plan comment on #{pr} is for the head {head}"
    kept = [line for line in _split_notices(str(comment["body"]))[1] if line.startswith(ITSELF)]
    notices = [outdated_line(review[1], head), *kept]
    if found.others:
        notices.append(duplicate_line(found))
    body = with_notices(str(comment["body"]), notices)
    ghapi.send("PATCH", f"repos/{repo}/issues/comments/{comment['id']}", {"body": body})
    return f"marked the plan comment on #{pr} outdated: made for {review[1]}, the head is {head}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pr", type=int, required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--body-file", type=Path)
    source.add_argument("--fork-notice", action="store_true")
    source.add_argument("--mark-outdated", action="store_true")
    parser.add_argument("--itself-since", metavar="REV", default="")
    parser.add_argument(
        "--soft-fail",
        action="store_true",
        help="on HTTP 403 (a fork's read-only token) write the body to the job summary instead",
    )
    args = parser.parse_args()
    body = FORK_NOTICE if args.fork_notice else ""
    try:
        if args.mark_outdated:
            print(mark_outdated(args.pr))
            return 0
        if args.body_file is not None:
            body = args.body_file.read_text(encoding="utf-8")
        itself = bool(args.itself_since) and changes_itself(args.itself_since)
        print(upsert(args.pr, body, [ITSELF] if itself else []))
    except ghapi.GhError as exc:
        if not (args.soft_fail and exc.forbidden):
            print(exc, file=sys.stderr)
            return 1
        ghapi.write_summary(body)
        print("::notice::could not comment on the pull request (read-only token); see the job summary")
    return 0


if __name__ == "__main__":
    sys.exit(main())
