"""docs/commands.md's table names every command and every flag the parser knows."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from reconciler.cli import COMMANDS, build_parser

README = Path(__file__).resolve().parents[2] / "docs" / "commands.md"
# Stated once under the table for all commands rather than in every row.
COMMON = {"--shares", "--config", "--help"}


def readme_rows() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("# Commands\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"^\| `reconciler (\S+)([^`]*)`", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def flags(command: str) -> set[str]:
    parser = build_parser([command])
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {s for a in sub.choices[command]._actions for s in a.option_strings if s.startswith("--")}


def test_every_command_has_a_row() -> None:
    assert sorted(readme_rows()) == sorted(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_flag_is_in_its_row(command: str) -> None:
    shown = set(re.findall(r"--[a-z-]+", readme_rows().get(command, "")))
    assert flags(command) - COMMON - shown == set()
