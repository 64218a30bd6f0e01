from __future__ import annotations

import dataclasses
import datetime as dt
import html
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from reconciler.declare.config import Config
from reconciler.declare.model import BucketShare, Grant
from reconciler.declare.share_file import parse_grantee
from reconciler.errors import BucketshareError, Location
from reconciler.execute.journal import Journal
from reconciler.execute.journal_entry import JournalEntry
from reconciler.live.policy import LivePolicy
from reconciler.plan.bucket import build_plan, plan_bucket
from reconciler.plan.digest import plan_digest
from reconciler.plan.file_read import loads
from reconciler.plan.file_write import dumps, plan_to_dict
from reconciler.plan.model import BucketAction, Plan
from reconciler.policy.access import Access
from reconciler.policy.desired import load_desired
from reconciler.policy.render import DesiredBucket, render_bucket
from reconciler.report.markdown import render_markdown
from reconciler.report.markdown_text import escape
from reconciler.report.review_marks import MARKER, parse_review
from reconciler.report.terminal import make_console, render_terminal

TODAY = dt.date(2026, 1, 15)
OWNER = "111111111111"
PREFIX = "BucketShare"
YAML = "shares/fraud-team.yaml"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def grant(to: str, access: str = "read", prefixes: tuple[str, ...] = (), line: int = 8) -> Grant:
    problem, grantee = parse_grantee(to, "aws")
    assert problem is None and grantee is not None, problem
    return Grant(grantee, Access(access), prefixes, Location(YAML, line, 5))


def desired(bucket: str, *grants: Grant, owners: tuple[str, ...] = ("fraud-detection",)) -> DesiredBucket:
    share = BucketShare(bucket, OWNER, grants, (Location(YAML, 3, 9),), owners)
    return render_bucket(share, Config(), TODAY)


