"""`reconciler sandbox --apply` runs the whole loop against its own moto server and converges."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from reconciler.edge.sandbox import ISOLATION

from .cli_process import RECONCILER, clean_env, start
from .conftest import Workspace

REPO_SHARES = Path(__file__).resolve().parents[2] / "shares"


def test_sandbox_applies_the_example_shares_and_converges(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sandbox points this process at its own server; ws.point recorded every variable it
    # sets, so monkeypatch restores them for the tests that follow.
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    # It also drops every other AWS_ variable: recorded here, so they come back afterwards.
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.setenv(name, os.environ[name])
    for name in ISOLATION:
        monkeypatch.setenv(name, os.environ.get(name, ""))
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


@pytest.mark.slow
def test_the_sandbox_ignores_the_users_aws_setup(tmp_path: Path) -> None:
    """A profile that does not exist, an endpoint and a CA bundle that would break every call:
    none is the sandbox's business."""
    env = clean_env(
        AWS_PROFILE="nonexistent",
        AWS_DEFAULT_PROFILE="nonexistent",
        AWS_CONFIG_FILE=str(tmp_path / "missing-config"),
        AWS_ENDPOINT_URL_S3="http://127.0.0.1:9",
        AWS_CA_BUNDLE=str(tmp_path / "missing-ca.pem"),
        AWS_ROLE_ARN="arn:aws:iam::111111111111:role/nope",
        AWS_WEB_IDENTITY_TOKEN_FILE=str(tmp_path / "missing-token"),
        AWS_SESSION_TOKEN="stale",
    )
    result = subprocess.run(
        [*RECONCILER, "sandbox", "--shares", str(REPO_SHARES), "--parallelism", "4"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "put-policy" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stopped_sandbox_serve_stops_its_moto_server(tmp_path: Path, stop: signal.Signals) -> None:
    process = start(["sandbox", "--serve", "--shares", str(REPO_SHARES)], tmp_path, clean_env())
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("export AWS_ENDPOINT_URL="):
            break
    port = int(lines[-1].strip().rsplit(":", 1)[1])
    children = child_pids(process.pid)
    assert children, "no moto server process"

    process.send_signal(stop)
    process.communicate(timeout=30)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (port_open(port) or any(alive(c) for c in children)):
            time.sleep(0.1)
        assert not port_open(port), f"the moto server still answers on port {port}"
        assert not [c for c in children if alive(c)], "a child process is left running"
        assert process.returncode == 128 + stop
    finally:
        for child in children:  # a failed run must not leave its server behind either
            if alive(child):
                os.kill(child, signal.SIGKILL)


def child_pids(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
