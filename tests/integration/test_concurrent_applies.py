"""Two applies at once over the same buckets, as if the workflow's concurrency group were
missing: two saved plans made from the same live state, with different declarations.

S3 has no conditional PutBucketPolicy, so the stale check (re-read, compare, write) leaves
a window between the re-read and the write. What must hold whatever the interleaving:
every bucket ends holding one of the two intended policies, never a mix; the plan whose
policy a bucket holds reported it ok, and the other did not (refused as stale, or wrote and
then saw it overwritten: never a silent lost write); every unmanaged statement survives;
and a re-plan shows exactly the buckets that hold the other plan's policy. The test measures the window
(re-read answered to write sent, in apply's own thread) and reports it.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
from collections import Counter
from typing import Any

from reconciler.edge.s3 import S3Edge
from reconciler.execute.apply import apply_plan
from reconciler.execute.journal import Journal
from reconciler.execute.outcome import BucketOutcome
from reconciler.execute.outcome_messages import OVERWRITTEN, STALE_SINCE_PLAN
from reconciler.live.policy import LivePolicy
from reconciler.plan.model import BucketAction

from .conftest import Workspace
from .faultproxy import FaultProxy
from .helpers import LATENCY, live_policies, make_fleet, same, saved_plan

BUCKETS = 30
READ_BACK_DIFFERS = "the policy read back differs from what was written"


class TimedEdge(S3Edge):
    """The AWS edge, noting per write how long after the thread's last read it was sent."""

    def __init__(self, parallelism: int) -> None:
        super().__init__(parallelism)
        self.windows: list[float] = []
        self._last_read = threading.local()

    def read_policy(self, bucket: str, account: str) -> LivePolicy:
        live = super().read_policy(bucket, account)
        self._last_read.at = time.perf_counter()
        return live

    def _sent(self) -> None:
        self.windows.append(time.perf_counter() - self._last_read.at)

    def put_policy(self, bucket: str, account: str, text: str, sleep: Any = time.sleep) -> None:
        self._sent()
        super().put_policy(bucket, account, text, sleep)

    def delete_policy(self, bucket: str, account: str, sleep: Any = time.sleep) -> None:
        self._sent()
        super().delete_policy(bucket, account, sleep)


def report(line: dict[str, Any]) -> None:
    path = os.environ.get("BUCKETSHARE_CRASH_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")


