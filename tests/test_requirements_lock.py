"""requirements/apply.txt: what the jobs holding the apply role install, exact and hash-checked.

Offline: the lock is compared with pyproject.toml and with the requirement graph of the
installed packages (importlib.metadata) where their versions are the locked ones; for a
package installed at another version (boto3 releases almost daily), with the edges
pip-compile recorded in its `# via` lines.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "apply.txt"
REGENERATE = "bash requirements/compile.sh"
_HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}\Z")


@dataclass(frozen=True)
class Pin:
    line: int
    requirement: Requirement
    hashes: tuple[str, ...]
    via: tuple[str, ...] = ()
    """The packages pip-compile says need this one (its `# via` annotation)."""

    @property
    def name(self) -> NormalizedName:
        return canonicalize_name(self.requirement.name)

    @property
    def version(self) -> str | None:
        specs = list(self.requirement.specifier)
        return specs[0].version if len(specs) == 1 and specs[0].operator == "==" else None


def parse_lock(text: str) -> tuple[list[Pin], list[str]]:
    """Each requirement of a pip-compile file with its --hash options, and what cannot be one."""
    pins: list[Pin] = []
    problems: list[str] = []
    logical: list[tuple[int, str, list[str]]] = []
    pending = ""
    start = 0
    in_via = False
    for number, raw in enumerate(text.splitlines(), 1):
        comment = raw.strip()
        if comment.startswith("# via") and logical:
            in_via = True
            logical[-1][2].extend(comment.removeprefix("# via").split()[:1])
        elif comment.startswith("#   ") and in_via:
            logical[-1][2].append(comment.removeprefix("#").split()[0])
        else:
            in_via = False
        line = raw.split(" #", 1)[0].strip() if not comment.startswith("#") else ""
        if not pending:
            start = number
        pending = f"{pending} {line.removesuffix(chr(92)).strip()}".strip()
        if line.endswith("\\"):
            continue
        if pending:
            logical.append((start, pending, []))
        pending = ""
    for number, entry, via in logical:
        words = entry.split()
        if words[0].startswith("-"):
            # pip-compile writes an --index-url line only for an index other than PyPI.
            problems.append(f"line {number}: option {words[0]!r}: the runners install from PyPI only")
            continue
        try:
            requirement = Requirement(words[0])
        except InvalidRequirement as exc:
            problems.append(f"line {number}: {words[0]!r} is not a requirement ({exc})")
            continue
        pins.append(Pin(number, requirement, tuple(words[1:]), tuple(via)))
    return pins, problems


def pin_problems(pins: Iterable[Pin]) -> list[str]:
    """Every line exact (==, no URL, no extras, no marker) and hash-checked."""
    problems = []
    for pin in pins:
        req = pin.requirement
        specs = list(req.specifier)
        if req.url or req.extras or req.marker or len(specs) != 1 or specs[0].operator != "==":
            problems.append(f"line {pin.line}: {req} is not pinned exactly (name==version)")
        if not pin.hashes or not all(_HASH.match(option) for option in pin.hashes):
            problems.append(f"line {pin.line}: {req.name} has no --hash=sha256:... for every option")
    return problems


def declared_problems(pins: Iterable[Pin], declared: Iterable[str], where: str) -> list[str]:
    """Each requirement declared in pyproject.toml is locked at a version it allows."""
    locked = {p.name: p for p in pins}
    problems = []
    for text in declared:
        wanted = Requirement(text)
        pin = locked.get(canonicalize_name(wanted.name))
        version = pin.version if pin else None
        if version is None:
            problems.append(f"{wanted} ({where}) is not in the lock")
        elif not wanted.specifier.contains(version, prereleases=True):
            problems.append(f"{wanted} ({where}) is locked at {version}, which it does not allow")
    return problems


Graph = Mapping[NormalizedName, list[str]]
Installed = Mapping[NormalizedName, tuple[str, list[str]]]
"""name -> (installed version, its requirements)"""


def runtime_closure(roots: Iterable[str], graph: Graph) -> set[NormalizedName]:
    """The names reachable from roots through requirements whose markers hold here, extras off."""
    seen: set[NormalizedName] = set()
    todo = [Requirement(r) for r in roots]
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        todo.extend(Requirement(r) for r in graph.get(name, []))
    return seen


@functools.cache
def installed() -> Installed:
    return {
        canonicalize_name(d.metadata["Name"]): (d.version, list(d.requires or []))
        for d in metadata.distributions()
    }


def dependency_graph(pins: list[Pin], installed: Installed) -> Graph:
    """Each locked package's requirements: its metadata when installed at the locked version,
    else the packages whose `# via` names it."""
    graph: dict[NormalizedName, list[str]] = {}
    for pin in pins:
        version, requires = installed.get(pin.name, (None, []))
        if version is not None and version == pin.version:
            graph[pin.name] = requires
        else:
            graph[pin.name] = [p.requirement.name for p in pins if pin.name in map(canonicalize_name, p.via)]
    return graph


def lock_problems(text: str, pyproject: Mapping[str, object], installed: Installed) -> list[str]:
    pins, problems = parse_lock(text)
    project = pyproject["project"]
    build = pyproject["build-system"]
    assert isinstance(project, dict) and isinstance(build, dict)
    runtime = list(project["dependencies"])
    build_requires = list(build["requires"])
    problems += pin_problems(pins)
    problems += declared_problems(pins, runtime, "[project].dependencies")
    # Locked too, so `pip install --no-deps --no-build-isolation .` builds with a hash-checked
    # setuptools instead of one fetched unchecked into an isolated build environment.
    problems += declared_problems(pins, build_requires, "[build-system].requires")
    if not any(line.strip() == f"#    {REGENERATE}" for line in text.splitlines()[:8]):
        problems.append(f"the header does not name the command that regenerates it ({REGENERATE})")
    # The build backend is a leaf: setuptools declares no install requirements.
    needed = runtime_closure(runtime, dependency_graph(pins, installed)) | {
        canonicalize_name(Requirement(r).name) for r in build_requires
    }
    needed.discard(canonicalize_name("bucketshare"))
    locked = {p.name for p in pins}
    problems += [f"{name} is locked but nothing needs it" for name in sorted(locked - needed)]
    problems += [f"{name} is needed but not locked" for name in sorted(needed - locked)]
    return problems


def pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_apply_lock_is_current_exact_and_hash_checked() -> None:
    assert metadata.requires("bucketshare") is not None, "install the package: pip install -e '.[dev]'"
    problems = lock_problems(LOCK.read_text(encoding="utf-8"), pyproject(), installed())
    assert problems == [], f"requirements/apply.txt is stale; run: {REGENERATE}\n" + "\n".join(problems)


def test_the_lock_covers_the_runtime_dependencies_only() -> None:
    # Not the dev extras: the apply jobs run the reconciler, never the test tools.
    pins, _ = parse_lock(LOCK.read_text(encoding="utf-8"))
    locked = {p.name for p in pins}
    assert {"boto3", "botocore", "deepdiff", "pyyaml", "rich", "s3transfer", "setuptools"} <= locked
    assert not locked & {"moto", "pytest", "hypothesis", "mypy", "ruff", "zizmor"}


def locked_version(name: str) -> str:
    pins, _ = parse_lock(LOCK.read_text(encoding="utf-8"))
    version = next(p.version for p in pins if p.name == name)
    assert version is not None
    return version


LEFTPAD = "\nleftpad==1.0 \\\n    --hash=sha256:" + "a" * 64 + "\n"
STALE = [
    (
        "a pin removed",
        lambda t: re.sub(r"(?ms)^rich==.*?(?=^\S)", "", t),
        ["rich>=13.0 ([project].dependencies) is not in the lock", "rich is needed but not locked"],
    ),
    (
        "a hash removed",
        lambda t: re.sub(r"(?m)^(six==\S+) \\\n(\s+--hash=\S+ \\\n)?\s+--hash=\S+$", r"\1", t),
        ["has no --hash"],
    ),
    (
        "a range instead of a pin",
        lambda t: t.replace("pyyaml==", "pyyaml>=", 1),
        ["pyyaml>=", "is not pinned exactly"],
    ),
    ("a package nothing needs", lambda t: t + LEFTPAD, ["leftpad is locked but nothing needs it"]),
    (
        # boto3 is installed at its locked version here, so its metadata, not the claim, counts.
        "a package falsely said to be needed",
        lambda t: t + LEFTPAD + "    # via boto3\n",
        ["leftpad is locked but nothing needs it"],
    ),
    (
        "another index",
        lambda t: "--index-url https://mirror.example/simple\n" + t,
        ["the runners install from PyPI"],
    ),
    ("no regenerate command", lambda t: t.replace(REGENERATE, "pip-compile"), ["the header does not name"]),
]


@pytest.mark.parametrize(("change", "expected"), [(c, e) for _, c, e in STALE], ids=[s[0] for s in STALE])
def test_a_stale_or_loose_lock_is_reported(change: object, expected: list[str]) -> None:
    assert callable(change)
    boto3 = {canonicalize_name("boto3"): (locked_version("boto3"), ["botocore", "jmespath", "s3transfer"])}
    problems = "\n".join(lock_problems(change(LOCK.read_text(encoding="utf-8")), pyproject(), boto3))
    for fragment in expected:
        assert fragment in problems


def test_a_dependency_added_to_pyproject_is_reported_until_locked() -> None:
    changed = pyproject()
    project = changed["project"]
    assert isinstance(project, dict)
    project["dependencies"] = [*project["dependencies"], "requests>=2"]
    problems = lock_problems(LOCK.read_text(encoding="utf-8"), changed, installed())
    assert "requests>=2 ([project].dependencies) is not in the lock" in problems
    assert "requests is needed but not locked" in problems


def test_a_package_installed_at_another_version_is_judged_by_the_lock_annotations() -> None:
    # CI installs the newest releases; a boto3 newer than the lock must not make the lock stale.
    newer = {canonicalize_name("boto3"): ("999.0", ["botocore", "jmespath", "s3transfer", "brand-new"])}
    assert lock_problems(LOCK.read_text(encoding="utf-8"), pyproject(), newer) == []
