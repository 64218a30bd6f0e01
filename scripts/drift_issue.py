"""Keep ONE open issue labelled `drift` in step with the scheduled plan.

    python scripts/drift_issue.py --markdown drift.md --exitcode N [--apply-log apply.log]

--exitcode is the second plan's `--detailed-exitcode`: 2 (drift) or 1 (errors) opens the
issue or updates its body; 0 closes it with a comment. The issue is found by label and
marker among open issues and must be authored by the workflow's bot, so an issue anybody
else opened with the same label and marker is left alone.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import ghapi

from reconciler.report.markdown_text import code_block

DRIFT_MARKER = "<!-- bucketshare-drift -->"
LABEL = "drift"
TITLE = "bucketshare: live bucket policies differ from shares/"


def find_issue(repo: str) -> dict[str, Any] | None:
    found = ghapi.get_all(f"repos/{repo}/issues?state=open&labels={LABEL}")
    # The issues endpoint lists pull requests too.
    issues = [i for i in found if "pull_request" not in i]
    mine = ghapi.bot_items_marked(issues, DRIFT_MARKER)
    return mine[0] if mine else None


def issue_body(markdown: str, exitcode: int, applied: str) -> str:
    what = "plan errors" if exitcode == 1 else "drift"
    parts = [
        DRIFT_MARKER,
        f"The scheduled run found {what} at commit `{os.environ.get('GITHUB_SHA', '')}`: {ghapi.run_url()}",
        "",
        "Fix it with a pull request to shares/ (or undo the hand edit); with `drift: fix` in",
        "reconciler.yaml the scheduled run applies drift itself. This issue closes when a",
        "scheduled run finds nothing left to change.",
        "",
    ]
    if applied.strip():
        parts += ["This run's unattended apply (expired grants only):", ""]
        parts += [code_block(applied.splitlines()), ""]
    note = "_The plan was trimmed to fit an issue; the full plan is in the workflow run._"
    return ghapi.fit("\n".join(parts) + ghapi.strip_head(markdown), note)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--markdown", type=Path, required=True)
    parser.add_argument("--exitcode", type=int, required=True)
    parser.add_argument("--apply-log", type=Path, default=None)
    args = parser.parse_args()
    repo = ghapi.repository()
    issue = find_issue(repo)
    if args.exitcode == 0:
        if issue is None:
            ghapi.write_summary("No drift: live bucket policies match shares/.")
            print("no drift")
            return 0
        number = issue["number"]
        sha = os.environ.get("GITHUB_SHA", "")
        text = f"No drift left as of commit `{sha}` ({ghapi.run_url()}); closing."
        ghapi.send("POST", f"repos/{repo}/issues/{number}/comments", {"body": text})
        ghapi.send("PATCH", f"repos/{repo}/issues/{number}", {"state": "closed", "state_reason": "completed"})
        ghapi.write_summary(f"No drift; closed issue #{number}.")
        print(f"closed issue #{number}")
        return 0
    markdown = args.markdown.read_text(encoding="utf-8") if args.markdown.exists() else "(no plan written)"
    applied = ""
    if args.apply_log is not None and args.apply_log.exists():
        applied = args.apply_log.read_text(encoding="utf-8")
    body = issue_body(markdown, args.exitcode, applied)
    ghapi.write_summary(ghapi.strip_head(body))
    if issue is None:
        new_issue = {"title": TITLE, "body": body, "labels": [LABEL]}
        created = ghapi.send("POST", f"repos/{repo}/issues", new_issue)
        print(f"opened issue #{created['number']}")
    else:
        ghapi.send("PATCH", f"repos/{repo}/issues/{issue['number']}", {"body": body})
        print(f"updated issue #{issue['number']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
