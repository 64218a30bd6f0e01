"""scripts/apply_report.py: the apply comment is made from `reconciler apply --format json`."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
KEY = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture
def apply_report(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(SCRIPTS))
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/shares")
    return importlib.import_module("apply_report")


def outcome(name: str, kind: str, ok: bool, message: str, shown: str | None = None) -> dict[str, Any]:
    return {"name": name, "shown": shown or name, "kind": kind, "ok": ok, "message": message}


def test_the_comment_lists_applied_and_failed_policies_from_the_json_outcomes(
    apply_report: ModuleType, tmp_path: Path
) -> None:
    document = {
        "outcomes": [
            outcome("acme-a", "applied", True, "wrote the policy"),
            outcome(KEY, "failed", False, "access denied", shown=f"key policy of {KEY}"),
            outcome("acme-b", "unknown", False, "in flight when stopped"),
            outcome("acme-c", "not-started", False, "not started: interrupted"),
        ]
    }
    path = tmp_path / "apply.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    # A shard that left no apply.json is skipped, not an error.
    outcomes = apply_report.read_outcomes([path, tmp_path / "missing.json"])
    body = apply_report.report_body(outcomes, "log line\n", 1, "sha256:d", "abc")
    assert "applied 1, failed 1." in body
    assert "acme-a: ok: wrote the policy" in body
    assert f"key policy of {KEY}: FAILED: access denied" in body
    assert "acme-b" not in body and "acme-c" not in body


def test_without_a_failed_outcome_the_log_says_why(apply_report: ModuleType, tmp_path: Path) -> None:
    broken = tmp_path / "apply.json"
    broken.write_text("{not json", encoding="utf-8")
    outcomes = apply_report.read_outcomes([broken])
    body = apply_report.report_body(outcomes, "error: plan digest does not match\n", 1, "", "abc")
    assert outcomes == [] and "applied 0, failed 0." in body
    assert "error: plan digest does not match" in body
