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
    return parser


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
