"""A gained level that administers the bucket (PutObjectAcl, PutBucketPolicy...) is marked in
every place a reviewer may read the gain: the comment's table and its per-bucket details."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plan"))

from test_plan import desired, grant, plan, policy

from reconciler.declare.levels import level_actions
from reconciler.plan.model import Plan
from reconciler.policy.access import Access
from reconciler.report.markdown import render_markdown

ACL_WRITER = Access("acl-writer", level_actions(["s3:PutObject", "s3:PutObjectAcl"]), True)


def test_the_comment_details_mark_a_gained_administration_level() -> None:
    gain = dataclasses.replace(grant("222222222222"), access=ACL_WRITER)
    comment = render_markdown(Plan((plan(desired(gain), policy()),), "BucketShare", "aws"))
    details = comment.split("<details>", 1)[1]
    line = next(line for line in details.splitlines() if line.startswith("- account `222222222222` gains"))
    assert "administers the bucket" in line
