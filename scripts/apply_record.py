"""The record of what apply applied: a GitHub Deployment of `production` per successful apply.

    python scripts/apply_record.py last
        refuses (exit 1) unless GITHUB_SHA is main's tip; then writes the step output `sha`:
        the last commit applied in full, or empty (no record yet)
    python scripts/apply_record.py record --since SHA --digest DIGEST
        records GITHUB_SHA as applied (a deployment with a `success` status)

GitHub keeps a run's push for at most one pending run per concurrency group: a merge whose
run was cancelled before it started is only applied if the next run plans everything since
the last apply, not since HEAD^1. So every apply that succeeded for every bucket is recorded
where a pull request's plan cannot rewrite it, and the next run plans from there.

GitHub also creates a deployment by itself for every job naming an environment (drift's
too); those say that a job ran, not what was applied. Ours are told apart by their task,
their creator (the workflows' bot) and a status `success` written only after the apply; the
others are never read. Any same-repository pull request's job can write a deployment as the
bot too, so a record counts only when the run it names is GitHub's record of an apply.yml
run of this repository's main (a push, a dispatch or the schedule; not a fork's branch
named main), for that commit, whose record job succeeded. The job, not the whole run: a
report job that failed after the record makes the run red, and passing over its record
would plan from an older commit again. A record that is not an ancestor of this commit
(main was rewritten) is passed over.

Only main's tip is applied. Each run applies everything up to its own commit, so a run of
an older commit (a re-run of an earlier run) has nothing to add and could only put back
what a later merge took away: it stops before any AWS call, and the tip's run applies.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from typing import Any

import ghapi

TASK = "bucketshare-apply"
ENVIRONMENT = "production"
LOOKED_AT = 30
"""Records read, newest first: only successful applies write one, so the first usually does."""


RECORD_JOB = "record the commit as applied"
"""The `name:` of the job that writes the record, in both modes of apply.yml."""
EVENTS = {"push", "workflow_dispatch", "schedule"}
"""The events an apply run of main starts from (a pull request's run never records)."""


class NotApplicable(Exception):
    """This run must not apply: its commit is not main's tip, or is behind the last applied."""


def main_tip(repo: str) -> str:
    return str(ghapi.get(f"repos/{repo}/branches/main")["commit"]["sha"])


def check_tip(repo: str, head: str) -> None:
    tip = main_tip(repo)
    if tip != head:
        raise NotApplicable(
            f"main has moved to {tip} since this run's commit {head}; nothing applied here: "
            f"the run of {tip} (or the hourly catch-up run) applies everything up to it, this commit included"
        )


def _is_ancestor(older: str, newer: str) -> bool:
    done = subprocess.run(
        ["git", "merge-base", "--is-ancestor", older, newer], capture_output=True, text=True, check=False
    )
    return done.returncode == 0


def _succeeded(repo: str, deployment: dict[str, Any]) -> bool:
    statuses = ghapi.get(f"repos/{repo}/deployments/{deployment['id']}/statuses")
    return any(status.get("state") == "success" for status in statuses)


WORKFLOW = ".github/workflows/apply.yml"


def _from_an_apply_run(repo: str, deployment: dict[str, Any]) -> str | None:
    """Why the record is not an apply run's own, or None when it is."""
    run_id = str((deployment.get("payload") or {}).get("run_id", ""))
    if not run_id.isdigit():
        return "it names no run"
    run = ghapi.get(f"repos/{repo}/actions/runs/{run_id}")
    head_repo = (run.get("head_repository") or {}).get("full_name")
    facts = (run.get("path"), run.get("head_branch"), run.get("head_sha"), head_repo)
    if facts != (WORKFLOW, "main", deployment.get("sha"), repo) or run.get("event") not in EVENTS:
        return f"run {run_id} is not a {WORKFLOW} run of {repo}'s main for {deployment.get('sha')}"
    # Every attempt's jobs: a record written by a first attempt stays true after a re-run.
    jobs = ghapi.get(f"repos/{repo}/actions/runs/{run_id}/jobs?filter=all&per_page=100")["jobs"]
    if not any(job.get("name") == RECORD_JOB and job.get("conclusion") == "success" for job in jobs):
        return f"run {run_id} has no successful job {RECORD_JOB!r}"
    return None


def records(repo: str) -> list[dict[str, Any]]:
    """Our deployments, newest first: this task, written by the workflows' bot."""
    found = ghapi.get(f"repos/{repo}/deployments?environment={ENVIRONMENT}&task={TASK}&per_page={LOOKED_AT}")
    return [d for d in found if d.get("task") == TASK and ghapi.by_creator_bot(d)]


def last_applied(repo: str, head: str) -> str | None:
    for deployment in records(repo):
        sha = str(deployment["sha"])
        if not _succeeded(repo, deployment):
            continue
        if (why := _from_an_apply_run(repo, deployment)) is not None:
            print(f"::warning::deployment {deployment['id']} is not a record of an apply: {why}")
            continue
        if sha != head and _is_ancestor(head, sha):
            # A re-run of an older run: planning it would undo what a later merge applied.
            raise NotApplicable(
                f"commit {head} is older than {sha}, which was applied already; "
                "nothing to do here (re-run the newest apply run instead)"
            )
        if _is_ancestor(sha, head):
            return sha
        print(f"::warning::the applied commit {sha} is not in this commit's history (main was rewritten)")
    return None


def record(repo: str, sha: str, digest: str) -> None:
    deployment = ghapi.send(
        "POST",
        f"repos/{repo}/deployments",
        {
            "ref": sha,
            "task": TASK,
            "environment": ENVIRONMENT,
            # The commit is applied as it is: no merge of the default branch into it, and
            # no wait for commit statuses (apply already ran).
            "auto_merge": False,
            "required_contexts": [],
            "payload": {"digest": digest, "run_id": os.environ.get("GITHUB_RUN_ID", "")},
            "description": f"bucketshare applied {digest or 'nothing (live already matched)'}",
        },
    )
    ghapi.send(
        "POST",
        f"repos/{repo}/deployments/{deployment['id']}/statuses",
        {"state": "success", "log_url": ghapi.run_url(), "description": "every bucket applied"},
    )
    print(f"recorded {sha} as applied (deployment {deployment['id']})")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("last")
    write = sub.add_parser("record")
    write.add_argument("--since", default="")
    write.add_argument("--digest", default="")
    args = parser.parse_args(argv)
    repo, head = ghapi.repository(), os.environ["GITHUB_SHA"]
    if args.command == "last":
        try:
            check_tip(repo, head)
            sha = last_applied(repo, head)
        except (NotApplicable, ghapi.GhError) as exc:
            print(f"::error::{exc}")
            return 1
        ghapi.set_output("sha", sha or "")
        print(f"last applied: {sha}" if sha else "no apply recorded yet: a full plan")
        return 0
    if args.since == head:
        print(f"{head} is recorded as applied already")
        return 0
    record(repo, head, args.digest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