def policy(*statements: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def ours(bucket: str, *grants: Grant) -> list[dict[str, Any]]:
    return [d.statement for d in desired(bucket, *grants).statements]


READER = grant("222222222222", prefixes=("models/fraud/",))
OTHER = grant("333333333333", line=12)


def orphan_statement(sid: str, bucket: str) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": "AROAEXAMPLEID1234567"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }


def sample_plan() -> Plan:
    """One bucket per outcome: put, no-op, no-op with a warning, delete, error."""
    wanted = [
        desired("acme-a", READER),
        desired("acme-b", READER),
        desired("acme-c", READER),
        desired("acme-e", READER),
    ]
    live = [
        LivePolicy("acme-a", OWNER, None),
        LivePolicy("acme-b", OWNER, policy(*ours("acme-b", READER))),
        LivePolicy("acme-c", OWNER, policy(orphan_statement("Legacy", "acme-c"), *ours("acme-c", READER))),
        LivePolicy("acme-d", OWNER, policy(*ours("acme-d", OTHER))),
        LivePolicy("acme-e", OWNER, None, "access denied on GetBucketPolicy: needs s3:GetBucketPolicy"),
    ]
    return build_plan(wanted, live, PREFIX, "aws", ["plan warning"], [])


# --- Markdown: structure -------------------------------------------------------------------


def fenced(markdown: str) -> tuple[list[str], list[list[str]]]:
    """(lines outside code fences, the bodies of the fences), the way CommonMark reads them."""
    outside: list[str] = []
    blocks: list[list[str]] = []
    fence = 0
    for line in markdown.split("\n"):
        if not fence:
            opening = re.match(r"^ {0,3}(`{3,})[^`]*$", line)
            if opening:
                fence = len(opening.group(1))
                blocks.append([])
            else:
                outside.append(line)
        else:
            closing = re.match(r"^ {0,3}(`{3,})[ \t]*$", line)
            if closing and len(closing.group(1)) >= fence:
                fence = 0
            else:
                blocks[-1].append(line)
    assert not fence, "a code fence is never closed"
    return outside, blocks


def unescaped(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def section_of(markdown: str, bucket: str) -> str:
    """The <details> block of one bucket, however its summary line is escaped."""
    for section in markdown.split("<details>")[1:]:
        summary = section.split("\n", 2)[1]
        if unescaped(summary).startswith(f"<summary>{bucket} "):
            return section[: section.index("</details>")]
    raise AssertionError(f"no section for {bucket}")


def test_markdown_starts_with_the_hidden_marker() -> None:
    markdown = render_markdown(sample_plan())
    assert markdown.split("\n")[0] == MARKER == "<!-- bucketshare-plan -->"


def test_markdown_puts_errors_warnings_totals_and_the_grantee_table_before_details() -> None:
    markdown = render_markdown(sample_plan())
    order = [
        markdown.index("**Errors**"),
        markdown.index("**Warnings**"),
        markdown.index("**2 buckets to change"),
        markdown.index("### Who gains and who loses access"),
        markdown.index("<details>"),
    ]
    assert order == sorted(order)
    assert (
        "**2 buckets to change \\(1 put\\-policy, 1 delete\\-policy\\); 2 no\\-op; 1 error; "
        "statements&#58; 3 to add, 0 to change, 3 to remove.**"
    ) in markdown
    assert "- plan warning" in markdown
    assert "- acme\\-e&#58; access denied on GetBucketPolicy" in markdown


def test_markdown_grantee_table_says_who_gains_and_loses_what_and_where_declared() -> None:
    markdown = render_markdown(sample_plan())
    section = markdown.split("### Who gains and who loses access")[1].split("### Details")[0]
    shown = [unescaped(html.unescape(line)) for line in section.splitlines() if line]
    # Under each bucket's heading (the failing one first, with its error), one short row per grantee.
    assert shown == [
        "#### `acme-e`",
        "**error** in account `111111111111`: nothing is written to this bucket.",
        "- access denied on GetBucketPolicy: needs s3:GetBucketPolicy",
        "#### `acme-a`",
        "put-policy in account `111111111111`, owned by fraud-detection",
        "| grantee | change | why |",
        "|---|---|---|",
        "| account `222222222222` | **gains** read on `models/fraud/` | "
        "declared at shares/fraud-team.yaml:8:5 |",
        "#### `acme-d`",
        "delete-policy in account `111111111111`",
        "| grantee | change | why |",
        "|---|---|---|",
        "| account `333333333333` | **loses** read on the whole bucket | the bucket is no longer declared |",
    ]


def test_markdown_names_the_digest_and_commit_in_the_hidden_line_and_in_prose() -> None:
    plan = sample_plan()
    commit = "0123456789abcdef0123456789abcdef01234567"
    markdown = render_markdown(plan, commit=commit)
    assert parse_review(markdown) == (plan_digest(plan), commit)
    assert f"Plan digest `{plan_digest(plan)}` on commit `{commit}`" in markdown
    assert parse_review(render_markdown(plan)) == (plan_digest(plan), None)


def test_a_marker_further_down_the_comment_is_not_a_review() -> None:
    digest = "sha256:" + "0" * 64
    forged = f"hello\n{MARKER}\n<!-- bucketshare-review digest={digest} commit=none -->\n"
    assert parse_review(forged) is None
    assert parse_review(f"{MARKER}\n<!-- bucketshare-review digest=sha256:xyz commit=none -->") is None


def test_markdown_one_details_block_per_bucket_with_something_to_say() -> None:
    markdown = render_markdown(sample_plan())
    summaries = re.findall(r"^<summary>(.*)</summary>$", markdown, flags=re.MULTILINE)
    buckets = [unescaped(s).split(" ")[0] for s in summaries]
    assert buckets == ["acme-a", "acme-c", "acme-d", "acme-e"]
    assert markdown.count("<details>") == markdown.count("</details>") == 4


def test_markdown_summary_line_is_plain_html_text() -> None:
    # <summary> sits in a raw HTML block, where GitHub does not process Markdown: a backslash
    # escape or **bold** there is shown literally ("acme\-a ... **error**").
    markdown = render_markdown(sample_plan())
    summaries = re.findall(r"^<summary>(.*)</summary>$", markdown, flags=re.MULTILINE)
    assert len(summaries) == 4
    assert [s for s in summaries if "\\" in s or "**" in s] == []
    assert summaries[0].startswith("acme-a (111111111111)")


def json_values(text: str) -> list[Any]:
    """The JSON documents written one after another in text."""
    decoder, values, index = json.JSONDecoder(), [], 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        value, index = decoder.raw_decode(text, index)
        values.append(value)
    return values


def test_markdown_bucket_section_has_sentences_and_a_diff() -> None:
    markdown = render_markdown(sample_plan())
    section = section_of(markdown, "acme-a")
    shown = [html.unescape(unescaped(line)) for line in section.splitlines()]
    assert "- account `222222222222` gains read on `models/fraud/` (shares/fraud-team.yaml:8:5)" in shown
    # Nothing else is in the live policy: no "keeps 0 statements" line.
    assert "keeps" not in section
    _, blocks = fenced(section)
    assert len(blocks) == 2
    # Each new statement is shown once, whole, exactly as apply writes it, over short lines.
    assert all(line.startswith("+ ") and len(line) <= 88 for line in blocks[0])
    added = json_values("\n".join(line[2:] for line in blocks[0]))
    assert added == [d.statement for d in desired("acme-a", READER).statements]
    # Then the identity policy the new grantee attaches, as JSON to paste.
    assert "Identity policy account `222222222222` attaches on its side" in html.unescape(unescaped(section))
    consumer = json.loads("\n".join(blocks[1]))
    assert [s["Resource"] for s in consumer["Statement"]] == [a["Resource"] for a in added]


def test_markdown_shows_the_owning_team() -> None:
    # README: "owner: ... team responsible; shown in plans".
    markdown = render_markdown(sample_plan())
    assert "fraud-detection" in unescaped(section_of(markdown, "acme-a"))


# --- Markdown: hostile input ---------------------------------------------------------------

HOSTILE = "<script>alert(1)</script> @everyone </details> [x](http://evil) <!-- bucketshare-plan -->"
BACKTICKS = "`" * 10


def hostile_plan(tmp_path: Path) -> Plan:
    """Hostile text in every place YAML or AWS can put it: owner, reason, live Sids, AWS errors."""
    shares = tmp_path / "shares"
    shares.mkdir()
    (shares / "evil.yaml").write_text(
        "version: 1\n"
        "bucket: acme-evil\n"
        'account: "111111111111"\n'
        f"owner: {json.dumps(HOSTILE)}\n"
        "grants:\n"
        '  - to: "222222222222"\n'
        "    access: read\n"
        f"    reason: {json.dumps(HOSTILE + ' ```')}\n"
        "---\n"
        "version: 1\n"
        "bucket: acme-evil-2\n"
        'account: "111111111111"\n'
    )
    state = load_desired(shares, None, TODAY)
    assert state.errors == []
    unmanaged_sid = HOSTILE + "\n```\n" + BACKTICKS
    our_sid = "BucketShare" + HOSTILE + "\n```\n" + BACKTICKS
    removed = {
        **orphan_statement(our_sid, "acme-evil"),
        "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
    }
    live = [
        LivePolicy("acme-evil", OWNER, policy(orphan_statement(unmanaged_sid, "acme-evil"), removed)),
        LivePolicy("acme-evil-2", OWNER, None, HOSTILE + "\n```\n\n# injected heading\n" + BACKTICKS),
    ]
    plan = build_plan(state.buckets, live, PREFIX, "aws", [HOSTILE], [HOSTILE + "\n```"])
    # A plan file can be edited by hand: bucket and account names are not trusted either.
    evil_bucket = dataclasses.replace(plan.buckets[0], bucket="acme-" + HOSTILE, account=HOSTILE)
    return dataclasses.replace(plan, buckets=(*plan.buckets, evil_bucket))


def test_hostile_strings_never_appear_raw_outside_a_code_fence(tmp_path: Path) -> None:
    plan = hostile_plan(tmp_path)
    # The kept statement names an orphaned principal: S3 would refuse the put (test_plan_holes).
    assert [b.action for b in plan.buckets] == [BucketAction.ERROR] * 3
    markdown = render_markdown(plan)
    outside, blocks = fenced(markdown)
    structural = {MARKER, "<details>", "</details>"}
    for line in outside:
        # Inline code shows its text exactly and GitHub links nothing in it; a backtick run
        # inside is outnumbered by the delimiters (checked below), so the rest must be inert.
        spans = code_spans(line)
        for span in spans:
            assert "\n" not in span
        line = CODE_SPAN.sub("", line)
        if line in structural or (line in outside[1:3] and parse_review(markdown) is not None):
            continue  # our own hidden lines: hex and base64 only, checked by parse_review
        if re.fullmatch(r"Plan digest `sha256:[0-9a-f]{64}`\. On merge, .*", line):
            continue  # our own hex digest, the one code span outside a fence
        if re.fullmatch(r"- `arn:aws:s3:::[a-z0-9.-]+` · `s3://[a-z0-9.-]+`", line):
            continue  # a plain S3 name's ARN and URI, as code so they copy (others are escaped)
        text = (
            line.removeprefix("<summary>").removesuffix("</summary>")
            if line.startswith("<summary>")
            else line
        )
        assert "<" not in text and ">" not in text.replace("&gt;", ""), line
        assert re.search(r"@\w", text) is None, line  # a mention needs a word right after '@'
        assert "](" not in text and "[x]" not in text, line
        assert "`" not in text.replace("\\`", ""), line
    assert outside.count("<details>") == outside.count("</details>") == 3
    # The hostile text is still there for the reviewer, only defused.
    assert any("&lt;script&gt;alert" in line for line in outside)
    # Every code block holds only diff lines: nothing from inside leaked into the prose around it.
    for block in blocks:
        assert block, "empty code block"
    raw_sid_lines = [line for block in blocks for line in block if BACKTICKS in line]
    assert raw_sid_lines, "the hostile Sid's backtick run must stay inside a fence"


CODE_SPAN = re.compile(r"(?<![`\\])(`+)(?!`)(.*?)(?<!`)\1(?!`)")


def code_spans(line: str) -> list[str]:
    return [match.group(2) for match in CODE_SPAN.finditer(line)]


def rendered_html(markdown: str) -> str:
    """The comment as a CommonMark renderer (markdown-it-py, which rich already needs) turns it into HTML."""
    return MarkdownIt("commonmark").enable("table").render(markdown)


def test_hostile_markdown_renders_to_harmless_html(tmp_path: Path) -> None:
    html = rendered_html(render_markdown(hostile_plan(tmp_path)))
    assert "<script" not in html
    assert "<a " not in html
    assert html.count("<details>") == html.count("</details>") == 3
    assert html.count("<!-- bucketshare-plan -->") == 1
    # Two diffs; no identity policy, since every bucket errors and so grants nothing yet.
    assert html.count("<pre>") == 2
    assert "<h1>" not in html


def test_hostile_mentions_do_not_survive_rendering(tmp_path: Path) -> None:
    # GitHub finds @mentions in the rendered text, after entities are decoded: "&#64;everyone"
    # still notifies (github/cmark-gfm#181, openjdk/skara#1548). Code blocks are not scanned.
    # Nor is inline code: GitHub's mention filter skips text inside pre and code elements,
    # which is how a role ARN with an @ stays exact in a code span.
    html = rendered_html(render_markdown(hostile_plan(tmp_path)))
    prose = re.sub(r"<pre>.*?</pre>|<code>.*?</code>", "", html, flags=re.DOTALL)
    assert re.findall(r"@\w+", prose) == []


def test_fence_is_longer_than_any_backtick_run_inside(tmp_path: Path) -> None:
    markdown = render_markdown(hostile_plan(tmp_path))
    fences = re.findall(r"^(`{3,})diff$", markdown, flags=re.MULTILINE)
    assert fences
    assert all(len(f) > len(BACKTICKS) for f in fences)


def test_hostile_text_does_not_end_the_details_block_early(tmp_path: Path) -> None:
    markdown = render_markdown(hostile_plan(tmp_path))
    outside, _ = fenced(markdown)
    closes = [i for i, line in enumerate(outside) if line == "</details>"]
    opens = [i for i, line in enumerate(outside) if line == "<details>"]
    assert len(opens) == len(closes)
    assert all(o < c for o, c in zip(opens, closes, strict=True))
    assert all(c < o for c, o in zip(closes, opens[1:], strict=False))


# --- Markdown: size ------------------------------------------------------------------------


def many_changed_buckets(count: int) -> Plan:
    template = plan_bucket(
        desired("acme-bucket", READER, OTHER), LivePolicy("acme-bucket", OWNER, None), PREFIX, "aws"
    )
    buckets = tuple(dataclasses.replace(template, bucket=f"acme-bucket-{i:04d}") for i in range(count))
    return Plan(buckets, PREFIX, "aws")


def estate(declared: int, changing: int, erroring: int = 0) -> Plan:
    """A large estate: `declared` buckets, of which `changing` gain two readers, `erroring` fail."""
    unchanged = plan_bucket(
        desired("acme-bucket", READER),
        LivePolicy("acme-bucket", OWNER, policy(*ours("acme-bucket", READER))),
        PREFIX,
        "aws",
    )
    changed = plan_bucket(
        desired("acme-bucket", READER, OTHER),
        LivePolicy("acme-bucket", OWNER, policy(*ours("acme-bucket", READER))),
        PREFIX,
        "aws",
    )
    buckets = []
    for i in range(declared):
        name = f"acme-bucket-{i:04d}"
        if i < erroring:
            failed = LivePolicy(name, OWNER, None, f"access denied on GetBucketPolicy for bucket number {i}")
            buckets.append(plan_bucket(desired(name, READER), failed, PREFIX, "aws"))
        else:
            template = changed if i < erroring + changing else unchanged
            buckets.append(dataclasses.replace(template, bucket=name))
    return Plan(tuple(buckets), PREFIX, "aws", warnings=("discovery skipped for account 999999999999",))


def table_rows(markdown: str) -> list[str]:
    header = ("| grantee | change | why |", "|---|---|---|")
    return [line for line in markdown.splitlines() if line.startswith("| ") and line not in header]


def trimmed_count(markdown: str) -> int:
    match = re.search(
        r"^_Details of ([\d,]+) more buckets? were trimmed to keep this plan under 65,536 "
        r"characters; the full plan is in the job summary and the plan\.json artifact of this "
        r"workflow run\._$",
        markdown,
        re.M,
    )
    assert match, "no line saying how many buckets were trimmed and where the full plan is"
    return int(match.group(1).replace(",", ""))


def test_usual_pull_request_on_a_large_estate_fits_whole() -> None:
    # 2,000 declared buckets, 20 change: the comment is complete, the table whole.
    markdown = render_markdown(estate(2000, 20))
    assert len(markdown) <= 65_536
    assert "trimmed" not in markdown and "left out" not in markdown
    assert len(table_rows(markdown)) == 20  # one new reader per changed bucket
    assert markdown.count("<details>") == markdown.count("</details>") == 20
    assert "**20 buckets to change \\(20 put\\-policy, 0 delete\\-policy\\); 1,980 no\\-op;" in markdown


def test_every_bucket_changing_keeps_summary_and_errors_and_cuts_the_table_with_a_count() -> None:
    plan = estate(2000, 1970, erroring=30)
    markdown = render_markdown(plan)
    assert len(markdown) <= 65_536
    fenced(markdown)  # no half-cut code block
    # The summary and every error survive whole.
    assert (
        "**1,970 buckets to change \\(1,970 put\\-policy, 0 delete\\-policy\\); 0 no\\-op; 30 errors;"
        in markdown
    )
    for i in range(30):
        assert f"access denied on GetBucketPolicy for bucket number {i}" in markdown
    assert "discovery skipped for account 999999999999" in markdown
    assert "left out" not in markdown.split("### Who gains")[0]
    # The grantee table is cut, and says how many rows it left out.
    shown = len(table_rows(markdown))
    match = re.search(
        r"^_([\d,]+) more rows? left out to fit this comment; see the job summary", markdown, re.M
    )
    assert match and shown > 0
    assert shown + int(match.group(1).replace(",", "")) == 1970
    assert markdown.count("<details>") + trimmed_count(markdown) == 2000


def test_a_table_of_many_roles_stays_within_the_comment_limit() -> None:
    # Each row shortens a role ARN and lists it in full below the tables; those lines count too
    # (600 such rows made a comment of 95,617 characters, which GitHub refuses over 65,536).
    role = grant("arn:aws:iam::222222222222:role/" + "data-platform/" * 4 + "reader")
    template = plan_bucket(
        desired("acme-bucket", role), LivePolicy("acme-bucket", OWNER, None), PREFIX, "aws"
    )
    buckets = []
    for i in range(600):
        rows = tuple(dataclasses.replace(r, grantee=f"{r.grantee}-{i}") for r in template.access)
        buckets.append(dataclasses.replace(template, bucket=f"acme-bucket-{i:04d}", access=rows))
    markdown = render_markdown(Plan(tuple(buckets), PREFIX, "aws"))
    assert len(markdown) <= 65_536
    shown = table_rows(markdown)
    assert 0 < len(shown) < 600
    # Every role a shown row shortens is still named in full, and only those.
    listed = markdown.split("Roles, users and OUs in full:")[1].split("###")[0]
    assert listed.count("\n- ") == len(shown)


def test_full_plan_without_limit_keeps_everything() -> None:
    markdown = render_markdown(estate(300, 300), max_chars=10_000_000)
    assert len(table_rows(markdown)) == 300
    assert markdown.count("<details>") == 300


def test_short_plan_is_not_trimmed() -> None:
    markdown = render_markdown(many_changed_buckets(3))
    assert markdown.count("<details>") == 3
    assert "trimmed" not in markdown


def test_full_plan_hint_is_escaped() -> None:
    markdown = render_markdown(many_changed_buckets(2000), full_plan_hint="[artifact](http://evil)")
    assert "[artifact](http://evil)" not in markdown
    assert "\\[artifact\\]\\(http&#58;\u200b//evil\\)" in markdown


# --- JSON plan -----------------------------------------------------------------------------


def test_json_round_trip_equals_the_original_plan(tmp_path: Path) -> None:
    for plan in (sample_plan(), hostile_plan(tmp_path), many_changed_buckets(3)):
        again = loads(dumps(plan), "plan.json")
        assert again == plan
        assert plan_to_dict(again) == plan_to_dict(plan)


def test_json_plan_fields() -> None:
    data = json.loads(dumps(sample_plan()))
    assert data["format_version"] == 1
    assert list(data)[:3] == ["format_version", "sid_prefix", "partition"]
    assert data["summary"] == {
        "buckets": 5,
        "put_policy": 1,
        "delete_policy": 1,
        "create_bucket": 0,
        "no_op": 2,
        "error": 1,
        "statements_added": 3,
        "statements_changed": 0,
        "statements_removed": 3,
    }
    first = data["buckets"][0]
    assert (first["bucket"], first["action"], first["owners"]) == (
        "acme-a",
        "put-policy",
        ["fraud-detection"],
    )
    assert first["changes"][2]["sources"] == [f"{YAML}:8:5"]


@pytest.mark.parametrize("version", [2, 0, None, "1"])
def test_loads_refuses_another_format_version(version: Any) -> None:
    data = plan_to_dict(sample_plan())
    data["format_version"] = version
    with pytest.raises(BucketshareError) as info:
        loads(json.dumps(data), "plan.json")
    message = str(info.value)
    assert message == (
        f"plan.json: unsupported plan format_version {version!r}; "
        "this reconciler reads version 1: run plan again"
    )
    assert "\n" not in message


def test_loads_refuses_a_plan_without_format_version() -> None:
    data = plan_to_dict(sample_plan())
    del data["format_version"]
    with pytest.raises(BucketshareError, match=r"^plan\.json: unsupported plan format_version None"):
        loads(json.dumps(data), "plan.json")


def test_loads_reports_where_invalid_json_is() -> None:
    with pytest.raises(BucketshareError) as info:
        loads('{\n  "format_version": 1,\n  oops\n}', "plan.json")
    assert (
        str(info.value)
        == "plan.json:3:3: not a JSON plan (Expecting property name enclosed in double quotes)"
    )


def _edited(path: list[Any], value: Any) -> dict[str, Any]:
    data = plan_to_dict(sample_plan())
    target: Any = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ["buckets", 0, "action"],
            "explode",
            "plan.buckets[0].action must be one of put-policy, delete-policy",
        ),
        (
            ["buckets", 0, "new_policy"],
            ["not", "an", "object"],
            "plan.buckets[0].new_policy must be an object",
        ),
        (["buckets", 0, "new_policy"], "text", "plan.buckets[0].new_policy must be an object or null"),
        (["buckets", 0, "declared"], "yes", "plan.buckets[0].declared must be true or false"),
        (["buckets", 0, "new_size"], True, "plan.buckets[0].new_size must be a whole number"),
        (["buckets", 0, "bucket"], 7, "plan.buckets[0].bucket must be a string"),
        (["buckets", 0, "changes"], {}, "plan.buckets[0].changes must be a list"),
        (
            ["buckets", 0, "changes", 0, "after"],
            3,
            "plan.buckets[0].changes[0].after must be an object or null",
        ),
        (["buckets", 0, "warnings"], [1], "plan.buckets[0].warnings must be a list of strings"),
        (["buckets"], "all", "plan.buckets must be a list"),
        (["buckets", 0], "a bucket", "plan.buckets[0] must be an object"),
        (["sid_prefix"], None, "plan.sid_prefix must be a string"),
        (["expiring"], [{"expires": "someday"}], "plan.expiring[0].expires must be a date"),
    ],
)
def test_loads_refuses_a_malformed_plan_naming_the_field(path: list[Any], value: Any, message: str) -> None:
    with pytest.raises(BucketshareError) as info:
        loads(json.dumps(_edited(path, value)), "plan.json")
    assert str(info.value).startswith(f"plan.json: malformed plan: {message}"), str(info.value)
    assert str(info.value).endswith("; run plan again")


