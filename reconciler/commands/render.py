"""reconciler render: print the statements bucketshare wants per bucket."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import Any, Self

from reconciler.commands.source import Source, add_source_arguments, describe
from reconciler.errors import BucketshareError, ExitCode
from reconciler.policy.documents import policy_document
from reconciler.policy.render import DesiredBucket
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
        print_documents(buckets)
        return ExitCode.OK
    for desired in buckets:
        statements = desired.render_statements()
        print(f"# {desired.bucket} (account {desired.account}): {len(statements)} statements")
        for statement in statements:
            sources = ", ".join(inert(str(g.location)) for g in statement.grants)
            print(f"## {statement.sid}  <- {sources}")
            print(json.dumps(statement.statement, indent=2))
    return ExitCode.OK


def print_documents(buckets: list[DesiredBucket]) -> None:
    """One JSON object of every bucket's policy document, written a bucket at a time so only
    one rendered policy is held at once; the text is what json.dumps(indent=2) of the whole
    object would print."""
    if not buckets:
        print("{}")
        return
    print("{")
    for index, desired in enumerate(buckets):
        document = policy_document([s.statement for s in desired.render_statements()])
        entry = f"  {encode_basestring_ascii(desired.bucket)}: {indented(document, 1)}"
        print(entry + ("," if index < len(buckets) - 1 else ""))
    print("}")


def indented(value: Any, level: int) -> str:
    """json.dumps(value, indent=2) nested `level` deep, the same text: json's indented form
    has no C encoder and took two thirds of render --format json on 10,000 buckets; a policy
    is only objects, arrays and strings, which this writes directly."""
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    if isinstance(value, dict) and value:
        inner = ",\n".join(
            f"{_INDENT * (level + 1)}{encode_basestring_ascii(str(k))}: {indented(v, level + 1)}"
            for k, v in value.items()
        )
        return f"{{\n{inner}\n{_INDENT * level}}}"
    if isinstance(value, list) and value:
        inner = ",\n".join(f"{_INDENT * (level + 1)}{indented(v, level + 1)}" for v in value)
        return f"[\n{inner}\n{_INDENT * level}]"
    return json.dumps(value)


_INDENT = "  "
