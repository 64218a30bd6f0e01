"""Report an apply: the job summary, and a comment on the merged PR (or on the commit).

    python scripts/apply_report.py --log apply.log --exitcode N [--pr N] [--digest D]

apply.log is what `reconciler apply` printed: `BUCKET: ok: ...` / `BUCKET: FAILED: reason`
lines, then `N bucket(s) applied, M failed`. Exits with --exitcode, so a failed apply fails
the job after the comment is written.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import ghapi

from reconciler.report.markdown import code_block

APPLY_MARKER = "<!-- bucketshare-apply -->"


def report_body(log: str, exitcode: int, digest: str, sha: str) -> str:
    lines = log.splitlines()
    failed = [line for line in lines if ": FAILED: " in line]
    applied = [line for line in lines if ": ok: " in line]
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--exitcode", type=int, required=True)
    parser.add_argument("--pr", default="")
    parser.add_argument("--digest", default="")
    args = parser.parse_args()
    repo, sha = ghapi.repository(), os.environ["GITHUB_SHA"]
    log = args.log.read_text(encoding="utf-8") if args.log.exists() else ""
    body = report_body(log, args.exitcode, args.digest, sha)
    ghapi.write_summary(body)
    if args.pr:
        ghapi.send("POST", f"repos/{repo}/issues/{int(args.pr)}/comments", {"body": body})
    else:
        ghapi.send("POST", f"repos/{repo}/commits/{sha}/comments", {"body": body})
    return int(args.exitcode)


if __name__ == "__main__":
    sys.exit(main())