def test_loads_refuses_a_boolean_format_version() -> None:
    with pytest.raises(BucketshareError, match="unsupported plan format_version True"):
        loads(json.dumps(_edited(["format_version"], True)), "plan.json")


def test_loads_refuses_absurd_nesting_with_a_message() -> None:
    with pytest.raises(BucketshareError, match="nested too deeply"):
        loads('{"format_version": 1, "buckets": ' + "[" * 100_000 + "]" * 100_000 + "}", "plan.json")


# --- terminal ------------------------------------------------------------------------------


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def terminal_output(plan: Plan, file: io.StringIO) -> str:
    render_terminal(plan, make_console(file))
    return file.getvalue()


@pytest.fixture
def color_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "COLORTERM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    return monkeypatch


def test_terminal_on_a_tty_is_coloured(color_env: pytest.MonkeyPatch) -> None:
    # The control for the two tests below: without it they could pass with colour simply broken.
    assert ANSI.search(terminal_output(sample_plan(), FakeTTY()))


def test_terminal_with_no_color_has_no_escape_codes(color_env: pytest.MonkeyPatch) -> None:
    color_env.setenv("NO_COLOR", "1")
    assert "\x1b" not in terminal_output(sample_plan(), FakeTTY())


def test_terminal_into_a_file_has_no_escape_codes(color_env: pytest.MonkeyPatch) -> None:
    assert "\x1b" not in terminal_output(sample_plan(), io.StringIO())


