"""docs/sample-plan-comment.md is a real plan comment: the sandbox's example buckets on a
moto server, planned through the AWS edge and rendered as the workflow posts it.

The test fails when the committed sample is out of date; regenerate it with
`BUCKETSHARE_UPDATE_DOCS=1 python -m pytest tests/integration/test_sample_comment.py`.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from reconciler.edge.s3 import S3Edge
from reconciler.edge.sandbox import account_credentials, create_buckets, environment, moto_server
from reconciler.execute.gather import gather_plan
from reconciler.policy.desired import load_desired
from reconciler.report.markdown import render_markdown

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "docs" / "sample-plan-comment.md"
# A fixed day, so the sample does not change as the example grants near their expiry.
DAY = dt.date(2026, 12, 1)
COMMIT = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def sandbox_comment(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(ROOT)  # locations read `shares/...`, as in the workflow's checkout
    state = load_desired(Path("shares"), None, DAY)
    assert not state.errors
    by_account: dict[str, list[str]] = {}
    for bucket in state.buckets:
        by_account.setdefault(bucket.account, []).append(bucket.bucket)
    with moto_server() as endpoint:
        create_buckets(endpoint, by_account, with_unmanaged=state.buckets[0].bucket)
        env = environment(endpoint, account_credentials(endpoint, state.buckets[0].account))
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        plan = gather_plan(state, S3Edge(4), declared_only=False, progress=lambda total: lambda: None)
    return render_markdown(plan, commit=COMMIT, today=DAY)


def test_the_committed_sample_comment_is_what_the_sandbox_plans(monkeypatch: pytest.MonkeyPatch) -> None:
    comment = sandbox_comment(monkeypatch)
    if os.environ.get("BUCKETSHARE_UPDATE_DOCS") == "1":
        SAMPLE.write_text(comment, encoding="utf-8")
    assert SAMPLE.exists(), f"{SAMPLE} is missing; regenerate it (see this test's docstring)"
    assert SAMPLE.read_text(encoding="utf-8") == comment, (
        f"{SAMPLE} is out of date; regenerate it with BUCKETSHARE_UPDATE_DOCS=1 (see this test's docstring)"
    )
    assert comment.startswith("<!-- bucketshare-plan -->\n<!-- bucketshare-review digest=sha256:")
    assert "### Who gains and who loses access" in comment
