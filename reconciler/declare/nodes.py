"""Structural checks on YAML nodes: mappings with known keys, scalars of a type, lists.

Every check appends located problems instead of raising, so one run reports them all.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import yaml

from reconciler.declare.yaml_source import Scalar, node_location, scalar_value
from reconciler.errors import Location, Problem

_KIND_NAMES = {
    yaml.MappingNode: "a mapping",
    yaml.SequenceNode: "a list",
    yaml.ScalarNode: "a single value",
}


class NodeReader:
    """Reads one file's nodes, collecting problems located in that file."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.problems: list[Problem] = []
        # Where problems were found, indexed lazily: callers also append to problems directly,
        # and a scan of the whole list per check made a file with thousands of bad grants
        # take minutes to report (quadratic).
        self._failed: set[Location] = set()
        self._indexed = 0

    def where(self, node: yaml.Node) -> Location:
        return node_location(self.display, node)

    def fail(self, node: yaml.Node, message: str) -> None:
        self.problems.append(Problem(self.where(node), message))

    def mapping(
        self,
        node: yaml.Node,
        what: str,
        known: Iterable[str],
        required: Iterable[str] = (),
        hints: dict[str, str] | None = None,
    ) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        """Key -> (key node, value node), or None when node is not a mapping."""
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{what} must be a mapping, not {_describe(node)}")
            return None
        known = tuple(known)
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node)
            if key is None:
                continue
            if key in entries:
                first = self.where(entries[key][0])
                self.fail(key_node, f"duplicate key {key!r} (first at line {first.line}); keep one")
                continue
            if key not in known:
                hint = (hints or {}).get(key) or _suggest(key, known)
                self.fail(key_node, f"unknown key {key!r} in {what}{hint}")
                continue
            entries[key] = (key_node, value_node)
        for key in required:
            if key not in entries:
                self.fail(node, f"{what} is missing required key {key!r}")
        return entries

    def _key(self, node: yaml.Node) -> str | None:
        if isinstance(node, yaml.ScalarNode):
            try:
                value = scalar_value(node)
            except ValueError as exc:
                self.fail(node, str(exc))
                return None
            if isinstance(value, str):
                return value
        self.fail(node, "keys must be plain strings")
        return None

    def scalar(self, node: yaml.Node, what: str) -> Scalar | None:
        if not isinstance(node, yaml.ScalarNode):
            self.fail(node, f"{what} must be a single value, not {_describe(node)}")
            return None
        try:
            return scalar_value(node)
        except ValueError as exc:
            self.fail(node, f"{what}: {exc}")
            return None

    def string(self, node: yaml.Node, what: str) -> str | None:
        value = self.scalar(node, what)
        if value is None and isinstance(node, yaml.ScalarNode) and not self.had_error(node):
            self.fail(node, f"{what} must not be empty")
            return None
        if isinstance(value, str):
            if not value.strip():
                self.fail(node, f"{what} must not be empty")
                return None
            return value
        if value is not None:
            self.fail(node, f"{what} must be a string, not {type(value).__name__} {value!r}")
        return None

    def boolean(self, node: yaml.Node, what: str) -> bool | None:
        value = self.scalar(node, what)
        if isinstance(value, bool):
            return value
        if not self.had_error(node):
            self.fail(node, f"{what} must be true or false")
        return None

    def positive_int(self, node: yaml.Node, what: str) -> int | None:
        value = self.scalar(node, what)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        if not self.had_error(node):
            self.fail(node, f"{what} must be a positive whole number")
        return None

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node] | None:
        if _is_null(node):
            # `grants:` with nothing under it is also what a list looks like after its items
            # were commented out or mis-indented; an empty list revokes, so it must be explicit.
            key = what.rsplit(".", 1)[-1]
            self.fail(
                node, f"{what} is empty; write `{key}: []` for an empty list, or put its items under it"
            )
            return None
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, f"{what} must be a list, not {_describe(node)}")
            return None
        return list(node.value)

    def account_id(self, node: yaml.Node, what: str) -> str | None:
        """A 12-digit id; an unquoted number is accepted only with all 12 digits intact."""
        value = self.scalar(node, what)
        if isinstance(value, bool) or value is None:
            if not self.had_error(node):
                self.fail(node, f"{what} must be a quoted 12-digit account id")
            return None
        if isinstance(value, int):
            text = str(node.value) if isinstance(node, yaml.ScalarNode) else ""
            if text.isdigit() and len(text) == 12:
                return text
            self.fail(node, f'{what} {text!r} must be a quoted 12-digit account id, e.g. "012345678901"')
            return None
        return str(value)

    def had_error(self, node: yaml.Node) -> bool:
        """Whether any problem, of any severity, was found at node's position."""
        problems = self.problems
        if self._indexed > len(problems):
            # The list was replaced or cut: index it again.
            self._failed.clear()
            self._indexed = 0
        self._failed.update(p.location for p in problems[self._indexed :])
        self._indexed = len(problems)
        return self.where(node) in self._failed


def _is_null(node: yaml.Node) -> bool:
    """A key with nothing after it (or an explicit null): YAML's null, not a value."""
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _describe(node: yaml.Node) -> str:
    return _KIND_NAMES.get(type(node), "something else")


def _suggest(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; expected one of: {', '.join(known)}"
