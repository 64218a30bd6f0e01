"""Read YAML files into node trees that keep every value's position.

PyYAML is used only to compose nodes: we never construct arbitrary objects, we refuse
anchors/aliases (no billion-laughs expansion) and report duplicate keys, which PyYAML
would silently resolve to the last one.
"""

from __future__ import annotations

import datetime as dt
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
    line = before.count(b"\n") + 1
    col = offset - (before.rfind(b"\n") + 1) + 1
    return Location(display, line, col)


def _tab_problems(display: str, text: str) -> list[Problem]:
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            problems.append(
                Problem(
                    Location(display, number, indent.index("\t") + 1),
                    "tab character in indentation; YAML needs spaces",
                )
            )
    return problems


def _anchor_problems(display: str, text: str) -> list[Problem]:
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            return [
                Problem(
                    _mark_location(display, event.start_mark),
                    "YAML anchors and aliases are not allowed; write the value out",
                )
            ]
    return []


def read_text(path: Path, display: str) -> tuple[str | None, list[Problem]]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, [
                Problem(
                    Location(display),
                    f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit; split it",
                )
            ]
        data = path.read_bytes()
    except OSError as exc:
        return None, [Problem(Location(display), f"cannot read file: {exc.strerror}")]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        return None, [
            Problem(
                _byte_location(display, data, exc.start),
                "file is not valid UTF-8; save it as UTF-8",
            )
        ]


def compose_documents(text: str, display: str) -> tuple[list[yaml.Node], list[Problem]]:
    """Every document of a YAML text as a node tree, or the problems that prevent it."""
    if text.startswith("\ufeff"):
        text = text[1:]
    problems = _tab_problems(display, text)
    if problems:
        return [], problems
    try:
        problems = _anchor_problems(display, text)
        if problems:
            return [], problems
        loader = _Loader(text)
        try:
            documents = []
            while loader.check_node():
                node = loader.get_node()
                if node is not None:
                    documents.append(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "invalid YAML"
        return [], [Problem(_mark_location(display, mark), f"YAML syntax error: {reason}")]
    except yaml.YAMLError as exc:
        return [], [Problem(Location(display), f"YAML error: {exc}")]
    return documents, []


def scalar_value(node: yaml.ScalarNode) -> Scalar:
    """The value of a scalar with one of YAML's core tags (raises ValueError otherwise)."""
    if node.tag not in _SCALAR_TAGS:
        raise ValueError(f"unsupported YAML tag {node.tag}")
    try:
        value = _CONSTRUCTOR.yaml_constructors[node.tag](_CONSTRUCTOR, node)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        raise ValueError(str(exc).splitlines()[0]) from exc
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str | int | float | bool | dt.date) or value is None:
        return value
    raise ValueError(f"unsupported YAML value of type {type(value).__name__}")
