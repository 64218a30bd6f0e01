"""reconciler merge-plans: join shard plans (one per matrix job) into the plan to review."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from reconciler.commands.apply import load_plan_file
from reconciler.commands.plan import PlanOutput, add_output_arguments
from reconciler.commands.source import describe
from reconciler.errors import BucketshareError
from reconciler.plan.merge import MergeError, ShardPlan, merge_plans


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(
        parser,
        "reconciler merge-plans shard-*.json --format markdown --out plan.md --save plan.json",
    )
    parser.add_argument(
        "plans",
        nargs="+",
        type=Path,
        metavar="PLAN.json",
        help="the shards' saved plans (plan --shard I/N --save), one of each shard",
    )
    add_output_arguments(parser)


@dataclass(frozen=True)
class MergeOptions:
    plans: tuple[Path, ...]
    output: PlanOutput

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Self:
        return cls(tuple(args.plans), PlanOutput.from_args(args))


def run(options: MergeOptions) -> int:
    options.output.check_writable()
    shards = [ShardPlan(str(path), load_plan_file(path)) for path in options.plans]
    try:
        plan = merge_plans(shards)
    except MergeError as exc:
        raise BucketshareError(f"{exc}; nothing was merged") from exc
    return options.output.emit(plan)
