"""Credentials AWS rejects stop a run with one line, before any bucket is reported.

moto checks access keys when started with INITIAL_NO_AUTH_ACTION_COUNT=0, and answers as
AWS does: InvalidClientTokenId from STS, InvalidAccessKeyId from S3. The workspace's
credentials belong to the shared moto server, so this one does not know them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from reconciler.edge.sandbox import free_port

from .conftest import Workspace, read_grant

pytestmark = pytest.mark.slow
"""A moto server of its own, started for these two tests."""

BUCKETS = 60


@pytest.fixture(scope="module")
def checking_endpoint() -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/moto-api/", timeout=1):
                    break
            except (urllib.error.URLError, OSError):
                assert time.monotonic() < deadline and server.poll() is None, "moto did not start"
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize(
    ("args", "code"),
    [((), "InvalidClientTokenId"), (("--declared-only",), "InvalidAccessKeyId")],
    ids=["discovery-first", "reads-first"],
)
def test_rejected_credentials_are_one_line(
    ws: Workspace, checking_endpoint: str, args: tuple[str, ...], code: str
) -> None:
    for index in range(BUCKETS):
        ws.declare(f"bs-rejected-{index:02d}-{ws.account}", read_grant("222222222222"))
    ws.point(checking_endpoint)

    result = ws.plan(*args)
    assert result.rc == 1, result.text
    errors = [line for line in result.text.splitlines() if "error" in line]
    assert len(errors) == 1, result.text
    assert errors[0].startswith(f"error: AWS rejected the credentials ({code}): "), errors
    assert "digest" not in result.out and "bs-rejected-" not in result.text, result.text
