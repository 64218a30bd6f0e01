"""Plan and apply through an unreliable S3: throttling, server errors, connections reset in
the middle of an answer and answers that never come (faultproxy.py).

The claims: every bucket ends exactly as declared, no statement bucketshare does not own is
lost, retries are bounded, a bucket whose retries run out is reported with the reason while
the others apply, and a write whose answer was lost is never reported as done unless it is
read back, and converges on the next run.

Every chaos draw is seeded (FaultProxy.seed) and keyed by request, and the estates the
draws run on have fixed bucket names, so each run faults the same requests. botocore's
backoff is patched to 0 (`no_retry_delay`). Only the tests that stall answers shorten the
read timeout (the user setting BUCKETSHARE_AWS_READ_TIMEOUT), so a stall costs seconds, not
30; the others keep the default, as a user would.

The read timeout is not shortened for every fault: moto is one CPU-bound process (about 300
calls/s on 2 cores) and 64 workers queue at it, so on a loaded machine its honest answers
took over half a second. Such a read timeout turned them into stalls that were retried and
drew fresh faults, until a call ran out of its 5 attempts ("219 applied, 1 failed"). S3
answers these calls in tens of milliseconds and the default read timeout is 30 s: the retry
policy was right, the test's timeout was not.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError

import reconciler.edge.s3
from reconciler.edge.aws_errors import TOTAL_ATTEMPTS

from .conftest import Workspace, read_grant, statement
from .faultproxy import (
    KINDS,
    RESET,
    SLOW_DOWN,
    STALL,
    Fault,
    FaultProxy,
    reset,
    slow_down,
    stall,
)

pytestmark = pytest.mark.slow
"""About two minutes: 200-bucket estates planned and applied through every kind of fault."""

STALL_READ_TIMEOUT = 3.0
"""Seconds: BUCKETSHARE_AWS_READ_TIMEOUT where answers stall; a stall is held longer. Well
above what moto takes to answer 64 workers while another process burns a core."""
OPERATIONS = (
    "GetBucketPolicy",
    "PutBucketPolicy",
    "DeleteBucketPolicy",
    "GetBucketPolicyStatus",
    "ListBuckets",
    "GetCallerIdentity",
)
"""Every operation bucketshare makes (iam_recorder.OPERATION_ACTIONS)."""
GRANTEE = "222222222222"
SEED = 22
"""Any seed gives reproducible faults; this one also faults the run's one ListBuckets and one
GetCallerIdentity at their first attempt only, and a DeleteBucketPolicy of every estate (the
tests assert every operation met a fault)."""
MIXED_SEED = 16
"""For all four faults at once: with this seed some calls run out of retries on every run."""
PARALLELISM = "64"
"""Stalled requests hold a worker for the read timeout but no CPU: more workers, less waiting."""


@dataclass
class Call:
    operation: str
    bucket: str | None
    attempts: int = 0
    errors: list[str] = field(default_factory=list)


class AttemptLog:
    """Attempts per botocore call of the reconciler, from its sessions' `needs-retry` event,
    which botocore emits after every attempt with the attempt's number."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens = itertools.count()
        self.calls: dict[int, Call] = {}

    def hook(self, session: boto3.session.Session) -> None:
        session.events.register("needs-retry", self._attempted, unique_id=f"attempt-log-{id(session)}")

    def _attempted(
        self,
        attempts: int,
        operation: Any,
        request_dict: dict[str, Any],
        caught_exception: Exception | None = None,
        response: Any = None,
        **_: Any,
    ) -> None:
        # The request's context dict is the same object for every attempt of one call.
        context = request_dict["context"]
        with self._lock:
            token = context.setdefault("attempt-log", next(self._tokens))
            path = urlsplit(request_dict["url"]).path.strip("/")
            call = self.calls.setdefault(token, Call(operation.name, path.split("/")[0] or None))
            call.attempts = max(call.attempts, attempts)
            if caught_exception is not None:
                call.errors.append(type(caught_exception).__name__)
            elif response is not None and response[0].status_code >= 500:
                call.errors.append(str(response[0].status_code))

    def distribution(self) -> dict[int, int]:
        with self._lock:
            return dict(sorted(Counter(c.attempts for c in self.calls.values()).items()))

    def for_bucket(self, bucket: str, operation: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls.values() if c.bucket == bucket and c.operation == operation]


