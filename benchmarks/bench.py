"""One benchmark command: every performance figure and ratio of bucketshare, measured in one run.

    python benchmarks/bench.py [--sizes 100,1000,5000] [--rtt-ms 25] [--parallelism 16] [--quick]
    python benchmarks/bench.py --cases estate,canned,pr   # only bucketshare's own work (no moto)
    python benchmarks/bench.py --profile-plan 1000      # where one plan's time goes

Sets up the buckets of the largest size on a local moto server (reconciler.edge.sandbox.moto_server,
127.0.0.1), each with 1-20 grants from a seeded RNG (accounts, roles, users, orgs, OUs,
prefixes, some expiring) and a live policy that is absent, unmanaged only (a
DenyInsecureTransport), or holds a stale bucketshare statement, so every declared bucket
changes. Every live figure is a whole process (`reconciler ...` or a raw boto3 program in
this folder) pointed with AWS_ENDPOINT_URL at a loopback proxy that adds RTT/2 each way and
counts requests. Then bucketshare's own cost: validate and render of a 10,000-bucket estate,
and plan against a stand-in (cannedaws.py) that answers every read from canned bodies, so the
plan's CPU and memory beyond raw boto3's are seen. Prints one table on stdout; progress goes
to stderr. See README.md here.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import gc
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from delayproxy import DelayProxy  # benchmarks/ is sys.path[0] when run as a script

from reconciler.edge.sandbox import DENY_INSECURE_TRANSPORT, moto_server
from reconciler.live.policy import LivePolicy
from reconciler.plan.bucket import build_plan
from reconciler.plan.facts import needs_for
from reconciler.plan.model import BucketAction
from reconciler.plan.scopes import shard_of
from reconciler.policy.desired import load_desired
from reconciler.policy.documents import POLICY_VERSION, minified

HERE = Path(__file__).resolve().parent
RECONCILER = str(Path(sys.executable).with_name("reconciler"))
OWNER = "123456789012"  # moto's default account: the ambient test credentials act in it
REGION = "us-east-1"
SEED = 20261201
TODAY = dt.date.today()
BUCKETS_PER_FILE = 5
OFFLINE_BUCKETS = 10_000
ESTATE_ACCOUNTS = 16
"""Owner accounts of the estate's buckets (bucket i is owned by the i % 16th): shards split it."""
CASES = ("estate", "canned", "pr", "offline", "live")
ORGS = ("o-a1b2c3d4e5", "o-f6g7h8i9j0", "o-k1l2m3n4o5")
PREFIX_WORDS = ("models", "features", "datasets", "checkpoints", "eval", "exports")
CHILD_TIMEOUT = 900.0
STARTED = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The workload: declarations and live policies, the same for bucket i whatever the size.


def bucket_name(index: int) -> str:
    return f"bshare-bench-{index:05d}"


def _account(rng: random.Random) -> str:
    return f"{rng.randrange(200_000_000_000, 999_999_999_999):012d}"


def _grantee(rng: random.Random) -> str:
    kind = rng.choices(("account", "role", "user", "org", "ou"), weights=(45, 30, 5, 10, 10))[0]
    account = _account(rng)
    if kind == "account":
        return f'"{account}"'
    if kind == "role":
        path = rng.choice(("", "ml/", "batch/scoring/"))
        return f"arn:aws:iam::{account}:role/{path}job-{rng.randrange(1000)}"
    if kind == "user":
        return f"arn:aws:iam::{account}:user/ci/bot-{rng.randrange(1000)}"
    org = rng.choice(ORGS)
    if kind == "org":
        return f"org:{org}"
    return f"ou:{org}/r-ab12/ou-ab12-{rng.randrange(10**8):08d}"


def estate_owner(index: int) -> str:
    return f"{100_000_000_000 + index % ESTATE_ACCOUNTS:012d}"


def bucket_yaml(index: int, owner: str = OWNER) -> str:
    """One bucket's declaration: 1-20 grants, mixed kinds, prefixes, a few expiry dates."""
    rng = random.Random(f"{SEED}:decl:{index}")
    count = rng.randint(1, 20)
    pool = [f"{rng.choice(PREFIX_WORDS)}/team-{n}/" for n in range(rng.randrange(2, 6))]
    seen: set[tuple[str, str]] = set()
    grants: list[str] = []
    while len(grants) < count:
        grantee = _grantee(rng)
        prefixes = tuple(sorted(rng.sample(pool, rng.choice((0, 1, 1, 2)))))
        keys = {(grantee.strip('"'), p) for p in prefixes or ("",)}
        if keys & seen:
            continue
        seen |= keys
        access = rng.choices(("read", "write", "read-write"), weights=(70, 15, 15))[0]
        lines = [f"  - to: {grantee}", f"    access: {access}"]
        if prefixes:
            lines.append(f"    prefixes: [{', '.join(prefixes)}]")
        lines.append(f"    reason: benchmark grant {len(grants)}")
        roll = rng.random()
        if roll < 0.15:
            lines.append(f"    expires: {TODAY + dt.timedelta(days=rng.randrange(30, 365))}")
        elif roll < 0.18 and grants:  # never the first: every bucket keeps an active grant
            lines.append(f"    expires: {TODAY - dt.timedelta(days=rng.randrange(1, 90))}")
        grants.append("\n".join(lines))
    return (
        f'version: 1\nbucket: {bucket_name(index)}\naccount: "{owner}"\nowner: team-{index % 37}\n'
        "grants:\n" + "\n".join(grants) + "\n"
    )


