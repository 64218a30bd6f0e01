"""merge-plans joins shard plans into the plan of every account, and refuses what would not be."""

from __future__ import annotations

import re

import pytest

from reconciler.plan.digest import plan_digest
from reconciler.plan.merge import MergeError, ShardPlan, merge_plans
from reconciler.plan.model import BucketAction, BucketPlan, Plan
from reconciler.plan.scopes import AccountScope, parse_shard, shard_of


def bucket(name: str, account: str, action: BucketAction = BucketAction.PUT) -> BucketPlan:
    return BucketPlan(name, account, action, True, "none", new_policy={"Version": "2012-10-17"})


def shard(index: int, count: int, *buckets: BucketPlan, warnings: tuple[str, ...] = ()) -> ShardPlan:
    plan = Plan(
        buckets, "BucketShare", "aws", warnings=warnings, account_scope=AccountScope(shard=(index, count))
    )
    return ShardPlan(f"shard-{index}.json", plan)


def test_complete_shards_give_one_plan_of_every_account() -> None:
    a, b, c = bucket("c-bucket", "111111111111"), bucket("a-bucket", "222222222222"), bucket("b", "3" * 12)
    shared = "shares/x.yaml:9:5: a declaration warning every shard repeats"
    merged = merge_plans(
        [
            shard(1, 2, b, warnings=(shared, "discovery skipped for account 222222222222")),
            shard(0, 2, a, c, warnings=("shares/x.yaml:10:5: later line", shared)),
        ]
    )
    assert merged.scope is None
    assert [x.bucket for x in merged.buckets] == ["a-bucket", "b", "c-bucket"]
    # Once each, line 9 before line 10 (numbers compare as numbers).
    assert merged.warnings == (
        "discovery skipped for account 222222222222",
        shared,
        "shares/x.yaml:10:5: later line",
    )
    whole = Plan(merged.buckets, "BucketShare", "aws")
    assert plan_digest(merged) == plan_digest(whole)


@pytest.mark.parametrize(
    ("shards", "message"),
    [
        ([shard(0, 3), shard(2, 3)], "shard 1/3 missing"),
        ([shard(0, 2), shard(0, 2), shard(1, 2)], "shard-0.json: shard 0/2 is also shard-0.json"),
        ([shard(0, 2), shard(1, 3)], "different numbers of shards"),
        (
            [shard(0, 2, bucket("x", "111111111111")), shard(1, 2, bucket("x", "111111111111"))],
            "bucket x is also in shard-0.json",
        ),
        (
            [ShardPlan("all.json", Plan((), "BucketShare", "aws")), shard(0, 1)],
            "all.json: a plan of every account",
        ),
        ([], "no plans to merge"),
    ],
)
def test_merges_that_would_lie_are_refused(shards: list[ShardPlan], message: str) -> None:
    with pytest.raises(MergeError, match=re.escape(message)):
        merge_plans(shards)


def test_shards_made_with_other_settings_are_refused() -> None:
    other = ShardPlan("b.json", Plan((), "Other", "aws", account_scope=AccountScope(shard=(1, 2))))
    with pytest.raises(MergeError, match=re.escape("b.json: sid_prefix is 'Other'")):
        merge_plans([shard(0, 2), other])


def test_account_plans_merge_into_their_union() -> None:
    one = ShardPlan(
        "a.json", Plan((), "BucketShare", "aws", account_scope=AccountScope(frozenset({"111111111111"})))
    )
    two = ShardPlan(
        "b.json",
        Plan(
            (), "BucketShare", "aws", account_scope=AccountScope(frozenset({"222222222222", "333333333333"}))
        ),
    )
    assert merge_plans([one, two]).scope == "accounts 111111111111,222222222222,333333333333"
    with pytest.raises(MergeError, match=re.escape("account 111111111111 is also in a.json")):
        merge_plans([one, ShardPlan("c.json", one.plan)])


def test_every_account_is_in_exactly_one_shard() -> None:
    accounts = [f"{n:012d}" for n in range(1000, 1400)]
    for count in (1, 2, 7):
        scopes = [AccountScope(shard=(i, count)) for i in range(count)]
        for account in accounts:
            assert sum(scope.includes(account) for scope in scopes) == 1
    # The split depends only on the id and the count: stable as accounts come and go.
    assert shard_of("111111111111", 4) == shard_of("111111111111", 4)
    sizes = [sum(shard_of(a, 4) == i for a in accounts) for i in range(4)]
    assert min(sizes) > 60, sizes


@pytest.mark.parametrize("text", ["4/4", "-1/2", "1/0", "a/b", "1/257", "1"])
def test_bad_shard_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="INDEX/COUNT"):
        parse_shard(text)


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        (None, AccountScope()),
        ("shard 2/4", AccountScope(shard=(2, 4))),
        ("accounts 111111111111,222222222222", AccountScope(frozenset({"111111111111", "222222222222"}))),
        ("shard 0/2; accounts 111111111111", AccountScope(frozenset({"111111111111"}), (0, 2))),
    ],
)
def test_a_saved_scope_reads_back_as_the_scope_that_wrote_it(text: str | None, scope: AccountScope) -> None:
    assert AccountScope.from_text(text) == scope
    assert scope.describe() == text


def test_a_saved_plan_with_a_scope_no_plan_writes_is_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("must be `shard I/N`, `accounts ID,...` or both")):
        AccountScope.from_text("shard one")
