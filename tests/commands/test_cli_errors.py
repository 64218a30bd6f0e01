"""Files and arguments the CLI cannot use: one `error: ...` line and exit 1, never a traceback."""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import RunCli, WriteShares

from reconciler.cli import COMMANDS, build_parser, main

SHARE = 'version: 1\nbucket: a-bucket\naccount: "111111111111"\n'
Make = Callable[[Path], object]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "error: cfg: config file not found\n"),
        (lambda p: p.mkdir(), "error: cfg: config must be a regular file\n"),
        (lambda p: os.mkfifo(p), "error: cfg: config must be a regular file\n"),
        (
            lambda p: p.write_bytes(b"version: 1\nsid_prefix: \xff\n"),
            "error: cfg:2:13: file is not valid UTF-8; save it as UTF-8\n",
        ),
        (
            lambda p: p.write_bytes(b"#" * (1024 * 1024 + 1)),
            "error: cfg:1:1: file is 1048577 bytes, over the 1048576-byte limit; split it\n",
        ),
    ],
    ids=["missing", "directory", "fifo", "not-utf8", "too-big"],
)
@pytest.mark.parametrize(
    "command",
    [
        ["validate"],
        ["render"],
        ["plan"],
        ["apply", "--auto-approve"],
        ["apply", "plan.json"],
        ["rollback", "journal.jsonl"],
        ["codeowners"],
        ["sandbox"],
    ],
)
def test_config_that_cannot_be_read_is_one_line(
    run_cli: RunCli, write_shares: WriteShares, tmp_path: Path, command: list[str], make: Make, message: str
) -> None:
    write_shares({"a.yaml": SHARE})
    make(tmp_path / "cfg")
    assert run_cli(*command, "--config", "cfg") == (1, "", message)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_config_is_one_line(run_cli: RunCli, write_shares: WriteShares, tmp_path: Path) -> None:
    write_shares({"a.yaml": SHARE})
    config = tmp_path / "cfg"
    config.write_text("version: 1\n", encoding="utf-8")
    config.chmod(0)
    assert run_cli("validate", "--config", "cfg") == (
        1,
        "",
        "error: cfg: cannot read file: Permission denied\n",
    )


def test_default_reconciler_yaml_that_is_a_directory_is_one_line(
    run_cli: RunCli, write_shares: WriteShares, tmp_path: Path
) -> None:
    write_shares({"a.yaml": SHARE})
    (tmp_path / "reconciler.yaml").mkdir()
    assert run_cli("validate") == (1, "", "error: reconciler.yaml: config must be a regular file\n")


@pytest.mark.parametrize("commit", ["abc123", "ABCDEF0", "g" * 40, "a" * 65, "abcdef0 "])
def test_plan_commit_must_be_a_sha(run_cli: RunCli, commit: str) -> None:
    rc, out, err = run_cli("plan", "--commit", commit)
    assert (rc, out) == (1, "")
    assert err == f"error: --commit {commit!r} is not a commit SHA; give 7 to 64 lowercase hex characters\n"


@pytest.mark.parametrize("digest", ["sha256:abc", "SHA256:" + "a" * 64, "a" * 64, "sha256:" + "A" * 64])
def test_apply_expect_digest_must_be_a_digest(run_cli: RunCli, tmp_path: Path, digest: str) -> None:
    (tmp_path / "plan.json").write_text("{}", encoding="utf-8")
    rc, out, err = run_cli("apply", "plan.json", "--expect-digest", digest)
    assert (rc, out) == (1, "")
    assert err == (
        f"error: --expect-digest: {digest!r} is not a plan digest; "
        "copy the sha256:... value shown in the plan\n"
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), "error: plan.json: cannot read plan (Is a directory)\n"),
        (
            lambda p: p.write_bytes(b'{"a": "\xff"}'),
            "error: plan.json: not a JSON plan (not UTF-8 at byte 7)\n",
        ),
    ],
)
def test_saved_plan_that_cannot_be_read_is_one_line(
    run_cli: RunCli, tmp_path: Path, make: Make, message: str
) -> None:
    make(tmp_path / "plan.json")
    assert run_cli("apply", "plan.json") == (1, "", message)


def test_journal_that_is_a_directory_is_refused_before_anything_is_written(
    run_cli: RunCli, tmp_path: Path
) -> None:
    (tmp_path / "journal").mkdir()
    expected = (1, "", "error: journal: the journal must be a regular file\n")
    assert run_cli("rollback", "journal") == expected
    (tmp_path / "plan.json").write_text(
        '{"format_version": 1, "sid_prefix": "BucketShare", "partition": "aws", "buckets": []}',
        encoding="utf-8",
    )
    assert run_cli("apply", "plan.json", "--journal", "journal") == expected


def test_plan_out_that_is_a_directory_is_one_line(
    run_cli: RunCli, write_shares: WriteShares, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.commands import plan as plan_command
    from reconciler.plan.model import Plan

    write_shares({"a.yaml": SHARE})
    monkeypatch.setattr(plan_command, "make_plan", lambda *a: Plan((), "BucketShare", "aws"))
    (tmp_path / "out").mkdir()
    rc, out, err = run_cli("plan", "--format", "json", "--out", "out")
    assert (rc, out) == (1, "")
    assert err == "error: out: cannot write the plan (Is a directory)\n"


def test_every_command_builds_its_own_parser() -> None:
    # Each module owns its arguments: building the parser for one command imports only it.
    for name in COMMANDS:
        parser = build_parser([name, "--help"])
        with pytest.raises(SystemExit):
            parser.parse_args([name, "--help"])


def test_version_comes_from_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"reconciler {importlib.metadata.version('bucketshare')}\n"


def test_the_top_level_help_points_at_the_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "`reconciler sandbox` runs validate, plan and apply" in " ".join(capsys.readouterr().out.split())
