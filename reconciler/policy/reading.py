"""Read one hand-written Allow statement as what it allows: grantees, S3 actions, scopes.

The statements people write (AWS's user guide, Terraform, CDK, bucketshare's own output)
spell the same access many ways: wildcards (`s3:Get*`, `s3:*`, CDK's `s3:GetObject*`),
`s3:prefix` under StringLike or StringEquals, with or without `*`, the
`s3:x-amz-acl = bucket-owner-full-control` condition, organizations by aws:PrincipalOrgID or
aws:PrincipalOrgPaths, roles by aws:PrincipalArn beside their account root. All of these are
read here; any other condition keeps the statement unmanaged, with the reason.

A reading may allow more than the statement does (listing exactly `p/` is read as listing
`p/` and below; aws:PrincipalArn of an account's root as the account): safe for adoption,
which only drops a statement whose reading the grants cover. `notes` say where it is
broader, so nobody is told a statement "already grants" what it grants only in part. The
owner's ACL condition is kept exactly, as a mark on what the statement allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.declare.model import Grantee
from reconciler.policy.normalize import normalize_statement
from reconciler.policy.not_modelled import NotModelled
from reconciler.policy.reading_principals import read_grantees
from reconciler.policy.reading_scope import LIST, listed_prefixes, read_actions, read_resources

OWNER_FULL_CONTROL = "bucket-owner-full-control"
_KNOWN_FIELDS = frozenset(("Sid", "Effect", "Principal", "Action", "Resource", "Condition"))

# (operator, lower-case key) -> what the condition says, for the spellings people use.
_KINDS: dict[tuple[str, str], str] = {
    ("StringLike", "s3:prefix"): "prefix",
    ("StringEquals", "s3:prefix"): "prefix-exact",
    ("StringEquals", "s3:x-amz-acl"): "acl",
    ("StringEquals", "aws:principalorgid"): "org",
    ("StringLike", "aws:principalorgid"): "org",
    ("ForAnyValue:StringLike", "aws:principalorgpaths"): "paths",
    ("ForAnyValue:StringEquals", "aws:principalorgpaths"): "paths-exact",
    ("StringEquals", "aws:principalaccount"): "account",
    **{(op, "aws:principalarn"): "arn" for op in ("ArnEquals", "ArnLike", "StringEquals", "StringLike")},
}


@dataclass(frozen=True)
class Part:
    """Who may do which actions where: prefixes of objects or of listing; () for the bucket."""

    grantees: tuple[Grantee, ...]
    actions: tuple[tuple[str, str], ...]
    """(lower-case action, scope)."""
    objects: tuple[str, ...]
    listing: tuple[str, ...]
    notes: tuple[str, ...]
    owner_acl: bool = False
    """Requests must carry the bucket-owner-full-control ACL (what bucketshare renders for
    uploads under BucketOwnerPreferred): requests without it are not allowed."""


def read_statement(statement: Any, bucket: str, partition: str) -> Part:
    """What an Allow statement allows on bucket; NotModelled when it is not one we can read."""
    if not isinstance(statement, dict):
        raise NotModelled("not a JSON object")
    if str(statement.get("Effect", "")).lower() != "allow":
        raise NotModelled(f"Effect {statement.get('Effect')!r}: bucketshare renders only Allow statements")
    for negated in ("NotPrincipal", "NotAction", "NotResource"):
        if negated in statement:
            raise NotModelled(f"uses {negated}, which bucketshare never renders")
    unknown = sorted(set(statement) - _KNOWN_FIELDS)
    if unknown:
        raise NotModelled(f"has fields bucketshare does not model: {', '.join(unknown)}")
    normal = normalize_statement(statement, partition)
    conditions = _conditions(normal.get("Condition", {}))
    objects, on_bucket = read_resources(normal.get("Resource", []), bucket, partition)
    actions = read_actions(normal.get("Action", []), bool(objects), on_bucket, statement.get("Action"))
    notes: list[str] = []
    grantees = read_grantees(normal.get("Principal"), conditions, partition, notes)
    listing: tuple[str, ...] = ("",)
    if "prefix" in conditions or "prefix-exact" in conditions:
        # Requests without s3:prefix (object and other bucket actions) fail the condition.
        actions = [(a, s) for a, s in actions if s == LIST]
        if not actions:
            raise NotModelled("its s3:prefix condition leaves none of its actions allowed")
        listing = listed_prefixes(conditions, notes)
    if "acl" in conditions and conditions["acl"] != [OWNER_FULL_CONTROL]:
        values = ", ".join(conditions["acl"])
        raise NotModelled(f"condition s3:x-amz-acl {values} is not one bucketshare renders")
    return Part(tuple(grantees), tuple(actions), objects, listing, tuple(notes), "acl" in conditions)


def _conditions(value: Any) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise NotModelled("its Condition is not an object")
    found: dict[str, list[str]] = {}
    for operator, block in value.items():
        for key, values in block.items():
            kind = _KINDS.get((operator, key))
            if kind is None:
                raise NotModelled(f"condition {operator} {key.rstrip(chr(0))} is not one bucketshare renders")
            base = kind.removesuffix("-exact")
            if base in found or f"{base}-exact" in found:
                raise NotModelled(f"it has two conditions on {key.rstrip(chr(0))}")
            if kind in ("org", "arn") and any("*" in v or "?" in v for v in values):
                shown = ", ".join(values)
                raise NotModelled(f"condition {operator} {key} {shown} is a pattern, not fixed values")
            found[kind] = list(values)
    return found