def write_shares(root: Path, count: int, estate: bool = False) -> Path:
    """shares/ for buckets 0..count-1, BUCKETS_PER_FILE buckets to a file; all owned by OWNER,
    or with estate=True spread over ESTATE_ACCOUNTS owner accounts."""
    root.mkdir(parents=True, exist_ok=True)
    header = "# yaml-language-server: $schema=../schema/shares.schema.json\n"
    for start in range(0, count, BUCKETS_PER_FILE):
        indexes = range(start, min(start + BUCKETS_PER_FILE, count))
        documents = [bucket_yaml(i, estate_owner(i) if estate else OWNER) for i in indexes]
        (root / f"team-{start // BUCKETS_PER_FILE:04d}.yaml").write_text(header + "---\n".join(documents))
    return root


def deny_insecure(bucket: str) -> dict[str, Any]:
    return json.loads(json.dumps(DENY_INSECURE_TRANSPORT).replace("{bucket}", bucket))


def stale_statement(bucket: str, rng: random.Random) -> dict[str, Any]:
    """A statement with our Sid prefix that no declaration renders: plan removes it."""
    return {
        "Sid": f"BucketShareLegacy{rng.randrange(1000)}",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{_account(rng)}:root"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }


def document(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": POLICY_VERSION, "Statement": statements})


def initial_policy(index: int) -> str | None:
    """The live policy bucket i starts with (and is reset to): none, unmanaged, or stale."""
    bucket = bucket_name(index)
    rng = random.Random(f"{SEED}:live:{index}")
    roll = rng.random()
    if roll < 0.55:
        return None
    if roll < 0.80:
        return document([deny_insecure(bucket)])
    if roll < 0.90:
        return document([deny_insecure(bucket), stale_statement(bucket, rng)])
    return document([stale_statement(bucket, rng)])


def synthetic_live(state: Any) -> list[LivePolicy]:
    """Offline live policies: equal to the render, differing, absent, or with unmanaged statements."""
    live = []
    for index, bucket in enumerate(state.buckets):
        rng = random.Random(f"{SEED}:offline:{index}")
        ours = [copy.deepcopy(w.statement) for w in bucket.statements]
        name = bucket.bucket
        roll = rng.random()
        if roll < 0.35:  # applied already: no-op
            text = document(ours)
        elif roll < 0.55:  # applied, next to someone else's statement: no-op
            text = document([deny_insecure(name), *ours])
        elif roll < 0.65:  # one statement edited by hand: a CHANGE (field diff)
            action = ours[0]["Action"]
            ours[0]["Action"] = [*(action if isinstance(action, list) else [action]), "s3:PutObjectAcl"]
            text = document(ours)
        elif roll < 0.75:  # a statement missing and a stale one: ADD + REMOVE
            text = document([*ours[1:], stale_statement(name, rng)])
        elif roll < 0.90:  # never applied
            text = None
        else:  # unmanaged only
            text = document([deny_insecure(name)])
        live.append(LivePolicy(name, bucket.account, text))
    return live


# ---------------------------------------------------------------------------------------------
# Processes: whole-process wall time, the child's own peak RSS, the proxy's request counts.


class BenchError(RuntimeError):
    pass


@dataclass
class Run:
    seconds: float
    cpu_seconds: float
    """The process's user + system time (its waited-for children included)."""
    rss_mb: float
    returncode: int
    stdout_path: Path
    stderr: str
    counts: dict[str, int] = field(default_factory=dict)

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def inner_seconds(self) -> float | None:
        """The read phase as the program itself reports it on stderr."""
        found = re.search(r"(?:read|wrote) \d+ (?:bucket )?policies in ([0-9.]+) ?s", self.stderr)
        return float(found.group(1)) if found else None


def aws_env(endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_ENDPOINT_URL=endpoint,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    return env


class Runner:
    def __init__(self, work: Path, proxy: DelayProxy | None, moto_url: str) -> None:
        self.work = work
        self.proxy = proxy
        self.moto_url = moto_url
        self._serial = 0

    def run(
        self,
        argv: Sequence[str],
        *,
        direct: bool = False,
        cwd: Path | None = None,
        ok: Sequence[int] = (0,),
    ) -> Run:
        """Run argv to completion through the proxy (or straight to moto with direct=True)."""
        self._serial += 1
        out_path = self.work / f"out-{self._serial:04d}.txt"
        err_path = self.work / f"err-{self._serial:04d}.txt"
        endpoint = self.moto_url if direct or self.proxy is None else self.proxy.url
        if self.proxy is not None:
            self.proxy.reset_counts()
        result_path = self.work / f"spawn-{self._serial:04d}.json"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            # Through spawn.py, so that the child's ru_maxrss is its own (see spawn.py).
            process = subprocess.Popen(
                [sys.executable, str(HERE / "spawn.py"), str(result_path), *argv],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=aws_env(endpoint),
                cwd=cwd or self.work,
                start_new_session=True,
            )
            watchdog = threading.Timer(CHILD_TIMEOUT, lambda: os.killpg(process.pid, signal.SIGKILL))
            watchdog.start()
            try:
                process.wait()
            finally:
                watchdog.cancel()
        if not result_path.exists():
            raise BenchError(
                f"{' '.join(map(str, argv))}: no result from spawn.py (exit {process.returncode})"
            )
        measured = json.loads(result_path.read_text())
        counts = self.proxy.counts() if self.proxy is not None and not direct else {}
        stderr = err_path.read_text(errors="replace")
        result = Run(
            measured["seconds"],
            measured["cpu_seconds"],
            measured["maxrss_kb"] / 1024,
            measured["exit"],
            out_path,
            stderr,
            counts,
        )
        if result.returncode not in ok:
            tail = "\n".join(stderr.strip().splitlines()[-8:])
            raise BenchError(f"{' '.join(map(str, argv))} exited {result.returncode}:\n{tail}")
        return result


def best(runs: list[Run]) -> Run:
    return min(runs, key=lambda r: r.seconds)


# ---------------------------------------------------------------------------------------------
# Fake AWS: create the buckets once, reset their policies between apply runs.


def moto_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=BotoConfig(max_pool_connections=16),
    )


def set_policies(s3: Any, indexes: range, create: bool) -> None:
    def one(index: int) -> None:
        name = bucket_name(index)
        if create:
            s3.create_bucket(Bucket=name)
            # As AWS makes new buckets; moto sets no ownership, which writers' grants refuse.
            s3.put_bucket_ownership_controls(
                Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
            )
        policy = initial_policy(index)
        if policy is not None:
            s3.put_bucket_policy(Bucket=name, Policy=policy)
        elif not create:
            s3.delete_bucket_policy(Bucket=name)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, indexes))


