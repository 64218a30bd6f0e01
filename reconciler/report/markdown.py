"""The plan as a pull-request comment, written to read at GitHub's width (a 746 px body).

Order: errors, warnings, grants expiring soon, one line of totals and the digest, who gains
and loses what (one short table per bucket, under the bucket's heading), then per-bucket
details collapsed. Over GitHub's comment limit the details go first, then table rows (with
a count), never the summary or the errors.

Everything that came from YAML or AWS is untrusted: escaped in prose (no HTML, no
@mentions, no links), or shown exactly as inline code or in code blocks, whose delimiters
are longer than any backtick run inside, so nothing can break out or forge the marker.
GitHub links no mention, issue or URL inside code, so code needs no defusing: what a reader
copies from it is the text itself.
"""

from __future__ import annotations

import datetime as dt
import html
import re

from reconciler.digest import decode_reviewed, encode_reviewed, plan_digest
from reconciler.explain import UNDECLARED, AccessChange, Direction
from reconciler.plan import BucketAction, BucketPlan, ChangeKind, Plan, PolicyKind, StatementChange
from reconciler.render import bucket_arn, bucket_uri
from reconciler.report import summary
from reconciler.report.diffs import COMMENT_COLUMNS, added_lines, pretty_json, removed_lines, statement_diff

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


_INVISIBLE = re.compile("[\u0000-\u001f\u007f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]")


def code_span(text: str, in_table: bool = False) -> str:
    """Inline code showing text exactly: delimited by a backtick run longer than any inside,
    on one line (control, zero-width and bidi characters become spaces or go). In a table
    cell a `|` is escaped: GFM splits cells before it reads code spans, and drops the `\\`."""
    text = " ".join(_INVISIBLE.sub(" ", text).split()) or " "
    if in_table:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    tick = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{tick}{pad}{text}{pad}{tick}"


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