def test_terminal_lists_summary_and_per_bucket_changes(color_env: pytest.MonkeyPatch) -> None:
    plan = sample_plan()
    output = terminal_output(plan, io.StringIO())
    lines = output.splitlines()
    size = len(json.dumps(plan.buckets[0].new_policy, separators=(",", ":")))
    assert lines[0] == "bucketshare plan"
    assert lines[4] == (
        "2 buckets to change (1 put-policy, 1 delete-policy); 2 no-op; 1 error; "
        "statements: 3 to add, 0 to change, 3 to remove"
    )
    assert lines[1] == "error: acme-e: access denied on GetBucketPolicy: needs s3:GetBucketPolicy"
    assert "warning: plan warning" in lines
    assert f"acme-a (account 111111111111) [fraud-detection]: put-policy  [{size:,}/20,480 bytes]" in lines
    assert "  + BucketShareObjectsReadAccountPD8D6D6E718" in lines
    assert "      account 222222222222 gains read on models/fraud/ (shares/fraud-team.yaml:8:5)" in lines
    assert "acme-d (account 111111111111): delete-policy" in lines
    assert "  - BucketShareObjectsReadAccountAll" in lines
    assert (
        "      account 333333333333 loses read on the whole bucket (the bucket is no longer declared)"
        in lines
    )
    assert "acme-e (account 111111111111): error" in lines
    assert "  error: access denied on GetBucketPolicy: needs s3:GetBucketPolicy" in lines
    assert any(line.startswith("  warning: statement Legacy names orphaned principal") for line in lines)
    assert not any(line.startswith("acme-b ") for line in lines)
    assert "No changes" not in output


