from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.cli import main

WriteShares = Callable[[dict[str, str | bytes]], Path]

SLOW_MODULES = frozenset(
    {
        # Property and fuzz suites: thousands of generated documents each.
        "test_bad_input_fuzz.py",
        "test_declarations_fuzz.py",
        "test_render_properties.py",
        # Whole processes killed, faults injected, many buckets through a proxy.
        "test_crashes.py",
        "test_rollback_recovery.py",  # rollback after crashes at every point of a write
        "test_fault_injection.py",
        "test_parallel_apply.py",
        "test_concurrent_applies.py",
        # Many owner accounts, each through its own assumed role.
        "test_accounts.py",
        # Every job of a workflow run step by step against moto and the gh stand-in.
        "test_workflows.py",
        "test_workflow_shards.py",
        "test_workflow_apply_range.py",
        "test_workflow_plan_comment.py",
    }
)
"""Suites that run with `python -m pytest -q -m slow`, not in the fast suite (README)."""
SLOW_TESTS = frozenset(
    {
        "test_twenty_thousand_bad_grants_are_all_reported",
        "test_aws_replay_of_random_grants_plans_as_noop",
        "test_schema_agrees_with_loader_on_generated_documents",
        "test_a_saved_create_plan_applies_only_in_its_region",
    }
)


def pytest_configure(config: pytest.Config) -> None:
    """Started in the background of a non-interactive shell (`.ci/run &`, nohup), this process
    inherits SIGINT ignored, and so would every reconciler the tests start: Python installs no
    KeyboardInterrupt handler then, and the Ctrl-C tests would see a Ctrl-C nobody can press.
    Handled again here, children start with it at its default, as from a terminal."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the long suites `slow` in one place, before `-m` selects (tryfirst)."""
    for item in items:
        name = getattr(item, "originalname", item.name)
        if item.path.name in SLOW_MODULES or name in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)


RunCli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def write_shares(tmp_path: Path) -> WriteShares:
    """Write {relative name: YAML text or raw bytes} under tmp_path/shares; return that dir."""

    def write(files: dict[str, str | bytes]) -> Path:
        shares = tmp_path / "shares"
        shares.mkdir(exist_ok=True)
        for name, content in files.items():
            path = shares / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return shares

    return write


@pytest.fixture
def run_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Run `reconciler ARGS...` from tmp_path (no stray reconciler.yaml); return (rc, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)

    def run(*args: str | Path) -> tuple[int, str, str]:
        capsys.readouterr()
        rc = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return rc, out, err

    return run