# ---------------------------------------------------------------------------------------------
# The table.


@dataclass
class Row:
    measure: str
    n: int | str
    ours: str = "-"
    raw: str = "-"
    ratio: str = "-"
    ideal: str = "-"
    target: str = "-"
    met: str = "-"


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("yes" if ok else "NO")


def format_table(rows: list[Row]) -> str:
    header = Row("measure", "N", "bucketshare s", "raw s", "ratio", "ideal s", "target", "met?")
    cells = [[r.measure, str(r.n), r.ours, r.raw, r.ratio, r.ideal, r.target, r.met] for r in [header, *rows]]
    widths = [max(len(c[i]) for c in cells) for i in range(len(cells[0]))]
    lines = []
    for number, row in enumerate(cells):
        parts = [row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in range(1, 6)]
        parts += [row[6].ljust(widths[6]), row[7].ljust(widths[7])]
        lines.append("  ".join(parts).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The measures.


def measure_offline(work: Path) -> tuple[list[Row], str]:
    shares = write_shares(work / "offline" / "shares", OFFLINE_BUCKETS)
    log(f"offline: {OFFLINE_BUCKETS} buckets in {len(list(shares.glob('*.yaml')))} files; load + render")
    gc.collect()
    started = time.perf_counter()
    state = load_desired(shares, None, TODAY)
    loaded = time.perf_counter() - started
    if state.errors:
        raise BenchError(f"the generated declarations do not validate: {state.errors[0]}")
    live = synthetic_live(state)
    gc.collect()
    started = time.perf_counter()
    plan = build_plan(state.buckets, live, state.config.sid_prefix, state.config.partition)
    planned = time.perf_counter() - started
    total = loaded + planned
    grants = state.declarations.grant_count()
    actions = {a.value: plan.count(a) for a in BucketAction}
    note = (
        f"offline: {OFFLINE_BUCKETS} buckets, {grants} grants, "
        f"{sum(len(b.statements) for b in state.buckets)} statements; plan: "
        + ", ".join(f"{k} {v}" for k, v in actions.items())
    )
    log(f"offline: load+validate+render {loaded:.2f} s, diff {planned:.2f} s; {note}")
    rows = [
        Row(
            "offline load+validate+render+diff",
            OFFLINE_BUCKETS,
            seconds(total),
            target="< 2 s",
            met=verdict(total < 2.0),
        ),
        Row("  of which load+validate+render", OFFLINE_BUCKETS, seconds(loaded)),
        Row("  of which diff (build_plan)", OFFLINE_BUCKETS, seconds(planned)),
    ]
    return rows, note


@dataclass
class Size:
    n: int
    shares: Path
    names: Path
    writers: Path
    """The buckets with a write grant: plan reads their Object Ownership too."""
    rows: list[Row] = field(default_factory=list)


def plan_argv(size: Size, parallelism: int, *extra: str) -> list[str]:
    return [RECONCILER, "plan", "--shares", str(size.shares), "--parallelism", str(parallelism), *extra]


def raw_read_argv(size: Size, parallelism: int) -> list[str]:
    return [
        sys.executable,
        str(HERE / "raw_read.py"),
        str(size.names),
        "--account",
        OWNER,
        "--parallelism",
        str(parallelism),
        "--writers",
        str(size.writers),
    ]


def measure_size(
    size: Size, runner: Runner, s3: Any, rtt: float, parallelism: int, repeat: int, p1_max_n: int
) -> dict[str, Any]:
    n, p = size.n, parallelism
    found: dict[str, Any] = {}

    def timed(label: str, argv: list[str], **kwargs: Any) -> Run:
        runs = [runner.run(argv, **kwargs) for _ in range(repeat)]
        run = best(runs)
        inner = run.inner_seconds()
        extra = f" (read phase {inner:.2f} s)" if inner is not None else ""
        log(f"N={n}: {label}: {run.seconds:.2f} s{extra}, peak RSS {run.rss_mb:.0f} MB")
        return run

    # Reads: p16 first, then p1, plan and raw interleaved so drift in machine load hits both.
    raw16 = timed(f"raw read p{p}", raw_read_argv(size, p))
    plan16 = timed(f"plan --declared-only p{p}", plan_argv(size, p, "--declared-only"))
    direct = timed(f"raw read p{p} straight to moto (no proxy)", raw_read_argv(size, p), direct=True)
    raw1 = plan1 = None
    if n <= p1_max_n:
        raw1 = timed("raw read p1", raw_read_argv(size, 1))
        plan1 = timed("plan --declared-only p1", plan_argv(size, 1, "--declared-only"))
    else:
        log(f"N={n}: p1 skipped (about {n * rtt:.0f} s each for plan and raw; raise --p1-max-n to run it)")
    if plan16.counts.get("GET ?policy", 0) != n:
        log(f"N={n}: warning: plan made {plan16.counts.get('GET ?policy', 0)} GetBucketPolicy calls, not {n}")

    # Apply of N changed buckets, against the raw safe write.
    plan_file = runner.work / f"plan-{n}.json"
    # Untimed; JSON out (the same document --save writes) skips the terminal rendering.
    runner.run(plan_argv(size, p, "--declared-only", "--format", "json", "--out", str(plan_file)))
    saved = json.loads(plan_file.read_text())
    writes = [
        {"bucket": b["bucket"], "account": b["account"], "policy": minified(b["new_policy"])}
        for b in saved["buckets"]
        if b["action"] == BucketAction.PUT.value
    ]
    if len(writes) != n:
        log(f"N={n}: warning: the plan changes {len(writes)} buckets, not {n}")
    writes_file = runner.work / f"writes-{n}.json"
    writes_file.write_text(json.dumps(writes))
    journal = runner.work / f"journal-{n}.jsonl"
    apply = runner.run(
        [RECONCILER, "apply", str(plan_file), "--journal", str(journal), "--parallelism", str(p)]
    )
    log(
        f"N={n}: apply of {len(writes)} changed buckets p{p}: {apply.seconds:.2f} s, "
        f"{apply.counts.get('PUT ?policy', 0)} PutBucketPolicy; {apply.stdout().strip().splitlines()[-2]}"
    )

    # The no-op apply: plan and apply again with everything applied; it must write nothing.
    noop = runner.run(
        [
            RECONCILER,
            "apply",
            "--shares",
            str(size.shares),
            "--auto-approve",
            "--declared-only",
            "--journal",
            str(journal),
            "--parallelism",
            str(p),
        ]
    )
    noop_writes = runner.proxy.writes(noop.counts) if runner.proxy else -1
    log(
        f"N={n}: no-op apply: {noop.seconds:.2f} s, {noop_writes} writes; "
        f"{noop.stdout().strip().splitlines()[-1]}"
    )

    log(f"N={n}: resetting {n} policies (untimed)")
    set_policies(s3, range(n), create=False)
    raw_write = runner.run(
        [sys.executable, str(HERE / "raw_write.py"), str(writes_file), "--parallelism", str(p)]
    )
    log(f"N={n}: raw write p{p}: {raw_write.seconds:.2f} s ({raw_write.stderr.strip()})")
    log(f"N={n}: requests: apply {apply.counts}; raw write {raw_write.counts}")
    size.rows.append(
        Row(
            "apply requests per written bucket (not s)",
            n,
            f"{sum(apply.counts.values()) / max(1, len(writes)):.2f}",
            f"{sum(raw_write.counts.values()) / max(1, len(writes)):.2f}",
            target="the same calls as raw",
            met=verdict(apply.counts == raw_write.counts),
        )
    )
    set_policies(s3, range(n), create=False)

    rate = n / (direct.inner_seconds() or direct.seconds)
    read_ratio16 = plan16.seconds / raw16.seconds
    apply_ratio = apply.seconds / raw_write.seconds
    if plan1 is not None and raw1 is not None:
        read_ratio1 = plan1.seconds / raw1.seconds
        plan_speedup, raw_speedup = plan1.seconds / plan16.seconds, raw1.seconds / raw16.seconds
        size.rows.append(
            Row(
                "plan --declared-only p1",
                n,
                seconds(plan1.seconds),
                seconds(raw1.seconds),
                times(read_ratio1),
                seconds(n * rtt),
                "<= 1.10x raw",
                verdict(read_ratio1 <= 1.10),
            )
        )
    else:
        size.rows.append(Row("plan --declared-only p1", n, f"skipped (N > --p1-max-n {p1_max_n})"))
    size.rows.append(
        Row(
            f"plan --declared-only p{p}",
            n,
            seconds(plan16.seconds),
            seconds(raw16.seconds),
            times(read_ratio16),
            seconds(n * rtt / p),
            "<= 1.10x raw",
            verdict(read_ratio16 <= 1.10),
        )
    )
    if plan1 is not None and raw1 is not None:
        size.rows.append(
            Row(
                f"speedup p1/p{p} (x, not s)",
                n,
                f"{plan_speedup:.2f}",
                f"{raw_speedup:.2f}",
                times(plan_speedup / raw_speedup),
                f"{p}",
                ">= 0.90x raw's",
                verdict(plan_speedup >= 0.9 * raw_speedup),
            )
        )
    size.rows += [
        Row(
            f"moto floor: raw read p{p}, no proxy",
            n,
            "-",
            seconds(direct.seconds),
            "-",
            seconds(n / rate),
            f"info: {rate:.0f} req/s",
        ),
        Row(
            f"apply {len(writes)} changed p{p}",
            n,
            seconds(apply.seconds),
            seconds(raw_write.seconds),
            times(apply_ratio),
            seconds(4 * n * rtt / p),
            "<= 1.25x raw",
            verdict(apply_ratio <= 1.25),
        ),
        Row(f"no-op apply p{p} (time)", n, seconds(noop.seconds), "-", "-", seconds(n * rtt / p), "info"),
        Row(
            "no-op apply: Put+DeleteBucketPolicy seen",
            n,
            str(noop_writes),
            "-",
            "-",
            "-",
            "0 writes",
            verdict(noop_writes == 0),
        ),
        Row(
            f"peak RSS plan p{p} (MB, not s)",
            n,
            f"{plan16.rss_mb:.0f}",
            f"{raw16.rss_mb:.0f}",
            times(plan16.rss_mb / raw16.rss_mb),
            "-",
            "< 300 MB",
            verdict(plan16.rss_mb < 300),
        ),
    ]
    found.update(plan16=plan16, raw16=raw16, rate=rate)
    return found


def changed_since_available() -> bool:
    help_text = subprocess.run([RECONCILER, "plan", "--help"], capture_output=True, text=True).stdout
    return "--changed-since" in help_text


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@localhost",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def changed_since_repo(work: Path, size: Size) -> Path:
    """A git repository holding shares/ at two commits; the second edits one file (one grant added)."""
    repo = work / "repo"
    shutil.copytree(size.shares, repo / "shares")
    git(repo, "init", "-q")
    git(repo, "add", "shares")
    git(repo, "commit", "-q", "-m", "shares")
    edited = sorted((repo / "shares").glob("*.yaml"))[0]
    edited.write_text(
        edited.read_text() + '  - to: "999999999999"\n    access: read\n    reason: the one edit\n'
    )
    git(repo, "commit", "-q", "-am", "one grant added in one file")
    return repo


def measure_discovery(size: Size, runner: Runner, found: dict[str, Any], rtt: float, p: int) -> None:
    """The full plan: sts + ListBuckets + every listed bucket (moto holds exactly these N now)."""
    n = size.n
    full = runner.run(plan_argv(size, p))
    log(f"N={n}: plan with discovery p{p}: {full.seconds:.2f} s; requests {full.counts}")
    raw16 = found["raw16"].seconds
    size.rows.append(
        Row(
            f"plan with discovery p{p}",
            n,
            seconds(full.seconds),
            seconds(raw16),
            times(full.seconds / raw16),
            seconds(n * rtt / p + 2 * rtt),
            "info",
        )
    )


def measure_changed_since(size: Size, runner: Runner, found: dict[str, Any], p: int) -> None:
    n = size.n
    repo = changed_since_repo(runner.work, size)
    label = f"plan --changed-since HEAD~1 (vs full plan p{p})"
    if not changed_since_available():
        log(f"N={n}: reconciler plan --help shows no --changed-since: row n/a (repo built at {repo})")
        size.rows.append(Row(label, n, "n/a (flag not available)"))
        return
    argv = [
        RECONCILER,
        "plan",
        "--shares",
        "shares",
        "--parallelism",
        str(p),
        "--declared-only",
        "--changed-since",
        "HEAD~1",
    ]
    try:
        changed = runner.run(argv, cwd=repo)
    except BenchError as exc:
        log(f"N={n}: plan --changed-since failed: {exc}")
        size.rows.append(Row(label, n, "error (see stderr)"))
        return
    reads = changed.counts.get("GET ?policy", 0)
    log(f"N={n}: plan --changed-since: {changed.seconds:.2f} s, {reads} GetBucketPolicy")
    full16 = found["plan16"].seconds
    size.rows.append(
        Row(
            label,
            n,
            seconds(changed.seconds),
            seconds(full16),
            times(changed.seconds / full16),
            "-",
            f"info: {reads} reads",
        )
    )


# ---------------------------------------------------------------------------------------------
# bucketshare's own cost: the 10,000-bucket estate offline, and plan against canned answers.


class CannedAws:
    """cannedaws.py in its own process: every read answered from canned bodies, nearly free."""

    def __init__(self, work: Path, label: str, policies: dict[str, str | None], listed: int) -> None:
        self.work = work / f"canned-{label}"
        self.work.mkdir(parents=True, exist_ok=True)
        (self.work / "policies.json").write_text(json.dumps(policies))
        self.listed = listed
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self._serial = 0

    def start(self) -> str:
        self._serial += 1
        port_file = self.work / f"port-{self._serial}.txt"
        port_file.unlink(missing_ok=True)  # a stale one would name a server that is gone
        self.err_path = self.work / f"server-{self._serial}.txt"
        with self.err_path.open("wb") as err:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    str(HERE / "cannedaws.py"),
                    str(self.work / "policies.json"),
                    "--port-file",
                    str(port_file),
                    "--list",
                    str(self.listed),
                    "--account",
                    OWNER,
                ],
                stdin=subprocess.DEVNULL,
                stderr=err,
            )
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"cannedaws.py did not start: {self.err_path.read_text()[-500:]}")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{port_file.read_text()}"
        return self.url

    def stop(self) -> dict[str, int]:
        """Stop the server; the requests it answered, by kind."""
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=30)
        self.process = None
        lines = self.err_path.read_text().strip().splitlines()
        return dict(json.loads(lines[-1])) if lines else {}

    def run(self, argv: Sequence[str], cwd: Path | None = None) -> Run:
        """argv as one whole process against a fresh server; its counts are the run's calls."""
        url = self.start()
        try:
            run = Runner(self.work, None, url).run(argv, cwd=cwd)
        finally:
            counts = self.stop()
        run.counts = counts
        return run


