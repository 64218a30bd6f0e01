"""Walk the shares directory: only regular *.yaml/*.yml files under it, then load and join them."""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from reconciler.declare.config import Config
from reconciler.declare.guardrails import check_guardrails
from reconciler.declare.index import Declared, index_file
from reconciler.declare.join import join_documents
from reconciler.declare.model import Declarations, Document
from reconciler.declare.share_events import EventReader
from reconciler.declare.share_file import event_reader, load_text
from reconciler.declare.yaml_source import read_text
from reconciler.errors import Location, Problem


def missing_shares(shares_dir: Path) -> str:
    """What to say when there is no shares directory: most often, run from somewhere else."""
    return (
        f"shares directory not found: looked for {shares_dir.absolute()}; run reconciler from "
        "the repository root, or pass --shares DIR"
    )


Chooser = Callable[[list[tuple[Declared, Path]]], Collection[str]]
"""Given every (bucket and account, file) the tree declares, the buckets a partial load covers.

A chooser may also have `outside(path) -> bool`: whether a file lies outside the run (a pull
request's plan: not in the change). The errors of such a file that declares none of the
chosen buckets (one that does not parse declares none) do not stop the run; without it they
do, since a file that does not parse may declare any bucket.
"""


def load_shares(
    shares_dir: Path, config: Config, today: dt.date, choose: Chooser | None = None
) -> tuple[Declarations, list[Problem]]:
    """Every bucket declared under shares_dir, merged across files, with all problems found.

    With `choose`, only the buckets it picks, from only the files that declare them: every
    document of those buckets is loaded, so they are merged and checked exactly as in a full
    load; the problems are those of the files read and of those buckets.
    """
    if not shares_dir.is_dir():
        problem = missing_shares(shares_dir) if not shares_dir.exists() else "not a directory; refused"
        return Declarations(()), [Problem(Location(str(shares_dir)), problem)]
    entries = list(_share_files(shares_dir))
    problems = [Problem(Location(display), refusal) for _, display, refusal in entries if refusal]
    readable = [(path, display) for path, display, refusal in entries if not refusal]
    reader = event_reader(config)
    if choose is None:
        documents = _load_files(readable, reader, problems)
    else:
        documents = _load_chosen(readable, reader, choose, problems)
    declarations, merge_problems = join_documents(documents)
    problems.extend(merge_problems)
    problems.extend(check_guardrails(declarations, config, today))
    return declarations, sorted(problems)


def _load_files(
    files: list[tuple[Path, str]], reader: EventReader, problems: list[Problem]
) -> list[Document]:
    documents: list[Document] = []
    for path, display in files:
        file_documents, file_problems = load_file(path, display, reader.config, reader)
        documents.extend(file_documents)
        problems.extend(file_problems)
    return documents


def _load_chosen(
    files: list[tuple[Path, str]], reader: EventReader, choose: Chooser, problems: list[Problem]
) -> list[Document]:
    """First the index (files it cannot read are loaded in full), then the files that declare
    the chosen buckets; of all the documents, only those of the chosen buckets."""
    declared: list[tuple[Declared, Path]] = []
    indexed: dict[Path, tuple[Declared, ...]] = {}
    read: dict[Path, list[Document]] = {}
    opaque_problems: dict[Path, list[Problem]] = {}
    for path, display in files:
        found = index_file(path, display)
        if found is None:
            read[path] = _load_files([(path, display)], reader, opaque_problems.setdefault(path, []))
            declared.extend((Declared(d.bucket, d.account), path) for d in read[path])
        else:
            indexed[path] = found
            declared.extend((d, path) for d in found)
    chosen = frozenset(choose(declared))
    outside: Callable[[Path], bool] = getattr(choose, "outside", lambda _: False)
    for path, found_problems in opaque_problems.items():
        if not outside(path) or any(d.bucket in chosen for d in read[path]):
            problems.extend(found_problems)
    more_problems: list[Problem] = []
    for path, display in files:
        if any(d.bucket in chosen for d in indexed.get(path, ())):
            read[path] = _load_files([(path, display)], reader, more_problems)
            if any(d.bucket not in {i.bucket for i in indexed[path]} for d in read[path]):
                # The index misread a file (a bug): only a full load is sure to be right.
                return [
                    d
                    for other, shown in files
                    for d in (
                        _load_files([(other, shown)], reader, problems) if other in indexed else read[other]
                    )
                ]
    problems.extend(more_problems)
    # In the order of a full load: a bucket's first document is the one others are checked against.
    return [d for path, _ in files for d in read.get(path, ()) if d.bucket in chosen]


