"""`reconciler sandbox --apply` runs the whole loop against its own moto server and converges."""

from __future__ import annotations

import os
from pathlib import Path

from .conftest import Workspace

REPO_SHARES = Path(__file__).resolve().parents[2] / "shares"


def test_sandbox_applies_the_example_shares_and_converges(ws: Workspace) -> None:
    # The sandbox points this process at its own server; ws.point recorded every variable it
    # sets, so monkeypatch restores them for the tests that follow.
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    result = ws.run("sandbox", "--apply", "--shares", REPO_SHARES, "--parallelism", "4")
    assert result.rc == 0, result.text
    assert os.environ["AWS_ENDPOINT_URL"] != endpoint
    first, _, second = result.out.partition("sandbox: planning again after apply")
    assert second, result.out
    assert "put-policy" in first
    assert "keeps 1 statement bucketshare does not own, unchanged" in first
    assert "0 failed" in first
    assert "No changes" in second
    assert "not empty" not in second