PULL_REQUEST = "in this pull request"
"""How a partial plan's comparison revision reads in a comment on the pull request."""


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
    if (partial := summary.partial(plan, PULL_REQUEST)) is not None:
        head += [f"_{escape(partial)}_", ""]
    budget = max_chars - _MARGIN - len("\n".join(head))
    hint = escape(full_plan_hint)
    blocks: list[str] = []
    for title, items in (
        ("Errors", summary.errors(plan)),
        ("Warnings", [_untagged(w) for w in summary.warnings(plan)]),
        ("Expiring soon", summary.expiring(plan, today)),
    ):
        if items:
            block = _bullets(title, items, budget // 2, hint)
            blocks.append(block)
            budget -= len(block) + 1
    totals = f"**{escape(summary.totals(plan))}.**\n\n{_digest_sentence(digest, commit)}"
    blocks.append(totals)
    budget -= len(totals) + 1
    table = _grantee_tables(plan, budget, hint)
    if table:
        blocks.append(table)
        budget -= len(table) + 1
    blocks.extend(_details(plan, budget, hint, max_chars))
    return "\n".join(head) + "\n" + "\n\n".join(blocks) + "\n"


def render_unplanned(problems: list[str], in_declarations: bool = True) -> str:
    """The comment when no plan could be made (declarations that do not load, an AWS error):
    it has no review line, so nothing in it can be approved, and says what to fix."""
    lines = [MARKER, "## bucketshare plan", ""]
    if in_declarations:
        said = f"the declarations have {summary.plural(len(problems), 'problem')}"
    else:
        said = "bucketshare stopped with an error"
    lines.append(f"**Nothing was planned: {said}.** Once that is fixed and pushed, the plan follows.")
    errors = _bullets("Errors", problems, MAX_COMMENT_CHARS - _MARGIN, "the job log")
    return "\n".join(lines) + "\n\n" + errors + "\n"


_TAGGED = re.compile(r"^(\S+:\d+:\d+): warning: ")


def _untagged(warning: str) -> str:
    """A declaration warning under the Warnings heading, without its own `warning:` tag."""
    return _TAGGED.sub(r"\1: ", warning)


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


TABLE_HEADER = ("| grantee | change | why |", "|---|---|---|")


def _grantee_tables(plan: Plan, budget: int, hint: str) -> str:
    """Under each bucket's heading, one row per grantee: short columns that wrap at spaces,
    so the table fits a comment's width; full ARNs follow the tables, once."""
    buckets = summary.table_buckets(plan)
    if not buckets:
        return ""
    lines = ["### Who gains and who loses access"]
    used = len(lines[0]) + 200
    total = sum(len(summary.grantee_changes(b)) for b in buckets)
    shown = 0
    full_names: dict[str, None] = {}
    for bucket in buckets:
        changes = summary.grantee_changes(bucket)
        block = ["", *_bucket_heading(bucket, bool(changes))]
        if changes:
            block += ["", *TABLE_HEADER]
        cost = sum(len(line) + 1 for line in block)
        if used + cost > budget:
            break
        lines += block
        used += cost
        for change in changes:
            line = _row(change)
            if used + len(line) + 1 > budget:
                break
            lines.append(line)
            used += len(line) + 1
            shown += 1
            if _short_name(change.grantee) != change.grantee:
                full_names[change.grantee] = None
        else:
            continue
        break
    if shown < total:
        left = summary.plural(total - shown, "more row")
        lines += ["", f"_{left} left out to fit this comment; see {hint}._"]
    if full_names:
        lines += ["", "Roles, users and OUs in full:", ""]
        lines += [f"- {_grantee_cell(name)}: {code_span(_full_name(name))}" for name in full_names]
    return "\n".join(lines)


def _bucket_heading(bucket: BucketPlan, has_rows: bool) -> list[str]:
    owners = f", owned by {escape(', '.join(bucket.owners))}" if bucket.owners else ""
    where = f"in account {code_span(bucket.account)}{owners}"
    lines = [f"#### {code_span(bucket.bucket)}", ""]
    if bucket.action is not BucketAction.ERROR:
        said = "" if has_rows else ": no grantee gains or loses access (see its details)"
        return [*lines, f"{escape(bucket.action.value)} {where}{said}"]
    waiting = ", so the changes below wait until it is fixed" if has_rows else ""
    lines.append(f"**error** {where}: nothing is written to this bucket{waiting}.")
    return lines + [""] + [f"- {escape(message)}" for message in bucket.errors]


def _row(change: summary.GranteeChange) -> str:
    cells = [_grantee_cell(change.grantee), _change_cell(change), _why_cell(change)]
    return "| " + " | ".join(cells) + " |"


_ARN_NAMED = re.compile(r"^(role|user) arn:[^:\s]+:iam::(\d{12}):(?:role|user)/(?:[^\s]*/)?([^/\s]+)\Z")
_OU = re.compile(r"^organizational unit (o-[^/\s]+/r-[^/\s]+/(?:[^/\s]+/)*(ou-[^/\s]+))\Z")


def _short_name(grantee: str) -> str:
    """A grantee as short as it is unambiguous: a role's or user's name and account (names
    are unique in an account, whatever the path), an OU's id; the full ARN goes below."""
    if (named := _ARN_NAMED.match(grantee)) is not None:
        return f"{named.group(1)} {named.group(3)} {named.group(2)}"
    if (ou := _OU.match(grantee)) is not None:
        return f"OU {ou.group(2)}"
    return grantee


def _full_name(grantee: str) -> str:
    words = 2 if grantee.startswith("organizational unit ") else 1
    return grantee.split(" ", words)[-1]


def _grantee_cell(grantee: str) -> str:
    if (named := _ARN_NAMED.match(grantee)) is not None:
        kind, account, name = named.group(1), named.group(2), named.group(3)
        return f"{kind} {code_span(name, True)} in {code_span(account, True)}"
    if (ou := _OU.match(grantee)) is not None:
        return f"OU {code_span(ou.group(2), True)}"
    kind, _, name = grantee.partition(" ")
    if kind in ("account", "organization") and name:
        return f"{kind} {code_span(name, True)}"
    return code_span(grantee, True)


def _scope(row: AccessChange, in_table: bool = True) -> str:
    if not row.prefixes:
        return "the whole bucket"
    return ", ".join(code_span(prefix, in_table) for prefix in row.prefixes)


def _access(rows: tuple[AccessChange, ...]) -> str:
    return "; ".join(f"{escape(r.access)} on {_scope(r)}" + _until(r) for r in rows)


def _until(row: AccessChange) -> str:
    return f" until {escape(row.expires)}" if row.expires else ""


def _change_cell(change: summary.GranteeChange) -> str:
    verb = f"**{change.verb}**"
    if not change.lost or not change.gained:
        return f"{verb} {_access(change.lost or change.gained)}"
    if len(change.lost) == len(change.gained) == 1:
        before, after = change.lost[0], change.gained[0]
        if before.access == after.access:
            return f"{verb} {escape(after.access)}: {_scope(before)} → {_scope(after)}{_until(after)}"
        if before.prefixes == after.prefixes:
            accesses = f"{escape(before.access)} → {escape(after.access)}"
            return f"{verb} {accesses} on {_scope(after)}{_until(after)}"
    return f"{verb} {_access(change.lost)} → {_access(change.gained)}"


def _why_cell(change: summary.GranteeChange) -> str:
    said = [_gained_why(row) for row in change.gained]
    if not change.gained:
        said += [_lost_why(row.why) for row in change.lost]
    return "; ".join(dict.fromkeys(said)) or "-"


def _gained_why(row: AccessChange) -> str:
    """The grant's reason; without one, where it is declared. (The details name every
    grant's place: in the table it would take the width the grantee and change need.)"""
    if row.reason:
        return escape(row.reason)
    return f"declared at {escape(row.declared_at)}" if row.declared_at else ""


def _lost_why(why: str) -> str:
    if why == UNDECLARED:
        return "no declaration grants it: removed from shares/, or added outside bucketshare (reverted here)"
    return escape(why)


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
    lines += [f"- warning: {escape(_untagged(message))}" for message in plan.warnings]
    rows = {row.sentence(): row for row in plan.access}
    lines += [f"- {_sentence(s, rows)}" for change in plan.changes for s in change.sentences]
    if plan.changes and plan.kept_statements:
        kept = summary.plural(plan.kept_statements, "statement")
        lines.append(f"- keeps {kept} bucketshare does not own, unchanged")
    diff = [line for change in plan.changes for line in _statement_lines(change, partition)]
    if diff:
        lines += ["", code_block(diff, "diff")]
    if plan.key_statements:
        lines += ["", f"Statements the key policy of {code_span(plan.kms_key or '')} needs:", ""]
        lines.append(code_block(_pretty(list(plan.key_statements)), "json"))
    # A bucket that errors writes nothing: an identity policy for it would grant nothing yet.
    consumers = plan.consumer_policies if plan.action is not BucketAction.ERROR else ()
    for consumer in consumers:
        lines += ["", f"Identity policy {_identity_owner(consumer.grantee)} attaches on its side:", ""]
        lines.append(code_block(_pretty(consumer.document), "json"))
    lines += ["", "</details>"]
    return "\n".join(lines)


def _sentence(sentence: str, rows: dict[str, AccessChange]) -> str:
    """A change's sentence; one that states a gain or loss names the grantee and prefixes as
    code, so an ARN copies exactly."""
    row = rows.get(sentence)
    if row is None:
        return escape(sentence)
    why = escape(row.declared_at or "") if row.direction is Direction.GAINS else _lost_why(row.why)
    what = f"{escape(row.access)} on {_scope(row, False)}"
    said = f"{_identity_owner(row.grantee)} {row.direction.value} {what}"
    return f"{said}{_until(row)} ({why})" if why else said


def _identity_owner(grantee: str) -> str:
    """A grantee in prose: its kind, then its id or ARN exactly, as code."""
    full = _full_name(grantee)
    kind = grantee.removesuffix(full).strip()
    return f"{escape(kind)} {code_span(full)}" if kind else code_span(grantee)


def _statement_lines(change: StatementChange, partition: str) -> list[str]:
    """A statement change as diff lines of pretty-printed JSON: a changed statement with only
    its changed lines marked, an added or removed one whole."""
    if change.kind is ChangeKind.CHANGE:
        return statement_diff(change, partition, COMMENT_COLUMNS)
    if change.kind is ChangeKind.ADD:
        return added_lines(change.after)
    return removed_lines(change.before)


def _pretty(document: object) -> list[str]:
    return pretty_json(document, COMMENT_COLUMNS + 2)


_PLAIN_NAME = re.compile(r"^[a-z0-9.-]{1,63}\Z")


def _names(bucket: str, partition: str) -> str:
    """ARN and s3:// URI as inline code, so they copy as they are; a name that is not a plain
    S3 name (a hand-edited saved plan) is escaped like any other untrusted text instead."""
    arn, uri = bucket_arn(bucket, partition), bucket_uri(bucket)
    if _PLAIN_NAME.match(bucket) and _PLAIN_NAME.match(partition.replace("-", "")):
        return f"`{arn}` · `{uri}`"
    return f"{escape(arn)} · {escape(uri)}"
