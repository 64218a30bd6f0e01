"""The workflows' matrix mode (repository variable BUCKETSHARE_SHARDS): owner accounts in
shards, one job each; one merged plan comment and digest; apply shards in parallel jobs.

Run like test_workflows.py: every `run:` step with bash against moto (behind the recording
proxy) and the fake gh, which also keeps the run's artifacts between its jobs.
"""

from __future__ import annotations

import json

import pytest

from reconciler.plan.scopes import shard_of
from reconciler.report.review_marks import MARKER, parse_review

from .faultproxy import access_denied
from .workflow_harness import APPLY_MARKER, Harness, grant, h, pr_event, sha

__all__ = ["h"]  # the fixture, used by name below

SHARDS = 3
TEMPLATE = "arn:{partition}:iam::{account}:role/bucketshare-{mode}"


def owners(h: Harness) -> dict[str, str]:
    """One owner account per shard, none of them the hub's, each with one declared bucket."""
    found: dict[int, str] = {}
    while len(found) < SHARDS:
        account = h.moto.new_account()
        found.setdefault(shard_of(account, SHARDS), account)
    buckets = {}
    for account in found.values():
        bucket = h.moto.create_bucket(account, "mx")
        text = f'version: 1\nbucket: {bucket}\naccount: "{account}"\nowner: ml-platform\ngrants:\n'
        (h.repo / "shares" / f"{bucket}.yaml").write_text(text + grant("222222222222"), encoding="utf-8")
        buckets[account] = bucket
    (h.repo / "reconciler.yaml").write_text(f'version: 1\nassume_role: "{TEMPLATE}"\n', encoding="utf-8")
    h.vars["BUCKETSHARE_SHARDS"] = str(SHARDS)
    return buckets


def test_matrix_mode_plans_shards_merges_one_comment_and_applies_every_shard(h: Harness) -> None:
    buckets = owners(h)
    h.gh.open_pr(7, others=2)
    jobs = h.run("plan.yml", "pull_request", pr_event(7, sha("h1")), sha("merge-ref"))
    assert jobs["plan"].result == "skipped"  # the one-job plan is off in matrix mode
    for index in range(SHARDS):
        shard = jobs[f"plan-shard[{index}]"]
        assert shard.result == "success", shard.output
        assert shard.aws_logins == [h.vars["BUCKETSHARE_PLAN_ROLE_ARN"]]
    merged = jobs["plan-merge"]
    assert merged.result == "success", merged.output
    assert merged.aws_logins == []  # merging needs no AWS access
    [comment] = h.gh.bot_comments(7, MARKER)
    review = parse_review(comment["body"])
    assert review is not None and review[1] == sha("h1")
    for bucket in buckets.values():
        assert bucket in comment["body"]
    # The merged digest is the digest of one unsharded plan of the same commit.
    whole = h.cli("plan", "--changed-since", "HEAD^1", "--digest-only")
    assert whole.returncode == 2 or whole.returncode == 0, whole.stderr
    assert whole.stdout.strip() == review[0]
    # Each shard read only its own account's bucket.
    for bucket in buckets.values():
        assert h.proxy.seen(bucket), f"{bucket} was never read"
    shard_plans = [a for a in h.gh.load()["artifacts"] if a["name"].startswith("bucketshare-plan-shard-")]
    assert len(shard_plans) == SHARDS

    h.merge(7, sha("h1"))
    h.push()
    applied = h.last
    assert applied["apply"].result == "skipped"
    review_job = applied["apply-review"]
    assert review_job.result == "success", review_job.output
    assert review_job.outputs["expect_digest"] == review[0]
    digests = json.loads(review_job.outputs["digests"])
    assert len(digests) == SHARDS and len(set(digests)) == SHARDS
    for index in range(SHARDS):
        shard = applied[f"apply-shard[{index}]"]
        assert shard.result == "success", shard.output
        assert shard.aws_logins == [h.vars["BUCKETSHARE_APPLY_ROLE_ARN"]]
        assert f'"{digests[index]}"' not in shard.output  # the digest travels in env, not the log
    for account, bucket in buckets.items():
        assert "arn:aws:iam::222222222222:root" in (h.moto.policy_text(account, bucket) or "")
    report = applied["apply-report"]
    assert report.result == "success", report.output
    [done] = h.gh.bot_comments(7, APPLY_MARKER)
    assert "apply: applied" in done["body"]
    for bucket in buckets.values():
        assert bucket in done["body"]
    # Recorded once every shard succeeded: the next run plans from this commit.
    assert applied["apply-record"].result == "success", applied["apply-record"].output
    assert [(d["sha"], d["task"]) for d in h.gh.deployments()] == [(h.main, "bucketshare-apply")]
    assert applied["apply-record"].aws_logins == [] and applied["apply-report"].aws_logins == []


def test_a_live_change_in_one_shard_after_review_applies_nothing_in_any_shard(h: Harness) -> None:
    buckets = owners(h)
    h.gh.open_pr(8, others=1)
    jobs = h.run("plan.yml", "pull_request", pr_event(8, sha("h2")), sha("merge-ref"))
    assert jobs["plan-merge"].result == "success", jobs["plan-merge"].output
    broken_account = sorted(buckets)[0]
    broken = buckets[broken_account]
    # Someone edits one bucket's policy between the plan and the apply: that shard refuses it.
    h.moto.put_policy(broken_account, broken, {"Version": "2012-10-17", "Statement": []})

    h.merge(8, sha("h2"))
    h.push()
    applied = h.last
    # The merged plan changed (the live policy moved), so nothing is applied anywhere.
    assert applied["apply-review"].result == "failure"
    assert applied["apply-shard"].result == "skipped"
    [refused] = h.gh.bot_comments(8, "<!-- bucketshare-apply-refused -->")
    assert broken in refused["body"]
    assert applied["apply-record"].result == "skipped" and h.gh.deployments() == []
    for account, bucket in buckets.items():
        text = h.moto.policy_text(account, bucket) or ""
        assert "BucketShare" not in text