def test_terminal_says_when_nothing_changes(color_env: pytest.MonkeyPatch) -> None:
    plan = build_plan(
        [desired("acme-b", READER)],
        [LivePolicy("acme-b", OWNER, policy(*ours("acme-b", READER)))],
        PREFIX,
        "aws",
    )
    output = terminal_output(plan, io.StringIO())
    assert output.splitlines()[-1] == "No changes. Live bucket policies match the declarations."


def test_terminal_shows_a_field_diff_for_a_changed_statement(color_env: pytest.MonkeyPatch) -> None:
    tampered = ours("acme-a", READER)
    tampered[-1]["Action"] = [*tampered[-1]["Action"], "s3:DeleteObject"]
    plan = build_plan(
        [desired("acme-a", READER)], [LivePolicy("acme-a", OWNER, policy(*tampered))], PREFIX, "aws"
    )
    lines = terminal_output(plan, io.StringIO()).splitlines()
    assert "  ~ BucketShareObjectsReadAccountPD8D6D6E718" in lines
    assert '      -    "s3:DeleteObject",' in lines
    assert "      --- live BucketShareObjectsReadAccountPD8D6D6E718" in lines


def test_terminal_prints_markup_literally(color_env: pytest.MonkeyPatch) -> None:
    plan = dataclasses.replace(
        sample_plan(), warnings=("[bold red]not markup[/bold red] [link=http://x]y[/link]",)
    )
    output = terminal_output(plan, io.StringIO())
    assert "warning: [bold red]not markup[/bold red] [link=http://x]y[/link]" in output.splitlines()


