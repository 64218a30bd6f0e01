"""reconciler validate: check every declaration without AWS access."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Self

from reconciler.commands.source import Source, add_source_arguments, describe
from reconciler.errors import DeclarationError, ExitCode, Problem, Severity

FORMATS = ("text", "github")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(
        parser,
        "reconciler validate                   # check shares/ and reconciler.yaml; exit 1 on a problem",
        "reconciler validate --format github   # in a workflow: annotations on the changed lines",
    )
    add_source_arguments(parser)
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text: path:line:col lines; github: GitHub Actions annotations on the files",
    )


@dataclass(frozen=True)
class ValidateOptions:
    source: Source
    output_format: str = "text"

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Self:
        return cls(Source.from_args(args), args.format)


def run(options: ValidateOptions) -> int:
    state = options.source.load()
    # Computed once each: a membership test against state.errors per problem was quadratic.
    errors, warnings = state.errors, state.warnings
    totals = ", ".join(
        [
            plural(len(state.declarations.buckets), "bucket"),
            plural(state.declarations.grant_count(), "grant"),
            "0 problems",
            *([plural(len(warnings), "warning")] if warnings else []),
        ]
    )
    if options.output_format == "github":
        for problem in state.problems:
            print(annotation(problem))
        if errors:
            # validate never calls AWS: no "nothing was sent" here, it could suggest otherwise.
            print(plural(len(errors), "problem"), file=sys.stderr)
            return ExitCode.ERROR
        print(totals, file=sys.stderr)
        return ExitCode.OK
    for warning in warnings:
        print(warning)
    if errors:
        raise DeclarationError(errors)
    print(totals)
    return ExitCode.OK


def plural(count: int, word: str) -> str:
    return f"{count:,} {word if count == 1 else word + 's'}"


def annotation(problem: Problem) -> str:
    """One GitHub Actions workflow command: `::error file=F,line=L,col=C::message`.

    File names and messages come from the repository (and messages quote YAML values):
    escaped so no text of theirs can end the line and start a workflow command of its own.
    https://github.com/actions/toolkit/blob/main/packages/core/src/command.ts
    """
    command = "error" if problem.severity is Severity.ERROR else "warning"
    where = problem.location
    properties = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in (("file", where.path), ("line", where.line), ("col", where.col))
    )
    return f"::{command} {properties}::{escape_data(problem.message)}"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
