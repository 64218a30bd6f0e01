"""`reconciler CMD --help`: every option and argument says what it is and its default, and
each command shows an example to copy."""

from __future__ import annotations

import argparse
import shlex

import pytest

from reconciler.cli import COMMANDS, load
from reconciler.commands.source import HelpFormatter

OWNED = list(COMMANDS)


def command_parser(name: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"reconciler {name}", description=COMMANDS[name].help)
    load(name).add_arguments(parser)
    return parser


def arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]


def said_for(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """What --help prints beside one option, wrapping undone."""
    text = HelpFormatter(parser.prog)._expand_help(action) if action.help else ""
    return " ".join(text.split())


@pytest.mark.parametrize("name", OWNED)
def test_every_option_says_what_it_is_and_its_default(name: str) -> None:
    parser = command_parser(name)
    for action in arguments(parser):
        said = said_for(parser, action)
        assert said, f"{action.option_strings or action.dest} has no help"
        if action.default not in (None, False) and not action.required:
            assert f"default: {action.default}" in said, f"{action.option_strings}: {said}"


@pytest.mark.parametrize("name", OWNED)
def test_help_shows_an_example_that_parses(name: str) -> None:
    parser = command_parser(name)
    assert parser.formatter_class is HelpFormatter
    epilog = parser.epilog or ""
    assert epilog.startswith("examples:\n")
    examples = [line.split("#")[0].split(">")[0].strip() for line in epilog.splitlines()[1:]]
    assert examples
    for example in examples:
        words = shlex.split(example)
        assert words[:2] == ["reconciler", name], example
        parser.parse_args(words[2:])  # exits 2 on an example that does not parse
    assert "examples:\n  reconciler " in parser.format_help()


def test_shares_and_config_say_their_defaults_in_every_command() -> None:
    for name in COMMANDS:
        parser = command_parser(name)
        for action in arguments(parser):
            if action.dest in ("shares", "config"):
                assert "default: " in said_for(parser, action), (name, action.dest)
