"""reconciler sandbox: the whole loop against a local moto server with the example buckets."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from reconciler.commands.apply import apply_edge
from reconciler.commands.outcomes import report_outcomes
from reconciler.commands.plan import make_plan
from reconciler.commands.source import Source, add_source_arguments, describe, positive
from reconciler.edge.s3 import S3Edge
from reconciler.edge.sandbox import (
    account_credentials,
    create_buckets,
    environment,
    isolate_process,
    moto_server,
    point_process_at,
    stopped_by_term_and_hangup,
)
from reconciler.errors import ExitCode
from reconciler.execute.apply import apply_plan
from reconciler.execute.journal import Journal
from reconciler.policy.desired import DesiredState
from reconciler.report.terminal import make_console, render_terminal


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(
        parser,
        "reconciler sandbox --apply  # plan and apply the example shares on a local moto server",
    )
    add_source_arguments(parser)
    parser.add_argument("--apply", action="store_true", help="apply the plan, then plan again")
    parser.add_argument(
        "--serve",
        action="store_true",
        help="keep the endpoint up for manual runs in another shell, until Ctrl-C (or SIGTERM/SIGHUP)",
    )
    parser.add_argument(
        "--parallelism", type=positive, default=16, help="concurrent S3 reads and writes (default: 16)"
    )


@dataclass(frozen=True)
class SandboxOptions:
    source: Source
    apply: bool = False
    serve: bool = False
    parallelism: int = 16

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Self:
        return cls(Source.from_args(args), args.apply, args.serve, args.parallelism)


def run(options: SandboxOptions) -> int:
    state = options.source.load_valid()
    dropped = isolate_process()
    with stopped_by_term_and_hangup():
        return _run(options, state, dropped)


def _run(options: SandboxOptions, state: DesiredState, dropped: list[str]) -> int:
    apply, serve, parallelism = options.apply, options.serve, options.parallelism
    console = make_console(sys.stdout)
    by_account: dict[str, list[str]] = {}
    for bucket in state.buckets:
        by_account.setdefault(bucket.account, []).append(bucket.bucket)
    first = state.buckets[0].bucket if state.buckets else None
    with moto_server() as endpoint:
        create_buckets(endpoint, by_account, with_unmanaged=first)
        account = state.buckets[0].account if state.buckets else "123456789012"
        env = environment(endpoint, account_credentials(endpoint, account))
        point_process_at(env)
        console.print(f"sandbox: moto server on {endpoint}; {len(state.buckets)} buckets created")
        if first:
            console.print(f"sandbox: {first} already holds a statement bucketshare does not own")
        plan = make_plan(state, S3Edge(parallelism, roles=state.config.roles), declared_only=False)
        render_terminal(plan, console)
        code: int = ExitCode.ERROR if plan.has_errors else ExitCode.OK
        if apply:
            with tempfile.TemporaryDirectory() as tmp:
                journal = Path(tmp) / "journal.jsonl"
                outcomes = apply_plan(plan, apply_edge(state.config, parallelism), Journal(journal))
                code = max(code, report_outcomes(outcomes))
            console.print("\nsandbox: planning again after apply")
            again = make_plan(state, S3Edge(parallelism, roles=state.config.roles), declared_only=False)
            render_terminal(again, console)
            if again.has_changes or again.has_errors:
                console.print("sandbox: the second plan is not empty: apply did not converge")
                code = ExitCode.ERROR
        if serve:
            _serve(env, dropped)
    return code


def _serve(env: dict[str, str], dropped: list[str]) -> None:
    print("\nThe sandbox endpoint stays up until Ctrl-C. In another shell:")
    if dropped:
        print(f"unset {' '.join(dropped)}")
    for name, value in env.items():
        print(f"export {name}={value}")
    print("reconciler plan; reconciler apply")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("sandbox stopped")
