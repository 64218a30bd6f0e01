"""Read YAML files into node trees that keep every value's position.

PyYAML is used only to compose nodes: we never construct arbitrary objects, we refuse
anchors/aliases (no billion-laughs expansion) and report duplicate keys, which PyYAML
would silently resolve to the last one.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from reconciler.errors import Location, Problem

MAX_FILE_BYTES = 1024 * 1024

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}

_CONSTRUCTOR = yaml.constructor.SafeConstructor()

Scalar = str | int | float | bool | None | dt.date


def node_location(display: str, node: yaml.Node) -> Location:
    mark = node.start_mark
    return Location(display, mark.line + 1, mark.column + 1)


def _mark_location(display: str, mark: Any) -> Location:
    if mark is None:
        return Location(display)
    return Location(display, mark.line + 1, mark.column + 1)


def _byte_location(display: str, data: bytes, offset: int) -> Location:
    before = data[:offset]
    line_start = before.rfind(b"\n") + 1
    col = len(before[line_start:].decode("utf-8", errors="replace")) + 1
    return Location(display, before.count(b"\n") + 1, col)


def _char_location(display: str, text: str, offset: int) -> Location:
    before = text[:offset]
    return Location(display, before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1)


_ODD_BREAKS = re.compile("\r(?!\n)|[\x85\u2028\u2029]")
_BREAK_NAMES = {"\r": "CR", "\x85": "NEL", "\u2028": "LINE SEPARATOR", "\u2029": "PARAGRAPH SEPARATOR"}


def _line_break_problems(display: str, text: str) -> list[Problem]:
    """YAML also breaks lines at a lone CR, NEL, LS and PS, where editors (and our
    file:line:col) do not: every location after one would point at the wrong line."""
    if "\r" not in text and text.isascii():
        return []  # the usual case, said without a regular expression's scan
    match = _ODD_BREAKS.search(text)
    if match is None:
        return []
    name = _BREAK_NAMES[match.group()]
    return [
        Problem(
            _char_location(display, text, match.start()),
            f"{name} (U+{ord(match.group()):04X}) breaks the line for YAML but not for editors; "
            "replace it with a newline (or remove it)",
        )
    ]


def _tab_problems(display: str, text: str) -> list[Problem]:
    if "\t" not in text:
        return []
    problems = []
    for number, line in enumerate(text.split("\n"), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            problems.append(
                Problem(
                    Location(display, number, indent.index("\t") + 1),
                    "tab character in indentation; YAML needs spaces",
                )
            )
    return problems


def _scan_events(display: str, text: str) -> tuple[list[Problem], list[Any]]:
    """Anchor/alias problems, and where each document starts (its '---' when explicit)."""
    starts = []
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.DocumentStartEvent):
            starts.append(event.start_mark)
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            problem = Problem(
                _mark_location(display, event.start_mark),
                "YAML anchors and aliases are not allowed; write the value out",
            )
            return [problem], starts
    return [], starts


def _located_empty(node: yaml.Node, start: Any) -> yaml.Node:
    """An empty document's null node carries the mark after it; point at its '---' instead."""
    if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null") and node.value == "":
        return yaml.ScalarNode(node.tag, "", start, start)
    return node