def canned_policies(count: int) -> dict[str, str | None]:
    """What each bucket's GetBucketPolicy answers: the live workload's starting policies."""
    return {bucket_name(i): initial_policy(i) for i in range(count)}


def rss_target(n: int) -> float:
    """The issue's plan memory target: 60 MB plus 40 KB per bucket."""
    return 60 + 40 * n / 1024


def write_estate(work: Path, n: int) -> Path:
    shares = write_shares(work / "estate" / "shares", n, estate=True)
    log(f"estate: {n} buckets in {len(list(shares.glob('*.yaml')))} files ({ESTATE_ACCOUNTS} owner accounts)")
    return shares


def measure_estate(work: Path, n: int, rows: list[Row], notes: list[str]) -> None:
    """validate and render --format json of n buckets (about 10 grants each), whole processes."""
    home = work / "estate"
    runner = Runner(home, None, "http://127.0.0.1:9")  # neither command calls AWS
    validate = runner.run([RECONCILER, "validate", "--shares", "shares"], cwd=home)
    totals = validate.stdout().strip().splitlines()[-1]
    log(f"estate: validate {validate.seconds:.2f} s, {validate.rss_mb:.0f} MB: {totals}")
    render = runner.run([RECONCILER, "render", "--format", "json", "--shares", "shares"], cwd=home)
    log(f"estate: render --format json {render.seconds:.2f} s, {render.rss_mb:.0f} MB")
    notes.append(f"estate: {n} buckets in {ESTATE_ACCOUNTS} owner accounts; validate says: {totals}")
    for label, run, wall, mb in (
        ("validate", validate, 2.5, 250),
        ("render --format json", render, 4.0, 400),
    ):
        rows += [
            Row(
                f"estate: {label}",
                n,
                seconds(run.seconds),
                target=f"< {wall:g} s",
                met=verdict(run.seconds < wall),
            ),
            Row("  its CPU (user+sys)", n, seconds(run.cpu_seconds), target="info"),
            Row(
                f"estate: {label} peak RSS (MB, not s)",
                n,
                f"{run.rss_mb:.0f}",
                target=f"< {mb} MB",
                met=verdict(run.rss_mb < mb),
            ),
        ]


