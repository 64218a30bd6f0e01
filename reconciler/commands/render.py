"""reconciler render: print the statements bucketshare wants per bucket."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Self

from reconciler.commands.source import Source, add_source_arguments, describe
from reconciler.errors import BucketshareError, ExitCode
from reconciler.policy.documents import policy_document
from reconciler.report.inert import inert


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(
        parser,
        "reconciler render --bucket acme-model-artifacts   # the statements one bucket gets, and why",
        "reconciler render --format json                   # every bucket's statements as JSON",
    )
    add_source_arguments(parser)
    parser.add_argument("--bucket", default=None, help="only this declared bucket (default: every bucket)")
    parser.add_argument(
        "--format",
        choices=("json", "text"),
        default="text",
        help="text: each statement with the grants it comes from; json: one policy document per bucket",
    )


@dataclass(frozen=True)
class RenderOptions:
    source: Source
    bucket: str | None = None
    output_format: str = "text"

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Self:
        return cls(Source.from_args(args), args.bucket, args.format)


def run(options: RenderOptions) -> int:
    state = options.source.load_valid()
    bucket = options.bucket
    buckets = [b for b in state.buckets if bucket is None or b.bucket == bucket]
    if bucket is not None and not buckets:
        raise BucketshareError(f"bucket {bucket} is not declared under {options.source.shares}")
    if options.output_format == "json":
        documents = {b.bucket: policy_document([s.statement for s in b.statements]) for b in buckets}
        print(json.dumps(documents, indent=2))
        return ExitCode.OK
    for desired in buckets:
        print(f"# {desired.bucket} (account {desired.account}): {len(desired.statements)} statements")
        for statement in desired.statements:
            sources = ", ".join(inert(str(g.location)) for g in statement.grants)
            print(f"## {statement.sid}  <- {sources}")
            print(json.dumps(statement.statement, indent=2))
    return ExitCode.OK
