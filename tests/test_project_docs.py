"""The files every command-line tool ships: licence, changelog, security and contributing
notes, and the README's install lines, kept true to pyproject.toml."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# SHA-256 of https://www.apache.org/licenses/LICENSE-2.0.txt, as Debian ships it in
# /usr/share/common-licenses/Apache-2.0: the licence text exactly, not a paraphrase.
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
KEEP_A_CHANGELOG_KINDS = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def test_license_is_the_whole_apache_2_text() -> None:
    assert hashlib.sha256((ROOT / "LICENSE").read_bytes()).hexdigest() == APACHE_2_SHA256


def test_changelog_keeps_a_changelog_with_the_current_version() -> None:
    text = read("CHANGELOG.md")
    assert text.startswith("# Changelog\n")
    releases = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, re.MULTILINE)
    assert releases[0] == ("Unreleased", "")
    assert (PYPROJECT["project"]["version"], releases[1][1]) == releases[1]
    assert releases[1][1], "a release heading carries its date"
    kinds = set(re.findall(r"^### (.+)$", text, re.MULTILINE))
    assert kinds <= KEEP_A_CHANGELOG_KINDS, kinds - KEEP_A_CHANGELOG_KINDS
    unreleased = text.split("## [Unreleased]", 1)[1].split("\n## [", 1)[0]
    assert "\n- " in unreleased, "the Unreleased section lists this round's changes"


def test_security_says_how_to_report_and_what_bucketshare_never_does() -> None:
    text = read("SECURITY.md")
    assert "## Reporting a vulnerability" in text
    assert "Report a\nvulnerability" in text or "Report a vulnerability" in text
    promises = re.findall(r"^- \*\*It never ([^.]+)\.", text, re.MULTILINE)
    assert len(promises) >= 6, promises


def test_contributing_names_both_suites_and_the_ci_entry() -> None:
    text = read("CONTRIBUTING.md")
    commands = [line.split("#")[0].strip() for line in text.splitlines()]
    for command in ("python -m pytest -q", "python -m pytest -q -m slow", "mypy --strict reconciler"):
        assert command in commands, command
    assert "`bash .ci/run`" in text
    # The marker CONTRIBUTING tells people to use is the one pytest deselects by default.
    assert "-m 'not slow'" in PYPROJECT["tool"]["pytest"]["ini_options"]["addopts"]


def test_readme_install_names_the_plain_install_and_the_sandbox_extra() -> None:
    section = read("README.md").split("## Install\n", 1)[1].split("\n## ", 1)[0]
    assert "pip install .  " in section
    extras = re.findall(r"pip install '\.\[(\w+)\]'", section)
    assert extras == ["sandbox"]
    assert set(extras) <= set(PYPROJECT["project"]["optional-dependencies"])
