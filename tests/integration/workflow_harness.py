"""The workflows run here: a GitHub stand-in, the harness that runs a workflow's jobs against
moto, and the events and grants the workflow tests share."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.report.review_marks import parse_review

from .conftest import MotoAws
from .faultproxy import FaultProxy
from .workflow_runner import (
    JobResult,
    Run,
    clean_env,
    load_workflow,
    run_workflow,
)

ROOT = Path(__file__).resolve().parents[2]

WORKFLOWS = ROOT / ".github" / "workflows"

FAKE_GH = Path(__file__).with_name("fake_gh.py")

REPO = "acme/bucketshare"

BOT = "github-actions[bot]"

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}

# From ../shared/ACTIONS.md: the only commits workflows may pin.
PINS = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "aws-actions/configure-aws-credentials": ("e6de054238d6b7531b4efff3b6587d9aade6a06c", "v6.2.3"),
}

FORK_MARKER = "<!-- bucketshare-fork-notice -->"

REFUSED_MARKER = "<!-- bucketshare-apply-refused -->"

APPLY_MARKER = "<!-- bucketshare-apply -->"

DRIFT_MARKER = "<!-- bucketshare-drift -->"


def sha(label: str) -> str:
    return (label.encode().hex() * 40)[:40]


class GitHub:
    """The fake gh's store, read and written between workflow runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.save({"repository": REPO, "token_user": BOT, "comments": {}, "issues": {}, "commit_pulls": {}})

    def load(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        return data

    def save(self, data: dict[str, Any]) -> None:
        self.path.write_text(json.dumps(data), encoding="utf-8")

    def update(self, **values: Any) -> None:
        self.save({**self.load(), **values})

    def open_pr(self, number: int, others: int = 0) -> None:
        data = self.load()
        comments = data["comments"].setdefault(str(number), [])
        for index in range(others):
            comments.append(comment(data, f"reviewer{index % 3}", f"looks fine {index}"))
        self.save(data)

    def add_comment(self, number: int, login: str, body: str) -> int:
        data = self.load()
        made = comment(data, login, body)
        data["comments"].setdefault(str(number), []).append(made)
        self.save(data)
        return int(made["id"])

    def merge(self, number: int, head: str, merge_sha: str, commits: list[str] | None = None) -> None:
        """Pull request `number` (last head `head`) merged as merge_sha; a rebase merge lands
        several commits, the last of them its merge_commit_sha."""
        data = self.load()
        merged = {
            "number": number,
            "merge_commit_sha": merge_sha,
            "merged_at": "2026-01-02T00:00:00Z",
            "head": {"sha": head},
        }
        # A PR that merely contains the commit is not the one that merged it.
        unmerged = {**merged, "number": number + 1000, "merge_commit_sha": sha("o"), "merged_at": None}
        for commit in commits or [merge_sha]:
            data["commit_pulls"][commit] = [unmerged, merged]
        data.setdefault("pulls", {})[str(number)] = {"number": number, "head": {"sha": head}}
        self.save(data)

    def set_head(self, number: int, head: str) -> None:
        data = self.load()
        data.setdefault("pulls", {})[str(number)] = {"number": number, "head": {"sha": head}}
        self.save(data)

    def deployments(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.load().get("deployments", [])
        return found

    def comments(self, number: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.load()["comments"].get(str(number), [])
        return found

    def bot_comments(self, number: int, marker: str) -> list[dict[str, Any]]:
        return [
            c for c in self.comments(number) if c["user"]["login"] == BOT and c["body"].startswith(marker)
        ]

    def writes(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.load().get("writes", [])
        return found

    def add_issue(self, login: str, body: str, labels: list[str]) -> int:
        data = self.load()
        number = 500 + len(data["issues"])
        data["issues"][str(number)] = {
            "number": number,
            "title": "planted",
            "body": body,
            "state": "open",
            "labels": [{"name": n} for n in labels],
            "user": {"login": login},
        }
        self.save(data)
        return number

    def issues(self) -> list[dict[str, Any]]:
        return list(self.load()["issues"].values())


def comment(data: dict[str, Any], login: str, body: str) -> dict[str, Any]:
    data["next_id"] = data.get("next_id", 1000) + 1
    return {"id": data["next_id"], "user": {"login": login}, "body": body}


class Harness:
    """A small repository checkout, its GitHub (fake gh store) and its AWS account (moto)."""

    def __init__(self, tmp: Path, moto: MotoAws, proxy: FaultProxy) -> None:
        self.moto, self.proxy = moto, proxy
        self.account = moto.new_account()
        self.repo = tmp / "repo"
        (self.repo / "shares").mkdir(parents=True)
        (self.repo / "reconciler.yaml").write_text("version: 1\n", encoding="utf-8")
        shutil.copytree(ROOT / "scripts", self.repo / "scripts", ignore=shutil.ignore_patterns("__pycache__"))
        self.gh = GitHub(tmp / "github.json")
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        wrapper = bin_dir / "gh"
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_GH}" "$@"\n', encoding="utf-8")
        wrapper.chmod(0o755)
        home = tmp / "home"
        home.mkdir()
        self.base_env = clean_env(home, [bin_dir, Path(sys.executable).parent])
        self.base_env["FAKE_GH_STORE"] = str(self.gh.path)
        self.vars = {
            "BUCKETSHARE_PLAN_ROLE_ARN": f"arn:aws:iam::{self.account}:role/bucketshare-plan",
            "BUCKETSHARE_APPLY_ROLE_ARN": f"arn:aws:iam::{self.account}:role/bucketshare-apply",
        }
        self.runs = 0
        self.started: dict[str, tuple[str, str, dict[str, Any], str]] = {}
        """run id -> (workflow, event name, event, commit): what a re-run runs again."""
        self.last: dict[str, JobResult] = {}
        """The jobs of the last apply run."""
        self.last_run = ""
        """The id of the last apply run."""
        self.artifacts = tmp / "artifacts"
        # Real git history, as the runner's checkout has it: plans run with --changed-since
        # HEAD^1, the PR's base (plan.yml) or the merge's first parent (apply.yml).
        self.git("init", "-q", "-b", "main")
        # What the jobs write into the checkout is never part of a commit.
        outputs = ["*.json", "*.md", "*.jsonl", "*.log", "report/", "fetched/", "shard*/", "result*/"]
        (self.repo / ".git" / "info" / "exclude").write_text("\n".join(outputs) + "\n", encoding="utf-8")
        self.main = self.commit("base", [])

    def git(self, *args: str) -> str:
        env = {**self.base_env, **GIT_IDENTITY}
        done = subprocess.run(["git", *args], cwd=self.repo, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def commit(self, message: str, parents: list[str]) -> str:
        """The working tree as a commit on `parents`, checked out (HEAD detached)."""
        self.git("add", "-A")
        tree = self.git("write-tree")
        commit = self.git("commit-tree", tree, "-m", message, *(a for p in parents for a in ("-p", p)))
        self.git("update-ref", "--no-deref", "HEAD", commit)
        return commit

    def merge_to_main(self, message: str) -> None:
        """The working tree lands on main (a squash merge or a direct push)."""
        self.main = self.commit(message, [self.main])
        self.git("update-ref", "refs/heads/main", self.main)

    def aws_login(self, role_arn: str) -> dict[str, str]:
        match = re.fullmatch(r"arn:aws:iam::(\d{12}):role/.+", role_arn)
        assert match, f"not a role ARN: {role_arn!r}"
        return {
            "AWS_ENDPOINT_URL": self.proxy.url,
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            **self.moto.credentials(match.group(1)),
        }

    def bucket(self) -> str:
        return self.moto.create_bucket(self.account, "wf")

    def declare(self, bucket: str, *grants: str) -> None:
        text = f'version: 1\nbucket: {bucket}\naccount: "{self.account}"\nowner: ml-platform\ngrants:\n'
        (self.repo / "shares" / f"{bucket}.yaml").write_text(text + "".join(grants), encoding="utf-8")

    def run(
        self,
        workflow: str,
        event_name: str,
        event: dict[str, Any],
        head: str,
        only: list[str] | None = None,
        rerun_of: str | None = None,
    ) -> dict[str, JobResult]:
        """One run of the workflow; with rerun_of, that run's next attempt (same id and event)."""
        if workflow == "plan.yml":
            self.commit("refs/pull/N/merge", [self.main])  # GitHub's test merge onto the base
        # Every job of GitHub's starts on a fresh runner: no folder an earlier run fetched into.
        for folder in ("shards", "shard", "results", "result", "report", "fetched"):
            shutil.rmtree(self.repo / folder, ignore_errors=True)
        (self.repo / "journal.jsonl").unlink(missing_ok=True)
        data = self.gh.load()
        data["branches"] = {"main": self.main}  # what `GET branches/main` answers
        if rerun_of is None:
            self.runs += 1
            run_id, attempt = str(4200 + self.runs), 1
            branch = "feature" if event_name == "pull_request" else "main"
            record: dict[str, Any] = {"id": int(run_id), "path": f".github/workflows/{workflow}"}
            record.update(head_branch=branch, head_sha=head, event=event_name, jobs=[])
            record["head_repository"] = {"full_name": REPO}
        else:
            run_id, record = rerun_of, data["runs"][rerun_of]
            attempt = int(record["run_attempt"]) + 1
        # GitHub's record of the run, as `GET actions/runs/{id}` answers: no conclusion while it runs.
        data.setdefault("runs", {})[run_id] = {**record, "run_attempt": attempt, "status": "in_progress"}
        data["runs"][run_id]["conclusion"] = None
        self.gh.save(data)
        run = Run(
            self.repo,
            event_name,
            event,
            REPO,
            head,
            dict(self.vars),
            dict(self.base_env),
            self.aws_login,
            run_id=run_id,
            run_attempt=str(attempt),
        )
        run.on_upload = lambda name, path: self.upload(run.run_id, name, path)
        self.started[run_id] = (workflow, event_name, event, head)
        jobs = run_workflow(WORKFLOWS / workflow, run, only)
        self._finish_run(workflow, run_id, attempt, jobs)
        return jobs

    def _finish_run(self, workflow: str, run_id: str, attempt: int, jobs: dict[str, JobResult]) -> None:
        jobs_of = load_workflow(WORKFLOWS / workflow)["jobs"]
        names = {job_id: job.get("name", job_id) for job_id, job in jobs_of.items()}
        data = self.gh.load()
        record = data["runs"][run_id]
        record["jobs"] += [
            {"name": names[job_id], "conclusion": job.result, "run_attempt": attempt}
            for job_id, job in jobs.items()
            if job_id in names
        ]
        failed = any(job.result == "failure" for job in jobs.values())
        record.update(status="completed", conclusion="failure" if failed else "success")
        self.gh.save(data)

    def upload(self, run_id: str, name: str, path: Path) -> None:
        """What actions/upload-artifact keeps: a copy, listed for this run by the fake gh."""
        data = self.gh.load()
        artifacts = data.setdefault("artifacts", [])
        folder = self.artifacts / f"{len(artifacts)}-{name}"
        if path.is_dir():
            shutil.copytree(path, folder)
        else:
            folder.mkdir(parents=True)
            shutil.copy(path, folder / path.name)
        artifacts.append({"id": 9000 + len(artifacts), "name": name, "run_id": run_id, "dir": str(folder)})
        self.gh.save(data)

    def plan_pr(self, number: int, head: str) -> JobResult:
        self.gh.set_head(number, head)
        return self.run("plan.yml", "pull_request", pr_event(number, head), sha("merge-ref"), ["plan"])[
            "plan"
        ]

    def merge(self, number: int, head: str) -> str:
        """The working tree lands on main as pull request `number`'s squash merge."""
        self.merge_to_main(f"merge #{number}")
        self.gh.merge(number, head, self.main)
        return self.main

    def checkout(self, commit: str) -> None:
        """The runner's checkout of commit: its tree in the working folder, HEAD on it."""
        self.git("read-tree", "-u", "--reset", commit)
        self.git("update-ref", "--no-deref", "HEAD", commit)

    def push(self) -> JobResult:
        """The apply run of a push of main's head; its apply job."""
        self.checkout(self.main)
        event = {"ref": "refs/heads/main", "after": self.main, "repository": {"full_name": REPO}}
        self.last = self.run("apply.yml", "push", event, self.main)
        self.last_run = str(4200 + self.runs)
        return self.last["apply"]

    def schedule(self) -> JobResult:
        """The hourly apply run: main's head at the time it fires; its apply job."""
        self.checkout(self.main)
        self.last = self.run("apply.yml", "schedule", {"schedule": "37 * * * *"}, self.main)
        self.last_run = str(4200 + self.runs)
        return self.last["apply"]

    def rerun(self, run_id: str | None = None) -> JobResult:
        """Re-run all jobs of an apply run (the last one by default): the same run id and
        commit, its next attempt; main's tree is left as it is."""
        run_id = run_id or self.last_run
        workflow, event_name, event, head = self.started[run_id]
        self.checkout(head)
        self.last = self.run(workflow, event_name, event, head, rerun_of=run_id)
        self.checkout(self.main)
        return self.last["apply"]

    def dispatch(self, digest: str) -> JobResult:
        self.checkout(self.main)
        event = {"ref": "refs/heads/main", "inputs": {"approve_digest": digest}}
        self.last = self.run("apply.yml", "workflow_dispatch", event, self.main)
        return self.last["apply"]

    def drift(self, event_name: str = "schedule") -> JobResult:
        event = {"schedule": "17 6 * * *"} if event_name == "schedule" else {"inputs": {}}
        return self.run("drift.yml", event_name, event, sha("main"))["drift"]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """reconciler as a person with the apply role runs it, outside any workflow."""
        env = {**self.base_env, **self.aws_login(self.vars["BUCKETSHARE_APPLY_ROLE_ARN"])}
        return subprocess.run(
            ["reconciler", *args], cwd=self.repo, env=env, capture_output=True, text=True, check=False
        )

    def digest(self, name: str = "plan.json") -> str:
        return str(json.loads((self.repo / name).read_text(encoding="utf-8"))["digest"])

    def policy_text(self, bucket: str) -> str | None:
        return self.moto.policy_text(self.account, bucket)


def pr_event(number: int, head: str, fork: bool = False) -> dict[str, Any]:
    head_repo = "someone/bucketshare" if fork else REPO
    return {
        "number": number,
        "pull_request": {"number": number, "head": {"sha": head, "repo": {"full_name": head_repo}}},
        "repository": {"full_name": REPO},
    }


def grant(to: str, expires: dt.date | None = None, prefixes: str | None = None) -> str:
    text = f'  - to: "{to}"\n    access: read\n'
    if prefixes:
        text += f"    prefixes: [{prefixes}]\n"
    return text + (f"    expires: {expires.isoformat()}\n" if expires else "")


def review_of(body: str) -> tuple[str, str | None] | None:
    return parse_review(body)


@pytest.fixture
def h(tmp_path: Path, moto: MotoAws, moto_endpoint: str) -> Iterator[Harness]:
    with FaultProxy(moto_endpoint) as proxy:
        yield Harness(tmp_path, moto, proxy)
