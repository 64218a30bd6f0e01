"""What a run imports before its first bucket: only what its command uses. A plan's memory is
60 MB plus 40 KB a bucket at most (issue 17), and boto3 alone takes about 50 MB of it, so a
library loaded and never used (rich in a CI log, importlib.metadata without --version) is
what puts a small plan over. Each check runs in a fresh interpreter: this one has them all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("rich", "boto3", "deepdiff", "importlib.metadata")
# Each test starts an interpreter: kept out of the fast suite, which is near its 2 minutes.
pytestmark = pytest.mark.slow


def loaded_after(script: str, cwd: Path) -> list[str]:
    """The HEAVY modules a fresh interpreter holds after running script."""
    probe = f"{script}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.split("\n")[-2].split()


def test_validate_loads_no_aws_terminal_or_metadata_library(tmp_path: Path) -> None:
    (tmp_path / "shares").mkdir()
    script = "from reconciler.cli import main\nassert main(['validate', '--shares', 'shares']) == 0"
    assert loaded_after(script, tmp_path) == []


def test_a_plan_shown_off_a_terminal_does_not_load_rich(tmp_path: Path) -> None:
    script = "\n".join(
        [
            "import io",
            "from reconciler.plan.model import BucketAction, BucketPlan, Plan",
            "from reconciler.report.terminal import make_console, render_terminal",
            "bucket = BucketPlan('a-bucket', '111111111111', BucketAction.NOOP, True, 'none')",
            "out = io.StringIO()",
            "render_terminal(Plan((bucket,), 'BucketShare', 'aws'), make_console(out))",
            "assert out.getvalue().startswith('bucketshare plan\\n'), out.getvalue()",
        ]
    )
    assert "rich" not in loaded_after(script, tmp_path)


def test_planning_statements_that_are_only_added_does_not_load_deepdiff(tmp_path: Path) -> None:
    # deepdiff is about 11 MB of a plan process: only a changed statement's field diff needs it.
    script = "\n".join(
        [
            "import datetime as dt",
            "from reconciler.declare.config import Config",
            "from reconciler.declare.model import BucketShare, Grant, Grantee, GranteeKind",
            "from reconciler.errors import Location",
            "from reconciler.live.policy import LivePolicy",
            "from reconciler.plan.bucket import plan_bucket",
            "from reconciler.policy.access import Access",
            "from reconciler.policy.render import render_bucket",
            "grant = Grant(Grantee(GranteeKind.ACCOUNT, '222222222222', '222222222222'), Access.READ, (),"
            " Location('shares/a.yaml', 5, 5))",
            "share = BucketShare('a-bucket', '111111111111', (grant,), (Location('shares/a.yaml', 2, 9),))",
            "desired = render_bucket(share, Config(), dt.date(2026, 1, 1))",
            "plan = plan_bucket(desired, LivePolicy('a-bucket', '111111111111', None), 'BucketShare', 'aws')",
            "assert plan.changes and not any(c.field_diff for c in plan.changes), plan",
        ]
    )
    assert "deepdiff" not in loaded_after(script, tmp_path)
