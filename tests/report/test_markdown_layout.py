"""What the plan comment says, read as GitHub renders it (cmark-gfm, GitHub's own engine):
one row per grantee and bucket, reasons and owners beside what they explain, errors in
place, exact code where a reviewer copies, no escape residue, short diff lines."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import re
from typing import Any

import cmarkgfm
from cmarkgfm.cmark import Options

from reconciler.declare.config import Config
from reconciler.declare.model import BucketShare, Grant
from reconciler.declare.share_file import parse_grantee
from reconciler.errors import Location
from reconciler.live.facts import BucketFacts, Encryption, Ownership
from reconciler.live.policy import LivePolicy
from reconciler.plan.bucket import build_plan
from reconciler.plan.model import Plan
from reconciler.policy.access import Access
from reconciler.policy.render import DesiredBucket, render_bucket
from reconciler.report.markdown import render_markdown, render_unplanned
from reconciler.report.markdown_text import code_span

TODAY = dt.date(2026, 1, 15)
OWNER = "111111111111"
YAML = "shares/ml.yaml"
KEY = "arn:aws:kms:eu-west-1:111111111111:key/1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d"
ROLE = "arn:aws:iam::444444444444:role/inference/batch+scoring@ml"


def grant(to: str, access: str = "read", prefixes: tuple[str, ...] = (), **extra: Any) -> Grant:
    problem, grantee = parse_grantee(to, "aws")
    assert problem is None and grantee is not None, problem
    return Grant(grantee, Access(access), prefixes, Location(YAML, 8, 5), **extra)


def desired(bucket: str, *grants: Grant) -> DesiredBucket:
    share = BucketShare(bucket, OWNER, grants, (Location(YAML, 1, 9),), ("ml-platform",))
    return render_bucket(share, Config(), TODAY)


def live_of(bucket: str, *grants: Grant, facts: BucketFacts | None = None) -> LivePolicy:
    statements = [s.statement for s in desired(bucket, *grants).statements] if grants else []
    text = json.dumps({"Version": "2012-10-17", "Statement": statements}) if statements else None
    return LivePolicy(bucket, OWNER, text, facts=facts)


def plan_of(wanted: list[DesiredBucket], live: list[LivePolicy], **extra: Any) -> Plan:
    return build_plan(wanted, live, "BucketShare", "aws", **extra)


def github_html(markdown: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_HARDBREAKS)


def visible(markdown: str) -> str:
    """The text a reader sees, tags dropped and entities decoded (details count as open)."""
    return html.unescape(re.sub(r"<[^>]+>", "", github_html(markdown)))


def rows(markdown: str) -> list[list[str]]:
    """Each body row of the grantee tables, as the text of its cells."""
    found = []
    for row in re.findall(r"<tr>(.*?)</tr>", github_html(markdown), re.S):
        cells = re.findall(r"<td>(.*?)</td>", row, re.S)
        if cells:
            found.append([html.unescape(re.sub(r"<[^>]+>", "", c)) for c in cells])
    return found


def spans(markdown: str) -> list[str]:
    return [html.unescape(s) for s in re.findall(r"<code>(.*?)</code>", github_html(markdown), re.S)]


def test_a_widened_prefix_list_is_one_row_saying_what_changed() -> None:
    before = grant("222222222222", "read-write", ("models/training/",))
    after = grant("222222222222", "read-write", ("models/eval/", "models/training/"))
    markdown = render_markdown(plan_of([desired("acme-ml", after)], [live_of("acme-ml", before)]))
    assert rows(markdown) == [
        [
            "account 222222222222",
            "changes read-write: models/training/ → models/eval/, models/training/",
            "declared at shares/ml.yaml:8:5",
        ]
    ]


def test_a_new_access_level_is_one_row() -> None:
    before = grant("222222222222", "read", ("models/",))
    after = grant("222222222222", "read-write", ("models/",), reason="the trainer now writes back")
    markdown = render_markdown(plan_of([desired("acme-ml", after)], [live_of("acme-ml", before)]))
    assert rows(markdown) == [
        ["account 222222222222", "changes read → read-write on models/", "the trainer now writes back"]
    ]


def test_a_grants_reason_and_the_owner_team_are_shown_with_the_gain() -> None:
    reader = grant(
        "222222222222", "read", ("models/",), reason="nightly scoring", expires=dt.date(2027, 6, 30)
    )
    markdown = render_markdown(plan_of([desired("acme-ml", reader)], [live_of("acme-ml")]))
    assert rows(markdown) == [
        ["account 222222222222", "gains read on models/ until 2027-06-30", "nightly scoring"]
    ]
    shown = visible(markdown)
    assert "acme-ml\nput-policy in account 111111111111, owned by ml-platform" in shown


def test_a_revocation_of_a_hand_edit_says_so() -> None:
    reader = grant("222222222222", "read", ("models/",))
    live = live_of("acme-ml", reader)
    assert live.text is not None
    policy = json.loads(live.text)
    for statement in policy["Statement"]:
        statement["Principal"] = {"AWS": ["arn:aws:iam::222222222222:root", "arn:aws:iam::999999999999:root"]}
    live = dataclasses.replace(live, text=json.dumps(policy))
    markdown = render_markdown(plan_of([desired("acme-ml", reader)], [live]))
    [row] = rows(markdown)
    assert row[:2] == ["account 999999999999", "loses read on models/"]
    assert "added outside bucketshare (reverted here)" in row[2]


def test_a_bucket_that_errors_is_in_the_table_with_its_error_and_offers_no_identity_policy() -> None:
    orphan = {
        "Sid": "Legacy",
        "Effect": "Allow",
        "Principal": {"AWS": "AROAEXAMPLEID1234567"},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::acme-broken/*",
    }
    live = LivePolicy("acme-broken", OWNER, json.dumps({"Version": "2012-10-17", "Statement": [orphan]}))
    plan = plan_of([desired("acme-broken", grant("222222222222"))], [live])
    markdown = render_markdown(plan)
    shown = visible(markdown)
    assert (
        "acme-broken\nerror in account 111111111111, owned by ml-platform: nothing is written to this "
        "bucket, so the changes below wait until it is fixed." in shown
    )
    assert rows(markdown) == [
        ["account 222222222222", "gains read on the whole bucket", "declared at shares/ml.yaml:8:5"]
    ]
    assert plan.buckets[0].consumer_policies  # the plan has one; a bucket that errors grants nothing yet
    assert "Identity policy" not in markdown


def test_no_identity_policy_is_offered_to_an_organization_or_an_ou() -> None:
    wanted = desired(
        "acme-ml",
        grant("org:o-a1b2c3d4e5", prefixes=("shared/",)),
        grant("ou:o-a1b2c3d4e5/r-ab12/ou-ab12-11111111", prefixes=("bench/",)),
        grant("222222222222"),
    )
    plan = plan_of([wanted], [live_of("acme-ml")])
    assert [c.grantee for c in plan.buckets[0].consumer_policies] == ["account 222222222222"]
    markdown = render_markdown(plan)
    assert re.findall(r"Identity policy (.*) attaches", markdown) == ["account `222222222222`"]


def test_arns_and_the_kms_key_are_exact_code_without_escapes_or_hidden_characters() -> None:
    facts = BucketFacts(Ownership.ENFORCED, Encryption("aws:kms", KEY))
    plan = plan_of([desired("acme-ml", grant(ROLE))], [live_of("acme-ml", facts=facts)])
    markdown = render_markdown(plan)
    code = spans(markdown)
    assert KEY in code  # once shown as arn&#58;aws&#58;kms&#58;...
    assert ROLE in code  # once copied with a zero-width space after the @
    assert not [s for s in code if re.search("[\u200b-\u200f\u2060\ufeff]", s)]
    assert not re.search(r"&#\d+;|&amp;|\\[-:()]", visible(markdown))
    # GitHub links no mention inside code: the role's @ is shown as it is, and nowhere else.
    prose = re.sub(r"<pre.*?</pre>|<code>.*?</code>", "", github_html(markdown), flags=re.S)
    assert "@" not in html.unescape(prose).replace("@\u200b", "")


def test_code_spans_outlast_backticks_and_keep_pipes_inside_table_cells() -> None:
    hostile = "a|b ``` c`"
    prefix = grant("222222222222", prefixes=(hostile + "/",))
    markdown = render_markdown(plan_of([desired("acme-ml", prefix)], [live_of("acme-ml")]))
    [row] = rows(markdown)
    assert row[1] == f"gains read on {hostile}/"
    assert spans(code_span("x`y")) == ["x`y"]
    assert spans(code_span("`edge`")) == ["`edge`"]


def test_a_changed_statement_is_a_diff_of_short_pretty_lines() -> None:
    reader = grant("222222222222", "read", ("models/",))
    live = live_of("acme-ml", reader)
    assert live.text is not None
    policy = json.loads(live.text)
    policy["Statement"][-1]["Action"] = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging"]
    live = dataclasses.replace(live, text=json.dumps(policy))
    markdown = render_markdown(plan_of([desired("acme-ml", reader)], [live]))
    block = re.search(r"```diff\n(.*?)\n```", markdown, re.S)
    assert block is not None
    lines = block.group(1).splitlines()
    assert max(len(line) for line in lines) <= 88
    changed = [line for line in lines if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == [
        '-  "Action": ["s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion"],',
        '+  "Action": ["s3:GetObject", "s3:GetObjectVersion"],',
    ]


def test_no_keeps_zero_statements_and_no_doubled_warning_tag() -> None:
    plan = plan_of(
        [desired("acme-ml", grant("222222222222"))],
        [live_of("acme-ml")],
        warnings=["shares/ml.yaml:3:1: warning: owner is not a known team"],
    )
    markdown = render_markdown(plan)
    assert "keeps 0" not in markdown
    shown = visible(markdown)
    assert "shares/ml.yaml:3:1: owner is not a known team" in shown
    assert "warning:" not in shown.split("Warnings", 1)[1].split("\n\n", 1)[0]


def test_a_partial_plan_says_changed_in_this_pull_request() -> None:
    plan = dataclasses.replace(
        plan_of([desired("acme-ml", grant("222222222222"))], [live_of("acme-ml")]), partial_since="HEAD^1"
    )
    shown = visible(render_markdown(plan))
    assert "only the buckets whose declarations changed in this pull request (1 bucket)" in shown
    assert "HEAD^1" not in shown


def test_the_comment_without_a_plan_lists_the_problems_with_the_right_plural() -> None:
    one = visible(render_unplanned(["shares/a.yaml:1:1: bucket is required"]))
    assert "Nothing was planned: the declarations have 1 problem." in one
    assert "shares/a.yaml:1:1: bucket is required" in one
    two = visible(render_unplanned(["x", "y"]))
    assert "have 2 problems." in two
