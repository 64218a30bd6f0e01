"""`plan --format markdown` is posted as a pull-request comment: structure, and untrusted text
from YAML and from live policies that must not become HTML, mentions or a broken fence."""

from __future__ import annotations

import re

from reconciler.report.review_marks import parse_review

from .conftest import Workspace, read_grant

MARKER = "<!-- bucketshare-plan -->"
HOSTILE = "<script>alert(1)</script> @everyone ``` [x](https://evil.example)"
_ALLOWED_HTML = re.compile(
    r"<(/?details|/?summary)>|<!-- bucketshare-plan -->"
    r"|<!-- bucketshare-review digest=sha256:[0-9a-f]{64} commit=none -->"
    r"|<!-- bucketshare-reviewed-buckets [A-Za-z0-9+/=]+ -->"
)


CODE_SPAN = re.compile(r"(?<![`\\])(`+)(?!`)(.*?)(?<!`)\1(?!`)")


def split_fences(markdown: str) -> tuple[str, list[str]]:
    """(text outside fenced code blocks, the blocks' bodies), the way CommonMark reads fences."""
    outside: list[str] = []
    blocks: list[str] = []
    lines = markdown.splitlines()
    index = 0
    while index < len(lines):
        opening = re.match(r"^ {0,3}(`{3,})[^`]*$", lines[index])
        if opening is None:
            outside.append(lines[index])
            index += 1
            continue
        fence = len(opening.group(1))
        body: list[str] = []
        index += 1
        while index < len(lines) and not re.match(rf"^ {{0,3}}`{{{fence},}}\s*$", lines[index]):
            body.append(lines[index])
            index += 1
        assert index < len(lines), "a fenced block is never closed"
        blocks.append("\n".join(body))
        index += 1
    return "\n".join(outside), blocks