def test_terminal_shows_the_owning_team(color_env: pytest.MonkeyPatch) -> None:
    # README: "owner: ... team responsible; shown in plans".
    assert "fraud-detection" in terminal_output(sample_plan(), io.StringIO())


def test_terminal_does_not_pass_escape_codes_from_aws_through(color_env: pytest.MonkeyPatch) -> None:
    # An AWS error message or a live Sid is untrusted text; in a CI log it must not drive the terminal.
    plan = dataclasses.replace(
        sample_plan(), errors=("GetBucketPolicy failed with X: \x1b[2J\x1b[1A hidden",)
    )
    assert "\x1b" not in terminal_output(plan, io.StringIO())


# --- journal -------------------------------------------------------------------------------


def entry(bucket: str, outcome: str, run: str = "run1", new: str | None = "{}") -> JournalEntry:
    return JournalEntry(run, "2026-01-15T10:00:00+00:00", bucket, OWNER, "put-policy", None, new, outcome)


def test_journal_append_and_entries_round_trip(tmp_path: Path) -> None:
    journal = Journal(tmp_path / ".bucketshare" / "journal.jsonl")
    written = [
        entry("acme-a", "pending"),
        dataclasses.replace(entry("acme-a", "applied"), written_hash="sha256:ab"),
        entry("acme-b", "pending"),
        dataclasses.replace(entry("acme-b", "failed"), message="access denied"),
    ]
    for item in written:
        journal.append(item)
    assert journal.entries() == written
    lines = journal.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4
    assert json.loads(lines[1])["written_hash"] == "sha256:ab"


