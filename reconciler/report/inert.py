"""Text from YAML, file names or AWS, made inert before a terminal or a CI log shows it.

One sanitiser for every view: the plan in a terminal, every command's problem lines and
validate's annotations. A file name is as hostile as a YAML value: ESC, BEL or an OSC
sequence in it would otherwise drive the reader's terminal (retitle it, hide lines, plant a
link), and a CR or LF would split one problem into two lines.
"""

from __future__ import annotations

import re
from dataclasses import replace

from reconciler.errors import Location, Problem

# Control characters (C0, DEL, C1: terminal escapes) and bidirectional overrides, which can
# make a line read differently from what it holds.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def inert(text: str) -> str:
    """`text` with every control or bidi character shown as `?`."""
    # Every character _UNSAFE matches is one isprintable() refuses (Cc, Cf): the common case,
    # clean text, is answered without the regex, a plan's thousands of lines a tenth the cost.
    return text if text.isprintable() else _UNSAFE.sub("?", text)


def inert_problem(problem: Problem) -> Problem:
    """A problem whose path and message are inert (messages quote file names and YAML)."""
    where = problem.location
    return replace(
        problem, location=Location(inert(where.path), where.line, where.col), message=inert(problem.message)
    )
