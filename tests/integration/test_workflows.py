"""The GitHub workflows, run here: their `run:` steps with bash against moto and a fake `gh`.

workflow_runner.py runs each job's steps as the runner would; fake_gh.py answers the
`gh api` calls from a JSON store and records every write; AWS is the moto server behind a
recording proxy, reached only with the variables the configure-aws-credentials stand-in
exports for the role the workflow names (each role ARN's account is the test's account).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from reconciler.report.review_marks import MARKER

from .faultproxy import access_denied
from .workflow_harness import (
    APPLY_MARKER,
    BOT,
    DRIFT_MARKER,
    FORK_MARKER,
    PINS,
    REFUSED_MARKER,
    REPO,
    WORKFLOWS,
    Harness,
    grant,
    h,
    pr_event,
    review_of,
    sha,
)
from .workflow_runner import (
    Expression,
    Run,
    UnsupportedWorkflow,
    load_workflow,
    run_workflow,
)

__all__ = ["h"]  # the fixture, used by name below

pytestmark = pytest.mark.integration


# ---- the workflow files themselves --------------------------------------------------------


def all_steps(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


@pytest.mark.parametrize("name", ["ci.yml", "plan.yml", "apply.yml", "drift.yml"])
def test_workflow_is_locked_down(name: str) -> None:
    path = WORKFLOWS / name
    workflow = load_workflow(path)
    assert "pull_request_target" not in workflow["on"]
    assert workflow["permissions"] == {}
    for job_id, job in workflow["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"{job_id} has no permissions of its own"
        assert "write-all" not in json.dumps(job["permissions"])
    for job_id, step in all_steps(workflow):
        assert "${{" not in step.get("run", ""), f"{job_id}: expression in run: {step['run']!r}"
        if "uses" in step:
            action, _, ref = step["uses"].partition("@")
            assert PINS[action][0] == ref, f"{step['uses']} is not a pin from ACTIONS.md"
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False
        if "GH_TOKEN" in step.get("env", {}):
            assert step["env"]["GH_TOKEN"] == "${{ github.token }}"
        assert "pip install -e" not in step.get("run", "")
    for line in path.read_text(encoding="utf-8").splitlines():
        if "uses:" in line:
            action = line.split("uses:")[1].split("@")[0].strip()
            assert line.rstrip().endswith(f"# {PINS[action][1]}"), f"no version comment: {line}"


def test_jobs_with_roles_have_exact_grants() -> None:
    plan = load_workflow(WORKFLOWS / "plan.yml")["jobs"]
    assert plan["plan"]["permissions"] == {"id-token": "write", "contents": "read", "pull-requests": "write"}
    assert "id-token" not in plan["validate"]["permissions"]
    assert "id-token" not in plan["fork-notice"]["permissions"]
    for name, job_id in (("apply.yml", "apply"), ("drift.yml", "drift")):
        job = load_workflow(WORKFLOWS / name)["jobs"][job_id]
        assert job["environment"] == "production"
        assert job["concurrency"] == {"group": "bucketshare-apply", "cancel-in-progress": False}
        roles = [s["with"]["role-to-assume"] for s in job["steps"] if "role-to-assume" in s.get("with", {})]
        assert roles == ["${{ vars.BUCKETSHARE_APPLY_ROLE_ARN }}"]
    drift = load_workflow(WORKFLOWS / "drift.yml")["jobs"]["drift"]
    assert drift["permissions"] == {"id-token": "write", "contents": "read", "issues": "write"}
    apply = load_workflow(WORKFLOWS / "apply.yml")["jobs"]["apply"]
    assert apply["permissions"] == {
        "id-token": "write",
        "actions": "read",
        "contents": "read",
        "deployments": "read",
        "pull-requests": "read",
    }
    dispatch = load_workflow(WORKFLOWS / "apply.yml")["on"]["workflow_dispatch"]
    assert "approve_digest" in dispatch["inputs"]
    # The review script already compares digests; reconciler checks again right before writing.
    apply_steps = load_workflow(WORKFLOWS / "apply.yml")["jobs"]["apply"]["steps"]
    [apply_run] = [s["run"] for s in apply_steps if "reconciler apply" in s.get("run", "")]
    assert '--expect-digest "$EXPECT_DIGEST"' in apply_run
    [drift_run] = [s["run"] for s in drift["steps"] if "reconciler apply" in s.get("run", "")]
    assert "--scheduled" in drift_run


HASHED_INSTALL = [
    "python -m pip install --require-hashes -r requirements/apply.txt",
    "python -m pip install --no-deps --no-build-isolation .",
]


SCRIPTS_USING_BUCKETSHARE = (
    "apply_report.py",
    "apply_review.py",
    "drift_issue.py",
    "pr_comment.py",
    "shards.py",
)


@pytest.mark.parametrize("name", ["plan.yml", "apply.yml", "drift.yml"])
def test_jobs_holding_a_write_token_run_only_hash_checked_code_and_write_no_more_than_they_need(
    name: str,
) -> None:
    for job_id, job in load_workflow(WORKFLOWS / name)["jobs"].items():
        permissions = job["permissions"]
        roles = [s["with"]["role-to-assume"] for s in job["steps"] if "role-to-assume" in s.get("with", {})]
        installs = [s["run"].split() for s in job["steps"] if "pip install" in s.get("run", "")]
        runs = " ".join(s.get("run", "") for s in job["steps"])
        # The scripts import bucketshare: a job running one without installing it would crash.
        if any(f"scripts/{script}" in runs for script in SCRIPTS_USING_BUCKETSHARE):
            assert installs, f"{job_id} runs a script that imports bucketshare without installing it"
        # A token that writes (the apply or plan role's OIDC, comments, records) runs no
        # dependency that is not exact and hash-checked.
        if "write" in permissions.values():
            assert installs in ([], [" ".join(HASHED_INSTALL).split()]), job_id
        # Commit comments need contents: write: only in jobs that never get AWS credentials.
        if permissions.get("contents") == "write":
            assert "id-token" not in permissions and roles == [], job_id
        # The token that writes the apply record never sits beside the apply role.
        if permissions.get("deployments") == "write":
            assert "id-token" not in permissions and job["name"] == "record the commit as applied", job_id
            assert any("apply_record.py record" in s.get("run", "") for s in job["steps"]), job_id
    for job_id, step in all_steps(load_workflow(WORKFLOWS / name)):
        upload = str(step.get("uses", "")).startswith("actions/upload-artifact@")
        if upload and "journal" in step["with"]["name"]:
            assert step["with"].get("overwrite") is True, f"{job_id}: a re-run would lose the journal"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vars.UNSET != ''", False),  # an unset variable is null, and null == '' as numbers
        ("vars.SET != ''", True),
        ("vars.UNSET || 'us-east-1'", "us-east-1"),
        ("github.event.pull_request.head.repo.full_name == 'ACME/bucketshare'", True),
        ("!(steps.plan.outputs.exitcode == '2') && always()", False),
        ("steps.missing.outputs.x", None),
        ("inputs.approve_digest", None),
    ],
)
def test_expression_evaluator_follows_github(text: str, expected: Any) -> None:
    contexts = {
        "vars": {"SET": "x"},
        "github": {"event": pr_event(1, sha("h"))},
        "steps": {"plan": {"outputs": {"exitcode": "2"}}},
        "inputs": {},
    }
    status = {"always": True, "success": True, "failure": False, "cancelled": False}
    assert Expression(text).evaluate(contexts, status) == expected


@pytest.mark.parametrize("text", ["contains(github.ref, 'main')", "secrets.TOKEN", "a < b", "github.sha =="])
def test_expression_evaluator_refuses_what_it_does_not_know(text: str) -> None:
    with pytest.raises(UnsupportedWorkflow):
        Expression(text).evaluate({}, {"always": True, "success": True, "failure": False, "cancelled": False})


# ---- plan.yml ---------------------------------------------------------------------------


def test_plan_comment_is_created_then_edited_among_many_comments(h: Harness) -> None:
    bucket = h.bucket()
    h.declare(bucket, grant("222222222222"))
    h.gh.open_pr(7, others=60)
    forged_body = f"{MARKER}\n<!-- bucketshare-review digest=sha256:{'0' * 64} commit={sha('h1')} -->\nok"
    forged = h.gh.add_comment(7, "mallory", forged_body)
    h.gh.open_pr(7, others=60)

    jobs = h.run("plan.yml", "pull_request", pr_event(7, sha("h1")), sha("merge-ref"))
    assert jobs["validate"].result == "success", jobs["validate"].output
    assert jobs["fork-notice"].result == "skipped"
    plan = jobs["plan"]
    assert plan.result == "success", plan.output
    assert plan.step("plan").outputs["exitcode"] == "2"  # changes do not fail the job
    assert plan.aws_logins == [h.vars["BUCKETSHARE_PLAN_ROLE_ARN"]]
    [mine] = h.gh.bot_comments(7, MARKER)
    first = h.digest()
    assert review_of(mine["body"]) == (first, sha("h1"))
    assert bucket in mine["body"]
    assert MARKER in plan.summary and "bucketshare plan" in plan.summary
    assert plan.uploads == [{"name": "bucketshare-plan", "path": "plan.json", "exists": True}]

    # The next push: the same comment is edited, found past the first page of 100.
    h.declare(bucket, grant("222222222222"), grant("333333333333"))
    plan = h.run("plan.yml", "pull_request", pr_event(7, sha("h2")), sha("merge-ref2"))["plan"]
    assert plan.result == "success", plan.output
    [again] = h.gh.bot_comments(7, MARKER)
    assert again["id"] == mine["id"]
    assert review_of(again["body"]) == (h.digest(), sha("h2")) and h.digest() != first
    assert len(h.gh.comments(7)) == 122
    pages = [c["path"] for c in h.gh.load()["calls"] if "page 2" in c["path"]]
    assert pages, "the comment search did not read past the first page"
    assert [w for w in h.gh.writes() if w["path"].endswith(f"/comments/{forged}")] == []
    assert h.gh.comments(7)[60]["body"] == forged_body


def test_validation_errors_annotate_and_stop_before_any_aws_call(h: Harness) -> None:
    (h.repo / "shares" / "broken.yaml").write_text(
        f'version: 1\nbucket: {h.bucket()}\naccount: "{h.account}"\n'
        'grants:\n  - to: "222222222222"\n    access: readd\n',
        encoding="utf-8",
    )
    h.gh.open_pr(3)
    jobs = h.run("plan.yml", "pull_request", pr_event(3, sha("h1")), sha("merge-ref"))
    assert jobs["validate"].result == "failure"
    assert "::error file=shares/broken.yaml,line=" in jobs["validate"].output
    assert jobs["plan"].result == "skipped"
    assert h.proxy.requests == []


def test_pr_plan_and_apply_read_only_the_buckets_the_pr_changes(h: Harness) -> None:
    untouched, edited = h.bucket(), h.bucket()
    h.declare(untouched, grant("222222222222"))
    h.declare(edited, grant("222222222222"))
    reviewed_and_merged(h, 3, sha("h3"))
    assert h.push().result == "success"

    h.declare(edited, grant("222222222222"), grant("333333333333"))
    h.proxy.requests.clear()
    h.gh.open_pr(4)
    plan = h.plan_pr(4, sha("h4"))
    assert plan.result == "success", plan.output
    assert h.proxy.seen(untouched) == []  # a one-file PR does not read the whole estate
    assert h.proxy.seen(edited)
    [comment] = h.gh.bot_comments(4, MARKER)
    assert "Partial plan: only the buckets whose declarations changed in this pull request (1 bucket)" in (
        comment["body"].replace("\\", "").replace("&#58;", ":")
    )
    reviewed = h.digest()
    h.merge(4, sha("h4"))
    job = h.push()
    assert job.result == "success", job.output
    assert job.step("review").outputs["expect_digest"] == reviewed
    assert h.proxy.seen(untouched) == []


def test_plan_errors_fail_the_job_and_still_comment(h: Harness) -> None:
    bucket = h.bucket()
    h.declare(bucket, grant("222222222222"))
    rendered = json.loads(h.cli("render", "--format", "json").stdout)[bucket]["Statement"][0]
    # Not ours (the Sid prefix is case-sensitive) yet colliding with ours: a plan error.
    h.moto.put_policy(
        h.account,
        bucket,
        {"Version": "2012-10-17", "Statement": [{**rendered, "Sid": rendered["Sid"].lower()}]},
    )
    h.gh.open_pr(4)
    plan = h.plan_pr(4, sha("h1"))
    assert plan.result == "failure"
    assert plan.step("plan").outputs["exitcode"] == "1"
    assert "collides" in h.gh.bot_comments(4, MARKER)[0]["body"]


@pytest.mark.parametrize("read_only", [True, False])
def test_fork_pr_is_validated_without_credentials(h: Harness, read_only: bool) -> None:
    bucket = h.bucket()
    h.declare(bucket, grant("222222222222"))
    h.gh.open_pr(9)
    h.gh.update(read_only=read_only)
    # Matrix mode too: its shard jobs must not run for a fork either.
    h.vars["BUCKETSHARE_SHARDS"] = "2" if read_only else ""
    jobs = h.run("plan.yml", "pull_request", pr_event(9, sha("f1"), fork=True), sha("merge-ref"))
    assert jobs["validate"].result == "success"
    for job in ("plan", "shards", "plan-shard", "plan-merge"):
        assert jobs[job].result == "skipped", job
    notice = jobs["fork-notice"]
    assert notice.result == "success", notice.output
    if read_only:
        assert h.gh.comments(9) == []
        assert FORK_MARKER in notice.summary and "::notice::" in notice.output
    else:
        [posted] = h.gh.bot_comments(9, FORK_MARKER)
        assert "pushes this branch to this repository" in " ".join(posted["body"].split())
    # No credentials anywhere, and AWS saw nothing.
    assert [j.aws_logins for j in jobs.values()] == [[]] * len(jobs)
    assert not any("AWS_ACCESS_KEY_ID" in s.env for j in jobs.values() for s in j.steps)
    assert h.proxy.requests == []
    assert h.policy_text(bucket) is None


# ---- apply.yml --------------------------------------------------------------------------


def reviewed_and_merged(h: Harness, number: int, head: str) -> str:
    h.gh.open_pr(number, others=2)
    plan = h.plan_pr(number, head)
    assert plan.result == "success", plan.output
    h.merge(number, head)
    return h.digest()


def test_apply_runs_the_reviewed_plan_then_has_nothing_to_do(h: Harness) -> None:
    bucket = h.bucket()
    h.declare(bucket, grant("222222222222"))
    reviewed = reviewed_and_merged(h, 7, sha("h1"))

    job = h.push()
    assert job.result == "success", job.output
    assert job.aws_logins == [h.vars["BUCKETSHARE_APPLY_ROLE_ARN"]]
    assert job.step("review").outputs == {"prs": "7", "expect_digest": reviewed}
    assert "arn:aws:iam::222222222222:root" in (h.policy_text(bucket) or "")
    [report] = h.gh.bot_comments(7, APPLY_MARKER)
    assert "apply: applied" in report["body"] and bucket in report["body"]
    assert {"name": "bucketshare-journal", "path": "journal.jsonl", "exists": True} in job.uploads
    assert "apply: applied" in h.last["report"].summary
    assert h.last["report"].aws_logins == []

    again = h.push()
    assert again.result == "success"
    assert again.step("plan").outputs["exitcode"] == "0"
    assert again.step("Compare with the reviewed plans").outcome == "skipped"
    assert len(h.gh.bot_comments(7, APPLY_MARKER)) == 1


def test_hand_edit_after_review_applies_nothing_until_its_digest_is_approved(h: Harness) -> None:
    bucket = h.bucket()
    h.declare(bucket, grant("222222222222"))
    reviewed = reviewed_and_merged(h, 7, sha("h1"))
    edited = h.moto.put_policy(
        h.account,
        bucket,
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "HandMade",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::444444444444:root"},
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        },
    )

    job = h.push()
    assert job.result == "failure"
    assert job.step("Apply").outcome == "skipped"
    assert h.policy_text(bucket) == edited
    new = h.digest()
    assert new != reviewed
    [refused] = h.gh.bot_comments(7, REFUSED_MARKER)
    assert reviewed in refused["body"] and new in refused["body"]
    assert f"`approve_digest` = `{new}`" in refused["body"]
    moved = refused["body"].replace("\\", "").replace("&#58;", ":")
    assert f"- {bucket}: its live policy changed since review (a hand edit or another merge)" in moved
    assert review_of(refused["body"]) is None  # never mistaken for a review
    assert [u["name"] for u in job.uploads if u["exists"]] == ["bucketshare-apply-report"]
    assert h.gh.deployments() == []  # nothing applied, nothing recorded

    wrong = h.dispatch(reviewed)
    assert wrong.result == "failure"
    assert h.policy_text(bucket) == edited

    approved = h.dispatch(new)
    assert approved.result == "success", approved.output
    live = json.loads(h.policy_text(bucket) or "{}")
    assert {s["Sid"] for s in live["Statement"]} > {"HandMade"}
    assert "arn:aws:iam::222222222222:root" in json.dumps(live)


def test_second_pr_merged_first_makes_the_first_review_stale(h: Harness) -> None:
    bucket = h.bucket()
    h.declare(bucket, grant("222222222222"))
    h.gh.open_pr(11)
    assert h.plan_pr(11, sha("a1")).result == "success"
    h.declare(bucket, grant("333333333333"))
    h.gh.open_pr(12)
    assert h.plan_pr(12, sha("b1")).result == "success"

    h.merge(12, sha("b1"))
    assert h.push().result == "success"
    after_b = h.policy_text(bucket)
    assert after_b is not None and "333333333333" in after_b

    h.declare(bucket, grant("222222222222"), grant("333333333333"))
    h.merge(11, sha("a1"))
    job = h.push()
    assert job.result == "failure"
    assert h.policy_text(bucket) == after_b
    [refused] = h.gh.bot_comments(11, REFUSED_MARKER)
    assert h.digest() in refused["body"]
    assert f"{bucket}&#58; its live policy changed since review" in refused["body"].replace("\\", "")


def test_review_of_an_older_head_or_a_push_without_pr_applies_nothing(h: Harness) -> None:
    bucket = h.bucket()
    h.declare(bucket, grant("222222222222"))
    h.gh.open_pr(5)
    assert h.plan_pr(5, sha("old")).result == "success"
    h.merge(5, sha("new"))  # the branch moved after its last plan
    # Anybody can write a comment that looks like a review of the new head: never trusted.
    h.gh.add_comment(
        5, "mallory", f"{MARKER}\n<!-- bucketshare-review digest={h.digest()} commit={sha('new')} -->"
    )
    job = h.push()
    assert job.result == "failure"
    assert "not the head" in h.gh.bot_comments(5, REFUSED_MARKER)[0]["body"]

    h.declare(bucket, grant("333333333333"))
    h.merge_to_main("a push without a pull request")
    job = h.push()
    assert job.result == "failure"
    [on_commit] = h.gh.load()["commit_comments"][h.main]
    assert on_commit["body"].startswith(REFUSED_MARKER) and "no pull request merged" in on_commit["body"]
    assert h.policy_text(bucket) is None


def test_failed_bucket_fails_the_job_and_says_how_to_rerun(h: Harness) -> None:
    bucket = h.bucket()
    h.declare(bucket, grant("222222222222"))
    reviewed_and_merged(h, 8, sha("h8"))
    h.proxy.fail(bucket, access_denied({"PUT"}))
    job = h.push()
    assert job.result == "failure"
    assert job.step("apply").outputs["exitcode"] == "1"
    [report] = h.gh.bot_comments(8, APPLY_MARKER)
    assert f"{bucket}: FAILED:" in report["body"]
    assert "How to re-run" in report["body"] and "reconciler rollback" in report["body"]
    assert h.policy_text(bucket) is None


# ---- drift.yml --------------------------------------------------------------------------


def test_drift_removes_expired_grants_and_keeps_one_issue(h: Harness) -> None:
    today = dt.date.today()
    expiring, drifting = h.bucket(), h.bucket()
    h.declare(expiring, grant("222222222222", expires=today + dt.timedelta(days=30)), grant("333333333333"))
    h.declare(drifting, grant("444444444444"))
    assert h.cli("apply", "--auto-approve", "--journal", "setup.jsonl").returncode == 0
    h.declare(expiring, grant("222222222222", expires=today - dt.timedelta(days=1)), grant("333333333333"))
    h.moto.s3(h.account).delete_bucket_policy(Bucket=drifting)  # by hand: only reported
    planted = h.gh.add_issue("mallory", f"{DRIFT_MARKER}\nplanted", ["drift"])

    job = h.drift()
    assert job.result == "success", job.output
    assert job.step("before").outputs["exitcode"] == "2"
    assert job.step("expired").outputs["exitcode"] == "0", job.output
    live = h.policy_text(expiring) or ""
    assert "333333333333" in live and "222222222222" not in live
    assert h.policy_text(drifting) is None
    mine = [i for i in h.gh.issues() if i["user"]["login"] == BOT]
    assert len(mine) == 1 and mine[0]["state"] == "open"
    assert mine[0]["labels"] == [{"name": "drift"}] and mine[0]["body"].startswith(DRIFT_MARKER)
    assert drifting in mine[0]["body"] and drifting in job.summary

    assert h.drift("workflow_dispatch").result == "success"
    again = [i for i in h.gh.issues() if i["user"]["login"] == BOT]
    assert [i["number"] for i in again] == [mine[0]["number"]] and again[0]["state"] == "open"

    assert h.cli("apply", "--auto-approve", "--journal", "fix.jsonl").returncode == 0
    job = h.drift()
    assert job.result == "success", job.output
    [closed] = [i for i in h.gh.issues() if i["user"]["login"] == BOT]
    assert closed["state"] == "closed"
    assert "No drift left" in h.gh.comments(closed["number"])[-1]["body"]
    assert h.gh.load()["issues"][str(planted)]["body"] == f"{DRIFT_MARKER}\nplanted"
    assert h.gh.load()["issues"][str(planted)]["state"] == "open"
    assert [w for w in h.gh.writes() if f"/issues/{planted}" in w["path"]] == []


def test_workflow_yaml_parses_with_pyyaml() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        assert isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict)


@pytest.mark.parametrize("workflow", ["apply.yml", "drift.yml"])
def test_production_runs_only_on_main(h: Harness, workflow: str) -> None:
    event = {"ref": "refs/heads/feature", "inputs": {"approve_digest": f"sha256:{'0' * 64}"}}
    run = Run(h.repo, "workflow_dispatch", event, REPO, sha("f"), dict(h.vars), dict(h.base_env), h.aws_login)
    run.ref = "refs/heads/feature"
    # Matrix mode is off (BUCKETSHARE_SHARDS unset): its jobs are skipped.
    [job] = [j for j in run_workflow(WORKFLOWS / workflow, run).values() if j.result != "skipped"]
    assert job.result == "failure"
    assert job.aws_logins == [] and h.proxy.requests == []