def test_journal_runs_hold_each_runs_writes_per_bucket(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    first = entry("acme-a", "applied", "run1", '{"v":1}')
    second = entry("acme-a", "applied", "run2", '{"v":2}')
    for item in (
        entry("acme-a", "pending"),
        first,
        entry("acme-b", "pending"),
        entry("acme-b", "failed"),
        entry("acme-a", "pending", "run2"),
        second,
        entry("acme-a", "failed", "run3"),
    ):
        journal.append(item)
    runs = {run.id: run for run in journal.runs()}
    assert list(runs) == ["run1", "run2", "run3"]
    assert runs["run1"].writes["acme-a"] == [entry("acme-a", "pending"), first]
    assert [e.outcome for e in runs["run1"].writes["acme-b"]] == ["pending", "failed"]
    assert runs["run2"].writes["acme-a"] == [entry("acme-a", "pending", "run2"), second]
    assert [e.outcome for e in runs["run3"].writes["acme-a"]] == ["failed"]


def test_journal_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    Journal(path).append(entry("acme-a", "applied"))
    path.write_text(path.read_text() + "\n\n", encoding="utf-8")
    assert Journal(path).entries() == [entry("acme-a", "applied")]


def test_missing_journal_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.jsonl"
    with pytest.raises(BucketshareError) as info:
        Journal(path).entries()
    assert str(info.value) == f"{path}: journal not found"


@pytest.mark.parametrize(
    "corrupt",
    [
        b'{"run": "run2", "time": "2026-01-15T10:00:00+00:00", "bucket": "acme-a", "acc',
        b"not json at all",
        b'["a", "list"]',
        b'{"run": "run2"}',
        b'{"run": "r", "time": "t", "bucket": "b", "account": "a", "action": "put-policy", '
        b'"previous_policy": null, "new_policy": null, "outcome": "applied", "surprise": 1}',
        b'{"run": "r", "time": "t", "bucket": "b\xff\xfe", "account": "a"}',
        b'{"run": "r", "time": "t", "bucket": 7, "account": "a", "action": "put-policy", '
        b'"previous_policy": {"not": "text"}, "new_policy": null, "outcome": "applied"}',
    ],
    ids=["truncated", "not-json", "list", "missing-fields", "unknown-field", "invalid-utf8", "wrong-types"],
)
def test_a_corrupt_journal_line_is_skipped_and_named(tmp_path: Path, corrupt: bytes) -> None:
    path = tmp_path / "journal.jsonl"
    Journal(path).append(entry("acme-a", "applied"))
    with path.open("ab") as handle:
        handle.write(corrupt + b"\n")
    Journal(path).append(entry("acme-b", "applied"))
    journal = Journal(path)
    assert [e.bucket for e in journal.entries()] == ["acme-a", "acme-b"]
    [skipped] = journal.skipped
    assert skipped.startswith(f"{path}:2:1: skipped, not a journal entry (")
    assert "\n" not in skipped


def test_terminal_grantee_table_never_cuts_a_name_short(color_env: pytest.MonkeyPatch) -> None:
    # In a CI log rich would assume 80 columns and end cells with "…": a cut ARN misleads.
    role = "arn:aws:iam::444444444444:role/inference/" + "batch-scoring-" * 6 + "nightly"
    plan = build_plan([desired("acme-a", grant(role))], [LivePolicy("acme-a", OWNER, None)], PREFIX, "aws")
    output = terminal_output(plan, io.StringIO())
    table = output.split("who gains and who loses access", 1)[1].split("\n\n", 1)[0]
    assert "…" not in table
    assert "".join(re.findall(r"[a-z:/0-9-]+", table.replace("│", " "))).count("nightly") == 1
    assert "shares/fraud-team.yaml:8:5" in table


@pytest.mark.parametrize(
    "text",
    ["see www.evil.example now", "go to https://evil.example/x", "WWW.Evil.Example", "ftp://x.example"],
)
def test_bare_links_in_untrusted_text_do_not_become_links(text: str) -> None:
    # GitHub links bare www. names and URLs in the rendered text (GFM autolinks): break them.
    shown = html.unescape(unescaped(escape(text)))
    assert re.search(r"(?i)\bwww\.", shown) is None
    assert "://" not in shown
    assert shown.replace("\u200b", "") == text


def test_bidirectional_overrides_are_dropped_from_prose() -> None:
    assert escape("bucket\u202eevil\u2066x") == "bucketevilx"
