"""The sandbox's moto server is stopped whatever interrupts its start."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from reconciler.edge import sandbox


def test_a_ctrl_c_right_after_the_server_starts_still_stops_it(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[subprocess.Popen[bytes]] = []
    real_popen = subprocess.Popen

    def popen_then_ctrl_c(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        process: subprocess.Popen[bytes] = real_popen(*args, **kwargs)
        started.append(process)
        # The Ctrl-C lands after the server process exists, before moto_server holds it.
        signal.raise_signal(signal.SIGINT)
        return process

    monkeypatch.setattr(sandbox.subprocess, "Popen", popen_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt), sandbox.moto_server():
        pytest.fail("the server must not be yielded after a Ctrl-C")
    (process,) = started
    try:
        assert process.poll() is not None, "the moto server was left running"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_server_takes_sigterm_so_stopping_it_needs_no_kill(monkeypatch: pytest.MonkeyPatch) -> None:
    # Signals held while Popen runs are inherited as blocked: moto then ignored SIGTERM and
    # every sandbox run waited out _stop's timeout before the kill.
    started: list[subprocess.Popen[bytes]] = []
    real_popen = subprocess.Popen

    def recording_popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        process: subprocess.Popen[bytes] = real_popen(*args, **kwargs)
        started.append(process)
        return process

    monkeypatch.setattr(sandbox.subprocess, "Popen", recording_popen)
    killed: list[int] = []
    real_kill = real_popen.kill

    def recording_kill(self: subprocess.Popen[bytes]) -> None:
        killed.append(self.pid)
        real_kill(self)

    monkeypatch.setattr(real_popen, "kill", recording_kill)
    with sandbox.moto_server():
        (process,) = started
        status = Path(f"/proc/{process.pid}/status").read_text(encoding="utf-8")
        blocked = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigBlk:")), 16)
        assert not blocked & (1 << (signal.SIGTERM - 1)), "the moto server blocks SIGTERM"
    assert process.returncode is not None and killed == []
