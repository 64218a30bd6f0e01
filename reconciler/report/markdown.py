"""The plan as a pull-request comment.

Order: errors, warnings, grants expiring soon, one line of totals and the digest, the table
of who gains and loses what, then per-bucket details collapsed. Over GitHub's comment limit
the details go first, then table rows (with a count), never the summary or the errors.

Everything that came from YAML or AWS is untrusted: escaped in prose and table cells
(no HTML, no @mentions, no links), and fenced in code blocks with a fence longer than
any backtick run inside, so nothing can break out or forge the marker.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re

from reconciler.digest import decode_reviewed, encode_reviewed, plan_digest
from reconciler.plan import BucketAction, BucketPlan, ChangeKind, Plan, PolicyKind
from reconciler.render import bucket_arn, bucket_uri
from reconciler.report import summary
from reconciler.report.diffs import statement_diff

MARKER = "<!-- bucketshare-plan -->"
"""First line of every plan comment: how the workflows find the one comment per PR."""
_REVIEW_LINE = re.compile(
    r"^<!-- bucketshare-review digest=(sha256:[0-9a-f]{64}) commit=([0-9a-f]{7,64}|none) -->$"
)
_REVIEWED_LINE = re.compile(r"^<!-- bucketshare-reviewed-buckets ([A-Za-z0-9+/=]*) -->$")
MAX_COMMENT_CHARS = 65_536
"""GitHub refuses a comment body of more characters than this."""
_MARGIN = 2_048
"""Room for the few lines a workflow puts above a plan it quotes (a refused apply)."""
FULL_PLAN_HINT = "the job summary and the plan.json artifact of this workflow run"
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_BARE_LINK = re.compile(r"(?i)\b(www)(?=\.)")
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


def escape(text: str) -> str:
    """Inline-safe text: HTML entities, Markdown punctuation escaped, mentions and links defused."""
    text = _BIDI.sub("", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _SPECIAL.sub(r"\\\1", text)
    # GitHub finds @mentions and bare links (www.x, http://x) in the rendered text, after
    # entities are decoded: break them with a zero-width space, which a reader does not see.
    text = _BARE_LINK.sub("\\1\u200b", text)
    text = text.replace("://", ":\u200b//").replace("@", "@\u200b").replace(":", "&#58;")
    return " ".join(text.split())


def code_block(lines: list[str], language: str = "") -> str:
    body = "\n".join(lines)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{body}\n{fence}"


def review_line(digest: str, commit: str | None) -> str:
    """The hidden second line: the digest reviewers saw and the commit it was planned on."""
    return f"<!-- bucketshare-review digest={digest} commit={commit or 'none'} -->"


def reviewed_line(plan: Plan) -> str | None:
    """The hidden third line: the changing buckets, so apply can say what moved since review."""
    encoded = encode_reviewed(plan)
    return None if encoded is None else f"<!-- bucketshare-reviewed-buckets {encoded} -->"


def parse_reviewed(body: str) -> dict[str, tuple[str, str, str]] | None:
    """The reviewed buckets from a plan comment's third line, or None when absent."""
    if parse_review(body) is None:
        return None
    lines = body.replace("\r\n", "\n").split("\n", 3)
    match = _REVIEWED_LINE.match(lines[2]) if len(lines) > 2 else None
    return None if match is None else decode_reviewed(match.group(1))


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
    full_plan_hint: str = FULL_PLAN_HINT,
    commit: str | None = None,
    max_chars: int = MAX_COMMENT_CHARS,
    today: dt.date | None = None,
) -> str:
    """The comment; at most max_chars characters, trimming details first, then table rows."""
    digest = plan_digest(plan)  # hashes every new policy: once per comment
    head = [MARKER, review_line(digest, commit)]
    reviewed = reviewed_line(plan)
    if reviewed is not None and len(reviewed) < max_chars // 4:
        head.append(reviewed)
    head += ["## bucketshare plan", ""]
    if (partial := summary.partial(plan)) is not None:
        head += [f"_{escape(partial)}_", ""]
    budget = max_chars - _MARGIN - len("\n".join(head))
    hint = escape(full_plan_hint)
    blocks: list[str] = []
    for title, items in (
        ("Errors", summary.errors(plan)),
        ("Warnings", summary.warnings(plan)),
        ("Expiring soon", summary.expiring(plan, today)),
    ):
        if items:
            block = _bullets(title, items, budget // 2, hint)
            blocks.append(block)
            budget -= len(block) + 1
    totals = f"**{escape(summary.totals(plan))}.**\n\n{_digest_sentence(digest, commit)}"
    blocks.append(totals)
    budget -= len(totals) + 1
    table = _grantee_table(plan, budget, hint)
    if table:
        blocks.append(table)
        budget -= len(table) + 1
    blocks.extend(_details(plan, budget, hint, max_chars))
    return "\n".join(head) + "\n" + "\n\n".join(blocks) + "\n"


def _digest_sentence(digest: str, commit: str | None) -> str:
    where = f" on commit `{commit}`" if commit else ""
    return (
        f"Plan digest `{digest}`{where}. On merge, apply runs only if a fresh plan of the "
        "merge commit has this same digest."
    )


def _bullets(title: str, items: list[str], budget: int, hint: str) -> str:
    lines = [f"**{title}**", ""]
    used = sum(len(line) + 1 for line in lines)
    for shown, item in enumerate(items):
        line = f"- {escape(item)}"
        if used + len(line) + 1 > budget:
            lines.append(f"- _and {len(items) - shown:,} more; all are in {hint}._")
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)


