"""Hostile and broken input: one clear located line, exit 1, no traceback, nothing sent to AWS.

Each case runs the real CLI (`reconciler.cli.main`). Exit 3 means a bucketshare bug.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import RunCli, WriteShares

from reconciler.errors import Location, Problem

# ---- thousands of problems in one file ----

BAD_GRANT = "  - {to: x, access: r, expires: s, reson: x}\n"
"""Four problems: an unknown key, a grantee, an access level and a date."""


def many_bad_grants(count: int) -> str:
    return 'version: 1\nbucket: acme-data\naccount: "111111111111"\ngrants:\n' + BAD_GRANT * count


def test_twenty_thousand_bad_grants_are_all_reported(run_cli: RunCli, write_shares: WriteShares) -> None:
    # Before: 5,000 such grants took 95 s to report, growing with the square of the count.
    write_shares({"a.yaml": many_bad_grants(20_000)})

    rc, out, err = run_cli("validate")

    lines = err.splitlines()
    assert (rc, out) == (1, "")
    assert lines[-1] == "80000 problems; nothing was sent to AWS"
    assert lines[0].startswith("shares/a.yaml:5:10: cannot tell what 'x' is;")
    assert lines[-2].startswith("shares/a.yaml:20004:")


def test_reporting_problems_compares_them_n_log_n_times(
    run_cli: RunCli, write_shares: WriteShares, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bound on work, not on time: every comparison or hash of a problem or a location counts.
    # Sorting n problems takes about n log n of them; a scan of the list per problem, n squared.
    grants = 2_000
    problems = 4 * grants
    budget = 100 * problems
    calls = 0

    def counted(method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls > budget:
                raise AssertionError(f"over {budget} comparisons for {problems} problems")
            return method(*args)

        return call

    for cls in (Problem, Location):
        for name in ("__eq__", "__lt__", "__hash__"):
            monkeypatch.setattr(cls, name, counted(getattr(cls, name)))
    write_shares({"a.yaml": many_bad_grants(grants)})

    rc, _, err = run_cli("validate")

    assert calls <= budget
    assert (rc, err.splitlines()[-1]) == (1, f"{problems} problems; nothing was sent to AWS")
