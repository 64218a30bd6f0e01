"""A pull request's plan and a shard's load only the files they need, and find what a full
load finds: the same buckets to plan, declared and checked the same way."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from reconciler.declare.config import Config
from reconciler.declare.tree import load_shares
from reconciler.live.changes import ChangedShares
from reconciler.plan.changed import ChangedBuckets, declared_before, scope_buckets, select_changed
from reconciler.plan.scopes import AccountScope
from reconciler.policy.desired import load_desired

TODAY = dt.date(2026, 12, 7)
OWNERS = ["111111111111", "222222222222", "333333333333", "444444444444"]


def document(rng: random.Random, bucket: str) -> str:
    grants = "".join(
        f"  - to: '{rng.randrange(500000000000, 500000000030)}'\n"
        f"    access: {rng.choice(['read', 'write'])}\n"
        for _ in range(rng.randint(0, 2))
    )
    # Each bucket's own owner, but now and then another: one bucket, two owners, an error.
    owner = OWNERS[int(bucket.split("-")[1]) % len(OWNERS)] if rng.random() < 0.95 else rng.choice(OWNERS)
    return f"version: 1\nbucket: {bucket}\naccount: '{owner}'\n" + (
        f"grants:\n{grants}" if grants else "grants: []\n"
    )


def tree(root: Path, seed: int) -> list[Path]:
    """A few files; buckets from a small pool, so some are declared in several files."""
    rng = random.Random(seed)
    paths = []
    for number in range(rng.randint(2, 6)):
        buckets = [f"acme-{rng.randrange(8)}" for _ in range(rng.randint(1, 3))]
        path = root / f"team-{number}.yaml"
        path.write_text("---\n".join(document(rng, b) for b in buckets))
        paths.append(path)
    return paths


@pytest.mark.parametrize("seed", range(25))
def test_a_changed_since_load_selects_and_finds_what_a_full_load_does(tmp_path: Path, seed: int) -> None:
    shares = tmp_path / "shares"
    shares.mkdir()
    paths = tree(shares, seed)
    rng = random.Random(seed)
    edited = rng.sample(paths, rng.randint(1, len(paths)))
    previous = tuple((str(p), document(rng, f"acme-{rng.randrange(10)}")) for p in edited[:1])
    changed = ChangedShares("HEAD~1", None, frozenset(p.resolve() for p in edited), previous)
    full = load_desired(shares, None, TODAY)
    expected = select_changed(full, changed)
    before = declared_before(changed, Config())
    assert isinstance(before, dict)
    chooser = ChangedBuckets(changed, before)
    partial, problems = load_shares(shares, Config(), TODAY, chooser)
    # A partial load never finds a problem a full one would not.
    assert set(problems) <= set(full.problems)
    if not full.errors:  # with errors a plan refuses either way: nothing to select
        assert chooser.selection == expected
        assert partial.buckets == tuple(b for b in full.declarations.buckets if b.bucket in expected.declared)


@pytest.mark.parametrize("seed", range(10))
def test_a_shard_loads_the_buckets_of_its_accounts(tmp_path: Path, seed: int) -> None:
    tree(tmp_path, seed)
    full, full_problems = load_shares(tmp_path, Config(), TODAY)
    scope = AccountScope(shard=(seed % 2, 2))
    partial, problems = load_shares(tmp_path, Config(), TODAY, scope_buckets(scope))
    wanted = {d.bucket for d in full.buckets if scope.includes(d.account)}
    assert partial.buckets == tuple(b for b in full.buckets if b.bucket in wanted)
    assert set(problems) <= set(full_problems)
