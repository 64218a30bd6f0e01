"""A KMS key's policy planned as one more resource policy we co-own (pure, no AWS)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from reconciler.errors import BucketshareError
from reconciler.live.policy import LivePolicy
from reconciler.plan.digest import digest_lines
from reconciler.plan.file_read import loads
from reconciler.plan.file_write import dumps
from reconciler.plan.keys import plan_key_policy
from reconciler.plan.kinds import PolicyKind
from reconciler.plan.merge import MergeError, ShardPlan, merge_plans
from reconciler.plan.model import BucketAction, BucketPlan, Plan
from reconciler.plan.scopes import AccountScope
from reconciler.policy.render import DesiredStatement

KEY = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ADMIN = {
    "Sid": "Enable IAM User Permissions",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
    "Action": "kms:*",
    "Resource": "*",
}
OURS = {
    "Sid": "BucketShareKmsReadAccount",
    "Effect": "Allow",
    "Principal": {"AWS": ["arn:aws:iam::222222222222:root"]},
    "Action": ["kms:Decrypt"],
    "Resource": "*",
}


def live(*statements: dict[str, object]) -> LivePolicy:
    return LivePolicy(
        KEY, "111111111111", json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    )


def planned(policy: LivePolicy, *wanted: dict[str, object]) -> BucketPlan:
    desired = [DesiredStatement(str(s["Sid"]), dict(s), ()) for s in wanted]
    return plan_key_policy(KEY, "111111111111", policy, desired, ["b"], "BucketShare", "aws")


def test_our_statements_join_the_administrators_which_stay_first_and_exact() -> None:
    plan = planned(live(ADMIN), OURS)
    assert (plan.kind, plan.action, plan.kept_statements) == (PolicyKind.KEY, BucketAction.PUT, 1)
    assert plan.new_policy is not None and plan.new_policy["Statement"] == [ADMIN, OURS]
    assert planned(live(ADMIN, OURS), OURS).action is BucketAction.NOOP
    # Removing the last grant removes our statement; the key keeps its policy.
    removed = planned(live(ADMIN, OURS))
    assert removed.action is BucketAction.PUT
    assert removed.new_policy == {"Version": "2012-10-17", "Statement": [ADMIN]}


def test_a_policy_of_only_our_statements_is_refused() -> None:
    plan = planned(live(), OURS)
    assert plan.action is BucketAction.ERROR
    assert "no administrator could manage the key" in plan.errors[0]


def test_a_hand_written_statement_with_our_sid_is_a_collision() -> None:
    theirs = {**ADMIN, "Sid": "bucketsharekmsreadaccount"}
    plan = planned(live(ADMIN, theirs), OURS)
    assert plan.action is BucketAction.ERROR and "collides" in plan.errors[0]


def test_key_plans_round_trip_count_in_the_digest_and_refuse_two_shards() -> None:
    key = planned(live(ADMIN), OURS)
    plan = Plan((), "BucketShare", "aws", keys=(key,))
    again = loads(dumps(plan), "plan.json")
    assert again.keys == plan.keys
    assert [line.split("\t")[0] for line in digest_lines(plan)] == [KEY]
    forged = json.loads(dumps(plan))
    forged["buckets"], forged["keys"] = forged["keys"], []
    with pytest.raises(BucketshareError, match="kind must be bucket-policy in this list"):
        loads(json.dumps(forged), "plan.json")
    shards = [
        ShardPlan(
            f"s{i}.json",
            Plan((), "BucketShare", "aws", account_scope=AccountScope(shard=(i, 2)), keys=(key,)),
        )
        for i in range(2)
    ]
    with pytest.raises(MergeError, match=r"is also planned in s0\.json"):
        merge_plans(shards)


def test_a_key_whose_users_are_not_all_known_is_not_planned() -> None:
    from reconciler.declare.model import BucketShare
    from reconciler.live.facts import Encryption
    from reconciler.plan.keys import managed_keys, plan_keys
    from reconciler.policy.render import DesiredBucket, RenderContext

    def bucket(name: str) -> DesiredBucket:
        share = BucketShare(name, "111111111111", (), ())
        return DesiredBucket(share, RenderContext("BucketShare", "aws", dt.date(2026, 1, 1)), manage_key=True)

    uses_key = Encryption("aws:kms", KEY)
    keys = managed_keys(
        [bucket("a"), bucket("b")], {"a": uses_key, "b": "access denied on GetBucketEncryption"}
    )
    # b might use the key too: planning it from a's grants alone could revoke b's.
    assert keys.targets() == []
    [plan] = plan_keys(keys, [], "BucketShare", "aws")
    assert plan.action is BucketAction.ERROR and "bucket b: access denied" in plan.errors[0]
    known = managed_keys([bucket("a"), bucket("b")], {"a": uses_key, "b": Encryption("AES256")})
    assert known.targets() == [(KEY, "111111111111")]


def test_the_scheduled_run_leaves_key_policies_for_review() -> None:
    from reconciler.plan.scheduled import select_scheduled

    key = planned(live(ADMIN), OURS)
    plan = Plan((), "BucketShare", "aws", keys=(key,))
    assert [k.action for k in select_scheduled(plan, fix_all_drift=False).keys] == [BucketAction.NOOP]
    assert not select_scheduled(plan, fix_all_drift=False).has_changes
    assert select_scheduled(plan, fix_all_drift=True).keys == (key,)


def test_a_saved_key_plan_must_be_a_put_in_the_keys_own_account() -> None:
    key = planned(live(ADMIN), OURS)
    data = json.loads(dumps(Plan((), "BucketShare", "aws", keys=(key,))))
    data["keys"][0]["account"] = "999999999999"
    with pytest.raises(BucketshareError, match="must be the key's own account"):
        loads(json.dumps(data), "plan.json")
    data["keys"][0]["account"], data["keys"][0]["action"] = "111111111111", "delete-policy"
    with pytest.raises(BucketshareError, match="put-policy, no-op or error for a key policy"):
        loads(json.dumps(data), "plan.json")
