"""The package layout is the architecture: which stage may import what, and how big a module gets.

Walks the AST of every module under reconciler/ (imports inside functions count too), so a
shortcut taken anywhere in a module breaks the build, not a reviewer's memory.
"""

from __future__ import annotations

import ast
import statistics
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "reconciler"
# Pure stages: plain functions over data, testable with dicts (STYLE.md habit 1).
PURE = ("declare", "policy", "plan", "live", "importer")
IO_LIBRARIES = ("boto3", "botocore", "rich", "argparse", "subprocess")
ENTRY_POINTS = {"__init__.py", "__main__.py", "cli.py", "errors.py"}
STAGES = {"commands", "declare", "edge", "execute", "importer", "live", "plan", "policy", "report"}
# The access levels a declaration may name are the keys of the one access table, which
# lives with the policy it renders into; declare reads that table and nothing else of policy/.
SHARED_TABLES = {"reconciler.policy.access"}
MAX_LINES = 400
MAX_MEDIAN = 120


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _stage(path: Path) -> str:
    """The subpackage a module belongs to, or '' for the entry points at the top."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else ""


def _imports(path: Path) -> set[str]:
    """Every module name path imports, absolute; `from reconciler.x import y` counts as x."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            found.add(node.module or "")
    return found


def _top(name: str) -> str:
    return name.split(".")[0]


def _reconciler_stage(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "reconciler" and len(parts) > 1 else None


def _violations(where: tuple[str, ...] | None, forbidden: set[str], allowed_in: set[str]) -> list[str]:
    """Modules (in `where` stages, or outside `allowed_in`) importing a forbidden top-level name."""
    problems = []
    for path in _modules():
        stage = _stage(path)
        if where is not None and stage not in where:
            continue
        if where is None and stage in allowed_in:
            continue
        bad = sorted(name for name in _imports(path) if _top(name) in forbidden)
        if bad:
            problems.append(f"{path.relative_to(PACKAGE)}: {', '.join(bad)}")
    return problems


def test_pure_stages_import_no_io_library() -> None:
    assert _violations(PURE, set(IO_LIBRARIES), set()) == []


def test_boto3_and_botocore_only_in_the_edge() -> None:
    assert _violations(None, {"boto3", "botocore"}, {"edge"}) == []


def test_rich_only_in_the_report() -> None:
    assert _violations(None, {"rich"}, {"report"}) == []


def test_argparse_only_in_the_cli_and_commands() -> None:
    problems = [p for p in _violations(None, {"argparse"}, {"commands"}) if not p.startswith("cli.py")]
    assert problems == []


def test_subprocess_only_in_the_edge() -> None:
    assert _violations(None, {"subprocess"}, {"edge"}) == []


@pytest.mark.parametrize(
    ("stage", "never"),
    [
        # The edge returns live/ records; it never needs the planner or anything after it.
        ("edge", {"plan", "execute", "report", "commands", "importer"}),
        ("live", {"declare", "policy", "plan", "edge", "execute", "report", "commands", "importer"}),
        ("declare", {"policy", "plan", "edge", "execute", "report", "commands", "importer"}),
        ("policy", {"plan", "edge", "execute", "report", "commands", "importer"}),
        ("plan", {"edge", "execute", "report", "commands"}),
        ("execute", {"report", "commands"}),
        ("report", {"edge", "execute", "commands"}),
    ],
)
def test_stages_import_only_earlier_stages(stage: str, never: set[str]) -> None:
    problems = [
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in _modules()
        if _stage(path) == stage
        for name in sorted(_imports(path))
        if _reconciler_stage(name) in never and name not in SHARED_TABLES
    ]
    assert problems == []


def test_the_top_of_the_package_holds_only_entry_points_and_stages() -> None:
    modules = {p.name for p in PACKAGE.glob("*.py")}
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert modules == ENTRY_POINTS
    assert folders == STAGES
    assert all((PACKAGE / stage / "__init__.py").is_file() for stage in STAGES)


def test_module_sizes() -> None:
    sizes = {
        p.relative_to(PACKAGE).as_posix(): len(p.read_text(encoding="utf-8").splitlines()) for p in _modules()
    }
    too_big = {name: lines for name, lines in sizes.items() if lines > MAX_LINES}
    assert too_big == {}
    assert statistics.median(sizes.values()) <= MAX_MEDIAN