@pytest.fixture
def attempt_log(monkeypatch: pytest.MonkeyPatch) -> AttemptLog:
    log = AttemptLog()
    original = reconciler.edge.s3.S3Edge.__init__

    def init(
        edge: Any, parallelism: int = 16, session: boto3.session.Session | None = None, **kwargs: Any
    ) -> None:
        session = session or boto3.session.Session()
        log.hook(session)
        original(edge, parallelism, session=session, **kwargs)

    monkeypatch.setattr(reconciler.edge.s3.S3Edge, "__init__", init)
    return log


@pytest.fixture
def chaos(
    ws: Workspace, fault_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, no_retry_delay: None
) -> FaultProxy:
    """The reconciler pointed at the fault proxy, with no backoff."""
    fault_proxy.stall_seconds = 4 * STALL_READ_TIMEOUT
    ws.point(fault_proxy.url)
    return fault_proxy


def expect_stalls(monkeypatch: pytest.MonkeyPatch, seconds: float = STALL_READ_TIMEOUT) -> None:
    """A read timeout short enough that stalled answers cost seconds."""
    monkeypatch.setenv("BUCKETSHARE_AWS_READ_TIMEOUT", str(seconds))


@dataclass(frozen=True)
class Estate:
    granted: list[str]
    """Buckets that gain the grant (put-policy)."""
    guarded: dict[str, dict[str, Any]]
    """Of those, the ones holding an unmanaged statement: bucket -> the statement."""
    expired: list[str]
    """Buckets holding only a managed statement of a grant that has expired (delete-policy)."""


def build_estate(
    ws: Workspace, count: int, guarded_every: int = 4, expired: int = 0, stable: str | None = None
) -> Estate:
    """count buckets gaining a grant, and `expired` more to lose their policy. With `stable`,
    bucket names are `bs-<stable>-g<n>` / `-x<n>` rather than random, so the proxy's seeded
    draws (keyed by request) fault the same requests on every run."""

    def new_bucket(label: str) -> str:
        if stable is None:
            return ws.bucket(label)
        name = f"bs-{stable}-{label}"
        ws.moto.s3(ws.account).create_bucket(Bucket=name)
        return name

    granted, guarded, gone = [], {}, []
    for index in range(count):
        bucket = new_bucket(f"g{index}")
        ws.declare(bucket, read_grant(GRANTEE))
        granted.append(bucket)
        if index % guarded_every == 0:
            kept = statement("DenyInsecureTransport", bucket)
            ws.put_policy(bucket, {"Version": "2012-10-17", "Statement": [kept]})
            guarded[bucket] = kept
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    for index in range(expired):
        bucket = new_bucket(f"x{index}")
        ws.declare(bucket, read_grant(GRANTEE) + f"    expires: {yesterday}\n")
        ws.put_policy(bucket, managed_policy(bucket))
        gone.append(bucket)
    return Estate(granted, guarded, gone)


def managed_policy(bucket: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "BucketShareObjectsReadAccountAll",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{GRANTEE}:root"},
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }


def assert_as_declared(ws: Workspace, estate: Estate) -> None:
    """A clean plan, without faults, shows no changes, and every unmanaged statement is intact."""
    ws.point()
    clean = ws.plan("--detailed-exitcode")
    assert clean.rc == 0, clean.text
    for bucket, kept in estate.guarded.items():
        policy = ws.policy(bucket)
        assert policy is not None
        assert [s for s in policy["Statement"] if not s["Sid"].startswith("BucketShare")] == [kept], bucket
    for bucket in estate.granted:
        policy = ws.policy(bucket)
        assert policy is not None
        assert any(s["Sid"].startswith("BucketShare") for s in policy["Statement"]), bucket
    for bucket in estate.expired:
        assert ws.policy_text(bucket) is None, bucket


