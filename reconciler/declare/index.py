"""Which buckets each share file declares, found without parsing it: the index partial loads use.

A shard, or a pull request's plan, covers a few buckets; it must load every document that
declares them (a bucket may be declared in several files: grants are merged and checked
across them) and need not load anything else. Loading all of shares/ to learn where each
bucket is declared cost as much as the run itself, so this pass reads only the top-level
`bucket:` and `account:` lines of each document.

It is exact or it says so: a file written in any other form than plain block YAML (a flow
mapping at the top, a quoted or multi-line `bucket:`, a key it cannot be sure of, a document
marker with content after it, an odd line break, a tab) is `opaque`, and partial loads read
opaque files in full. tests/declare/test_index.py holds the index to what the loader finds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from reconciler.declare.yaml_source import read_text, text_problems

# A top-level key and the rest of its line.
_KEY_LINE = re.compile(r"([a-z]+):(?:[ \t]+(.*))?\Z")
# A value on a bucket:/account: line: one quoted or plain word, then maybe a comment.
_WORD = r"""(?:'([^'\\]*)'|"([^"\\]*)"|([a-z0-9][a-z0-9.-]*))"""
_VALUE = re.compile(rf"{_WORD}(?:[ \t]+#.*)?[ \t]*\Z")
_DOCUMENT_START = re.compile(r"---(?:[ \t]+#.*)?[ \t]*\Z")
_OPENERS = ("'", '"', "[", "{", "|", ">")
_TOP_LINE = re.compile(r"^[^\s#].*", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Declared:
    """One document's bucket and owner account, as written (the loader checks them)."""

    bucket: str
    account: str | None


@dataclass(frozen=True, slots=True)
class IndexedFile:
    path: Path
    display: str
    refusal: str | None
    """Why the entry is refused (share_files' reason); such an entry declares nothing."""
    declared: tuple[Declared, ...] | None
    """Its documents in order; None when the file is opaque: read it in full to know."""


def scan_text(text: str) -> tuple[Declared, ...] | None:
    """The documents of a share file's text, or None when it is not plain enough to be sure."""
    if text_problems("", text):
        return None
    text = text.removeprefix("\ufeff")
    documents: list[list[str]] = [[]]
    # Only the lines that start at column 0 matter: the top-level keys and the '---' between documents.
    for match in _TOP_LINE.finditer(text):
        line = match[0]
        if line.startswith(("bucket:", "account:")) and _continued(text, match.end() + 1):
            return None
        if line.startswith("---"):
            if not _DOCUMENT_START.match(line):
                return None
            documents.append([])
        else:
            documents[-1].append(line)
    if not documents[0]:
        documents.pop(0)  # comments, or nothing, before the first '---'
    if not documents:
        return None
    found = []
    for lines in documents:
        declared = _scan_document(lines)
        if declared is None:
            return None
        found.append(declared)
    return tuple(found)


def _scan_document(lines: list[str]) -> Declared | None:
    values: dict[str, str] = {}
    for line in lines:
        match = _KEY_LINE.match(line)
        if match is None:
            return None
        key, rest = match[1], match[2] or ""
        if key in ("bucket", "account"):
            value = _VALUE.match(rest)
            if value is None or key in values:
                return None
            values[key] = next(v for v in value.groups() if v is not None)
        elif rest.startswith(_OPENERS) and not _closed(rest):
            return None  # a value that may go on at the start of a later line
    if "bucket" not in values:
        return None
    return Declared(values["bucket"], values.get("account"))


def _continued(text: str, start: int) -> bool:
    """Whether the next line from start that is not blank or a comment is indented: then it
    would go on with the value of the line before (YAML's multi-line plain scalars)."""
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line = text[start:end]
        stripped = line.lstrip()
        if stripped and not stripped.startswith("#"):
            return line[0] in " \t"
        start = end + 1
    return False


def _closed(rest: str) -> bool:
    """Whether a flow or quoted value ends on its own line (block scalars never do)."""
    pairs = {"'": "'", '"': '"', "[": "]", "{": "}"}
    closer = pairs.get(rest[0])
    return closer is not None and rest.rstrip().endswith(closer) and rest.count(rest[0]) == rest.count(closer)


def index_file(path: Path, display: str) -> tuple[Declared, ...] | None:
    text, problems = read_text(path, display)
    if text is None or problems:
        return None
    return scan_text(text)