_YAML_SUFFIXES = (".yaml", ".yml")


_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


_ONLY_FILES = "bucketshare reads only regular *.yaml/*.yml files under the shares directory"


def _share_files(root: Path) -> Iterator[tuple[Path, str, str | None]]:
    """(path, display, refusal) for every YAML file below root, sorted; see _refusal for the rule.

    Nothing under root is skipped in silence: a grant in a file that is not read would be
    planned as a revocation.
    """
    real_root = root.resolve()
    unreadable: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable.append, followlinks=False):
        dirnames.sort()
        for name in sorted([*dirnames, *filenames]):
            path = Path(dirpath, name)
            refusal = _refusal(path, real_root)
            if refusal:
                yield path, str(path), refusal
            elif name in filenames and path.suffix in _YAML_SUFFIXES and not path.is_symlink():
                yield path, str(path), None
    for exc in unreadable:
        where = exc.filename if exc.filename is not None else root
        yield Path(where), str(where), f"cannot read directory: {exc.strerror}; nothing in it was loaded"


def _refusal(path: Path, real_root: Path) -> str | None:
    """Why path cannot stand in the shares tree, or None.

    The rule: every entry is a regular file, a directory, or a symlink that resolves to one
    of those inside the shares directory. A symlink to a YAML file or a directory inside is
    loaded once, where its target really is; anything else — a symlink out of the tree, a
    broken or looping one, a *.yaml link to something that is not a YAML file, a FIFO, socket
    or device (whatever its name), a directory named *.yaml — is a located error.
    """
    try:
        mode = path.lstat().st_mode
    except OSError as exc:
        return f"cannot read file: {exc.strerror}"
    if stat.S_ISLNK(mode):
        try:
            target = path.resolve(strict=True)
            target_mode = target.stat().st_mode
        except (OSError, RuntimeError):
            return "symlink cannot be resolved (broken or a loop); remove it"
        if not target.is_relative_to(real_root):
            return "symlink leads outside the shares directory; refused"
        if stat.S_ISDIR(target_mode):
            return _directory_refusal(path)
        if not stat.S_ISREG(target_mode):
            return f"symlink leads to {_kind(target_mode)}, not a regular file; {_ONLY_FILES}"
        if path.suffix in _YAML_SUFFIXES and target.suffix not in _YAML_SUFFIXES:
            return (
                f"symlink leads to {target.relative_to(real_root)}, which is not a *.yaml/*.yml file, "
                "so it would not be loaded; rename the target or remove the link"
            )
        return None
    if stat.S_ISDIR(mode):
        return _directory_refusal(path)
    if not stat.S_ISREG(mode):
        return f"{_kind(mode)} is not a regular file; {_ONLY_FILES}: remove it"
    if path.name.lower().endswith(_YAML_SUFFIXES) and path.suffix not in _YAML_SUFFIXES:
        # x.YAML, .yaml: a person would take it for a declaration that is read.
        return "named like a YAML file but not read: only names ending in .yaml or .yml are; rename it"
    return None


def _directory_refusal(path: Path) -> str | None:
    if path.name.lower().endswith(_YAML_SUFFIXES):
        return f"a directory named like a YAML file; {_ONLY_FILES}: rename it"
    return None


def _kind(mode: int) -> str:
    return next((name for test, name in _SPECIAL_KINDS if test(mode)), "a special file")


def load_file(
    path: Path, display: str, config: Config, reader: EventReader | None = None
) -> tuple[list[Document], list[Problem]]:
    text, problems = read_text(path, display)
    if text is None:
        return [], problems
    return load_text(text, display, config, reader)