def measure_canned(work: Path, n: int, p: int, rows: list[Row], notes: list[str]) -> None:
    """plan (with discovery) of n buckets against canned answers, beside raw boto3's same calls."""
    size = prepare_size(work / "canned", n)
    canned = CannedAws(work, str(n), canned_policies(n), listed=n)
    raw = canned.run([*raw_read_argv(size, p), "--discover"])
    plan = canned.run(plan_argv(size, p))
    for label, run in (("raw boto3", raw), ("plan", plan)):
        log(
            f"canned N={n}: {label}: {run.seconds:.2f} s, CPU {run.cpu_seconds:.2f} s, "
            f"{run.rss_mb:.0f} MB; calls {run.counts}"
        )
    if plan.counts != raw.counts:
        notes.append(f"canned N={n}: WARNING plan's calls {plan.counts} differ from raw's {raw.counts}")
    calls = sum(raw.counts.values())
    notes.append(
        f"canned N={n}: {calls} calls each ({', '.join(f'{k} {v}' for k, v in raw.counts.items())}); "
        f"raw boto3 CPU {1000 * raw.cpu_seconds / calls:.2f} ms per call"
    )
    own_ms = 1000 * (plan.cpu_seconds - raw.cpu_seconds) / n
    target = rss_target(n)
    rows += [
        Row(
            f"canned: plan CPU p{p} (user+sys)",
            n,
            seconds(plan.cpu_seconds),
            seconds(raw.cpu_seconds),
            times(plan.cpu_seconds / raw.cpu_seconds),
            target="info",
        ),
        Row(
            "canned: plan's own CPU per bucket (ms, not s)",
            n,
            f"{own_ms:.2f}",
            target="<= 0.5 ms beyond raw",
            met=verdict(own_ms <= 0.5),
        ),
        Row(
            f"canned: plan wall p{p}",
            n,
            seconds(plan.seconds),
            seconds(raw.seconds),
            times(plan.seconds / raw.seconds),
            target="info",
        ),
        Row(
            "canned: plan peak RSS (MB, not s)",
            n,
            f"{plan.rss_mb:.0f}",
            f"{raw.rss_mb:.0f}",
            times(plan.rss_mb / raw.rss_mb),
            target=f"< {target:.0f} MB",
            met=verdict(plan.rss_mb < target),
        ),
    ]


