"""The plan digest names what apply would write, and nothing else."""

from __future__ import annotations

import base64
import dataclasses
import zlib

from reconciler.plan.digest import (
    check_digest_text,
    decode_reviewed,
    digest_lines,
    plan_digest,
    unreviewed_changes,
)
from reconciler.plan.model import BucketAction, BucketPlan, Plan, policy_hash
from reconciler.report.markdown import render_markdown
from reconciler.report.review_marks import parse_reviewed

POLICY = {"Version": "2012-10-17", "Statement": [{"Sid": "BucketShareX", "Effect": "Allow"}]}


def bucket(name: str, action: BucketAction = BucketAction.PUT, live: str | None = None) -> BucketPlan:
    new = POLICY if action is BucketAction.PUT else None
    return BucketPlan(name, "111111111111", action, True, policy_hash(live), new_policy=new)


def digest(*buckets: BucketPlan) -> str:
    return plan_digest(Plan(buckets, "BucketShare", "aws"))


def test_lines_name_bucket_account_action_and_both_hashes() -> None:
    line = digest_lines(Plan((bucket("acme-a"),), "BucketShare", "aws"))[0]
    assert line.split("\t") == [
        "acme-a",
        "111111111111",
        "put-policy",
        "none",
        policy_hash('{"Version":"2012-10-17","Statement":[{"Sid":"BucketShareX","Effect":"Allow"}]}'),
    ]


def test_bucket_order_and_prose_do_not_change_the_digest() -> None:
    a, b = bucket("acme-a"), bucket("acme-b", BucketAction.DELETE, live="{}")
    noisy = dataclasses.replace(a, warnings=("a warning",), owners=("team",))
    assert digest(a, b) == digest(b, noisy)


def test_unchanged_and_failing_buckets_are_not_in_the_digest() -> None:
    a = bucket("acme-a")
    assert digest(a) == digest(a, bucket("acme-b", BucketAction.NOOP), bucket("acme-c", BucketAction.ERROR))


def test_a_different_live_policy_new_policy_or_action_changes_the_digest() -> None:
    a = bucket("acme-a")
    other_new = {"Version": "2012-10-17", "Statement": [{"Sid": "BucketShareY", "Effect": "Allow"}]}
    variants = [
        dataclasses.replace(a, live_hash=policy_hash("{}")),
        dataclasses.replace(a, new_policy=other_new),
        dataclasses.replace(a, action=BucketAction.DELETE, new_policy=None),
        dataclasses.replace(a, account="222222222222"),
        dataclasses.replace(a, bucket="acme-z"),
    ]
    digests = {digest(a), *(digest(v) for v in variants)}
    assert len(digests) == 1 + len(variants)


def test_an_empty_plan_has_a_fixed_digest() -> None:
    assert digest() == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_digest_text_is_checked() -> None:
    assert check_digest_text(digest(bucket("acme-a"))) is None
    assert check_digest_text("sha256:abc") is not None
    assert check_digest_text("sha256:" + "A" * 64) is not None
    assert check_digest_text(" sha256:" + "a" * 64) is not None


def test_the_comment_carries_the_reviewed_buckets_and_says_what_moved_since() -> None:
    a, b, c = bucket("acme-a"), bucket("acme-b", live="{}"), bucket("acme-c", BucketAction.DELETE, live="{}")
    reviewed_plan = Plan((a, b, c), "BucketShare", "aws")
    comment = render_markdown(reviewed_plan)
    reviewed = parse_reviewed(comment)
    assert reviewed is not None and set(reviewed) == {"acme-a", "acme-b", "acme-c"}
    # Since review: acme-b was edited by hand, acme-c was already applied, acme-d is new,
    # and acme-a's planned policy changed (another merge added a grant).
    other_new = {"Version": "2012-10-17", "Statement": [{"Sid": "BucketShareY", "Effect": "Allow"}]}
    now = Plan(
        (
            dataclasses.replace(a, new_policy=other_new),
            dataclasses.replace(b, live_hash=policy_hash('{"hand": "edit"}')),
            bucket("acme-d"),
        ),
        "BucketShare",
        "aws",
    )
    # acme-c no longer changes: nothing is written to it, so it needs no review.
    assert unreviewed_changes([reviewed], now) == [
        "acme-a: the planned policy differs from the reviewed one (put-policy)",
        "acme-b: its live policy changed since review (a hand edit or another merge)",
        "acme-d: changes (put-policy) but no reviewed plan showed it",
    ]
    assert unreviewed_changes([reviewed], reviewed_plan) == []


