"""Ctrl-C ends the read-only commands at once: exit 130, one line "interrupted", no traceback,
whether the reads wait on an endpoint that never answers or the modules are still loading.

Each test runs the reconciler in its own process and sends SIGINT with os.kill, as a
terminal does; the bound is measured from the signal to the process's end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .cli_process import SilentEndpoint, clean_env, start, write_estate

pytestmark = pytest.mark.slow
"""Seven processes, about 3 s each on a loaded 2-core machine."""

BOUND = 2.0
"""Seconds from Ctrl-C to the end of the process."""


def interrupt(process: subprocess.Popen[str], presses: int = 1) -> tuple[float, str, str]:
    """Ctrl-C (`presses` times, 50 ms apart); seconds until the process ended, its output."""
    sent = time.monotonic()
    for press in range(presses):
        if press:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGINT)
    try:
        out, err = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        return 15.0, out, err
    return time.monotonic() - sent, out, err


def assert_interrupted(process: subprocess.Popen[str], seconds: float, err: str) -> None:
    assert seconds < BOUND, f"ended {seconds:.1f}s after Ctrl-C\n{err}"
    assert process.returncode == 130, err
    assert err.splitlines()[-1:] == ["interrupted"], err
    assert "Traceback" not in err and "Exception ignored" not in err, err


@pytest.mark.parametrize(
    ("args", "presses"),
    [
        (["plan", "--declared-only", "--parallelism", "4"], 1),
        (["plan", "--declared-only", "--parallelism", "4"], 3),
    ],
    ids=["reads", "three-presses"],
)
def test_ctrl_c_ends_plan_waiting_on_a_silent_endpoint(tmp_path: Path, args: list[str], presses: int) -> None:
    root = write_estate(tmp_path, 8)
    with SilentEndpoint() as endpoint:
        env = clean_env(
            AWS_ENDPOINT_URL=endpoint.url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
        )
        process = start(args, root, env)
        assert endpoint.connected.wait(60), "the reconciler never connected"
        time.sleep(0.3)  # the other reads connect too
        seconds, _, err = interrupt(process, presses)
    assert_interrupted(process, seconds, err)


SLOW_IMPORT = """\
import importlib.abc, pathlib, sys, time

class HoldImport(importlib.abc.MetaPathFinder):
    # Stands in for a slow disk: the module named by HOLD_IMPORT takes a minute to load.
    def find_spec(self, name, path=None, target=None):
        if name == "{module}":
            sys.meta_path.remove(self)
            pathlib.Path("{marker}").touch()
            time.sleep(60)
        return None

sys.meta_path.insert(0, HoldImport())
"""


@pytest.mark.parametrize(
    ("args", "module"),
    [
        (["validate"], "yaml"),
        (["render"], "yaml"),
        (["plan", "--declared-only"], "boto3"),
        (["import", "--bucket", "acme-shell-example-bucket-0000", "--account", "111111111111"], "boto3"),
    ],
    ids=["validate", "render", "plan", "import"],
)
def test_ctrl_c_while_the_modules_load_is_one_line(tmp_path: Path, args: list[str], module: str) -> None:
    root = write_estate(tmp_path / "checkout", 2)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    marker = tmp_path / "loading"
    (hooks / "sitecustomize.py").write_text(SLOW_IMPORT.format(module=module, marker=marker))
    path = os.pathsep.join(filter(None, [str(hooks), os.environ.get("PYTHONPATH")]))
    env = clean_env(PYTHONPATH=path, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    process = start(args, root, env)
    deadline = time.monotonic() + 60
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.exists(), process.communicate()
    seconds, _, err = interrupt(process)
    assert_interrupted(process, seconds, err)
