"""The cells of the comment's grantee tables: short names, the change, the why."""

from __future__ import annotations

import re

from reconciler.plan.explain import UNDECLARED, AccessChange
from reconciler.report import access_changes
from reconciler.report.markdown_text import code_span, escape

_ARN_NAMED = re.compile(r"^(role|user) arn:[^:\s]+:iam::(\d{12}):(?:role|user)/(?:[^\s]*/)?([^/\s]+)\Z")


_OU = re.compile(r"^organizational unit (o-[^/\s]+/r-[^/\s]+/(?:[^/\s]+/)*(ou-[^/\s]+))\Z")


def short_name(grantee: str) -> str:
    """A grantee as short as it is unambiguous: a role's or user's name and account (names
    are unique in an account, whatever the path), an OU's id; the full ARN goes below."""
    if (named := _ARN_NAMED.match(grantee)) is not None:
        return f"{named.group(1)} {named.group(3)} {named.group(2)}"
    if (ou := _OU.match(grantee)) is not None:
        return f"OU {ou.group(2)}"
    return grantee


def full_name(grantee: str) -> str:
    words = 2 if grantee.startswith("organizational unit ") else 1
    return grantee.split(" ", words)[-1]


def grantee_cell(grantee: str) -> str:
    if (named := _ARN_NAMED.match(grantee)) is not None:
        kind, account, name = named.group(1), named.group(2), named.group(3)
        return f"{kind} {code_span(name, True)} in {code_span(account, True)}"
    if (ou := _OU.match(grantee)) is not None:
        return f"OU {code_span(ou.group(2), True)}"
    kind, _, name = grantee.partition(" ")
    if kind in ("account", "organization") and name:
        return f"{kind} {code_span(name, True)}"
    return code_span(grantee, True)


CELL_WORD = 24
"""Characters of one unbreakable word a table cell shows: a longer Sid would widen the table
past the comment (GitHub's tables scroll instead of wrapping it); the details name it in full."""


def fit_words(text: str, limit: int = CELL_WORD) -> str:
    return " ".join(word if len(word) <= limit else word[: limit - 1] + "…" for word in text.split(" "))


def scope_text(row: AccessChange, in_table: bool = True) -> str:
    if not row.prefixes:
        return "the whole bucket"
    return ", ".join(code_span(prefix, in_table) for prefix in row.prefixes)


def _access(rows: tuple[AccessChange, ...]) -> str:
    return "; ".join(f"{escape(r.access)} on {scope_text(r)}" + until_text(r) for r in rows)


def until_text(row: AccessChange) -> str:
    return f" until {escape(row.expires)}" if row.expires else ""


def change_cell(change: access_changes.GranteeChange) -> str:
    verb = f"**{change.verb}**"
    if not change.lost or not change.gained:
        return f"{verb} {_access(change.lost or change.gained)}"
    if len(change.lost) == len(change.gained) == 1:
        before, after = change.lost[0], change.gained[0]
        if before.access == after.access:
            change_of_scope = f"{scope_text(before)} → {scope_text(after)}"
            return f"{verb} {escape(after.access)}: {change_of_scope}{until_text(after)}"
        if before.prefixes == after.prefixes:
            accesses = f"{escape(before.access)} → {escape(after.access)}"
            return f"{verb} {accesses} on {scope_text(after)}{until_text(after)}"
    return f"{verb} {_access(change.lost)} → {_access(change.gained)}"


def why_cell(change: access_changes.GranteeChange) -> str:
    said = [_gained_why(row) for row in change.gained]
    if not change.gained:
        said += [lost_why(row.why) for row in change.lost]
    return "; ".join(dict.fromkeys(said)) or "-"


def _gained_why(row: AccessChange) -> str:
    """The grant's reason; without one, where it is declared. (The details name every
    grant's place: in the table it would take the width the grantee and change need.)"""
    if row.held_by:
        return f"by {escape(fit_words(row.held_by))}: adopt it to let bucketshare manage it (see details)"
    if row.reason:
        return escape(row.reason)
    return f"declared at {escape(row.declared_at)}" if row.declared_at else ""


def lost_why(why: str) -> str:
    if why == UNDECLARED:
        return "no declaration grants it: removed from shares/, or added outside bucketshare (reverted here)"
    return escape(why)