def test_a_shard_whose_writes_fail_fails_the_run_and_the_other_shards_apply(h: Harness) -> None:
    buckets = owners(h)
    h.gh.open_pr(9, others=1)
    jobs = h.run("plan.yml", "pull_request", pr_event(9, sha("h3")), sha("merge-ref"))
    assert jobs["plan-merge"].result == "success", jobs["plan-merge"].output
    broken_account = sorted(buckets)[1]
    h.proxy.fail(buckets[broken_account], access_denied({"PUT"}))

    h.merge(9, sha("h3"))
    h.push()
    applied = h.last
    assert applied["apply-review"].result == "success", applied["apply-review"].output
    broken_shard = shard_of(broken_account, SHARDS)
    for index in range(SHARDS):
        result = applied[f"apply-shard[{index}]"].result
        assert result == ("failure" if index == broken_shard else "success")
    for account, bucket in buckets.items():
        written = "BucketShare" in (h.moto.policy_text(account, bucket) or "")
        assert written == (account != broken_account)
    report = applied["apply-report"]
    assert report.result == "failure"  # the report is written, then fails the run
    [done] = h.gh.bot_comments(9, APPLY_MARKER)
    assert "apply: FAILED" in done["body"] and buckets[broken_account] in done["body"]
    # Every shard's journal is kept for rollback, the failed one's too.
    results = [a for a in h.gh.load()["artifacts"] if a["name"].startswith("bucketshare-apply-result-shard-")]
    assert len(results) == SHARDS
    assert applied["apply-record"].result == "skipped" and h.gh.deployments() == []


def test_apply_and_drift_runs_are_one_writer_at_a_time() -> None:
    from .workflow_harness import WORKFLOWS
    from .workflow_runner import load_workflow

    groups = {name: load_workflow(WORKFLOWS / name).get("concurrency") for name in ("apply.yml", "drift.yml")}
    # Shards of one apply run write in parallel; a drift run never writes beside them.
    assert (
        groups["apply.yml"]
        == groups["drift.yml"]
        == {"group": "bucketshare-writers", "cancel-in-progress": False}
    )
    jobs = load_workflow(WORKFLOWS / "apply.yml")["jobs"]
    uploads = [
        s
        for s in jobs["apply-shard"]["steps"]
        if str(s.get("uses", "")).startswith("actions/upload-artifact")
    ]
    assert [s["with"].get("overwrite") for s in uploads] == [True]  # a re-run keeps its journal


def declare_in(h: Harness, account: str, bucket: str, *grants: str) -> None:
    text = f'version: 1\nbucket: {bucket}\naccount: "{account}"\nowner: ml-platform\ngrants:\n'
    (h.repo / "shares" / f"{bucket}.yaml").write_text(text + "".join(grants), encoding="utf-8")


def plan_matrix(h: Harness, number: int) -> None:
    h.gh.set_head(number, sha(f"h{number}"))
    jobs = h.run("plan.yml", "pull_request", pr_event(number, sha(f"h{number}")), sha("merge-ref"))
    assert jobs["plan-merge"].result == "success", jobs["plan-merge"].output


@pytest.mark.slow
def test_matrix_mode_applies_every_merge_since_the_last_record(h: Harness) -> None:
    buckets = owners(h)
    h.gh.open_pr(10)
    plan_matrix(h, 10)
    first = h.merge(10, sha("h10"))
    h.push()
    assert h.last["apply-record"].result == "success", h.last["apply-record"].output
    (a, bucket_a), (b, bucket_b) = sorted(buckets.items())[:2]
    # Two pull requests planned side by side, each changing one shard's bucket.
    for number, account, bucket in ((11, a, bucket_a), (12, b, bucket_b)):
        declare_in(h, account, bucket, grant("222222222222"), grant("333333333333"))
        h.gh.open_pr(number)
        plan_matrix(h, number)
        declare_in(h, account, bucket, grant("222222222222"))
    declare_in(h, a, bucket_a, grant("222222222222"), grant("333333333333"))
    h.merge(11, sha("h11"))  # its run never starts: the next merge's run replaced it
    declare_in(h, b, bucket_b, grant("222222222222"), grant("333333333333"))
    last = h.merge(12, sha("h12"))
    h.push()

    applied = h.last
    assert applied["apply-shards"].outputs["since"] == first
    assert applied["apply-review"].result == "success", applied["apply-review"].output
    assert applied["apply-review"].outputs["prs"] == "11 12"
    for account, bucket in ((a, bucket_a), (b, bucket_b)):
        assert "333333333333" in (h.moto.policy_text(account, bucket) or "")
    for number in (11, 12):
        [done] = h.gh.bot_comments(number, APPLY_MARKER)
        assert "apply: applied" in done["body"]
    assert [d["sha"] for d in h.gh.deployments()] == [first, last]