def estate_repo(work: Path, shares: Path) -> Path:
    """The estate in a git repository at two commits; the second edits one file (a grant added)."""
    repo = work / "estate-repo"
    shutil.copytree(shares, repo / "shares")
    git(repo, "init", "-q")
    git(repo, "add", "shares")
    git(repo, "commit", "-q", "-m", "shares")
    edited = sorted((repo / "shares").glob("*.yaml"))[len(list(shares.glob("*.yaml"))) // 2]
    edited.write_text(
        edited.read_text() + '  - to: "999999999999"\n    access: read\n    reason: the one edit\n'
    )
    git(repo, "commit", "-q", "-am", "one grant added in one file")
    return repo


def measure_partial(work: Path, shares: Path, n: int, p: int, rows: list[Row], notes: list[str]) -> None:
    """A one-file pull request's plan, and one shard's, on the estate, against canned answers."""
    repo = estate_repo(work, shares)
    canned = CannedAws(work, "estate", canned_policies(n), listed=0)
    base = [RECONCILER, "plan", "--shares", "shares", "--parallelism", str(p), "--declared-only"]
    pr = canned.run([*base, "--changed-since", "HEAD~1"], cwd=repo)
    log(
        f"estate: plan --changed-since HEAD~1: {pr.seconds:.2f} s, CPU {pr.cpu_seconds:.2f} s, "
        f"{pr.rss_mb:.0f} MB; calls {pr.counts}"
    )
    shard = "0/4"
    in_shard = sum(1 for i in range(n) if shard_of(estate_owner(i), 4) == 0)
    sharded = canned.run([*base, "--shard", shard], cwd=repo)
    log(
        f"estate: plan --shard {shard} ({in_shard} buckets): {sharded.seconds:.2f} s, "
        f"CPU {sharded.cpu_seconds:.2f} s, {sharded.rss_mb:.0f} MB; calls {sharded.counts}"
    )
    notes.append(
        f"estate one-file pull request: {pr.counts.get('GetBucketPolicy', 0)} GetBucketPolicy; "
        f"shard {shard}: {in_shard} of {n} buckets, "
        f"{sharded.counts.get('GetBucketPolicy', 0)} GetBucketPolicy"
    )
    rows += [
        Row(
            "estate: plan --changed-since, one file changed",
            n,
            seconds(pr.seconds),
            target="< 2 s",
            met=verdict(pr.seconds < 2.0),
        ),
        Row("  its CPU (user+sys, git included)", n, seconds(pr.cpu_seconds), target="info"),
        Row("  its peak RSS (MB, not s)", n, f"{pr.rss_mb:.0f}", target="info"),
        Row(f"estate: plan --shard {shard} ({in_shard} buckets)", n, seconds(sharded.seconds), target="info"),
        Row("  its CPU (user+sys)", n, seconds(sharded.cpu_seconds), target="info"),
        Row(
            "  its peak RSS (MB, not s)",
            n,
            f"{sharded.rss_mb:.0f}",
            target=f"< {rss_target(in_shard):.0f} MB",
            met=verdict(sharded.rss_mb < rss_target(in_shard)),
        ),
    ]


@contextmanager
def fake_aws(rtt: float) -> Iterator[tuple[str, DelayProxy, Any]]:
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    with moto_server() as moto_url:
        s3 = moto_client(moto_url)
        proxy = DelayProxy(int(moto_url.rsplit(":", 1)[1]), rtt / 2).start()
        log(f"moto at {moto_url}; delay proxy at {proxy.url}: +{rtt * 500:g} ms each way")
        try:
            yield moto_url, proxy, s3
        finally:
            proxy.stop()


def create_buckets(s3: Any, have: int, want: int) -> int:
    """Buckets have..want-1 with their starting policies; moto then holds exactly `want`."""
    if want > have:
        log(f"creating buckets {have}..{want - 1} with their starting policies (untimed)")
        set_policies(s3, range(have, want), create=True)
    return max(have, want)


def prepare_size(work: Path, n: int) -> Size:
    shares = write_shares(work / f"shares-{n}" / "shares", n)
    names = work / f"buckets-{n}.txt"
    names.write_text("".join(bucket_name(i) + "\n" for i in range(n)))
    state = load_desired(shares, None, dt.date.today())
    # As plan does: Object Ownership only where an active (rendered) grant writes.
    writing = [b.bucket for b in state.buckets if needs_for(b).ownership]
    writers = work / f"writers-{n}.txt"
    writers.write_text("".join(name + "\n" for name in writing))
    return Size(n, shares, names, writers)


def command_line() -> str:
    return "python " + " ".join([os.path.relpath(sys.argv[0]), *sys.argv[1:]])


def machine_footer(
    rtt: float, p: int, rates: dict[int, float], loads: tuple[str, str], notes: list[str]
) -> str:
    lines = [
        f"machine: {os.cpu_count()} cores (nproc), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; load average at start {loads[0]}, at end {loads[1]}",
        "every figure is one whole process (start-up and imports included); CPU is user + sys (os.wait4)",
    ]
    if rates:
        lines += [
            f"RTT {rtt * 1000:g} ms (+{rtt * 500:g} ms each way through a loopback proxy); "
            f"parallelism 1 and {p}; live figures are the best of --repeat",
            "ideal s: N x RTT / parallelism (apply: 4 calls per bucket). moto is CPU-bound on this "
            f"machine, so at p{p} its rate, not the RTT, can be the floor:",
        ]
    for n, rate in rates.items():
        rtt_floor, moto_floor = n * rtt / p, n / rate
        which = "moto" if moto_floor > rtt_floor else "RTT"
        lines.append(
            f"  N={n}: RTT floor {rtt_floor:.2f} s, moto floor {moto_floor:.2f} s "
            f"({rate:.0f} GetBucketPolicy/s)"
            f" -> the {which} floor applies at p{p}"
        )
    lines += notes
    lines.append(f"command: {command_line()}")
    return "\n".join(lines)


def run_benchmark(args: argparse.Namespace) -> int:
    sizes = [100, 1000] if args.quick else sorted({int(s) for s in args.sizes.split(",")})
    cases = parse_cases(args)
    rtt, p = args.rtt_ms / 1000, args.parallelism
    load_start = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    rows: list[Row] = []
    notes: list[str] = []
    rates: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="bucketshare-bench-") as tmp:
        work = Path(tmp)
        estate = None
        if "estate" in cases or "pr" in cases:
            estate = write_estate(work, args.estate_buckets)
        if "estate" in cases:
            measure_estate(work, args.estate_buckets, rows, notes)
        if "canned" in cases:
            for n in sorted({int(s) for s in args.canned_sizes.split(",")}):
                measure_canned(work, n, p, rows, notes)
        if "pr" in cases and estate is not None:
            measure_partial(work, estate, args.estate_buckets, p, rows, notes)
        if "offline" in cases:
            offline_rows, note = measure_offline(work)
            rows += offline_rows
            notes.append(note)
        if "live" in cases:
            measure_live(work, sizes, rtt, p, args, rows, rates)
    load_end = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    print(format_table(rows))
    print()
    print(machine_footer(rtt, p, rates, (load_start, load_end), notes))
    log("done")
    return 0


