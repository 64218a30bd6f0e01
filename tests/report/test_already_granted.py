"""A grant the kept hand-written statements already give reads "already granted", not "gains",
in every place a reviewer looks: the terminal, the comment's table and details, the JSON plan."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

from reconciler.declare.config import Config
from reconciler.declare.model import BucketShare, Grant
from reconciler.declare.share_file import parse_grantee
from reconciler.errors import Location
from reconciler.live.policy import LivePolicy
from reconciler.plan.bucket import build_plan
from reconciler.plan.file_read import loads
from reconciler.plan.file_write import dumps
from reconciler.plan.model import Plan
from reconciler.policy.access import Access
from reconciler.policy.render import render_bucket
from reconciler.report.markdown import render_markdown
from reconciler.report.terminal import make_console, render_terminal

TODAY = dt.date(2026, 1, 15)
OWNER = "111111111111"
HELD = "222222222222"
NEW = "333333333333"
BUCKET = "acme-models"
ARN = f"arn:aws:s3:::{BUCKET}"
YAML = "shares/acme-models.yaml"

HAND_WRITTEN: list[dict[str, Any]] = [
    {
        "Sid": "LegacyObjects",
        "Effect": "Allow",
        "Principal": {"AWS": HELD},
        "Action": ["s3:GetObject", "s3:GetObjectVersion"],
        "Resource": f"{ARN}/*",
    },
    {
        "Sid": "LegacyBucket",
        "Effect": "Allow",
        "Principal": {"AWS": HELD},
        "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
        "Resource": ARN,
    },
]


def _grant(to: str, line: int) -> Grant:
    problem, grantee = parse_grantee(to, "aws")
    assert problem is None and grantee is not None, problem
    return Grant(grantee, Access("read"), (), Location(YAML, line, 5))


def _plan() -> Plan:
    share = BucketShare(BUCKET, OWNER, (_grant(HELD, 6), _grant(NEW, 9)), (Location(YAML, 2, 9),), ())
    want = render_bucket(share, Config(), TODAY)
    live = json.dumps({"Version": "2012-10-17", "Statement": HAND_WRITTEN})
    return build_plan([want], [LivePolicy(BUCKET, OWNER, live)], "BucketShare", "aws", [], [])


def _terminal(plan: Plan) -> str:
    out = io.StringIO()
    render_terminal(plan, make_console(out))
    return out.getvalue()


def test_the_terminal_table_says_already_granted_and_by_which_statements() -> None:
    text = _terminal(_plan())
    held = [line for line in text.splitlines() if HELD in line and "Sid LegacyObjects" in line]
    assert [line for line in held if line.startswith("already granted")], text
    assert held and not [line for line in text.splitlines() if HELD in line and "gains" in line], text
    assert [line for line in text.splitlines() if NEW in line and line.startswith("gains")]


def test_the_comment_table_and_details_say_already_granted_not_gains() -> None:
    markdown = render_markdown(_plan())
    rows = [line for line in markdown.splitlines() if line.startswith("|") and HELD in line]
    assert rows and all("**already granted**" in row and "gains" not in row for row in rows), rows
    assert all("adopt it to let bucketshare manage it" in row for row in rows), rows
    said = [line for line in markdown.splitlines() if line.startswith("- ") and HELD in line]
    assert said and all(" gains " not in line and "already granted by" in line for line in said), said
    assert [
        line for line in markdown.splitlines() if line.startswith("|") and NEW in line and "**gains**" in line
    ]


def test_the_json_plan_keeps_who_already_grants_it() -> None:
    plan = _plan()
    [bucket] = loads(dumps(plan), "plan.json").buckets
    held = {row.grantee: row.held_by for row in bucket.access}
    assert "Sid LegacyObjects" in held[f"account {HELD}"] and held[f"account {NEW}"] == ""
    assert render_markdown(loads(dumps(plan), "plan.json")) == render_markdown(plan)


def test_a_kept_statement_is_named_by_its_place_in_the_live_policy() -> None:
    # bucketshare's own statements first, as an earlier apply left them: a reader counting the
    # statements of `aws s3api get-bucket-policy` finds LegacyObjects fourth.
    share = BucketShare(BUCKET, OWNER, (_grant(HELD, 6), _grant(NEW, 9)), (Location(YAML, 2, 9),), ())
    want = render_bucket(share, Config(), TODAY)
    only_new = BucketShare(BUCKET, OWNER, (_grant(NEW, 9),), (Location(YAML, 2, 9),), ())
    ours = [d.statement for d in render_bucket(only_new, Config(), TODAY).statements]
    live = json.dumps({"Version": "2012-10-17", "Statement": [*ours, *HAND_WRITTEN]})
    plan = build_plan([want], [LivePolicy(BUCKET, OWNER, live)], "BucketShare", "aws", [], [])
    [row] = [row for bucket in plan.buckets for row in bucket.access if HELD in row.grantee]
    assert (
        row.held_by
        == f"Sid LegacyObjects (position {len(ours) + 1}) and Sid LegacyBucket (position {len(ours) + 2})"
    )
