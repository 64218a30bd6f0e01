"""reconciler validate --format github: one workflow command per problem, nothing injectable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import RunCli, WriteShares

from reconciler.commands.validate import annotation
from reconciler.errors import Location, Problem, Severity

SHARE = 'version: 1\nbucket: {bucket}\naccount: "{account}"\n'
EXPIRED = (
    'version: 1\nbucket: old-bucket\naccount: "111111111111"\n'
    'grants:\n  - to: "222222222222"\n    access: read\n    expires: 2020-01-01\n'
)


def test_github_format_annotates_each_problem_at_its_file_line_and_column(
    run_cli: RunCli, write_shares: WriteShares
) -> None:
    write_shares(
        {
            "a.yaml": SHARE.format(bucket="shared-bucket", account="111111111111"),
            "b.yaml": SHARE.format(bucket="shared-bucket", account="222222222222"),
            "c.yaml": EXPIRED,
        }
    )
    rc, out, err = run_cli("validate", "--format", "github")
    assert rc == 1
    assert out.splitlines() == [
        "::error file=shares/b.yaml,line=3,col=10::bucket shared-bucket is declared with account "
        "222222222222 here but 111111111111 at shares/a.yaml:3:10; one bucket has one owner",
        "::warning file=shares/c.yaml,line=5,col=5::grant expired on 2020-01-01 and is no longer "
        "rendered; delete it",
    ]
    assert err == "1 problem\n"


def test_github_format_with_only_warnings_exits_0_and_prints_the_totals(
    run_cli: RunCli, write_shares: WriteShares
) -> None:
    write_shares({"c.yaml": EXPIRED})
    rc, out, err = run_cli("validate", "--format", "github")
    assert rc == 0
    assert out.startswith("::warning file=shares/c.yaml,line=5,col=5::grant expired")
    assert err == "1 bucket, 1 grant, 0 problems, 1 warning\n"


def test_github_format_on_clean_declarations_prints_no_annotation(
    run_cli: RunCli, write_shares: WriteShares
) -> None:
    write_shares({"a.yaml": SHARE.format(bucket="clean-bucket", account="111111111111")})
    assert run_cli("validate", "--format", "github") == (0, "", "1 bucket, 0 grants, 0 problems\n")


def test_hostile_file_names_and_values_cannot_start_a_workflow_command(
    run_cli: RunCli, write_shares: WriteShares
) -> None:
    # A file name may hold a newline, and messages quote file names and YAML keys as written.
    # CR and LF in names are shown as `?`, like every control character (see below).
    hostile = "a%\n::warning::owned,x:y.yaml"
    write_shares(
        {
            hostile: SHARE.format(bucket="shared-bucket", account="111111111111"),
            "b.yaml": SHARE.format(bucket="shared-bucket", account="222222222222")
            + '"x%25::error::y,z": 1\n',
            "c\r::error::d.yaml": SHARE.format(bucket="c-bucket", account="111111111111").replace(
                "version: 1", "version: 7"
            ),
        }
    )
    rc, out, _ = run_cli("validate", "--format", "github")
    assert rc == 1
    lines = out.split("\n")
    assert lines[-1] == ""
    assert all(line.startswith(("::error file=", "::warning file=")) for line in lines[:-1])
    assert "\r" not in out
    assert lines[:-1] == [
        "::error file=shares/b.yaml,line=3,col=10::bucket shared-bucket is declared with account "
        "222222222222 here but 111111111111 at shares/a%25?::warning::owned,x:y.yaml:3:10; "
        "one bucket has one owner",
        "::error file=shares/b.yaml,line=4,col=1::unknown key 'x%2525::error::y,z' in a share document; "
        "expected one of: version, bucket, account, owner, grants, adopt, kms, create, versioning",
        "::error file=shares/c?%3A%3Aerror%3A%3Ad.yaml,line=1,col=10::unsupported version 7; use version: 1",
    ]


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        (
            Problem(Location("shares/x.yaml", 2, 7), "100% sure"),
            "::error file=shares/x.yaml,line=2,col=7::100%25 sure",
        ),
        (
            Problem(Location("s/a,b:c.yaml", 1, 1), "one\r\ntwo::three", Severity.WARNING),
            "::warning file=s/a%2Cb%3Ac.yaml,line=1,col=1::one%0D%0Atwo::three",
        ),
    ],
)
def test_annotation_escapes_message_and_properties(problem: Problem, expected: str) -> None:
    assert annotation(problem) == expected


def test_text_format_is_unchanged(run_cli: RunCli, write_shares: WriteShares) -> None:
    write_shares({"c.yaml": EXPIRED})
    rc, out, _ = run_cli("validate")
    assert rc == 0
    assert out == (
        "shares/c.yaml:5:5: warning: grant expired on 2020-01-01 and is no longer rendered; delete it\n"
        "1 bucket, 1 grant, 0 problems, 1 warning\n"
    )


def test_unknown_format_is_a_usage_error(run_cli: RunCli) -> None:
    with pytest.raises(SystemExit) as exc:
        run_cli("validate", "--format", "sarif")
    assert exc.value.code == 2


# ESC ] 0 ; ... BEL retitles a terminal (OSC), ESC [ 2 J clears it, BEL rings; a C1 CSI too.
ESCAPES = "\x1b]0;owned\x07\x1b[2J\x07\x9b31m"
CONTROL_BYTES = (b"\x1b", b"\x07", "\x9b".encode())


def hostile_tree(write_shares: WriteShares) -> None:
    """An error and a warning, both in a file whose name holds terminal escapes."""
    write_shares(
        {
            "a.yaml": SHARE.format(bucket="shared-bucket", account="111111111111"),
            f"b{ESCAPES}.yaml": SHARE.format(bucket="shared-bucket", account="222222222222"),
            f"c{ESCAPES}.yaml": EXPIRED,
        }
    )


@pytest.mark.parametrize("output_format", ["text", "github"])
def test_file_names_with_terminal_escapes_reach_no_terminal_raw(
    tmp_path: Path, write_shares: WriteShares, output_format: str
) -> None:
    hostile_tree(write_shares)
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", "--format", output_format],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    printed = done.stdout + done.stderr
    assert done.returncode == 1, printed
    assert not [byte for byte in CONTROL_BYTES if byte in printed], printed
    # The names are still there to find the files by, with `?` for each control character.
    shown = "b?]0;owned??[2J??31m.yaml"
    assert shown.encode() in printed
    assert b"c?]0;owned??[2J??31m.yaml" in printed
    assert b"Traceback" not in printed


def test_render_sources_with_terminal_escapes_are_inert(run_cli: RunCli, write_shares: WriteShares) -> None:
    write_shares(
        {
            f"b{ESCAPES}.yaml": SHARE.format(bucket="b-bucket", account="111111111111")
            + 'grants:\n  - to: "222222222222"\n    access: read\n'
        }
    )
    rc, out, err = run_cli("render")
    assert rc == 0, err
    assert "<- shares/b?]0;owned??[2J??31m.yaml:5:5" in out
    assert not any(char in out for char in "\x1b\x07\x9b")
