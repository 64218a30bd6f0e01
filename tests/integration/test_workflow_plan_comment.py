"""The plan comment is one record: one rule says which bot comment it is (pr_comment.py edits
it, apply_review.py trusts it), and its first visible line says when it is outdated or was
produced by code the pull request changes.

Run like test_workflows.py: every `run:` step with bash against moto and the fake gh.
"""

from __future__ import annotations

from reconciler.report.review_marks import MARKER, parse_review

from .workflow_harness import BOT, REFUSED_MARKER, Harness, grant, h, pr_event, sha

__all__ = ["h"]  # the fixture, used by name below

ITSELF = "**This pull request changes bucketshare itself: the plan below was produced by the changed code.**"


def first_visible(body: str) -> str:
    return next(line for line in body.split("\n") if not line.startswith("<!-- bucketshare-"))


def test_a_second_marked_bot_comment_is_named_and_no_plan_comment_is_trusted(h: Harness) -> None:
    bucket = h.bucket()
    h.declare(bucket, grant("222222222222"))
    h.gh.open_pr(20, others=3)
    assert h.plan_pr(20, sha("h20")).result == "success"
    [real] = h.gh.bot_comments(20, MARKER)
    # Any job of a same-repository pull request can post as the bot: the real hidden review
    # record above a reassuring text. Somebody else posts the same; that is never trusted.
    hidden = "\n".join(real["body"].split("\n")[:3])
    newer = h.gh.add_comment(20, BOT, f"{hidden}\n## bucketshare plan\n\nNothing to review here.")
    forged = h.gh.add_comment(20, "mallory", f"{hidden}\n## bucketshare plan\n\nLooks good.")

    plan = h.plan_pr(20, sha("h20"))
    assert plan.result == "success", plan.output
    [edited, other] = h.gh.bot_comments(20, MARKER)
    assert edited["id"] == real["id"] and other["id"] == newer  # the oldest is THE comment
    assert first_visible(edited["body"]).startswith("**Warning:** 1 more comment(s)")
    assert f"(ids {newer})" in edited["body"]
    assert parse_review(edited["body"]) == parse_review(real["body"])
    assert other["body"].endswith("Nothing to review here.")
    assert "::warning::" in plan.output
    untouched = (f"/comments/{newer}", f"/comments/{forged}")
    assert [w for w in h.gh.writes() if w["path"].endswith(untouched)] == []

    h.merge(20, sha("h20"))
    job = h.push()
    assert job.result == "failure"
    assert h.policy_text(bucket) is None
    [refused] = h.gh.bot_comments(20, REFUSED_MARKER)
    assert f"carry the same marker (ids {newer}); none is trusted" in refused["body"]


def test_the_first_visible_line_says_when_the_pull_request_changes_bucketshare(h: Harness) -> None:
    bucket = h.bucket()
    h.declare(bucket, grant("222222222222"))
    h.gh.open_pr(21)
    assert h.plan_pr(21, sha("a21")).result == "success"
    [comment] = h.gh.bot_comments(21, MARKER)
    assert ITSELF not in comment["body"]

    (h.repo / "scripts" / "notes.txt").write_text("a change to bucketshare itself\n", encoding="utf-8")
    plan = h.plan_pr(21, sha("b21"))
    assert plan.result == "success", plan.output
    [comment] = h.gh.bot_comments(21, MARKER)
    assert first_visible(comment["body"]).startswith(ITSELF)
    review = parse_review(comment["body"])
    assert review is not None and review[1] == sha("b21")


def test_a_plan_comment_of_an_older_commit_is_marked_outdated_when_the_head_is_not_planned(
    h: Harness,
) -> None:
    bucket = h.bucket()
    h.declare(bucket, grant("222222222222"))
    h.gh.open_pr(22)
    jobs = h.run("plan.yml", "pull_request", pr_event(22, sha("c1")), sha("merge-ref"))
    assert jobs["plan"].result == "success", jobs["plan"].output
    assert jobs["outdated"].result == "skipped"
    [before] = h.gh.bot_comments(22, MARKER)

    # The next push breaks validation: no plan runs for it, and the old plan must not pass
    # for the head's.
    h.declare(bucket, grant("222222222222").replace("access: read", "access: readd"))
    h.gh.set_head(22, sha("c2"))
    h.proxy.requests.clear()
    jobs = h.run("plan.yml", "pull_request", pr_event(22, sha("c2")), sha("merge-ref2"))
    assert jobs["validate"].result == "failure" and jobs["plan"].result == "skipped"
    outdated = jobs["outdated"]
    assert outdated.result == "success", outdated.output
    assert outdated.aws_logins == [] and h.proxy.requests == []
    [after] = h.gh.bot_comments(22, MARKER)
    assert after["id"] == before["id"]
    line = first_visible(after["body"])
    assert line.startswith("**Outdated:**") and sha("c1") in line and sha("c2") in line
    assert parse_review(after["body"]) == parse_review(before["body"])

    # A head that plans again replaces the notice with its own plan.
    h.declare(bucket, grant("333333333333"))
    h.gh.set_head(22, sha("c3"))
    jobs = h.run("plan.yml", "pull_request", pr_event(22, sha("c3")), sha("merge-ref3"))
    assert jobs["plan"].result == "success" and jobs["outdated"].result == "skipped"
    [fresh] = h.gh.bot_comments(22, MARKER)
    assert "**Outdated:**" not in fresh["body"]
