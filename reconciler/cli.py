"""Command-line entry: the table of commands, the parser, and the one error handler.

Each module in reconciler.commands owns its arguments (`add_arguments`), a frozen options
dataclass built by `from_args`, and `run(options) -> exit code`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol, cast

from reconciler.errors import BucketshareError, DeclarationError

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_BUG, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class Command(NamedTuple):
    module: str
    options: str
    """The options dataclass in module."""
    help: str


COMMANDS = {
    "validate": Command("validate", "ValidateOptions", "check shares/ without AWS access"),
    "render": Command("render", "RenderOptions", "print the desired statements per bucket"),
    "plan": Command("plan", "PlanOptions", "show what apply would change in live bucket policies"),
    "merge-plans": Command(
        "merge_plans", "MergeOptions", "join the plans of shards (plan --shard/--account) into one plan"
    ),
    "apply": Command("apply", "ApplyOptions", "apply a saved plan, or plan and apply after confirmation"),
    "rollback": Command(
        "rollback", "RollbackOptions", "restore the policies held before the last write that took effect"
    ),
    "sandbox": Command("sandbox", "SandboxOptions", "run the whole loop against a local moto server"),
    "codeowners": Command("codeowners", "CodeownersOptions", "print CODEOWNERS lines from owner: fields"),
    "import": Command("import_", "ImportOptions", "write a declaration of what a live policy grants"),
    "consumer-policy": Command(
        "consumer_policy", "ConsumerPolicyOptions", "print the identity policy a grantee attaches on its side"
    ),
}


class CommandModule(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, options: Any) -> int: ...


class CommandOptions(Protocol):
    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CommandOptions: ...


def load(name: str) -> CommandModule:
    return cast(CommandModule, importlib.import_module(f"reconciler.commands.{COMMANDS[name].module}"))


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given argv, only the named command's module is imported (validate, run in
    pre-commit hooks, then never loads boto3 or rich)."""
    parser = argparse.ArgumentParser(prog="reconciler", description="Reconcile S3 bucket shares.")
    sub = parser.add_subparsers(dest="command", required=True)
    chosen = next((a for a in argv or () if not a.startswith("-")), None)
    for name, command in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=command.help, description=command.help)
        if argv is None or chosen not in COMMANDS or chosen == name:
            load(name).add_arguments(sub_parser)
    return parser


def run(args: argparse.Namespace) -> int:
    module = load(args.command)
    options_type = cast(type[CommandOptions], getattr(module, COMMANDS[args.command].options))
    return module.run(options_type.from_args(args))


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    try:
        return run(args)
    except DeclarationError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problems; nothing was sent to AWS", file=sys.stderr)
        return EXIT_ERROR
    except BucketshareError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:
        traceback.print_exc()
        print("internal error: this is a bucketshare bug; please report it", file=sys.stderr)
        return EXIT_BUG
