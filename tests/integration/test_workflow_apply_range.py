"""apply.yml applies every merged change exactly once: it plans everything since the last
recorded apply (a GitHub Deployment its own step writes), and applies when each bucket's
change was shown on the plan comment of a pull request merged in that range.

Run like test_workflows.py: every `run:` step with bash against moto (behind the recording
proxy) and the fake gh, with real git history for the range.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from .faultproxy import access_denied
from .workflow_harness import APPLY_MARKER, BOT, REFUSED_MARKER, REPO, Harness, grant, h, pr_event, sha

__all__ = ["h"]  # the fixture, used by name below

TASK = "bucketshare-apply"


def puts(h: Harness) -> list[str]:
    return [r.bucket or "" for r in h.proxy.requests if r.operation == "PutBucketPolicy"]


def records(h: Harness) -> list[dict[str, Any]]:
    """Our records of applied commits: the deployments apply wrote, with a success status."""
    return [
        d
        for d in h.gh.deployments()
        if d["task"] == TASK and any(s["state"] == "success" for s in d["statuses"])
    ]


def plan_alone(h: Harness, number: int, bucket: str) -> None:
    """Pull request `number` declares only `bucket` on top of main, and gets its plan."""
    h.declare(bucket, grant("222222222222"))
    h.gh.open_pr(number)
    plan = h.plan_pr(number, sha(f"h{number}"))
    assert plan.result == "success", plan.output
    (h.repo / "shares" / f"{bucket}.yaml").unlink()


def granted(h: Harness, bucket: str) -> bool:
    return "arn:aws:iam::222222222222:root" in (h.policy_text(bucket) or "")


@pytest.mark.slow
def test_three_quick_merges_whose_middle_run_never_started_are_all_applied(h: Harness) -> None:
    x, y, z = h.bucket(), h.bucket(), h.bucket()
    for number, bucket in ((1, x), (2, y), (3, z)):
        plan_alone(h, number, bucket)

    h.declare(x, grant("222222222222"))
    first = h.merge(1, sha("h1"))
    assert h.push().result == "success"
    first_run = h.last_run
    h.declare(y, grant("222222222222"))
    h.merge(2, sha("h2"))
    # Its run was pending when the third merge's run queued: GitHub cancelled it unstarted.
    h.declare(z, grant("222222222222"))
    last = h.merge(3, sha("h3"))
    job = h.push()

    assert job.result == "success", job.output
    assert job.step("since").outputs == {"sha": first}
    assert job.step("review").outputs["prs"] == "2 3"
    assert all(granted(h, bucket) for bucket in (x, y, z))
    for number, bucket in ((1, x), (2, y), (3, z)):
        [report] = h.gh.bot_comments(number, APPLY_MARKER)
        assert "apply: applied" in report["body"] and bucket in report["body"]
    assert h.last["report"].aws_logins == []  # comments come from a job without AWS access
    assert [d["sha"] for d in records(h)] == [first, last]
    assert sorted(puts(h)) == sorted([x, y, z])

    # A re-run of the finished run (its second attempt) writes nothing: not a policy, a
    # comment or a record.
    comments = {n: len(h.gh.comments(n)) for n in (1, 2, 3)}
    again = h.rerun()
    assert again.result == "success", again.output
    assert again.step("plan").outputs["exitcode"] == "0"
    assert sorted(puts(h)) == sorted([x, y, z])
    assert {n: len(h.gh.comments(n)) for n in (1, 2, 3)} == comments
    assert [d["sha"] for d in records(h)] == [first, last]

    # A re-run of the first run, behind main's tip, stops before AWS credentials or a plan.
    older = h.rerun(first_run)
    assert older.result == "failure"
    assert f"::error::main has moved to {last} since this run's commit {first}" in older.output
    assert older.aws_logins == [] and sorted(puts(h)) == sorted([x, y, z])
    assert {n: len(h.gh.comments(n)) for n in (1, 2, 3)} == comments
    assert h.last["record"].result == "skipped"


@pytest.mark.slow
def test_a_rebase_merge_of_three_commits_applies_once_and_fully(h: Harness) -> None:
    # A record to start from: the first run on an empty estate has nothing to apply.
    assert h.push().result == "success"
    [start] = records(h)
    buckets = [h.bucket(), h.bucket(), h.bucket()]
    for bucket in buckets:
        h.declare(bucket, grant("222222222222"))
    h.gh.open_pr(4)
    assert h.plan_pr(4, sha("h4")).result == "success"
    landed = []
    h.git("read-tree", h.main)  # one commit per file, rebased onto main one by one
    for bucket in buckets:
        h.git("add", f"shares/{bucket}.yaml")
        tree = h.git("write-tree")
        h.main = h.git("commit-tree", tree, "-m", f"add {bucket}", "-p", h.main)
        landed.append(h.main)
    h.git("update-ref", "refs/heads/main", h.main)
    h.gh.merge(4, sha("h4"), landed[-1], commits=landed)

    job = h.push()
    assert job.result == "success", job.output
    assert job.step("since").outputs == {"sha": start["sha"]}
    assert job.step("review").outputs["prs"] == "4"
    assert all(granted(h, bucket) for bucket in buckets)
    assert sorted(puts(h)) == sorted(buckets)
    assert len(h.gh.bot_comments(4, APPLY_MARKER)) == 1
    assert [d["sha"] for d in records(h)] == [start["sha"], landed[-1]]


@pytest.mark.slow
def test_a_hand_edit_of_one_bucket_refuses_the_whole_range(h: Harness) -> None:
    assert h.push().result == "success"  # the record to start from
    x, y = h.bucket(), h.bucket()
    for number, bucket in ((5, x), (6, y)):
        plan_alone(h, number, bucket)
    h.declare(x, grant("222222222222"))
    h.merge(5, sha("h5"))
    h.declare(y, grant("222222222222"))
    h.merge(6, sha("h6"))
    edited = h.moto.put_policy(h.account, y, {"Version": "2012-10-17", "Statement": []})

    job = h.push()
    assert job.result == "failure"
    assert job.step("Apply").outcome == "skipped"
    assert puts(h) == [] and h.policy_text(x) is None and h.policy_text(y) == edited
    for number in (5, 6):
        [refused] = h.gh.bot_comments(number, REFUSED_MARKER)
        text = refused["body"].replace("\\", "").replace("&#58;", ":")
        assert f"- {y}: its live policy changed since review (a hand edit or another merge)" in text
        assert f"`approve_digest` = `{h.digest()}`" in text
    assert len(records(h)) == 1


def test_the_first_run_plans_everything_and_reads_only_its_own_records(h: Harness) -> None:
    bucket = h.bucket()
    h.declare(bucket, grant("222222222222"))
    h.gh.open_pr(7)
    assert h.plan_pr(7, sha("h7")).result == "success"
    merged = h.merge(7, sha("h7"))
    # GitHub's own record of a job naming the environment (drift's), one by somebody else,
    # and one a pull request's job wrote as the bot, naming its own run: none says what was
    # applied, so none may pass for a record.
    pr_run = h.run("plan.yml", "pull_request", pr_event(7, sha("h7")), sha("merge-ref"), ["validate"])
    assert pr_run["validate"].result == "success"
    h.git("update-ref", "--no-deref", "HEAD", h.main)
    data = h.gh.load()
    success = [{"id": 1, "state": "success", "creator": {"login": BOT}}]
    data["deployments"] = [
        {"id": 11, "sha": merged, "ref": "main", "task": "deploy", "environment": "production",
         "creator": {"login": BOT}, "payload": {}, "statuses": success},
        {"id": 12, "sha": merged, "ref": merged, "task": TASK, "environment": "production",
         "creator": {"login": "mallory"}, "payload": {}, "statuses": success},
        {"id": 13, "sha": merged, "ref": merged, "task": TASK, "environment": "production",
         "creator": {"login": BOT}, "payload": {"run_id": h.runs + 4200}, "statuses": success},
    ]  # fmt: skip
    # Runs of apply.yml on a branch named main for that commit, each with a successful record
    # job: one started by a pull request, one from a fork's main, one whose record job failed
    # (the run went green on a re-run of another job). None applied this repository's main.
    record_job = {"name": "record the commit as applied", "conclusion": "success", "run_attempt": 1}
    apply_run = {"path": ".github/workflows/apply.yml", "head_branch": "main", "head_sha": merged,
                 "event": "push", "head_repository": {"full_name": REPO}, "status": "completed",
                 "conclusion": "success", "run_attempt": 1, "jobs": [record_job]}  # fmt: skip
    for run_id, facts in (
        ("9001", {"event": "pull_request"}),
        ("9002", {"head_repository": {"full_name": "mallory/bucketshare"}}),
        ("9003", {"jobs": [{**record_job, "conclusion": "failure"}]}),
    ):
        data["runs"][run_id] = {**apply_run, "id": int(run_id), **facts}
        forged = {**data["deployments"][2], "id": int(run_id), "payload": {"run_id": run_id}}
        data["deployments"].append(forged)
    h.gh.save(data)

    job = h.push()
    assert job.result == "success", job.output
    assert job.step("since").outputs == {"sha": ""}
    for deployment in (13, 9001, 9002, 9003):
        assert f"deployment {deployment} is not a record of an apply" in job.step("since").stdout
    assert json.loads((h.repo / "plan.json").read_text(encoding="utf-8"))["partial_since"] is None
    assert granted(h, bucket)
    [record] = records(h)[-1:]
    assert record["sha"] == merged and record["creator"]["login"] == BOT
    assert record["payload"]["digest"] == job.step("review").outputs["expect_digest"]
    assert [s["state"] for s in record["statuses"]] == ["success"]
    posted = [w for w in h.gh.writes() if w["path"].endswith("/deployments")]
    assert posted[0]["body"]["auto_merge"] is False and posted[0]["body"]["required_contexts"] == []


@pytest.mark.slow
def test_a_failed_bucket_leaves_no_record_so_the_next_run_plans_it_again(h: Harness) -> None:
    assert h.push().result == "success"
    [start] = records(h)
    x, y = h.bucket(), h.bucket()
    for number, bucket in ((8, x), (9, y)):
        plan_alone(h, number, bucket)
    h.declare(x, grant("222222222222"))
    h.merge(8, sha("h8"))
    h.declare(y, grant("222222222222"))
    h.merge(9, sha("h9"))
    h.proxy.fail(y, access_denied({"PUT"}), times=1)
    failed = h.push()
    assert failed.result == "failure"
    assert granted(h, x) and not granted(h, y)
    assert records(h) == [start]

    # The next run (here a re-run) plans from the same record: x is live already, y is
    # still the change its reviewers saw.
    job = h.push()
    assert job.result == "success", job.output
    assert job.step("since").outputs == {"sha": start["sha"]}
    assert granted(h, y)
    assert puts(h).count(x) == 1
    assert len(records(h)) == 2


@pytest.mark.slow
def test_a_rerun_of_an_older_run_cannot_put_back_what_a_newer_merge_revoked(h: Harness) -> None:
    assert h.push().result == "success"
    [start] = records(h)
    x, y, z = h.bucket(), h.bucket(), h.bucket()
    # Pull request 1 grants on x; its merge's run fails before the grant is written.
    h.declare(x, grant("222222222222"))
    h.gh.open_pr(1)
    assert h.plan_pr(1, sha("h1")).result == "success"
    c = h.merge(1, sha("h1"))
    h.proxy.fail(x, access_denied({"PUT"}), times=1)
    assert h.push().result == "failure"
    c_run = h.last_run
    assert not granted(h, x) and records(h) == [start]
    # Pull request 2 (an incident) revokes x and grants y. Its run applies and records, then
    # its report job fails on GitHub's side: the run ends red.
    (h.repo / "shares" / f"{x}.yaml").unlink()
    h.declare(y, grant("222222222222"))
    h.gh.open_pr(2)
    assert h.plan_pr(2, sha("h2")).result == "success"
    d = h.merge(2, sha("h2"))
    h.gh.update(failing=[r"/issues/\d+/comments$"])
    assert h.push().result == "success"
    assert h.last["record"].result == "success" and h.last["report"].result == "failure"
    assert h.gh.load()["runs"][h.last_run]["conclusion"] == "failure"
    h.gh.update(failing=[])
    assert [r["sha"] for r in records(h)] == [start["sha"], d]

    # Somebody re-runs C's red run: main has moved on, so it stops before AWS.
    writes = len(h.gh.writes())
    again = h.rerun(c_run)
    assert again.result == "failure"
    assert f"::error::main has moved to {d} since this run's commit {c}" in again.output
    assert again.aws_logins == [] and not granted(h, x)
    assert h.gh.writes()[writes:] == [] and [r["sha"] for r in records(h)] == [start["sha"], d]

    # D's record counts although D's run is red: its record job succeeded. The next merge
    # plans from D, not again from the start.
    h.declare(z, grant("222222222222"))
    h.gh.open_pr(3)
    assert h.plan_pr(3, sha("h3")).result == "success"
    e = h.merge(3, sha("h3"))
    job = h.push()
    assert job.result == "success", job.output
    assert job.step("since").outputs == {"sha": d}
    assert job.step("review").outputs["prs"] == "3"
    assert granted(h, z) and not granted(h, x)
    assert [r["sha"] for r in records(h)] == [start["sha"], d, e]


@pytest.mark.slow
def test_the_hourly_run_applies_a_merge_whose_pending_run_a_drift_run_cancelled(h: Harness) -> None:
    assert h.push().result == "success"
    x = h.bucket()
    h.declare(x, grant("222222222222"))
    h.gh.open_pr(1)
    assert h.plan_pr(1, sha("h1")).result == "success"
    merged = h.merge(1, sha("h1"))
    # The merge's run was pending behind a running apply when a drift run queued in the same
    # concurrency group: GitHub cancelled the pending apply run, which never runs here.
    assert h.drift().result == "success"
    assert not granted(h, x)

    job = h.schedule()
    assert job.result == "success", job.output
    assert job.step("review").outputs["prs"] == "1"
    assert granted(h, x)
    [report] = h.gh.bot_comments(1, APPLY_MARKER)
    assert "apply: applied" in report["body"] and x in report["body"]
    assert records(h)[-1]["sha"] == merged

    # The next hour has nothing to do and says nothing.
    writes = len(h.gh.writes())
    quiet = h.schedule()
    assert quiet.result == "success", quiet.output
    assert quiet.step("plan").outputs["exitcode"] == "0"
    assert h.gh.writes()[writes:] == [] and puts(h) == [x]


@pytest.mark.slow
def test_the_hourly_run_refuses_what_no_merged_pull_request_showed_and_says_so_once(h: Harness) -> None:
    assert h.push().result == "success"
    x = h.bucket()
    h.declare(x, grant("222222222222"))
    h.merge_to_main("a push without a pull request")  # its own run never ran

    for _ in range(2):
        job = h.schedule()
        assert job.result == "failure"
        assert job.step("Apply").outcome == "skipped" and not granted(h, x)
    [refused] = h.gh.load()["commit_comments"][h.main]
    assert refused["body"].startswith(REFUSED_MARKER) and "no pull request merged" in refused["body"]
    assert len(records(h)) == 1


@pytest.mark.slow
def test_a_comment_too_large_to_list_its_buckets_is_named_when_a_range_is_refused(h: Harness) -> None:
    assert h.push().result == "success"
    x, y = h.bucket(), h.bucket()
    for number, bucket in ((1, x), (2, y)):
        plan_alone(h, number, bucket)
    # Pull request 1 changed more buckets than its comment can list: no reviewed-buckets line.
    data = h.gh.load()
    [mine] = [c for c in data["comments"]["1"] if c["user"]["login"] == BOT]
    mine["body"] = "\n".join(line for line in mine["body"].split("\n") if "reviewed-buckets" not in line)
    h.gh.save(data)
    h.declare(x, grant("222222222222"))
    h.merge(1, sha("h1"))
    h.declare(y, grant("222222222222"))
    h.merge(2, sha("h2"))

    job = h.push()
    assert job.result == "failure" and not granted(h, x) and not granted(h, y)
    [refused] = h.gh.bot_comments(1, REFUSED_MARKER)
    text = " ".join(refused["body"].replace("\\", "").replace("&#58;", ":").split())
    assert "reviewed on pull request #1" in text
    assert "its comment lists no buckets, too many changed to keep: only its whole digest can match" in text
    assert f"- {x}: changes (put-policy) but no reviewed plan showed it" in text
