"""The plan digest names what apply would write, and nothing else."""

from __future__ import annotations

import dataclasses

from reconciler.digest import check_digest_text, digest_lines, plan_digest
from reconciler.plan import BucketAction, BucketPlan, Plan, policy_hash

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