def parse_cases(args: argparse.Namespace) -> set[str]:
    cases = {c.strip() for c in args.cases.split(",") if c.strip()}
    unknown = cases - set(CASES)
    if unknown:
        raise BenchError(f"--cases: unknown {', '.join(sorted(unknown))}; choose from {', '.join(CASES)}")
    if args.skip_offline:
        cases.discard("offline")
    return cases


def measure_live(
    work: Path,
    sizes: list[int],
    rtt: float,
    p: int,
    args: argparse.Namespace,
    rows: list[Row],
    rates: dict[int, float],
) -> None:
    """The moto rows: plan and apply beside raw boto3 through the delay proxy, per size."""
    # Discovery lists every bucket moto holds, so it runs at a size while moto holds just those.
    discovery_n = max([n for n in sizes if n <= 1000] or [min(sizes)])
    with fake_aws(rtt) as (moto_url, proxy, s3):
        runner = Runner(work, proxy, moto_url)
        created = 0
        for n in sizes:
            created = create_buckets(s3, created, n)
            size = prepare_size(work, n)
            log(f"N={n}: {len(list(size.shares.glob('*.yaml')))} files of declarations")
            found = measure_size(size, runner, s3, rtt, p, args.repeat, args.p1_max_n)
            rates[n] = found["rate"]
            if n == discovery_n:
                measure_discovery(size, runner, found, rtt, p)
            if n == max(sizes):
                measure_changed_since(size, runner, found, p)
            rows += size.rows


# ---------------------------------------------------------------------------------------------
# --profile-plan N


