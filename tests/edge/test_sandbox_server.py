"""The sandbox's moto server is stopped whatever interrupts its start."""

from __future__ import annotations

import signal
import subprocess
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
