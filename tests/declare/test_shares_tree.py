"""A shares/ tree that cannot be read completely fails; nothing in it vanishes or hangs a run.

The rule (reconciler/declarations.py): every entry is a regular file, a directory, or a symlink
that resolves to one of those inside shares/ (loaded once, at its real path); anything else is
a located error. A grant in a file left unread would otherwise be planned as a revocation.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from conftest import RunCli, WriteShares

SHARE = (
    'version: 1\nbucket: acme-data\naccount: "111111111111"\n'
    'grants:\n  - {to: "222222222222", access: read}\n'
)
OTHER = 'version: 1\nbucket: acme-other\naccount: "111111111111"\n'
ONLY = "bucketshare reads only regular *.yaml/*.yml files under the shares directory"
ROOT = os.geteuid() == 0


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    """A blocked open() fails the test after 10 s instead of hanging the suite."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError("the command blocked")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def validate_fails(run_cli: RunCli, *lines: str) -> None:
    rc, out, err = run_cli("validate")
    assert (rc, out) == (1, "")
    assert "Traceback" not in err
    assert err.splitlines() == [*lines, f"{len(lines)} problem{'' if len(lines) == 1 else 's'}"]


def make_socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("x.yaml", os.mkfifo, f"a FIFO is not a regular file; {ONLY}: remove it"),
        ("notes", os.mkfifo, f"a FIFO is not a regular file; {ONLY}: remove it"),
        ("x.yaml", make_socket, f"a socket is not a regular file; {ONLY}: remove it"),
        ("x.yaml", os.mkdir, f"a directory named like a YAML file; {ONLY}: rename it"),
        ("x.yml", os.mkdir, f"a directory named like a YAML file; {ONLY}: rename it"),
    ],
    ids=["fifo", "fifo-any-name", "socket", "directory-yaml", "directory-yml"],
)
def test_a_yaml_name_that_is_not_a_regular_file_is_refused(
    run_cli: RunCli, write_shares: WriteShares, name: str, make: Callable[[Path], Any], message: str
) -> None:
    shares = write_shares({"a.yaml": SHARE})
    make(shares / name)
    validate_fails(run_cli, f"shares/{name}:1:1: {message}")


@pytest.mark.skipif(not ROOT, reason="only root can make a device node")
def test_a_device_is_refused(run_cli: RunCli, write_shares: WriteShares) -> None:
    shares = write_shares({"a.yaml": SHARE})
    os.mknod(shares / "null.yaml", 0o600 | 0o020000, os.makedev(1, 3))  # S_IFCHR: like /dev/null
    validate_fails(
        run_cli, f"shares/null.yaml:1:1: a character device is not a regular file; {ONLY}: remove it"
    )


def test_the_files_inside_a_directory_named_yaml_are_still_checked(
    run_cli: RunCli, write_shares: WriteShares
) -> None:
    write_shares({"a.yaml": SHARE, "team.yaml/b.yaml": "version: 2\n"})
    rc, _, err = run_cli("validate")
    assert rc == 1
    assert err.splitlines()[:2] == [
        f"shares/team.yaml:1:1: a directory named like a YAML file; {ONLY}: rename it",
        "shares/team.yaml/b.yaml:1:1: a share document is missing required key 'account'",
    ]


