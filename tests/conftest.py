from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.cli import main

WriteShares = Callable[[dict[str, str | bytes]], Path]
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
