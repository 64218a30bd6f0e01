"""Where a command reads declarations and config from: --shares and --config."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Self

from reconciler.declare.config import Config, load_config
from reconciler.declare.expiry import utc_today
from reconciler.declare.tree import Chooser, missing_shares
from reconciler.declare.yaml_source import read_text
from reconciler.errors import BucketshareError, DeclarationError, errors_only
from reconciler.policy.desired import DesiredState, load_desired
from reconciler.report.inert import inert, inert_problem

DEFAULT_CONFIG = Path("reconciler.yaml")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """`--help` that says each option's default, and keeps the examples' lines as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        unsaid = action.default in (None, False, argparse.SUPPRESS) or action.required
        if unsaid or "default" in text or "%(default)" in text:
            return text
        return f"{text} (default: %(default)s)"


def describe(parser: argparse.ArgumentParser, *examples: str) -> None:
    """Give a command's --help its defaults and examples (`reconciler CMD ...`, one a line,
    with what each does after a `#`)."""
    parser.formatter_class = HelpFormatter
    parser.epilog = "examples:\n" + "\n".join(f"  {example}" for example in examples)


def add_source_arguments(parser: argparse.ArgumentParser, shares: bool = True) -> None:
    if shares:
        parser.add_argument(
            "--shares",
            type=Path,
            default=Path("shares"),
            metavar="DIR",
            help="the declarations directory: every *.yaml and *.yml below it is read (default: shares)",
        )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="repository config: sid_prefix, guardrails, ... (default: reconciler.yaml if present)",
    )


def positive(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from exc
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


@dataclass(frozen=True)
class Source:
    shares: Path
    config: Path | None
    """As given with --config; None means reconciler.yaml when present."""
    today: dt.date = field(default_factory=utc_today)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Self:
        return cls(getattr(args, "shares", Path("shares")), args.config)

    def config_path(self) -> Path | None:
        """The config file to read, refusing on one line a path that cannot be a config file.

        A symlink is followed to a regular file; a broken one is refused, never taken for an
        absent reconciler.yaml (that would drop its guardrails in silence).
        """
        path = self.config or DEFAULT_CONFIG
        if self.config is None and not path.exists() and not path.is_symlink():
            return None
        shown = inert(str(path))
        if not path.exists():
            if path.is_symlink():
                raise BucketshareError(
                    f"{shown}: config is a symlink that cannot be resolved (broken or a loop)"
                )
            raise BucketshareError(f"{shown}: config file not found")
        if not path.is_file():
            # A directory, FIFO or device: reading it would fail later, or block forever.
            raise BucketshareError(f"{shown}: config must be a regular file")
        # Unreadable, oversized or not UTF-8: one line, not a problem list plus a count.
        # (read_text opens without blocking and checks again, should the file change meanwhile.)
        text, problems = read_text(path, str(path))
        if text is None:
            said = str(inert_problem(problems[0])) if problems else f"{shown}: cannot read config"
            raise BucketshareError(said)
        return path

    def load_config(self) -> Config:
        config, problems = load_config(self.config_path())
        if errors_only(problems):
            raise DeclarationError([inert_problem(p) for p in errors_only(problems)])
        return config

    def load(self, choose: Chooser | None = None) -> DesiredState:
        """Config + shares/ validated and rendered; problems are returned, not raised.

        Every command prints problems from here, so they are made inert here, once: paths
        and messages quote file names, which may hold terminal escapes.
        """
        config = self.config_path()
        if not self.shares.exists() and not self.shares.is_symlink():
            # One line, not a problem located at "shares:1:1" in a file that does not exist.
            raise BucketshareError(inert(missing_shares(self.shares)))
        with _collector_paused():
            state = load_desired(self.shares, config, self.today, choose)
        return replace(state, problems=tuple(inert_problem(p) for p in state.problems))

    def load_valid(self) -> DesiredState:
        state = self.load()
        if state.errors:
            raise DeclarationError(state.errors)
        return state


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Loading and rendering build objects that live for the whole run and make next to no
    cyclic garbage (peak RSS is the same without the collector), yet even at cli.py's high
    thresholds the collector's passes over them cost a third of validate's CPU on 10,000
    buckets (14.3 s against 9.4 s without: benchmarks/README.md). So it pauses here."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