class NotReadable(Exception):
    """Why a file could not be read: the OS's reason, "Is a directory", "not a regular file",
    or "too big" with the size found."""

    def __init__(self, reason: str, size: int = 0) -> None:
        super().__init__(reason)
        self.reason, self.size = reason, size


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes.

    The file is opened without blocking and checked to be a regular file before any read:
    a FIFO put where a file should be would otherwise hang the run forever.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise NotReadable(exc.strerror or str(exc)) from exc
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise NotReadable("Is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise NotReadable("not a regular file")
        if info.st_size > limit:
            raise NotReadable("too big", info.st_size)
        data = _read_fd(fd, info.st_size, limit)
    except OSError as exc:
        raise NotReadable(exc.strerror or str(exc)) from exc
    finally:
        os.close(fd)
    if len(data) > limit:
        raise NotReadable("too big", len(data))
    return data


def _read_fd(fd: int, size: int, limit: int) -> bytes:
    """What fd holds, read in as few calls as its size allows, stopping one byte over limit.

    The size fstat gave, and one byte more to see the end: a buffer of the limit for each
    file (a file object's read(limit + 1)) cost more than the read of a share file itself.
    One byte over the limit is enough to refuse a file that grew since fstat.
    """
    parts: list[bytes] = []
    total = 0
    while total <= limit:
        part = os.read(fd, max(size - total, 65535) + 1)
        if not part:
            break
        parts.append(part)
        total += len(part)
    return b"".join(parts)


def read_text(path: Path, display: str) -> tuple[str | None, list[Problem]]:
    """The UTF-8 text of a regular file, or the one problem that prevents reading it."""
    try:
        data = read_regular(path, MAX_FILE_BYTES)
    except NotReadable as exc:
        if exc.reason == "too big":
            return None, [_too_big(display, exc.size)]
        if exc.reason in ("Is a directory", "not a regular file"):
            return None, [Problem(Location(display), "not a regular file; refused")]
        return None, [Problem(Location(display), f"cannot read file: {exc.reason}")]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        return None, [
            Problem(
                _byte_location(display, data, exc.start),
                "file is not valid UTF-8; save it as UTF-8",
            )
        ]


def _too_big(display: str, size: int) -> Problem:
    return Problem(Location(display), f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit; split it")


def text_problems(display: str, text: str) -> list[Problem]:
    """What is wrong with a YAML text before it is parsed: odd line breaks, tabs in indentation."""
    text = text.removeprefix("\ufeff")
    return _line_break_problems(display, text) or _tab_problems(display, text)


def compose_documents(text: str, display: str) -> tuple[list[yaml.Node], list[Problem]]:
    """Every document of a YAML text as a node tree, or the problems that prevent it."""
    if text.startswith("\ufeff"):
        text = text[1:]
    problems = text_problems(display, text)
    if problems:
        return [], problems
    try:
        problems, starts = _scan_events(display, text)
        if problems:
            return [], problems
        loader = _Loader(text)
        try:
            documents: list[yaml.Node] = []
            while loader.check_node():
                node = loader.get_node()
                if node is not None:
                    start = starts[len(documents)] if len(documents) < len(starts) else node.start_mark
                    documents.append(_located_empty(node, start))
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as exc:
        # The C reader reports the code point as an int, the Python one as a str.
        character = chr(exc.character) if isinstance(exc.character, int) else exc.character
        return [], [
            Problem(
                _char_location(display, text, exc.position),
                f"character {character!r} is not allowed in YAML; remove it or escape it in quotes",
            )
        ]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "invalid YAML"
        return [], [Problem(_mark_location(display, mark), f"YAML syntax error: {reason}")]
    except yaml.YAMLError as exc:
        return [], [Problem(Location(display), f"YAML error: {exc}")]
    return documents, []


def scalar_value(node: yaml.ScalarNode) -> Scalar:
    """The value of a scalar with one of YAML's core tags (raises ValueError otherwise)."""
    if node.tag == "tag:yaml.org,2002:merge":
        raise ValueError("merge keys ('<<') are not allowed; write the keys out")
    if node.tag not in _SCALAR_TAGS:
        raise ValueError(f"unsupported YAML tag {node.tag}")
    try:
        value = _CONSTRUCTOR.yaml_constructors[node.tag](_CONSTRUCTOR, node)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        if node.tag.endswith(":int"):
            raise ValueError("number is too long") from exc
        raise ValueError(str(exc).splitlines()[0]) from exc
    if isinstance(value, dt.datetime):
        raise ValueError("a date with a time of day; write only YYYY-MM-DD")
    if isinstance(value, str | int | float | bool | dt.date) or value is None:
        return value
    raise ValueError(f"unsupported YAML value of type {type(value).__name__}")
