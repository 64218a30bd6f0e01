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

from reconciler.plan.digest import digest_lines, digest_of
from reconciler.plan.explain import AccessChange, Direction
from reconciler.plan.kinds import Target
from reconciler.plan.model import BucketAction, BucketPlan, ChangeKind, Plan, StatementChange
from reconciler.report import access_changes, summary
from reconciler.report.diffs import COMMENT_COLUMNS, added_lines, pretty_json, removed_lines, statement_diff
from reconciler.report.grantee_cells import (
    change_cell,
    fit_words,
    full_name,
    grantee_cell,
    lost_why,
    scope_text,
    short_name,
    until_text,
    why_cell,
)
from reconciler.report.markdown_text import code_block, code_span, escape
from reconciler.report.review_marks import MARKER, review_line, reviewed_line

MAX_COMMENT_CHARS = 65_536
"""GitHub refuses a comment body of more characters than this."""


_MARGIN = 2_048
"""Room for the few lines a workflow puts above a plan it quotes (a refused apply)."""


FULL_PLAN_HINT = "the job summary and the plan.json artifact of this workflow run"


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
    rows = digest_lines(plan)  # hashes every new policy: once per comment
    digest = digest_of(rows)
    head = [MARKER, review_line(digest, commit)]
    reviewed = reviewed_line(rows)
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
    buckets = access_changes.table_buckets(plan)
    if not buckets:
        return ""
    lines = ["### Who gains and who loses access"]
    used = len(lines[0]) + 200
    total = sum(len(access_changes.grantee_changes(b)) for b in buckets)
    shown = 0
    full_names: dict[str, str] = {}
    for bucket in buckets:
        changes = access_changes.grantee_changes(bucket)
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
            # A row that shortens its grantee brings the grantee's line in the list below:
            # counted with the row, or a table of many roles ran past GitHub's limit.
            named = _full_name_line(change.grantee) if change.grantee not in full_names else None
            cost = len(line) + 1 + (len(named) + 1 if named else 0)
            if used + cost > budget:
                break
            lines.append(line)
            used += cost
            shown += 1
            if named:
                full_names[change.grantee] = named
        else:
            continue
        break
    if shown < total:
        left = summary.plural(total - shown, "more row")
        lines += ["", f"_{left} left out to fit this comment; see {hint}._"]
    if full_names:
        lines += ["", "Roles, users and OUs in full:", "", *full_names.values()]
    return "\n".join(lines)


def _full_name_line(grantee: str) -> str | None:
    """The grantee in full under the tables, for a row that shows it shortened; else None."""
    if short_name(grantee) == grantee:
        return None
    return f"- {grantee_cell(grantee)}: {code_span(full_name(grantee))}"


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


def _row(change: access_changes.GranteeChange) -> str:
    cells = [
        grantee_cell(change.grantee),
        change_cell(change) + _blocked(change.gained, True),
        why_cell(change),
    ]
    return "| " + " | ".join(cells) + " |"


def _blocked(rows: tuple[AccessChange, ...], in_table: bool) -> str:
    """` — blocked by Sid X`: the kept Denies AWS would apply to these gains (the warnings say
    which actions); "" when none does."""
    refs = dict.fromkeys(block.statement for row in rows for block in row.blocked_by)
    if not refs:
        return ""
    named = [
        f"Sid {code_span(fit_words(ref.sid) if in_table else ref.sid, in_table)}"
        if ref.sid
        else escape(ref.label)
        for ref in refs
    ]
    return " — **blocked by** " + " and ".join(named)


def _details(plan: Plan, budget: int, hint: str, max_chars: int) -> list[str]:
    shown = [b for b in plan.policies if b.action is not BucketAction.NOOP or b.warnings]
    if not shown:
        return []
    kept = ["### Details per bucket" + (" and KMS key" if plan.keys else "")]
    budget -= len(kept[0]) + 300
    # Rendered one at a time until one does not fit: a large plan's comment keeps a few dozen
    # sections, and rendering the thousands it trims cost seconds.
    for bucket in shown:
        section = _bucket_section(bucket, plan.partition)
        if len(section) + 2 > budget:
            break
        kept.append(section)
        budget -= len(section) + 2
    trimmed = len(shown) - (len(kept) - 1)
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
    if (names := _names(plan.target, partition)) is not None:
        lines.append(f"- {names}")
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
    why = escape(row.declared_at or "") if row.direction is Direction.GAINS else lost_why(row.why)
    what = f"{escape(row.access)} on {scope_text(row, False)}"
    if row.held_by:
        held = f"already granted by {escape(row.held_by)}; adopt it to let bucketshare manage it"
        return f"{_identity_owner(row.grantee)}: {what} {held}" + (f" ({why})" if why else "")
    said = f"{_identity_owner(row.grantee)} {row.direction.value} {what}{until_text(row)}"
    if row.direction is Direction.GAINS and row.administration:
        said += " **\\[administers the bucket: policy, ACL or configuration actions\\]**"
    return (f"{said} ({why})" if why else said) + _blocked((row,), False)


def _identity_owner(grantee: str) -> str:
    """A grantee in prose: its kind, then its id or ARN exactly, as code."""
    full = full_name(grantee)
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


def _names(target: Target, partition: str) -> str | None:
    """ARN and s3:// URI as inline code, so they copy as they are; a name that is not a plain
    S3 name (a hand-edited saved plan) is escaped like any other untrusted text instead. None
    for a kind named by its ARN already (a key)."""
    arn, uri = target.arn(partition), target.uri
    if uri is None:
        return None
    if _PLAIN_NAME.match(target.name) and _PLAIN_NAME.match(partition.replace("-", "")):
        return f"`{arn}` · `{uri}`"
    return f"{escape(arn)} · {escape(uri)}"
