"""The plan comment as a reviewer sees it: GitHub's Markdown engine, its sanitiser's
allowlist and its stylesheet, laid out by a real browser in a pull request's 746 px comment
body (tests/github_render.py). Needs Debian's `chromium`; without it these tests fail and say
how to install it, since a skipped layout test would let a comment that scrolls through."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from github_render import COMMENT_WIDTH, INSTALL_HINT, Layout, chromium, layout, screenshot
from realistic_plan import TODAY, realistic_plan

from reconciler.declare.config import Config
from reconciler.declare.model import BucketShare, Grant
from reconciler.declare.share_file import parse_grantee
from reconciler.errors import Location
from reconciler.live.policy import LivePolicy
from reconciler.plan.bucket import build_plan
from reconciler.policy.access import Access
from reconciler.policy.render import render_bucket
from reconciler.report.markdown import render_markdown

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "docs" / "sample-plan-comment.md"
SCREENSHOT = ROOT / "docs" / "sample-plan-comment.png"
COMMIT = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
FONT_SLACK = 4
"""px: Liberation Sans and Mono stand in here for GitHub's fonts, with slightly other widths."""
_RESIDUE = re.compile(r"&#\d+;|&#x[0-9a-f]+;|&(?:amp|lt|gt|quot);|\\[!-/:-@\[-`{-~]", re.I)
_ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff]")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def browser() -> None:
    try:
        chromium()
    except RuntimeError:
        pytest.fail(INSTALL_HINT, pytrace=False)


def realistic_comment() -> str:
    return render_markdown(realistic_plan(), commit=COMMIT, today=TODAY)


def assert_reads_at_github_width(shown: Layout) -> None:
    assert shown.body == COMMENT_WIDTH
    assert shown.tables, "no table was rendered"
    wide = [t for t in shown.tables if int(str(t["scroll"])) > int(str(t["client"])) + FONT_SLACK]
    assert not wide, f"tables scroll sideways in a {COMMENT_WIDTH} px comment: {wide}"
    residue = sorted({m.group(0) for m in _RESIDUE.finditer(shown.prose)})
    assert not residue, f"escape residue a reader would see: {residue}"
    hidden = [span for span in shown.spans if _ZERO_WIDTH.search(span)]
    assert not hidden, f"code spans that would copy with an invisible character: {hidden}"


def test_the_sample_comment_reads_at_github_width() -> None:
    assert_reads_at_github_width(layout(SAMPLE.read_text(encoding="utf-8")))


def test_a_realistic_sixteen_bucket_comment_reads_at_github_width() -> None:
    shown = layout(realistic_comment())
    assert_reads_at_github_width(shown)
    # Every bucket that changes or fails has its own short table or its error, in view.
    assert len(shown.tables) >= 14
    # The KMS key once showed as arn&#58;aws&#58;kms...; a role with an @ once copied with a
    # zero-width space inside its ARN. Both are exact code now.
    assert "arn:aws:kms:eu-west-1:481516234200:key/1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d" in shown.spans
    assert "arn:aws:iam::918273645501:role/analytics/quicksight@dataset-refresh" in shown.spans


def test_the_screenshot_of_the_sample_comment_is_in_docs() -> None:
    """docs/sample-plan-comment.png, shown in the README, is this comment as GitHub draws it."""
    screenshot(SAMPLE.read_text(encoding="utf-8"), SCREENSHOT, height=1100)
    data = SCREENSHOT.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (COMMENT_WIDTH, 1100)


def _held_and_blocked_comment() -> str:
    """One bucket whose kept statements already grant one account (an "already granted" row)
    and whose kept deny-all-but-one-role statement blocks another's new grant ("blocked by")."""
    owner, held, blocked, bucket = "111111111111", "222222222222", "333333333333", "acme-models"
    arn = f"arn:aws:s3:::{bucket}"
    kept = [
        {
            "Sid": "LegacyReadersObjectsGrantedByHandBeforeBucketshare",
            "Effect": "Allow",
            "Principal": {"AWS": held},
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": f"{arn}/*",
        },
        {
            "Sid": "LegacyReadersBucketGrantedByHandBeforeBucketshare",
            "Effect": "Allow",
            "Principal": {"AWS": held},
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": arn,
        },
        {
            "Sid": "DenyEveryoneButTheDataPlatformPipelineRole",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [arn, f"{arn}/*"],
            "Condition": {
                "StringNotEquals": {"aws:PrincipalArn": f"arn:aws:iam::{held}:role/data-platform-pipeline"},
                "StringNotEqualsIfExists": {"aws:PrincipalAccount": held},
            },
        },
    ]
    grants = []
    for line, to in ((6, held), (9, blocked)):
        problem, grantee = parse_grantee(to, "aws")
        assert problem is None and grantee is not None
        grants.append(
            Grant(grantee, Access("read"), ("models/fraud/",), Location("shares/acme.yaml", line, 5))
        )
    share = BucketShare(bucket, owner, tuple(grants), (Location("shares/acme.yaml", 2, 9),), ("ml-platform",))
    live = json.dumps({"Version": "2012-10-17", "Statement": kept})
    plan = build_plan(
        [render_bucket(share, Config(), TODAY)],
        [LivePolicy(bucket, owner, live)],
        "BucketShare",
        "aws",
        [],
        [],
    )
    return render_markdown(plan, commit=COMMIT, today=TODAY)


def test_already_granted_and_blocked_rows_read_at_github_width() -> None:
    markdown = _held_and_blocked_comment()
    assert "**already granted**" in markdown and "blocked by" in markdown
    assert_reads_at_github_width(layout(markdown))
