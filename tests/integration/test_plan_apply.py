"""plan and apply against a moto server: the seed case, co-owned policies, AWS's rewriting of
stored policies, removed grants, exit codes and the S3 calls apply makes."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from reconciler.edge.s3 import S3Edge

from .conftest import Workspace, bucket_plan, read_grant, sentences, statement
from .faultproxy import FaultProxy
from .helpers import granted, read_pairs


def unmanaged(policy: dict[str, Any] | None) -> list[Any]:
    return [
        s for s in (policy or {}).get("Statement", []) if not str(s.get("Sid", "")).startswith("BucketShare")
    ]


def test_seed_case_plans_applies_and_converges(ws: Workspace) -> None:
    bucket = ws.bucket("artifacts")
    source = ws.declare(bucket, read_grant("222222222222"))
    sentence = f"account 222222222222 gains read on the whole bucket ({source}:6:5)"

    before = ws.plan("--detailed-exitcode")
    assert before.rc == 2, before.text
    assert ws.shown_action(before.out, bucket) == "put-policy"
    assert sentence in before.out

    result, plan = ws.plan_json()
    assert result.rc == 0
    assert bucket_plan(plan, bucket)["action"] == "put-policy"
    assert sentence in sentences(plan, bucket)
    assert plan["summary"]["put_policy"] == 1
    assert ws.policy_text(bucket) is None, "plan must not write"

    applied = ws.apply()
    assert applied.rc == 0, applied.text
    assert f"{bucket}: ok: wrote the policy" in applied.out
    live = ws.policy(bucket)
    assert live is not None and live["Version"] == "2012-10-17"
    assert granted(live, "222222222222") == read_pairs(bucket)

    again = ws.plan("--detailed-exitcode")
    assert again.rc == 0, again.text
    assert "No changes" in again.out
    _, plan = ws.plan_json()
    assert bucket_plan(plan, bucket)["action"] == "no-op"
    assert plan["summary"] == {**plan["summary"], "put_policy": 0, "delete_policy": 0, "error": 0}


def test_unmanaged_statements_are_kept_exactly_in_order(ws: Workspace) -> None:
    bucket = ws.bucket("coowned")
    deny = statement("DenyInsecureTransport", bucket)
    no_sid = {
        "Effect": "Allow",
        "Principal": {"AWS": ["arn:aws:iam::999999999999:root", "888888888888"]},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/logs/*",
        "Condition": {"NumericLessThan": {"s3:max-keys": 10}, "Bool": {"aws:SecureTransport": True}},
    }
    ws.put_policy(bucket, {"Version": "2012-10-17", "Id": "Keep-This-Id", "Statement": [deny, no_sid]})
    ws.declare(bucket, read_grant("222222222222"))

    _, plan = ws.plan_json()
    planned = bucket_plan(plan, bucket)
    assert planned["action"] == "put-policy"
    assert planned["kept_statements"] == 2
    assert unmanaged(planned["new_policy"]) == [deny, no_sid]
    assert ws.apply().rc == 0
    live = ws.policy(bucket)
    assert unmanaged(live) == [deny, no_sid]
    assert live is not None and live["Id"] == "Keep-This-Id"

    # Someone reorders the policy so their statements sit between ours; a new grant follows.
    ours = [s for s in live["Statement"] if s not in (deny, no_sid)]
    assert len(ours) == 3
    interleaved = [ours[0], deny, ours[1], no_sid, ours[2]]
    ws.put_policy(bucket, {"Version": "2012-10-17", "Id": "Keep-This-Id", "Statement": interleaved})
    ws.declare(bucket, read_grant("222222222222") + read_grant("333333333333"))

    _, plan = ws.plan_json()
    planned = bucket_plan(plan, bucket)
    assert planned["action"] == "put-policy"
    assert unmanaged(planned["new_policy"]) == [deny, no_sid]
    assert ws.apply().rc == 0
    live = ws.policy(bucket)
    assert unmanaged(live) == [deny, no_sid]
    assert granted(live, "333333333333") == read_pairs(bucket)
    assert granted(live, "222222222222") == read_pairs(bucket)
    assert ws.plan("--detailed-exitcode").rc == 0


def _as_aws_returns(item: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """How S3 hands back a statement it stored: see AWS-BEHAVIOUR.md."""

    def collapse(value: Any) -> Any:
        return value[0] if isinstance(value, list) and len(value) == 1 else value

    out: dict[str, Any] = {}
    for key in rng.sample(list(item), len(item)):
        value = item[key]
        if key == "Effect":
            value = value.lower()
        elif key in ("Action", "Resource"):
            value = collapse([v.upper() if key == "Action" else v for v in rng.sample(value, len(value))])
        elif key == "Principal" and isinstance(value, dict):
            names = [n.split(":")[4] if n.endswith(":root") else n for n in value["AWS"]]
            value = {"AWS": collapse(rng.sample(names, len(names)))}
        elif key == "Principal" and value == "*":
            value = {"AWS": "*"}
        elif key == "Condition":
            value = {
                operator: {
                    name.lower(): collapse(rng.sample(vals, len(vals))) for name, vals in block.items()
                }
                for operator, block in value.items()
            }
        out[key] = value
    return out


def test_policy_as_aws_returns_it_plans_no_op(ws: Workspace) -> None:
    bucket = ws.bucket("normalised")
    ws.declare(
        bucket,
        read_grant("222222222222")
        + read_grant("333333333333")
        + read_grant("444444444444", ["models/fraud/"])
        + "  - to: arn:aws:iam::555555555555:role/inference\n    access: read\n"
        + "  - to: org:o-a1b2c3d4e5\n    access: read\n    prefixes: [shared/]\n",
    )
    rendered = ws.render()[bucket]
    ours = rendered["Statement"]
    assert any(len(s["Principal"]["AWS"]) == 2 for s in ours if isinstance(s["Principal"], dict))
    rng = random.Random(7)
    returned = [_as_aws_returns(s, rng) for s in ours]
    rng.shuffle(returned)
    unmanaged_one = statement("DenyInsecureTransport", bucket)
    returned.insert(2, unmanaged_one)
    text = json.dumps({"Statement": returned, "Version": "2012-10-17"}, indent=4).replace("\n", "\r\n  ")
    ws.put_policy(bucket, text)
    assert ws.policy_text(bucket) == text
    stored = json.loads(text)["Statement"]
    assert ":root" not in text and "aws:principalarn" in text
    assert {s["Effect"] for s in stored} == {"allow", "Deny"}
    assert "S3:LISTBUCKET" in [s["Action"] for s in stored]
    assert {"AWS": "*"} in [s["Principal"] for s in stored]
    assert "arn:aws:s3:::" + bucket in [s["Resource"] for s in stored]

    result = ws.plan("--detailed-exitcode")
    assert result.rc == 0, result.text
    assert "No changes" in result.out
    _, plan = ws.plan_json()
    assert bucket_plan(plan, bucket)["action"] == "no-op"
    assert bucket_plan(plan, bucket)["changes"] == []


def stored_like_s3(payload: bytes) -> bytes:
    """A deterministic S3-style rendition: one-item lists as strings, lists and keys reordered."""

    def collapse(value: Any) -> Any:
        if isinstance(value, list):
            value = sorted(value, reverse=True)
            return value[0] if len(value) == 1 else value
        if isinstance(value, dict):
            return {k: collapse(value[k]) for k in sorted(value, reverse=True)}
        return value

    document = json.loads(payload)
    document["Statement"] = [
        {key: collapse(item[key]) for key in sorted(item, reverse=True)} for item in document["Statement"]
    ]
    return json.dumps(document, separators=(", ", ": ")).encode()


def test_apply_converges_when_s3_rewrites_the_stored_policy(ws: Workspace, fault_proxy: FaultProxy) -> None:
    bucket = ws.bucket("rewritten")
    ws.put_policy(bucket, {"Version": "2012-10-17", "Statement": [statement("Theirs", bucket)]})
    ws.declare(
        bucket,
        read_grant("222222222222")
        + read_grant("333333333333")
        + "  - to: arn:aws:iam::555555555555:role/inference\n    access: read\n    prefixes: [m/]\n",
    )
    fault_proxy.rewrite_policy(bucket, stored_like_s3)
    ws.point(fault_proxy.url)

    applied = ws.apply("--declared-only")
    assert applied.rc == 0, applied.text
    assert f"{bucket}: ok: wrote the policy" in applied.out
    again = ws.plan("--declared-only", "--detailed-exitcode")
    assert again.rc == 0, again.text
    assert "Nothing to apply." in ws.apply("--declared-only").out

    ws.declare(bucket, read_grant("222222222222"))
    saved = ws.root / "plan.json"
    assert ws.plan("--declared-only", "--save", saved).rc == 0
    applied = ws.apply_saved(saved)
    assert applied.rc == 0, applied.text
    live = ws.policy(bucket)
    assert granted(live, "333333333333") == set()
    assert granted(live, "222222222222") == read_pairs(bucket)
    # Their statement is kept as S3 handed it to us: the same statement to AWS.
    as_read = json.loads(stored_like_s3(json.dumps({"Statement": [statement("Theirs", bucket)]}).encode()))
    assert unmanaged(live) == as_read["Statement"]


def test_removed_grant_loses_access_and_nothing_else(ws: Workspace) -> None:
    bucket = ws.bucket("removal")
    ws.put_policy(bucket, {"Version": "2012-10-17", "Statement": [statement("KeepMe", bucket)]})
    ws.declare(bucket, read_grant("222222222222") + read_grant("333333333333", ["models/"]))
    assert ws.apply().rc == 0
    assert granted(ws.policy(bucket), "333333333333") == read_pairs(bucket, "models/")

    ws.declare(bucket, read_grant("222222222222"))
    result = ws.plan("--detailed-exitcode")
    assert result.rc == 2, result.text
    lost = "account 333333333333 loses read on models/ ("
    assert lost in result.out
    _, plan = ws.plan_json()
    assert len(sentences(plan, bucket)) == 1
    assert sentences(plan, bucket)[0].startswith(lost)

    assert ws.apply().rc == 0
    live = ws.policy(bucket)
    assert granted(live, "333333333333") == set()
    assert granted(live, "222222222222") == read_pairs(bucket)
    assert unmanaged(live) == [statement("KeepMe", bucket)]
    assert ws.plan("--detailed-exitcode").rc == 0


def test_detailed_exitcode_none_changes_error(ws: Workspace) -> None:
    good = ws.bucket("good")
    ws.declare(good, read_grant("222222222222"))
    assert ws.plan("--detailed-exitcode").rc == 2
    assert ws.plan().rc == 0, "without --detailed-exitcode changes are not an error"
    assert ws.apply().rc == 0
    assert ws.plan("--detailed-exitcode").rc == 0

    changed = ws.bucket("changed")
    ws.declare(changed, read_grant("333333333333"))
    missing = f"bs-missing-{ws.account}"
    ws.declare(missing, read_grant("222222222222"))
    result = ws.plan("--detailed-exitcode")
    assert result.rc == 1, result.text
    assert ws.shown_action(result.out, changed) == "put-policy"
    assert "account 333333333333 gains read on the whole bucket" in result.out
    assert ws.shown_action(result.out, missing) == "error"
    _, plan = ws.plan_json()
    assert bucket_plan(plan, good)["action"] == "no-op"
    assert bucket_plan(plan, changed)["action"] == "put-policy"
    assert bucket_plan(plan, missing)["action"] == "error"
    assert plan["summary"]["error"] == 1 and plan["summary"]["put_policy"] == 1


class S3Calls:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, dict(params)))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def clear(self) -> None:
        self.calls.clear()


@pytest.fixture
def s3_calls(monkeypatch: pytest.MonkeyPatch) -> S3Calls:
    """Every S3 API call the reconciler's clients make, with the parameters it passed."""
    recorder = S3Calls()
    hooked: set[int] = set()
    original = S3Edge.s3

    def s3(self: S3Edge, account: str) -> Any:
        client = original(self, account)
        if id(client) not in hooked:
            hooked.add(id(client))
            client.meta.events.register("before-parameter-build.s3.*", recorder.record)
        return client

    monkeypatch.setattr(S3Edge, "s3", s3)
    return recorder