def _grantee_table(plan: Plan, budget: int, hint: str) -> str:
    rows = summary.grantee_rows(plan)
    if not rows:
        return ""
    lines = [
        "### Who gains and who loses access",
        "",
        "| " + " | ".join(summary.ROW_HEADERS) + " |",
        "|" + "---|" * len(summary.ROW_HEADERS),
    ]
    used = sum(len(line) + 1 for line in lines) + 200
    for shown, row in enumerate(rows):
        cells = [escape(cell) for cell in summary.row_cells(row)]
        cells[0] = f"**{cells[0]}**"
        line = "| " + " | ".join(cells) + " |"
        if used + len(line) + 1 > budget:
            left = len(rows) - shown
            lines += ["", f"_{summary.plural(left, 'more row')} left out to fit this comment; see {hint}._"]
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)


def _details(plan: Plan, budget: int, hint: str, max_chars: int) -> list[str]:
    sections = [
        _bucket_section(b, plan.partition)
        for b in plan.policies
        if b.action is not BucketAction.NOOP or b.warnings
    ]
    if not sections:
        return []
    kept = ["### Details per bucket" + (" and KMS key" if plan.keys else "")]
    budget -= len(kept[0]) + 300
    for section in sections:
        if len(section) + 2 > budget:
            break
        kept.append(section)
        budget -= len(section) + 2
    trimmed = len(sections) - (len(kept) - 1)
    if trimmed:
        kept.append(
            f"_Details of {summary.plural(trimmed, 'more bucket')} were trimmed to keep this plan "
            f"under {max_chars:,} characters; the full plan is in {hint}._"
        )
    return kept


def _summary_text(plan: BucketPlan) -> str:
    # <summary> is raw HTML: Markdown is not processed there, so escape HTML only.
    owners = f" [{', '.join(plan.owners)}]" if plan.owners else ""
    size = f", {plan.new_size:,}/{plan.size_limit:,} bytes" if plan.new_policy is not None else ""
    name = summary.policy_name(plan)
    title = html.escape(f"{name} ({plan.account}){owners}: {plan.action.value}{size}")
    return title.replace("@", "@\u200b").replace("[", "&#91;").replace("]", "&#93;").replace(":", "&#58;")


def _bucket_section(plan: BucketPlan, partition: str) -> str:
    lines = ["<details>", f"<summary>{_summary_text(plan)}</summary>", ""]
    if plan.kind is PolicyKind.BUCKET:
        lines.append(f"- {_names(plan.bucket, partition)}")
    if plan.create is not None:
        lines.append(f"- **{escape(plan.create.describe())}**")
    lines += [f"- **error**: {escape(message)}" for message in plan.errors]
    lines += [f"- warning: {escape(message)}" for message in plan.warnings]
    lines += [f"- {escape(sentence)}" for change in plan.changes for sentence in change.sentences]
    if plan.changes:
        kept = summary.plural(plan.kept_statements, "statement")
        lines.append(f"- keeps {kept} bucketshare does not own, unchanged")
    diff = [line for c in plan.changes if c.kind is ChangeKind.CHANGE for line in statement_diff(c)]
    compact = [_compact(c.kind, c.before or c.after) for c in plan.changes if c.kind is not ChangeKind.CHANGE]
    if diff:
        lines += ["", code_block(diff, "diff")]
    if compact:
        lines += ["", code_block(compact, "diff")]
    if plan.key_statements:
        lines += ["", f"Statements the key policy of `{escape(plan.kms_key or '')}` needs:", ""]
        lines.append(code_block(summary.json_lines(list(plan.key_statements)), "json"))
    for consumer in plan.consumer_policies:
        lines += ["", f"Identity policy {escape(consumer.grantee)} attaches on its side:", ""]
        lines.append(code_block(summary.json_lines(consumer.document), "json"))
    lines += ["", "</details>"]
    return "\n".join(lines)


_PLAIN_NAME = re.compile(r"^[a-z0-9.-]{1,63}\Z")


def _names(bucket: str, partition: str) -> str:
    """ARN and s3:// URI as inline code, so they copy as they are; a name that is not a plain
    S3 name (a hand-edited saved plan) is escaped like any other untrusted text instead."""
    arn, uri = bucket_arn(bucket, partition), bucket_uri(bucket)
    if _PLAIN_NAME.match(bucket) and _PLAIN_NAME.match(partition.replace("-", "")):
        return f"`{arn}` · `{uri}`"
    return f"{escape(arn)} · {escape(uri)}"


def _compact(kind: ChangeKind, statement: object) -> str:
    """A statement added or removed, once, on one line."""
    sign = "+" if kind is ChangeKind.ADD else "-"
    body = json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{sign} {body}"