def test_a_forged_or_oversized_reviewed_line_is_ignored() -> None:
    head = render_markdown(Plan((bucket("acme-a"),), "BucketShare", "aws")).split("\n")
    bomb = base64.b64encode(zlib.compress(b"\t" * (8 << 20))).decode()
    line = "<!-- bucketshare-reviewed-buckets {} -->"
    for third in (line.format("!!!"), line.format(bomb)):
        assert parse_reviewed("\n".join([*head[:2], third, *head[3:]])) is None
    # Only the head counts: the same line further down is plan content.
    assert parse_reviewed("\n".join([head[0], head[1], "## title", head[2]])) is None


def test_review_is_per_bucket_across_several_reviewed_plans() -> None:
    a, b = bucket("acme-a"), bucket("acme-b", live="{}")
    c = bucket("acme-c", BucketAction.DELETE, live="{}")
    first = parse_reviewed(render_markdown(Plan((a,), "BucketShare", "aws")))
    second = parse_reviewed(render_markdown(Plan((b, c), "BucketShare", "aws")))
    assert first is not None and second is not None
    # Two pull requests merged between two applies: each bucket as its own reviewers saw it.
    assert unreviewed_changes([first, second], Plan((a, b, c), "BucketShare", "aws")) == []
    # A bucket already written by hand needs no review: nothing is written to it.
    assert unreviewed_changes([first, second], Plan((b,), "BucketShare", "aws")) == []
    edited = dataclasses.replace(b, live_hash=policy_hash('{"hand": "edit"}'))
    assert unreviewed_changes([first, second], Plan((a, edited, bucket("acme-d")), "BucketShare", "aws")) == [
        "acme-b: its live policy changed since review (a hand edit or another merge)",
        "acme-d: changes (put-policy) but no reviewed plan showed it",
    ]
    assert unreviewed_changes([], Plan((a,), "BucketShare", "aws")) == [
        "acme-a: changes (put-policy) but no reviewed plan showed it"
    ]


def test_the_reviewed_list_keeps_full_hashes_so_a_prefix_match_approves_nothing() -> None:
    a = bucket("acme-a", live="{}")
    reviewed = parse_reviewed(render_markdown(Plan((a,), "BucketShare", "aws")))
    full = policy_hash('{"Version":"2012-10-17","Statement":[{"Sid":"BucketShareX","Effect":"Allow"}]}')
    assert reviewed == {"acme-a": ("put-policy", policy_hash("{}"), full)}
    # A change whose hash agrees with the reviewed one in its first 16 hex digits only.
    near = full[: len("sha256:") + 16] + ("0" if full[-1] != "0" else "1") * 48
    assert unreviewed_changes(
        [{"acme-a": ("put-policy", policy_hash("{}"), near)}], Plan((a,), "BucketShare", "aws")
    ) == ["acme-a: the planned policy differs from the reviewed one (put-policy)"]


def test_a_comment_written_before_full_hashes_is_still_read() -> None:
    a, b = bucket("acme-a"), bucket("acme-b", live="{}")
    short = [line.split("\t") for line in digest_lines(Plan((a, b), "BucketShare", "aws"))]
    body = "\n".join(
        "\t".join([*row[:3], *(h.removeprefix("sha256:")[:16] for h in row[3:])]) for row in short
    )
    old = decode_reviewed(base64.b64encode(zlib.compress(body.encode())).decode())
    assert old is not None and old["acme-a"][1] == "none" and len(old["acme-b"][2]) == 16
    assert unreviewed_changes([old], Plan((a, b), "BucketShare", "aws")) == []
    edited = dataclasses.replace(b, live_hash=policy_hash('{"hand": "edit"}'))
    assert unreviewed_changes([old], Plan((a, edited), "BucketShare", "aws")) == [
        "acme-b: its live policy changed since review (a hand edit or another merge)"
    ]
