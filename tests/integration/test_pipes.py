"""A closed stdout (`reconciler render | head -1`) ends the command quietly with exit 141, as
any other tool a closed pipe stops: no traceback, no "bucketshare bug"."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .cli_process import RECONCILER, clean_env, write_estate

pytestmark = pytest.mark.slow
"""Three processes reading 800 files each."""

BUCKETS = 800
"""Enough for every command below to print well over a pipe's 64 KiB buffer, so its writes
are still going on when head has gone."""


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_estate(tmp_path_factory.mktemp("pipes"), BUCKETS, expired=True)


@pytest.mark.parametrize(
    "args",
    [["render"], ["validate"], ["consumer-policy", "--offline", "--to", "222222222222"]],
    ids=["render", "validate", "consumer-policy"],
)
def test_a_closed_pipe_ends_quietly(checkout: Path, args: list[str]) -> None:
    command = " ".join([*RECONCILER, *args])
    result = subprocess.run(
        ["bash", "-c", f'{command} | head -1 >/dev/null; echo "${{PIPESTATUS[0]}}"'],
        cwd=checkout,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stderr == ""
    assert result.stdout == "141\n"
