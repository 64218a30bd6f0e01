"""Report an apply: the job summary, and a comment on each merged PR (or on the commit).

    python scripts/apply_report.py result --outcomes apply.json... --log apply.log --exitcode N \
        [--prs "N M"] [--digest D]
    python scripts/apply_report.py refused --body refused.md [--prs "N M"]

apply.json is what `reconciler apply --format json` printed (one per shard in matrix mode):
each policy's outcome, by kind; the comment lists the applied and the failed ones. apply.log
is what it said to people, whose last lines stand in when no outcome says why the apply
failed (it stopped before writing, or a shard left no result). `result` exits with --exitcode, so a failed
apply fails the job after the comments are written. --prs are the pull requests merged
since the last apply (apply_review.py's output): every one of them gets the comment, as one
run applies them together; with none (a push without a pull request) the commit gets it.
A refused plan is not posted again where the bot's last refused comment says the same: the
hourly catch-up run refuses the same range until somebody acts, and must not repeat itself.
This runs in a job without AWS credentials: the only one that may write commit comments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import ghapi

from reconciler.execute.outcome import OutcomeKind
from reconciler.report.markdown_text import code_block

APPLY_MARKER = "<!-- bucketshare-apply -->"
UNSETTLED = (OutcomeKind.UNKNOWN.value, OutcomeKind.NOT_STARTED.value)


def read_outcomes(paths: list[Path]) -> list[dict[str, Any]]:
    """The outcomes of every apply.json that exists and parses (a shard that crashed left none)."""
    outcomes: list[dict[str, Any]] = []
    for path in paths:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        found = document.get("outcomes") if isinstance(document, dict) else None
        outcomes += [o for o in found or () if isinstance(o, dict)]
    return outcomes


def _line(outcome: dict[str, Any], status: str) -> str:
    return f"{outcome.get('shown')}: {status}: {outcome.get('message')}"


def report_body(outcomes: list[dict[str, Any]], log: str, exitcode: int, digest: str, sha: str) -> str:
    lines = log.splitlines()
    applied = [_line(o, "ok") for o in outcomes if o.get("ok") is True]
    # Left in flight (unknown) or never begun: neither applied nor known to have failed.
    failed = [_line(o, "FAILED") for o in outcomes if o.get("ok") is False and o.get("kind") not in UNSETTLED]
    verdict = "applied" if exitcode == 0 else "FAILED"
    parts = [
        APPLY_MARKER,
        f"## bucketshare apply: {verdict}",
        "",
        f"Commit `{sha}`, plan digest `{digest or 'none'}`: applied {len(applied)}, "
        f"failed {len(failed)}. Run: {ghapi.run_url()}",
        "",
    ]
    if applied:
        parts += ["Applied:", "", code_block(applied), ""]
    if exitcode != 0:
        parts += ["Failed buckets and why:", "", code_block(failed or lines[-20:] or ["(no output)"]), ""]
        parts += [
            "**How to re-run:** run the **apply** workflow again (Actions, apply, Run workflow). Apply",
            "plans again from the live policies, so buckets already written are no-ops and the",
            "rest converge; if the new plan differs from the reviewed one it asks for",
            "`approve_digest`. To undo this run, download the `bucketshare-journal` artifact and",
            "run `reconciler rollback journal.jsonl` with the apply role.",
            "",
        ]
    note = "_Trimmed to fit a comment; the full output is in the workflow run._"
    return ghapi.fit("\n".join(parts), note)


def _said_already(path: str, body: str) -> bool:
    """Whether the bot's last comment of body's kind at path is body itself."""
    mine = ghapi.bot_items_marked(ghapi.get_all(path), ghapi.first_line(body))
    return bool(mine) and mine[-1].get("body") == body


def post(body: str, prs: str, once: bool = False) -> None:
    repo, sha = ghapi.repository(), os.environ["GITHUB_SHA"]
    numbers = [int(number) for number in prs.split()]
    paths = [f"repos/{repo}/issues/{number}/comments" for number in numbers]
    for path in paths or [f"repos/{repo}/commits/{sha}/comments"]:
        if once and _said_already(path, body):
            print(f"{path}: this refusal was posted already")
            continue
        ghapi.send("POST", path, {"body": body})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    result = sub.add_parser("result")
    result.add_argument("--outcomes", type=Path, nargs="*", default=[])
    result.add_argument("--log", type=Path, required=True)
    result.add_argument("--exitcode", type=int, required=True)
    result.add_argument("--digest", default="")
    refused = sub.add_parser("refused")
    refused.add_argument("--body", type=Path, required=True)
    for command in (result, refused):
        command.add_argument("--prs", default="")
    args = parser.parse_args()
    if args.command == "refused":
        post(args.body.read_text(encoding="utf-8"), args.prs, once=True)
        return 0
    log = args.log.read_text(encoding="utf-8") if args.log.exists() else ""
    outcomes = read_outcomes(args.outcomes)
    body = report_body(outcomes, log, args.exitcode, args.digest, os.environ["GITHUB_SHA"])
    ghapi.write_summary(body)
    post(body, args.prs)
    return int(args.exitcode)


if __name__ == "__main__":
    sys.exit(main())
