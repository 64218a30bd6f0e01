"""The plan as a pull-request comment.

Everything that came from YAML or AWS is untrusted: escaped in prose and table cells
(no HTML, no @mentions, no links), and fenced in code blocks with a fence longer than
any backtick run inside, so nothing can break out.
"""

from __future__ import annotations

import html
import re

from reconciler.digest import plan_digest
from reconciler.plan import BucketAction, BucketPlan, Plan
from reconciler.report.diffs import statement_diff
from reconciler.report.jsonplan import summary

MARKER = "<!-- bucketshare-plan -->"
"""First line of every plan comment: how the workflows find the one comment per PR."""
_REVIEW_LINE = re.compile(
    r"^<!-- bucketshare-review digest=(sha256:[0-9a-f]{64}) commit=([0-9a-f]{7,64}|none) -->$"
)
MAX_COMMENT_CHARS = 65_000
MAX_TABLE_ROWS = 100
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")
_ICON = {
    BucketAction.PUT: "update",
    BucketAction.DELETE: "delete policy",
    BucketAction.NOOP: "no change",
    BucketAction.ERROR: "**error**",
}


def escape(text: str) -> str:
    """Inline-safe text: HTML entities, Markdown punctuation escaped, @mentions defused."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _SPECIAL.sub(r"\\\1", text)
    # GitHub finds @mentions after rendering, so an entity would still notify: break the word.
    text = text.replace("@", "@\u200b").replace(":", "&#58;")
    return " ".join(text.split())


def code_block(lines: list[str], language: str = "") -> str:
    body = "\n".join(lines)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{body}\n{fence}"


def review_line(plan: Plan, commit: str | None) -> str:
    """The hidden second line: the digest reviewers saw and the commit it was planned on."""
    return f"<!-- bucketshare-review digest={plan_digest(plan)} commit={commit or 'none'} -->"


def parse_review(body: str) -> tuple[str, str | None] | None:
    """(digest, commit) from a plan comment's head, or None when it is not one.

    Only the first two lines count: anything further down is rendered plan content, and
    text from YAML or a live policy must never pass for a marker.
    """
    lines = body.replace("\r\n", "\n").split("\n", 2)
    if len(lines) < 2 or lines[0] != MARKER:
        return None
    match = _REVIEW_LINE.match(lines[1])
    if match is None:
        return None
    commit = match.group(2)
    return match.group(1), None if commit == "none" else commit


def render_markdown(
    plan: Plan,
    full_plan_hint: str = "the workflow's plan.json artifact",
    commit: str | None = None,
) -> str:
    head = [MARKER, review_line(plan, commit), "## bucketshare plan", "", _summary_table(plan), ""]
    for message in plan.errors:
        head.append(f"- **error**: {escape(message)}")
    for message in plan.warnings:
        head.append(f"- warning: {escape(message)}")
    header = "\n".join(head) + "\n"
    sections = [_bucket_section(b) for b in plan.buckets if b.action is not BucketAction.NOOP or b.warnings]
    budget = MAX_COMMENT_CHARS - len(header) - 400
    kept: list[str] = []
    for section in sections:
        if len(section) + 1 > budget:
            break
        kept.append(section)
        budget -= len(section) + 1
    trimmed = sections[len(kept) :]
    parts = [header, *kept]
    if trimmed:
        parts.append(
            f"_Details of {len(trimmed)} more buckets were trimmed to keep this comment under "
            f"{MAX_COMMENT_CHARS} characters; the full plan is in {escape(full_plan_hint)}._"
        )
    return "\n".join(parts) + "\n"


def _summary_table(plan: Plan) -> str:
    counts = summary(plan)
    rows = [
        "| buckets | put-policy | delete-policy | no-op | error | statements +/~/- |",
        "|---|---|---|---|---|---|",
        (
            f"| {counts['buckets']} | {counts['put_policy']} | {counts['delete_policy']} | {counts['no_op']} "
            f"| {counts['error']} | +{counts['statements_added']} ~{counts['statements_changed']} "
            f"-{counts['statements_removed']} |"
        ),
    ]
    changed = [b for b in plan.buckets if b.action is not BucketAction.NOOP]
    if changed:
        rows += ["", "| bucket | account | owners | action | size | changes |", "|---|---|---|---|---|---|"]
        for b in changed[:MAX_TABLE_ROWS]:
            size = f"{b.new_size}/{b.size_limit}" if b.new_policy is not None else "-"
            owners = escape(", ".join(b.owners)) or "-"
            cells = [escape(b.bucket), escape(b.account), owners, _ICON[b.action], size, str(len(b.changes))]
            rows.append("| " + " | ".join(cells) + " |")
        if len(changed) > MAX_TABLE_ROWS:
            rows.append(
                f"\n_{len(changed) - MAX_TABLE_ROWS} more changed buckets are listed in the full plan._"
            )
    return "\n".join(rows)


def _bucket_section(plan: BucketPlan) -> str:
    # <summary> is raw HTML: Markdown is not processed there, so escape HTML only.
    owners = f" [{', '.join(plan.owners)}]" if plan.owners else ""
    title = html.escape(f"{plan.bucket} ({plan.account}){owners}: {plan.action.value}")
    title = title.replace("@", "@\u200b").replace("[", "&#91;").replace("]", "&#93;").replace(":", "&#58;")
    lines = ["<details>", f"<summary>{title}</summary>", ""]
    for message in plan.errors:
        lines.append(f"- **error**: {escape(message)}")
    for message in plan.warnings:
        lines.append(f"- warning: {escape(message)}")
    for change in plan.changes:
        for sentence in change.sentences:
            lines.append(f"- {escape(sentence)}")
    lines.append(f"- keeps {plan.kept_statements} statements bucketshare does not own")
    diff: list[str] = []
    for change in plan.changes:
        diff.extend(statement_diff(change))
    if diff:
        lines += ["", code_block(diff, "diff")]
    lines += ["", "</details>"]
    return "\n".join(lines)
