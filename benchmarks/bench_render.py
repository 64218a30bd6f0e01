"""Time the offline pipeline (load + validate + render) on a large generated shares/ tree.

    python benchmarks/bench_render.py [--buckets 1000] [--grants 10000] [--files 400] [--profile]

Generates the declarations in a temporary directory, then runs
reconciler.desired.load_desired() several times and prints the best and median wall time,
split into loading (load_shares) and rendering (render_declarations). Not a test: it
asserts nothing about time.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from reconciler.config import Config
from reconciler.declarations import load_shares
from reconciler.desired import load_desired
from reconciler.errors import Problem, Severity
from reconciler.render import render_declarations

TODAY = dt.date(2026, 1, 15)
ORGS = ("o-a1b2c3d4e5", "o-f6g7h8i9j0", "o-k1l2m3n4o5")
PREFIX_WORDS = ("models", "features", "datasets", "checkpoints", "eval", "exports")
ACCESS_WEIGHTS = {"read": 70, "write": 15, "read-write": 15}
T = TypeVar("T")


def _account(rng: random.Random) -> str:
    return f"{rng.randrange(200_000_000_000, 999_999_999_999):012d}"


def _grantee(rng: random.Random, owner: str) -> str:
    kind = rng.choices(("account", "role", "user", "org", "ou"), weights=(50, 25, 5, 10, 10))[0]
    account = _account(rng)
    while account == owner:
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


def _grant_yaml(rng: random.Random, grantee: str, prefixes: tuple[str, ...]) -> str:
    access = rng.choices(list(ACCESS_WEIGHTS), weights=list(ACCESS_WEIGHTS.values()))[0]
    lines = [f"  - to: {grantee}", f"    access: {access}"]
    if prefixes:
        lines.append(f"    prefixes: [{', '.join(prefixes)}]")
    lines.append(f"    reason: benchmark grant to {grantee.strip(chr(34))}")
    roll = rng.random()
    if roll < 0.2:
        lines.append(f"    expires: {TODAY + dt.timedelta(days=rng.randrange(1, 365))}")
    elif roll < 0.25:
        lines.append(f"    expires: {TODAY - dt.timedelta(days=rng.randrange(1, 90))}")
    return "\n".join(lines)


def _bucket_documents(rng: random.Random, index: int, grant_count: int) -> list[str]:
    """One bucket's grants as one or (one time in ten) two YAML documents, as if two teams."""
    bucket = f"bench-models-{index:04d}"
    owner = f"{100_000_000_000 + index % 20:012d}"
    # A few prefixes per bucket, so grants share statements as they do in real repositories.
    pool = [f"{rng.choice(PREFIX_WORDS)}/team-{n}/" for n in range(rng.randrange(2, 6))]
    seen: set[tuple[str, str]] = set()
    grants: list[str] = []
    while len(grants) < grant_count:
        grantee = _grantee(rng, owner)
        prefixes = tuple(sorted(rng.sample(pool, rng.choice((0, 1, 1, 2)))))
        keys = {(grantee.strip('"'), p) for p in prefixes or ("",)}
        if keys & seen:
            continue
        seen |= keys
        grants.append(_grant_yaml(rng, grantee, prefixes))
    split = len(grants) // 2 if len(grants) > 1 and rng.random() < 0.1 else len(grants)
    parts = [grants[:split], grants[split:]] if split < len(grants) else [grants]
    return [
        f'version: 1\nbucket: {bucket}\naccount: "{owner}"\nowner: team-{index % 37}\n'
        + ("grants:\n" + "\n".join(part) + "\n" if part else "")
        for part in parts
    ]


def _grant_counts(rng: random.Random, buckets: int, grants: int) -> list[int]:
    """Per-bucket grant counts between 1 and about 3x the mean, summing to grants."""
    counts = [1] * buckets
    for _ in range(grants - buckets):
        counts[rng.randrange(buckets)] += 1
    return counts


def generate(root: Path, buckets: int, grants: int, files: int, seed: int) -> None:
    rng = random.Random(seed)
    documents = [
        document
        for index, count in enumerate(_grant_counts(rng, buckets, grants))
        for document in _bucket_documents(rng, index, count)
    ]
    rng.shuffle(documents)
    header = "# yaml-language-server: $schema=../schema/shares.schema.json\n"
    for number in range(files):
        chunk = documents[number::files]
        if chunk:
            text = header + "---\n".join(chunk)
            (root / f"team-{number:04d}.yaml").write_text(text, encoding="utf-8")


class Timings:
    """Wall and CPU seconds of each run of one step."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def run(self, function: Callable[[], T]) -> T:
        # Collect the previous run's garbage first so it is not charged to this one.
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        self.wall.append(time.perf_counter() - wall)
        self.cpu.append(time.process_time() - cpu)
        return result

    def summary(self) -> str:
        return (
            f"{self.name:<24} wall best {min(self.wall):6.3f} s  median {statistics.median(self.wall):6.3f} s"
            f"   (cpu best {min(self.cpu):6.3f} s)"
        )


def _run_once(
    shares: Path, config: Config, total: Timings, load: Timings, render: Timings
) -> tuple[tuple[int, ...], Problem | None]:
    """Time each step once; only the step being timed holds results (live objects slow GC)."""
    declarations, _ = load.run(partial(load_shares, shares, config, TODAY))
    render.run(partial(render_declarations, declarations, config, TODAY))
    del declarations
    state = total.run(partial(load_desired, shares, None, TODAY))
    counts = (
        len(state.declarations.buckets),
        state.declarations.grant_count(),
        sum(len(bucket.statements) for bucket in state.buckets),
        len(state.errors),
        sum(1 for p in state.problems if p.severity is Severity.WARNING),
    )
    return counts, state.errors[0] if state.errors else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buckets", type=int, default=1000)
    parser.add_argument("--grants", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20260115)
    parser.add_argument("--no-gc", action="store_true", help="time with Python's cyclic GC disabled")
    parser.add_argument("--profile", action="store_true", help="print the top functions by cumulative time")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bucketshare-bench-") as tmp:
        shares = Path(tmp, "shares")
        shares.mkdir()
        generate(shares, args.buckets, args.grants, args.files, args.seed)
        file_count = len(list(shares.glob("*.yaml")))
        size = sum(p.stat().st_size for p in shares.glob("*.yaml"))

        total, load, render = Timings("load_desired (total)"), Timings("  load_shares"), Timings("  render")
        config = Config()
        if args.no_gc:
            gc.disable()
        for _ in range(args.repeat):
            counts, first_error = _run_once(shares, config, total, load, render)
        gc.enable()

        print(f"{file_count} files, {size / 1024:.0f} KiB of YAML; cyclic GC {'off' if args.no_gc else 'on'}")
        print("{} buckets, {} grants, {} statements; {} errors, {} warnings".format(*counts))
        print(f"{args.repeat} runs:")
        for timings in (total, load, render):
            print(timings.summary())
        if first_error:
            print("first error:", first_error, file=sys.stderr)

        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(load_desired, shares, None, TODAY)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    return 1 if first_error else 0


if __name__ == "__main__":
    raise SystemExit(main())
