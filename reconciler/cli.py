"""Command-line entry: the only module that knows argparse, and the one error handler."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from reconciler.errors import BucketshareError, DeclarationError

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_BUG, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _add_source_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shares", type=Path, default=Path("shares"), help="declarations directory")
    parser.add_argument(
        "--config", type=Path, default=None, help="repository config (default: reconciler.yaml if present)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reconciler", description="Reconcile S3 bucket shares.")
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser("validate", help="check shares/ without AWS access")
    _add_source_args(validate)
    render = sub.add_parser("render", help="print the desired statements per bucket")
    _add_source_args(render)
    render.add_argument("--bucket", default=None)
    render.add_argument("--format", choices=("json", "text"), default="text")
    plan = sub.add_parser("plan", help="show what apply would change in live bucket policies")
    _add_source_args(plan)
    plan.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    plan.add_argument("--out", type=Path, default=None, help="write the plan here instead of stdout")
    plan.add_argument("--save", type=Path, default=None, help="also save the JSON plan for apply")
    plan.add_argument("--detailed-exitcode", action="store_true", help="exit 2 when changes are present")
    _add_live_args(plan)
    apply = sub.add_parser("apply", help="apply a saved plan, or plan and apply after confirmation")
    _add_source_args(apply)
    apply.add_argument("plan_file", nargs="?", type=Path, default=None, metavar="PLAN.json")
    apply.add_argument("--auto-approve", action="store_true")
    apply.add_argument("--journal", type=Path, default=None, help="journal path (default from config)")
    _add_live_args(apply)
    rollback = sub.add_parser("rollback", help="restore the policies held before the last applied write")
    rollback.add_argument("journal", type=Path)
    rollback.add_argument("--bucket", default=None)
    rollback.add_argument("--config", type=Path, default=None)
    sandbox = sub.add_parser("sandbox", help="run the whole loop against a local moto server")
    _add_source_args(sandbox)
    sandbox.add_argument("--apply", action="store_true", help="apply the plan, then plan again")
    sandbox.add_argument("--serve", action="store_true", help="keep the endpoint up for manual runs")
    sandbox.add_argument("--parallelism", type=_positive, default=16)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _add_live_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--parallelism", type=_positive, default=16, help="concurrent S3 reads")
    parser.add_argument(
        "--declared-only", action="store_true", help="skip discovery of undeclared buckets (faster)"
    )


def _config_path(args: argparse.Namespace) -> Path | None:
    if args.config is not None:
        if not args.config.exists():
            raise BucketshareError(f"{args.config}: config file not found")
        return Path(args.config)
    default = Path("reconciler.yaml")
    return default if default.exists() else None


def run(args: argparse.Namespace) -> int:
    today = dt.date.today()
    if args.command == "validate":
        from reconciler.commands.validate import validate

        return validate(args.shares, _config_path(args), today)
    if args.command == "render":
        from reconciler.commands.render import render

        return render(args.shares, _config_path(args), today, args.bucket, args.format)
    if args.command == "rollback":
        from reconciler.commands.apply import rollback_command
        from reconciler.config import load_config

        config, problems = load_config(_config_path(args))
        if problems:
            raise DeclarationError(problems)
        return rollback_command(args.journal, args.bucket, config.partition)
    from reconciler.desired import load_desired

    state = load_desired(args.shares, _config_path(args), today)
    if args.command == "plan":
        from reconciler.commands.plan import plan_command

        return plan_command(
            state,
            args.format,
            args.out,
            args.save,
            args.detailed_exitcode,
            args.parallelism,
            args.declared_only,
        )
    if args.command == "apply":
        from reconciler.commands.apply import apply_command, load_plan_file
        from reconciler.commands.plan import make_plan

        journal = args.journal or Path(state.config.journal)
        if args.plan_file is not None:
            return apply_command(load_plan_file(args.plan_file), journal, True, args.parallelism, saved=True)
        plan = make_plan(state, args.parallelism, args.declared_only)
        return apply_command(plan, journal, args.auto_approve, args.parallelism, saved=False)
    if args.command == "sandbox":
        from reconciler.commands.sandbox import sandbox_command

        return sandbox_command(state, args.apply, args.serve, args.parallelism)
    raise AssertionError(f"unhandled command {args.command}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