def test_second_apply_writes_nothing_and_every_call_names_the_owner(ws: Workspace, s3_calls: S3Calls) -> None:
    first, second = ws.bucket("one"), ws.bucket("two")
    ws.put_policy(second, {"Version": "2012-10-17", "Statement": [statement("Theirs", second)]})
    ws.declare(first, read_grant("222222222222"))
    ws.declare(second, read_grant("333333333333", ["a/"]))

    # Plan runs in pull requests with read-only credentials: it reads and lists, nothing else.
    # Object Ownership is read only for buckets with writers; these have readers only.
    assert ws.plan().rc == 0
    assert set(s3_calls.names()) == {"ListBuckets", "GetBucketPolicy", "GetBucketEncryption"}
    s3_calls.clear()

    assert ws.apply().rc == 0
    names = s3_calls.names()
    assert names.count("PutBucketPolicy") == 2
    assert {"GetBucketPolicy", "GetBucketPolicyStatus"} <= set(names)
    bucket_calls = [(n, p) for n, p in s3_calls.calls if n != "ListBuckets"]
    assert bucket_calls
    for name, params in bucket_calls:
        assert params.get("ExpectedBucketOwner") == ws.account, (name, params)

    s3_calls.clear()
    again = ws.apply()
    assert again.rc == 0, again.text
    assert "Nothing to apply." in again.out
    writes = [n for n in s3_calls.names() if n in ("PutBucketPolicy", "DeleteBucketPolicy")]
    assert writes == []
    assert s3_calls.names().count("GetBucketPolicy") == 2
    for name, params in s3_calls.calls:
        if name != "ListBuckets":
            assert params.get("ExpectedBucketOwner") == ws.account, (name, params)