def flat_profile(session_path: Path, top: int) -> str:
    """pyinstrument's samples as a flat list by cumulative wall time (recursion counted once)."""
    from pyinstrument.session import Session

    session = Session.load(str(session_path))
    root = session.root_frame()
    cumulative: dict[tuple[str, str, int], float] = {}
    own: dict[tuple[str, str, int], float] = {}
    on_stack: set[tuple[str, str, int]] = set()

    def walk(frame: Any) -> None:
        key = (frame.function or "?", frame.file_path_short or frame.file_path or "?", frame.line_no or 0)
        children = list(frame.children)
        if not frame.is_synthetic:
            if key not in on_stack:
                cumulative[key] = cumulative.get(key, 0.0) + frame.time
            own[key] = own.get(key, 0.0) + frame.time - sum(c.time for c in children if not c.is_synthetic)
        added = key not in on_stack
        on_stack.add(key)
        for child in children:
            walk(child)
        if added:
            on_stack.discard(key)

    if root is None:
        return "(no samples)"
    walk(root)
    total = session.duration
    lines = [
        f"top {top} functions by cumulative wall time (main thread), of {total:.2f} s:",
        f"{'cum s':>7} {'cum %':>6} {'self s':>7}  function (file:line)",
    ]
    wrappers = ("pyinstrument", "<frozen runpy>", "<string>")  # the profiler's own frames around the run
    ranked = sorted(
        ((k, v) for k, v in cumulative.items() if not any(w in k[1] for w in wrappers)), key=lambda kv: -kv[1]
    )[:top]
    for (function, path, line), cum in ranked:
        self_seconds = own[(function, path, line)]
        lines.append(f"{cum:7.2f} {100 * cum / total:5.1f}% {self_seconds:7.2f}  {function} ({path}:{line})")
    return "\n".join(lines)


def cprofile_flat(stats_file: Path, top: int) -> str:
    import io
    import pstats

    buffer = io.StringIO()
    pstats.Stats(str(stats_file), stream=buffer).sort_stats("cumulative").print_stats(top)
    return buffer.getvalue()


def run_profile(args: argparse.Namespace) -> int:
    n, p, rtt = args.profile_plan, args.parallelism, args.rtt_ms / 1000
    try:
        import pyinstrument  # noqa: F401

        profiler = "pyinstrument"
    except ImportError:
        profiler = "cProfile"
    with tempfile.TemporaryDirectory(prefix="bucketshare-profile-") as tmp, fake_aws(rtt) as (url, proxy, s3):
        work = Path(tmp)
        create_buckets(s3, 0, n)
        runner = Runner(work, proxy, url)
        size = prepare_size(work, n)
        raw = runner.run(raw_read_argv(size, p))
        plan = runner.run(plan_argv(size, p, "--declared-only"))
        as_json = runner.run(plan_argv(size, p, "--declared-only", "--format", "json", "--out", os.devnull))
        log(
            f"unprofiled: raw read {raw.seconds:.2f} s, plan {plan.seconds:.2f} s "
            f"({plan.seconds / raw.seconds:.2f}x)"
            f", plan --format json {as_json.seconds:.2f} s"
        )
        stats_file = work / "plan.prof"
        plan_args = ["plan", "--shares", str(size.shares), "--parallelism", str(p), "--declared-only"]
        if profiler == "pyinstrument":
            session = work / "plan.pyisession"
            profiled = runner.run(
                [
                    sys.executable,
                    "-m",
                    "pyinstrument",
                    "-r",
                    "pyisession",
                    "-o",
                    str(session),
                    "-m",
                    "reconciler",
                    *plan_args,
                ]
            )
            flat = flat_profile(session, args.top)
            tree = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pyinstrument",
                    "--load",
                    str(session),
                    "-r",
                    "text",
                    "--no-color",
                    "--no-unicode",
                    "-p",
                    "processor_options.filter_threshold=0.01",
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        else:
            profiled = runner.run(
                [sys.executable, "-m", "cProfile", "-o", str(stats_file), "-m", "reconciler", *plan_args]
            )
            tree = ""
            flat = cprofile_flat(stats_file, args.top)

        print(
            f"plan of {n} buckets (--declared-only --parallelism {p}), {args.rtt_ms:g} ms RTT, "
            f"under {profiler} (main thread; workers show as waits): {profiled.seconds:.2f} s"
        )
        print(
            f"unprofiled: plan {plan.seconds:.2f} s, raw read {raw.seconds:.2f} s, "
            f"ratio {plan.seconds / raw.seconds:.2f}x; {plan.stderr.strip()}; raw: {raw.stderr.strip()}"
        )
        print(
            f"unprofiled, the same plan with --format json --out /dev/null (no terminal rendering): "
            f"{as_json.seconds:.2f} s ({as_json.seconds / raw.seconds:.2f}x raw)"
        )
        print()
        print(flat)
        if tree:
            print(tree)
        print(f"command: {command_line()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,5000", help="bucket counts, comma-separated")
    parser.add_argument("--rtt-ms", type=float, default=25.0, help="round trip the proxy adds")
    parser.add_argument("--parallelism", type=int, default=16, help="the parallel runs' --parallelism")
    parser.add_argument("--quick", action="store_true", help="sizes 100 and 1000 only")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each read measure; the best counts")
    parser.add_argument(
        "--p1-max-n",
        type=int,
        default=1000,
        help="largest N measured at --parallelism 1 too (p1 costs about N x RTT per run)",
    )
    parser.add_argument("--skip-offline", action="store_true", help="leave out the offline rows")
    parser.add_argument(
        "--cases",
        default=",".join(CASES),
        help="which measures to run, comma-separated: estate (validate and render of the estate), "
        "canned (plan against canned answers), pr (one-file --changed-since and one shard on the "
        "estate), offline (in-process load+diff), live (moto rows)",
    )
    parser.add_argument("--estate-buckets", type=int, default=OFFLINE_BUCKETS, help="the estate's size")
    parser.add_argument(
        "--canned-sizes", default="2000,5000", help="bucket counts of the canned plan case, comma-separated"
    )
    parser.add_argument(
        "--profile-plan",
        type=int,
        default=None,
        metavar="N",
        help="profile one plan of N buckets through the proxy instead",
    )
    parser.add_argument("--top", type=int, default=25, help="with --profile-plan: functions to list")
    args = parser.parse_args(argv)
    try:
        return run_profile(args) if args.profile_plan else run_benchmark(args)
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