def test_two_applies_at_once_never_mix_policies_or_lose_unmanaged_statements(
    ws: Workspace, fault_proxy: FaultProxy
) -> None:
    fleet = make_fleet(ws, BUCKETS)
    declared = [b.name for b in fleet if b.declared]
    plans = {
        "a": saved_plan(ws, "222222222222", declared, "a"),
        "b": saved_plan(ws, "333333333333", declared, "b"),
    }
    intended = {label: {b.bucket: b.new_policy_text for b in plan.buckets} for label, plan in plans.items()}
    fault_proxy.latency = LATENCY
    ws.point(fault_proxy.url)
    edges = {label: TimedEdge(8) for label in plans}
    for edge in edges.values():
        edge.s3(ws.account)  # clients made here: boto3 sessions are not made safely in threads
    outcomes: dict[str, list[BucketOutcome]] = {}
    start = threading.Barrier(len(plans))

    def run(label: str) -> None:
        start.wait()
        outcomes[label] = apply_plan(plans[label], edges[label], Journal(ws.root / f"journal-{label}.jsonl"))

    threads = [threading.Thread(target=run, args=(label,)) for label in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    ws.point()
    assert set(outcomes) == set(plans), "an apply died"

    live = live_policies(ws, [b.name for b in fleet])
    by_bucket = {label: {o.bucket: o for o in found} for label, found in outcomes.items()}
    kinds: Counter[str] = Counter()
    holders: dict[str, str] = {}
    for bucket in fleet:
        held = live[bucket.name]
        holding = [label for label in plans if same(held, intended[label][bucket.name])]
        assert holding, f"{bucket.name} holds neither plan's policy: {held}"
        if bucket.unmanaged is not None:
            assert held is not None and bucket.unmanaged in json.loads(held)["Statement"]
        if len(holding) == 2:
            kinds["both plans meant the same policy"] += 1
            continue
        holder, other = holding[0], "b" if holding[0] == "a" else "a"
        holders[bucket.name] = holder
        assert by_bucket[holder][bucket.name].ok, by_bucket[holder][bucket.name]
        theirs = by_bucket[other][bucket.name]
        # No write is lost silently: the plan whose policy the bucket does not hold says so.
        assert not theirs.ok, f"{bucket.name}: {other} reported ok, but holds {holder}'s policy"
        kinds[
            {
                STALE_SINCE_PLAN: "other refused as stale",
                READ_BACK_DIFFERS: "other wrote, its read-back saw the winner's",
                OVERWRITTEN: "other wrote, read back its own, overwritten before its apply ended",
            }[theirs.message]
        ] += 1

    # The declarations are now plan b's: a re-plan shows exactly the buckets holding a's policy.
    replanned = ws.root / "replan.json"
    assert ws.plan("--format", "json", "--out", replanned).rc == 0
    changing = {
        b["bucket"]
        for b in json.loads(replanned.read_text(encoding="utf-8"))["buckets"]
        if b["action"] != "no-op"
    }
    assert changing == {name for name, holder in holders.items() if holder == "a"}

    windows = [w for edge in edges.values() for w in edge.windows]
    report({"test": "two applies at once", "outcomes": dict(kinds), "window_ms": summary(windows)})


def summary(seconds: list[float]) -> dict[str, float]:
    windows = sorted(w * 1000 for w in seconds)
    return {
        "median": round(statistics.median(windows), 3),
        "p95": round(windows[max(0, int(len(windows) * 0.95) - 1)], 3),
        "max": round(windows[-1], 3),
        "writes": len(windows),
    }


def test_the_second_of_two_sequential_applies_refuses_every_bucket_as_stale(
    ws: Workspace, fault_proxy: FaultProxy
) -> None:
    # The concurrency group's case: one apply after the other, from the same live state.
    fleet = make_fleet(ws, BUCKETS)
    declared = [b.name for b in fleet if b.declared]
    first = saved_plan(ws, "222222222222", declared, "a")
    second = saved_plan(ws, "333333333333", declared, "b")
    fault_proxy.latency = LATENCY
    ws.point(fault_proxy.url)
    edge = TimedEdge(8)
    assert all(o.ok for o in apply_plan(first, edge, Journal(ws.root / "a.jsonl")))
    refused = apply_plan(second, S3Edge(8), Journal(ws.root / "b.jsonl"))
    # Where both plans want the same policy (e.g. both remove our statements), the first apply
    # already did the second's work: that is not stale.
    wanted_first = {b.bucket: b.new_policy_text for b in first.buckets}
    expected = [
        "already as planned; nothing written"
        if wanted_first.get(b.bucket) == b.new_policy_text
        else STALE_SINCE_PLAN
        for b in second.buckets
        if b.action is not BucketAction.NOOP
    ]
    assert [o.message for o in refused] == expected
    assert expected.count(STALE_SINCE_PLAN) >= len(declared)
    assert (ws.root / "b.jsonl").read_text(encoding="utf-8") == "", (
        "nothing was written, so nothing journalled"
    )
    report({"test": "one apply alone", "window_ms": summary(edge.windows)})


class OverwrittenEdge(S3Edge):
    """A second writer that lands right after apply's read-back of one bucket."""

    def __init__(self, ws: Workspace, bucket: str) -> None:
        super().__init__(4)
        self.ws, self.bucket, self.theirs = ws, bucket, ""

    def policy_is_public(self, bucket: str, account: str) -> bool | None:
        if bucket == self.bucket:
            self.theirs = self.ws.put_policy(bucket, {"Version": "2012-10-17", "Statement": []})
        return super().policy_is_public(bucket, account)


def test_a_write_overwritten_after_its_read_back_is_reported_not_ok(ws: Workspace) -> None:
    fleet = make_fleet(ws, 4)
    plan = saved_plan(ws, "222222222222", [b.name for b in fleet if b.declared], "a")
    lost = fleet[1].name
    edge = OverwrittenEdge(ws, lost)
    outcomes = {o.bucket: o for o in apply_plan(plan, edge, Journal(ws.root / "journal.jsonl"))}
    assert outcomes[lost].message == OVERWRITTEN and not outcomes[lost].ok
    assert all(o.ok for name, o in outcomes.items() if name != lost)
    assert ws.policy_text(lost) == edge.theirs
