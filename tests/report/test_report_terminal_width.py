"""The plan in a terminal fits COLUMNS: prose wraps, wide tables become lines, JSON stays JSON."""

from __future__ import annotations

import io
import json
import re

import pytest
from test_report import sample_plan

from reconciler.plan.model import Plan
from reconciler.report.terminal import make_console, render_terminal

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")


def shown(plan: Plan, file: io.StringIO) -> list[str]:
    render_terminal(plan, make_console(file))
    return ANSI.sub("", file.getvalue()).splitlines()


def words(lines: list[str]) -> str:
    return " ".join(" ".join(lines).split())


def identity_policy(lines: list[str]) -> object:
    """The JSON printed under "identity policy ... attaches on its side:", parsed."""
    start = next(i for i, line in enumerate(lines) if "attaches on its side:" in line) + 1
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("      "))
    return json.loads("\n".join(lines[start:end]))


@pytest.mark.parametrize("tty", [False, True], ids=["pipe", "terminal"])
@pytest.mark.parametrize("columns", [80, 100])
def test_every_line_fits_columns(monkeypatch: pytest.MonkeyPatch, tty: bool, columns: int) -> None:
    plan = sample_plan()
    whole = shown(plan, io.StringIO())
    assert max(map(len, whole)) > 200  # the control: unfitted, the plan has long lines
    monkeypatch.setenv("COLUMNS", str(columns))

    lines = shown(plan, FakeTTY() if tty else io.StringIO())

    assert max(map(len, lines)) <= columns, [line for line in lines if len(line) > columns]
    # Nothing is lost: wrapped prose reads the same, and the JSON to paste is the same policy.
    warning = "warning: acme-c: statement Legacy names orphaned principal AROAEXAMPLEID1234567"
    assert warning in words(lines)
    assert identity_policy(lines) == identity_policy(whole)
    for sid in ("BucketShareBucketReadAccountAll", "BucketShareListReadAccountPD8D6D6E718"):
        assert f"  + {sid}" in lines
    # The grantee table, too wide for 80 or 100 columns, says each row in a line of its own.
    assert "gains account 222222222222: read on acme-a, models/fraud/; declared at " in words(lines)


def test_without_columns_a_log_keeps_whole_lines() -> None:
    lines = shown(sample_plan(), io.StringIO())
    # One statement a line, as a CI log or a file gets it: long lines are not cut or wrapped.
    assert any(line.startswith('        {"Sid": "BucketShareListReadAccount') for line in lines)
    assert "who gains and who loses access" in lines
    assert any(line.startswith("-----  ") for line in lines)
