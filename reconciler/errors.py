"""The one error root, located problems found in declarations, and the exit codes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import NamedTuple


class Location(NamedTuple):
    """A 1-based place in a file a person can edit.

    A named tuple, not a dataclass: a load of 100,000 grants makes one per grant, and a tuple
    is made in a third of the time (still ordered by path, line, column)."""

    path: str
    line: int = 1
    col: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


class ExitCode(IntEnum):
    """Every exit status a command returns (docs/commands.md, "Exit codes")."""

    OK = 0
    ERROR = 1
    """A user or AWS error: bad declarations, a bucket that failed, refused input."""
    CHANGES = 2
    """`plan --detailed-exitcode` with changes present."""
    BUG = 3
    """An internal error: the traceback is printed."""
    INTERRUPTED = 130
    """Ctrl-C (128 + SIGINT)."""
    PIPE_CLOSED = 141
    """128 + SIGPIPE, as a shell reports a tool a closed pipe stopped."""


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    location: Location
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        tag = "" if self.severity is Severity.ERROR else "warning: "
        return f"{self.location}: {tag}{self.message}"


class BucketshareError(Exception):
    """A user-facing error: the CLI prints it on one line and exits 1."""


class DeclarationError(BucketshareError):
    """Declarations that did not validate; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def errors_only(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity is Severity.ERROR]
