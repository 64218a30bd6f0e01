"""The YAML text of an imported declaration, with what stays unmanaged in its top comment.

Sids, resources and principals come from a live policy anyone with s3:PutBucketPolicy could
have written: they reach YAML values only through yaml.safe_dump, and comments only with
every non-printable character (line breaks included: YAML also ends a comment at U+2028)
replaced, so no text of theirs can end the comment and become a grant.
"""

from __future__ import annotations

from typing import Any

import yaml

from reconciler.declare.model import Grantee, GranteeKind
from reconciler.importer.grants import ImportedGrant, ImportResult, Unmanaged

SCHEMA_LINE = "# yaml-language-server: $schema=../schema/shares.schema.json"


class _Dumper(yaml.SafeDumper):
    """Lists indented under their key, as the hand-written files in shares/ are."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def grantee_text(grantee: Grantee) -> str:
    """The `to:` form the loader reads back as this grantee."""
    if grantee.kind is GranteeKind.ORG:
        return f"org:{grantee.id}"
    if grantee.kind is GranteeKind.OU:
        return f"ou:{grantee.id}"
    return grantee.id


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)


def _grant(grant: ImportedGrant) -> dict[str, Any]:
    entry: dict[str, Any] = {"to": grantee_text(grant.grantee), "access": grant.access.value}
    if grant.prefixes:
        entry["prefixes"] = list(grant.prefixes)
    entry["reason"] = "imported from " + ", ".join(grant.statements)
    return entry


def _listed(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    return [f"# {title}", *(f"#   - {_printable(item)}" for item in items)]


def explained_changes(items: tuple[Unmanaged, ...]) -> list[str]:
    return [f"{u.label}: {u.reason}" for u in items]


def declaration_text(bucket: str, account: str, result: ImportResult, adopt: bool) -> str:
    """A share document for bucket: the imported grants, plus `adopt:` when adopt is set."""
    header = [
        SCHEMA_LINE,
        f"# Imported by `reconciler import` from the live policy of {bucket} (account {account}).",
    ]
    header += _listed(
        "Unmanaged: kept exactly as they are by every plan (bucketshare never changes them):",
        explained_changes(result.unmanaged),
    )
    header += _listed(
        "Expressed by the grants below, but kept (they cannot be named alone in adopt:; edit them by hand):",
        explained_changes(result.not_adoptable),
    )
    sids = [repr(sid) for sid in result.adoptable]
    if adopt:
        header += _listed(
            "Adopted: the next apply replaces these by managed statements in one PutBucketPolicy:", sids
        )
    else:
        header += _listed(
            "Expressed by the grants below and kept beside the managed statements (no --adopt):", sids
        )
    header += _proposals_comment(result)
    head: dict[str, Any] = {"version": 1, "bucket": bucket, "account": account}
    body = _dump(head) + "grants:" + ("\n" if result.grants else " []\n")
    for grant in result.grants:
        # What the grant allows beyond the statements, right above it: never a silent change.
        body += "".join(f"  # widens: {_printable(line)}\n" for line in grant.widening)
        body += _indented(_dump([_grant(grant)]))
    if adopt and result.adoptable:
        body += _dump({"adopt": list(result.adoptable)})
    return "\n".join(header) + "\n" + body


def _dump(value: Any) -> str:
    return yaml.dump(
        value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000
    )


def _indented(text: str) -> str:
    return "".join(f"  {line}\n" for line in text.splitlines())


def proposals_snippet(result: ImportResult) -> list[str]:
    """reconciler.yaml lines defining the proposed levels: with them, import again converts
    the statements no level expressed exactly."""
    if not result.proposals:
        return []
    return ["access_levels:", *(line for p in result.proposals for line in p.snippet())]


def _proposals_comment(result: ImportResult) -> list[str]:
    snippet = proposals_snippet(result)
    if not snippet:
        return []
    title = "# Proposed access levels: add to reconciler.yaml and import again to express these exactly:"
    return [title, *(f"#   {_printable(line)}" for line in snippet)]