def test_markdown_plan_structure_and_escaping(ws: Workspace) -> None:
    changed, quiet, tampered = ws.bucket("changed"), ws.bucket("quiet"), ws.bucket("tampered")
    ws.declare(quiet, read_grant("222222222222"))
    ws.declare(tampered, read_grant("333333333333"))
    assert ws.apply().rc == 0

    # Someone edits one of our statements by hand, with a backtick run longer than a fence.
    live = ws.policy(tampered)
    assert live is not None
    ours = next(s for s in live["Statement"] if s["Sid"].startswith("BucketShareObjects"))
    ours["Condition"] = {"StringEquals": {"aws:UserAgent": "````` <b>@everyone</b>"}}
    ws.put_policy(tampered, live)

    orphan_sid = "Legacy<img src=x onerror=alert(2)>@everyone```"
    ws.put_policy(
        changed,
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": orphan_sid,
                    "Effect": "Allow",
                    "Principal": {"AWS": "AROAEXAMPLEID1234567"},
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{changed}/*",
                }
            ],
        },
    )
    prefix = "x<script>alert(1)</script>@everyone```y/"
    ws.write(
        "changed.yaml",
        f'version: 1\nbucket: {changed}\naccount: "{ws.account}"\nowner: "{HOSTILE}"\n'
        f'grants:\n  - to: "222222222222"\n    access: read\n    prefixes: ["{prefix}"]\n'
        f'    reason: "{HOSTILE}"\n',
    )

    out = ws.root / "plan.md"
    result = ws.plan("--format", "markdown", "--out", out, "--detailed-exitcode")
    # The orphaned principal in the kept statement makes that bucket's put an error (S3 would
    # refuse it); its plan is still written, errors first.
    assert result.rc == 1, result.text
    markdown = out.read_text(encoding="utf-8")

    assert markdown.splitlines()[0] == MARKER
    assert "**1 bucket to change \\(1 put\\-policy, 0 delete\\-policy\\); 1 no\\-op; 1 error;" in markdown
    assert markdown.count("<details>") == 2
    assert markdown.count("</details>") == 2
    summaries = re.findall(r"<summary>(.*)</summary>", markdown)
    assert len(summaries) == 2
    unescaped = [s.replace("\\", "") for s in summaries]
    assert any(changed in s for s in unescaped)
    assert any(tampered in s for s in unescaped)
    assert not any(quiet in s for s in unescaped)

    outside, blocks = split_fences(markdown)
    # Inline code shows untrusted text exactly, inert: GitHub renders no HTML and links no
    # mention inside it. The spans are set aside, the rest must hold no live markup at all.
    spans = [m.group(2) for m in CODE_SPAN.finditer(outside)]
    outside = CODE_SPAN.sub("", outside)
    assert any(prefix in span for span in spans), "the hostile prefix is shown exactly, as code"
    for bad in ("<script", "<img", "<b>", "@everyone"):
        assert bad not in outside, f"{bad!r} escaped the escaping:\n{outside}"
    # Markdown is not processed inside the raw-HTML <summary> line; everywhere else it is.
    prose = "\n".join(line for line in outside.splitlines() if not line.startswith("<summary>"))
    for bad in ("```", "](http"):
        assert bad not in prose, f"{bad!r} escaped the escaping:\n{prose}"
    for tag in re.findall(r"<[^>]*>", outside):
        assert _ALLOWED_HTML.fullmatch(tag), f"unexpected HTML {tag!r} outside code"
    # The untrusted text is still there for a reviewer, escaped or fenced.
    assert "&lt;script&gt;" in outside
    assert "everyone" in outside
    assert "AROAEXAMPLEID1234567" in outside
    assert any("<script>alert(1)</script>@everyone```y/" in block for block in blocks)
    assert any("````` <b>@everyone</b>" in block for block in blocks)


def test_markdown_and_text_plans_name_the_owner(ws: Workspace) -> None:
    """README: `owner: team responsible; shown in plans`."""
    bucket = ws.bucket("owned")
    ws.declare(bucket, read_grant("222222222222"), owner="fraud-detection")
    text = ws.plan()
    assert "fraud-detection" in text.out
    out = ws.root / "plan.md"
    assert ws.plan("--format", "markdown", "--out", out).rc == 0
    assert "fraud-detection" in out.read_text(encoding="utf-8").replace("\\", "")


def test_markdown_summary_line_holds_no_markdown_escapes(ws: Workspace) -> None:
    """<summary> sits inside an HTML block, where CommonMark does not process backslash escapes:
    a bucket name escaped for Markdown (bs\\-name) would show its backslashes on GitHub."""
    bucket = ws.bucket("named")
    ws.declare(bucket, read_grant("222222222222"))
    out = ws.root / "plan.md"
    assert ws.plan("--format", "markdown", "--out", out).rc == 0
    summary = re.findall(r"<summary>(.*)</summary>", out.read_text(encoding="utf-8"))
    assert len(summary) == 1
    assert bucket in summary[0]
    assert "\\" not in summary[0]


def test_summary_out_holds_the_same_plan_untrimmed(ws: Workspace) -> None:
    buckets = [ws.bucket(f"sum{i}") for i in range(3)]
    for bucket in buckets:
        ws.declare(bucket, read_grant("222222222222"))
    comment, summary = ws.root / "plan.md", ws.root / "summary.md"
    result = ws.plan(
        "--format", "markdown", "--out", comment, "--summary-out", summary, "--commit", "abc1234"
    )
    assert result.rc == 0, result.text
    full = summary.read_text(encoding="utf-8")
    assert full.splitlines()[:3] == comment.read_text(encoding="utf-8").splitlines()[:3]
    assert full.count("<details>") == 3 and "trimmed" not in full


def test_summary_out_into_a_missing_folder_is_one_line(ws: Workspace) -> None:
    ws.declare(ws.bucket("sumerr"), read_grant("222222222222"))
    result = ws.plan("--summary-out", ws.root / "no" / "such" / "summary.md")
    assert result.rc == 1
    assert result.err.strip().splitlines()[-1].startswith("error: ")
    assert "Traceback" not in result.text


def test_markdown_plan_is_written_when_the_declarations_have_errors(ws: Workspace) -> None:
    """The workflow posts plan.md whatever the exit code: a plan the declarations stopped must
    still say why, and carry nothing a reviewer could approve."""
    ws.write("broken.yaml", "version: 1\nbucket: Not_A_Bucket\n")
    comment, summary = ws.root / "plan.md", ws.root / "summary.md"
    result = ws.plan("--format", "markdown", "--out", comment, "--summary-out", summary)
    assert result.rc == 1, result.text
    assert "Traceback" not in result.text
    markdown = comment.read_text(encoding="utf-8")
    assert markdown.splitlines()[0] == MARKER
    assert parse_review(markdown) is None  # no digest: nothing to approve
    problems = [line for line in markdown.splitlines() if line.startswith("- ")]
    count = len(problems)
    assert f"the declarations have {count} problem{'s' if count != 1 else ''}" in markdown
    assert any("broken.yaml" in line.replace("\\", "") for line in problems)
    assert summary.read_text(encoding="utf-8") == markdown