@pytest.mark.parametrize("kind", KINDS)
def test_plan_and_apply_200_buckets_through_faults(
    ws: Workspace,
    chaos: FaultProxy,
    attempt_log: AttemptLog,
    kind: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """10% of every operation's requests fail this way; the rest is as on a good day."""
    if kind == STALL:
        expect_stalls(monkeypatch)
    estate = build_estate(ws, 200, expired=20, stable=f"chaos-{kind.replace('_', '-')}")
    chaos.seed = SEED
    # ListBuckets and GetCallerIdentity are sent once a run: at 10% they would rarely meet a
    # fault, so they fail at 50% (still a seeded draw).
    chaos.inject(kind, 0.1, operations=OPERATIONS[:4])
    chaos.inject(kind, 0.5, operations=OPERATIONS[4:])
    saved = ws.root / "plan.json"
    started = time.monotonic()

    planned = ws.plan("--save", saved, "--detailed-exitcode", "--parallelism", PARALLELISM)
    assert planned.rc == 2, planned.text
    applied = ws.apply_saved(saved, "--parallelism", PARALLELISM)
    assert applied.rc == 0, applied.text
    assert f"{len(estate.granted) + len(estate.expired)} buckets applied, 0 failed" in applied.out
    elapsed = time.monotonic() - started

    faulted = Counter(r.operation for r in chaos.requests if r.fault == kind)
    sent = Counter(r.operation for r in chaos.requests)
    distribution = attempt_log.distribution()
    # For the record (pytest --junitxml=FILE -o junit_family=legacy): attempts a call took,
    # requests faulted per operation.
    request.node.user_properties += [
        ("seconds", round(elapsed, 1)),
        ("attempts", distribution),
        ("faulted", dict(faulted)),
    ]
    assert set(faulted) == set(OPERATIONS), f"operations never faulted: {set(OPERATIONS) - set(faulted)}"
    assert chaos.faulted == {kind: sum(faulted.values())}
    bucket_requests = sum(sent[op] for op in OPERATIONS[:4])
    assert 0.07 < sum(faulted[op] for op in OPERATIONS[:4]) / bucket_requests < 0.13
    assert max(distribution) <= TOTAL_ATTEMPTS
    assert sum(n for attempts, n in distribution.items() if attempts > 1) > 0
    if kind == STALL:
        # Each stall ended when the client's read timeout did, not when the proxy let go.
        timeouts = sum(c.errors.count(ReadTimeoutError.__name__) for c in attempt_log.calls.values())
        request.node.user_properties.append(("read_timeouts", timeouts))
        assert timeouts > 0
        assert elapsed < 60

    assert_as_declared(ws, estate)


def test_a_bucket_whose_retries_run_out_fails_alone_and_converges_later(
    ws: Workspace, chaos: FaultProxy, attempt_log: AttemptLog
) -> None:
    estate = build_estate(ws, 6, guarded_every=2)
    stuck = estate.granted[0]
    chaos.fail(stuck, slow_down({"PUT"}))

    applied = ws.apply("--declared-only")
    assert applied.rc == 1, applied.text
    assert applied.out.count(": ok: wrote the policy") == 5
    assert f"{stuck}: FAILED: S3 kept failing after {TOTAL_ATTEMPTS} attempts (SlowDown: " in applied.out
    assert "5 buckets applied, 1 failed" in applied.out
    assert [c.attempts for c in attempt_log.for_bucket(stuck, "PutBucketPolicy")] == [TOTAL_ATTEMPTS]
    assert [r.fault for r in chaos.seen(stuck) if r.method == "PUT"] == [SLOW_DOWN] * TOTAL_ATTEMPTS
    assert ws.policy(stuck) == {"Version": "2012-10-17", "Statement": [estate.guarded[stuck]]}
    assert journal_outcomes(ws, stuck) == ["pending", "failed"]

    chaos.clear()
    again = ws.apply("--declared-only")
    assert again.rc == 0, again.text
    assert f"{stuck}: ok: wrote the policy" in again.out
    assert "1 bucket applied, 0 failed" in again.out
    assert_as_declared(ws, estate)


def journal_outcomes(ws: Workspace, bucket: str) -> list[str]:
    journal = ws.root / ".bucketshare" / "journal.jsonl"
    return [e["outcome"] for e in map(json.loads, journal.read_text().splitlines()) if e["bucket"] == bucket]


@pytest.mark.parametrize("lose", [reset, stall], ids=[RESET, STALL])
def test_a_write_whose_answer_is_lost_is_not_reported_done_and_converges(
    ws: Workspace,
    chaos: FaultProxy,
    attempt_log: AttemptLog,
    lose: Callable[[set[str]], Fault],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """S3 applied the PUT every time, but the answer never arrived (reset or stalled)."""
    # Two buckets, a few requests at a time: a short timeout is safe and makes 5 stalls cheap.
    expect_stalls(monkeypatch, 1.0)
    estate = build_estate(ws, 2, guarded_every=1)
    lost, fine = estate.granted
    chaos.fail(lost, lose({"PUT"}))
    saved = ws.root / "plan.json"
    assert ws.plan("--declared-only", "--save", saved).rc == 0

    applied = ws.apply_saved(saved)
    assert applied.rc == 1, applied.text
    assert f"{lost}: FAILED: S3 kept failing after {TOTAL_ATTEMPTS} attempts" in applied.out
    assert f"{fine}: ok: wrote the policy" in applied.out
    assert journal_outcomes(ws, lost) == ["pending", "failed"]
    assert [c.attempts for c in attempt_log.for_bucket(lost, "PutBucketPolicy")] == [TOTAL_ATTEMPTS]
    # It did take effect, and kept the statement bucketshare does not own.
    live = ws.policy(lost)
    assert live is not None and estate.guarded[lost] in live["Statement"]
    assert any(s["Sid"].startswith("BucketShare") for s in live["Statement"])

    chaos.clear()
    # The saved plan's live hash is the policy before the lost write: applying it again
    # must not write over what is live now.
    again = ws.apply_saved(saved)
    line = next(line for line in again.out.splitlines() if line.startswith(f"{lost}: "))
    # The live policy is already the planned one: ok, and nothing is written.
    assert line == f"{lost}: ok: already as planned; nothing written", again.text
    assert not [r for r in chaos.seen(lost) if r.method == "PUT" and not r.fault], "wrote over it"
    # A new plan sees the bucket as declared: nothing left to do.
    fresh = ws.apply("--declared-only")
    assert fresh.rc == 0, fresh.text
    assert_as_declared(ws, estate)


def test_all_four_faults_at_once_fail_some_buckets_with_reasons_then_converge(
    ws: Workspace,
    chaos: FaultProxy,
    attempt_log: AttemptLog,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """10% of requests each way, 40% in all: some calls run out of retries. Those buckets are
    reported with the reason, the others apply, and a run without faults converges."""
    expect_stalls(monkeypatch)
    estate = build_estate(ws, 40, guarded_every=2, expired=4, stable="chaos-all")
    chaos.seed = MIXED_SEED
    for kind in KINDS:
        chaos.inject(kind, 0.1)
    saved = ws.root / "plan.json"

    planned = ws.plan("--save", saved, "--declared-only", "--parallelism", PARALLELISM)
    applied = ws.apply_saved(saved, "--parallelism", PARALLELISM)
    failed = dict(line.split(": FAILED: ", 1) for line in applied.out.splitlines() if ": FAILED: " in line)
    reasons = list(failed.values())
    assert planned.rc in (0, 1) and applied.rc == 1, planned.text + applied.text
    assert reasons and all(r.startswith("S3 kept failing after ") for r in reasons), reasons
    # Failed retries drain botocore's retry quota, which would cut calls short; the edge
    # carries each on to its five attempts.
    assert all(r.startswith(f"S3 kept failing after {TOTAL_ATTEMPTS} attempts (") for r in reasons), reasons
    assert f"{len(estate.granted) + len(estate.expired) - len(reasons)} buckets applied" in applied.out
    assert max(attempt_log.distribution()) <= TOTAL_ATTEMPTS
    assert set(chaos.faulted) == set(KINDS)

    chaos.clear()
    again = ws.apply("--parallelism", PARALLELISM)
    assert again.rc == 0, again.text
    # Only failed buckets are left to write; some are not, as their write took effect and
    # only what came after it (its answer, the read-back) was lost.
    rewritten = {line.split(": ok: ", 1)[0] for line in again.out.splitlines() if ": ok: " in line}
    assert rewritten <= set(failed), again.out
    request.node.user_properties += [
        ("attempts", attempt_log.distribution()),
        ("failed", dict(Counter(r.split(";")[0] for r in reasons))),
        ("rewritten", len(rewritten)),
    ]
    assert_as_declared(ws, estate)


def test_a_bad_read_timeout_is_one_line(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    ws.declare(ws.bucket(), read_grant(GRANTEE))
    monkeypatch.setenv("BUCKETSHARE_AWS_READ_TIMEOUT", "30s")
    result = ws.plan()
    assert result.rc == 1
    assert "Traceback" not in result.err
    assert result.err.strip().splitlines()[-1] == (
        "error: BUCKETSHARE_AWS_READ_TIMEOUT must be a number of seconds above 0 and at most 3600, "
        "not '30s'; e.g. BUCKETSHARE_AWS_READ_TIMEOUT=10, or unset it for 30"
    )
