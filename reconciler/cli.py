"""Command-line entry: the table of commands, the parser, and the one error handler.

Each module in reconciler.commands owns its arguments (`add_arguments`), a frozen options
dataclass built by `from_args`, and `run(options) -> exit code`.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, Protocol, cast

from reconciler.errors import BucketshareError, DeclarationError, ExitCode

"""128 + SIGPIPE, as a shell reports a tool a closed pipe stopped."""


class Command(NamedTuple):
    module: str
    options: str
    """The options dataclass in module."""
    help: str
    uses_aws: bool = False
    """Whether the command can call AWS: only then is "nothing was sent to AWS" news."""


COMMANDS = {
    "validate": Command("validate", "ValidateOptions", "check shares/ without AWS access"),
    "render": Command("render", "RenderOptions", "print the desired statements per bucket"),
    "plan": Command(
        "plan", "PlanOptions", "show what apply would change in live bucket policies", uses_aws=True
    ),
    "merge-plans": Command(
        "merge_plans", "MergeOptions", "join the plans of shards (plan --shard/--account) into one plan"
    ),
    "apply": Command(
        "apply", "ApplyOptions", "apply a saved plan, or plan and apply after confirmation", uses_aws=True
    ),
    "rollback": Command(
        "rollback",
        "RollbackOptions",
        "undo an apply run: restore each bucket's policy from before it (the last run unless --run)",
        uses_aws=True,
    ),
    "sandbox": Command(
        "sandbox", "SandboxOptions", "run the whole loop against a local moto server", uses_aws=True
    ),
    "codeowners": Command("codeowners", "CodeownersOptions", "print CODEOWNERS lines from owner: fields"),
    "import": Command(
        "import_", "ImportOptions", "write a declaration of what a live policy grants", uses_aws=True
    ),
    "consumer-policy": Command(
        "consumer_policy",
        "ConsumerPolicyOptions",
        "print the identity policy a grantee attaches on its side",
        uses_aws=True,
    ),
}
EPILOG = (
    "New here? `reconciler sandbox` runs validate, plan and apply against a local moto server "
    "with the example buckets: no AWS account needed (pip install 'bucketshare[sandbox]')."
)


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
    parser = argparse.ArgumentParser(
        prog="reconciler", description="Reconcile S3 bucket shares.", epilog=EPILOG
    )
    parser.add_argument("--version", action=_Version, help="show program's version number and exit")
    sub = parser.add_subparsers(dest="command", required=True)
    chosen = next((a for a in argv or () if not a.startswith("-")), None)
    for name, command in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=command.help, description=command.help)
        if argv is None or chosen not in COMMANDS or chosen == name:
            load(name).add_arguments(sub_parser)
    return parser


class _Version(argparse.Action):
    """--version, looked up only when asked: importing importlib.metadata was 2 MB of the
    24 MB that validate of an empty tree peaked at."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(
            option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0, help=help
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        print(f"{parser.prog} {_version()}")
        parser.exit()


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("bucketshare")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed: run pip install -e . in the checkout)"


def run(args: argparse.Namespace) -> int:
    module = load(args.command)
    options_type = cast(type[CommandOptions], getattr(module, COMMANDS[args.command].options))
    return module.run(options_type.from_args(args))


def main(argv: Sequence[str] | None = None) -> int:
    """The process entry. Everything after this module's own small imports runs guarded,
    the command modules' imports (boto3, rich) included: a Ctrl-C or a closed stdout at
    any point is one clean ending, never a traceback."""
    try:
        try:
            with _few_collections():
                return _parse_and_run(sys.argv[1:] if argv is None else list(argv))
        finally:
            # A closed pipe shows at the latest here, inside the guard, not at interpreter exit.
            sys.stdout.flush()
    except KeyboardInterrupt:
        return _interrupted()
    except BrokenPipeError:
        return _stdout_closed()


@contextlib.contextmanager
def _few_collections() -> Iterator[None]:
    """Run with the cyclic garbage collector called about a hundred times less often.

    A run builds hundreds of thousands of long-lived objects (declarations, renders, plans)
    and makes little cyclic garbage, yet at the default thresholds the collector walks them
    again and again. Measured on this project's benchmarks: plan of 2,000 buckets against
    canned answers used 27.4 s of CPU, 19.6 s with this threshold and 19.1 s with no
    collector at all, at the same peak RSS (345 MB); gc.freeze() after loading gained
    nothing more. Loading itself pauses the collector (commands/source.py). Restored
    afterwards: tests call main() in their own process.
    """
    before = gc.get_threshold()
    gc.set_threshold(*_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)


_THRESHOLD = (100_000, 50, 100)
"""gen0 at 100,000 allocations, not 700: gen1 and full passes follow from it."""


def _parse_and_run(argv: list[str]) -> int:
    args = build_parser(argv).parse_args(argv)
    try:
        return run(args)
    except DeclarationError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        sent = "; nothing was sent to AWS" if COMMANDS[args.command].uses_aws else ""
        print(f"{count} {'problem' if count == 1 else 'problems'}{sent}", file=sys.stderr)
        return ExitCode.ERROR
    except BucketshareError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.ERROR
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except Exception:
        traceback.print_exc()
        print("internal error: this is a bucketshare bug; please report it", file=sys.stderr)
        return ExitCode.BUG


def _interrupted() -> int:
    """Ctrl-C: one line, exit 130, within moments.

    Commands that write (apply, rollback) catch Ctrl-C themselves, finish the writes in
    flight and report (reconciler.execute.outcome.ApplyInterrupted); what reaches here has nothing left
    worth waiting for. The read pools at the AWS edge stop waiting for their workers, but a
    worker blocked on a silent endpoint keeps its socket until the read timeout (30 s, five
    attempts), and concurrent.futures joins every worker thread at interpreter exit (its
    workers cannot be daemons). So when such threads remain, the process ends with
    os._exit after flushing its output: their reads are abandoned, which is all a read is
    owed.
    """
    in_main = threading.current_thread() is threading.main_thread()  # where signals are handled
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None  # later presses
    _say("interrupted")
    if _threads_left():
        _flush()
        os._exit(ExitCode.INTERRUPTED)
    if previous is not None:
        signal.signal(signal.SIGINT, previous)
    return ExitCode.INTERRUPTED


def _stdout_closed() -> int:
    """The reader of stdout went away (`reconciler render | head`): stop quietly.

    As Python's documentation recommends (signal module, "Note on SIGPIPE"), what is left in
    stdout's buffer goes to /dev/null so the interpreter's own flush at exit cannot fail
    again. Exit 141 (128 + SIGPIPE) is what a shell reports for any other tool stopped by a
    closed pipe (`yes | head` under `set -o pipefail`): a script can tell "the reader stopped"
    from 0 (everything was written), 1 (a user or AWS error) and 3 (a bug).
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    if _threads_left():
        os._exit(ExitCode.PIPE_CLOSED)
    return ExitCode.PIPE_CLOSED


def _threads_left() -> bool:
    """Whether a non-daemon thread (an abandoned AWS read) would hold the process at exit."""
    return any(t is not threading.current_thread() and not t.daemon for t in threading.enumerate())


def _say(line: str) -> None:
    with contextlib.suppress(OSError):  # stderr gone too: the exit code still says it
        print(line, file=sys.stderr, flush=True)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):
            stream.flush()