def test_a_fifo_never_hangs_plan_and_nothing_is_sent_to_aws(
    run_cli: RunCli, write_shares: WriteShares, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Any AWS call would fail loudly on a closed port; the refusal must come first.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    shares = write_shares({"a.yaml": SHARE})
    os.mkfifo(shares / "b.yaml")
    for command in (["plan"], ["apply", "--auto-approve"]):
        rc, out, err = run_cli(*command)
        assert (rc, out) == (1, "")
        assert err.splitlines() == [
            f"shares/b.yaml:1:1: a FIFO is not a regular file; {ONLY}: remove it",
            "1 problem; nothing was sent to AWS",
        ]


# ---- symlinks ----


def test_a_symlink_to_a_yaml_file_inside_is_loaded_once_at_its_real_path(
    run_cli: RunCli, write_shares: WriteShares
) -> None:
    shares = write_shares({"team/a.yaml": SHARE, "b.yaml": OTHER})
    os.symlink("team/a.yaml", shares / "alias.yaml")
    os.symlink("team", shares / "linked-team")
    assert run_cli("validate") == (0, "2 buckets, 1 grant, 0 problems\n", "")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "notes.txt",
            "symlink leads to notes.txt, which is not a *.yaml/*.yml file, so it would not be loaded",
        ),
        ("pipe", f"symlink leads to a FIFO, not a regular file; {ONLY}"),
    ],
)
def test_a_yaml_symlink_to_something_that_is_not_loaded_is_refused(
    run_cli: RunCli, write_shares: WriteShares, target: str, message: str
) -> None:
    shares = write_shares({"a.yaml": OTHER, "notes.txt": SHARE})
    if target == "pipe":
        os.mkfifo(shares / "pipe")
    os.symlink(target, shares / "b.yaml")
    rc, _, err = run_cli("validate")
    assert rc == 1
    assert "Traceback" not in err
    assert any(line.startswith(f"shares/b.yaml:1:1: {message}") for line in err.splitlines())


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("../outside.yaml", "symlink leads outside the shares directory; refused"),
        ("../elsewhere", "symlink leads outside the shares directory; refused"),
        ("missing.yaml", "symlink cannot be resolved (broken or a loop); remove it"),
        ("b.yaml", "symlink cannot be resolved (broken or a loop); remove it"),
        ("team", f"a directory named like a YAML file; {ONLY}: rename it"),
    ],
    ids=["file-outside", "directory-outside", "broken", "loop", "directory-inside-named-yaml"],
)
def test_other_symlinks_are_located_errors(
    run_cli: RunCli, write_shares: WriteShares, tmp_path: Path, target: str, message: str
) -> None:
    (tmp_path / "outside.yaml").write_text(OTHER, encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    shares = write_shares({"a.yaml": SHARE, "team/c.yaml": OTHER})
    os.symlink(target, shares / "b.yaml")
    validate_fails(run_cli, f"shares/b.yaml:1:1: {message}")


# ---- what cannot be read ----


def fail_for(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
    """real, except that a path ending in name cannot be read, as for a user without permission."""

    def call(path: Any, *args: Any, **kwargs: Any) -> Any:
        if os.fspath(path).endswith(name):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return real(path, *args, **kwargs)

    return call


def test_a_folder_that_cannot_be_listed_fails(
    run_cli: RunCli, write_shares: WriteShares, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root lists any folder whatever its mode, so the listing is made to fail instead.
    write_shares({"a.yaml": SHARE, "team/b.yaml": OTHER})
    monkeypatch.setattr(os, "scandir", fail_for("team", os.scandir))
    validate_fails(
        run_cli, "shares/team:1:1: cannot read directory: Permission denied; nothing in it was loaded"
    )


def test_a_file_that_cannot_be_opened_fails(
    run_cli: RunCli, write_shares: WriteShares, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_shares({"a.yaml": SHARE, "b.yaml": OTHER})
    monkeypatch.setattr(os, "open", fail_for("b.yaml", os.open))
    validate_fails(run_cli, "shares/b.yaml:1:1: cannot read file: Permission denied")


@pytest.mark.skipif(ROOT, reason="root reads and lists whatever the mode; covered by the two tests above")
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("team", "shares/team:1:1: cannot read directory: Permission denied; nothing in it was loaded"),
        ("team/b.yaml", "shares/team/b.yaml:1:1: cannot read file: Permission denied"),
    ],
)
def test_modes_that_forbid_reading_fail(
    run_cli: RunCli, write_shares: WriteShares, name: str, message: str
) -> None:
    shares = write_shares({"a.yaml": SHARE, "team/b.yaml": OTHER})
    (shares / name).chmod(0)
    try:
        validate_fails(run_cli, message)
    finally:
        (shares / name).chmod(0o755)


# ---- --config ----


def test_a_config_symlink_to_a_regular_file_is_followed(
    run_cli: RunCli, write_shares: WriteShares, tmp_path: Path
) -> None:
    write_shares({"a.yaml": SHARE})
    (tmp_path / "real.yaml").write_text("version: 1\nguardrails:\n  require_reason: true\n", encoding="utf-8")
    os.symlink("real.yaml", tmp_path / "reconciler.yaml")
    rc, _, err = run_cli("validate")
    assert rc == 1
    assert err.splitlines()[0] == "shares/a.yaml:5:5: this grant needs a 'reason' (guardrails.require_reason)"


@pytest.mark.parametrize("config", [None, "cfg"], ids=["default", "given"])
@pytest.mark.parametrize("target", ["missing.yaml", "self"], ids=["broken", "loop"])
def test_a_config_symlink_that_cannot_be_resolved_is_one_line(
    run_cli: RunCli, write_shares: WriteShares, tmp_path: Path, config: str | None, target: str
) -> None:
    # A broken reconciler.yaml link is not an absent config: its guardrails must not vanish.
    write_shares({"a.yaml": SHARE})
    name = config or "reconciler.yaml"
    os.symlink(name if target == "self" else target, tmp_path / name)
    args = ["validate"] if config is None else ["validate", "--config", config]
    assert run_cli(*args) == (
        1,
        "",
        f"error: {name}: config is a symlink that cannot be resolved (broken or a loop)\n",
    )


def test_a_config_symlink_to_a_fifo_is_refused_without_hanging(
    run_cli: RunCli, write_shares: WriteShares, tmp_path: Path
) -> None:
    write_shares({"a.yaml": SHARE})
    os.mkfifo(tmp_path / "pipe")
    os.symlink("pipe", tmp_path / "reconciler.yaml")
    assert run_cli("validate") == (1, "", "error: reconciler.yaml: config must be a regular file\n")


def test_a_fifo_swapped_in_after_the_checks_is_read_without_blocking(tmp_path: Path) -> None:
    from reconciler.declare.yaml_source import read_text

    os.mkfifo(tmp_path / "pipe")
    text, problems = read_text(tmp_path / "pipe", "pipe")
    assert text is None
    assert [str(p) for p in problems] == ["pipe:1:1: not a regular file; refused"]


@pytest.mark.parametrize("name", ["x.YAML", "x.Yml", ".yaml", ".yml"])
def test_a_file_named_like_yaml_that_would_not_be_read_is_refused(
    run_cli: RunCli, write_shares: WriteShares, name: str
) -> None:
    write_shares({"a.yaml": SHARE, name: OTHER})
    validate_fails(
        run_cli,
        f"shares/{name}:1:1: named like a YAML file but not read: only names ending in .yaml or .yml are; "
        "rename it",
    )


@pytest.mark.parametrize("make", [os.mkfifo, lambda p: p.write_text(SHARE)], ids=["fifo", "file"])
def test_shares_that_is_not_a_directory_is_refused(
    run_cli: RunCli, tmp_path: Path, make: Callable[[Path], Any]
) -> None:
    make(tmp_path / "shares")
    validate_fails(run_cli, "shares:1:1: not a directory; refused")
