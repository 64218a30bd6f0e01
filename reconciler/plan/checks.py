"""Checks on the statements we keep or write: Sid collisions, size, orphaned principals, public statements."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from reconciler.declare.identifiers import ORPHANED_ID_RE
from reconciler.policy.documents import (
    POLICY_SIZE_LIMIT,
    POLICY_VERSION,
    is_public_statement,
    public_fix,
    public_statements,
    resource_problems,
    statement_name,
)
from reconciler.policy.render import DesiredStatement


def is_ours(statement: Any, sid_prefix: str) -> bool:
    return isinstance(statement, dict) and str(statement.get("Sid", "")).startswith(sid_prefix)


def sid_collisions(kept: list[Any], wanted: Sequence[DesiredStatement]) -> list[str]:
    rendered = {w.sid.lower(): w.sid for w in wanted}
    return [
        f"statement {s.get('Sid')!r} is not managed by bucketshare but collides with rendered Sid "
        f"{rendered[str(s.get('Sid')).lower()]}; rename it by hand"
        for s in kept
        if isinstance(s, dict) and str(s.get("Sid", "")).lower() in rendered
    ]


def new_document(live: Any, statements: list[Any]) -> dict[str, Any] | None:
    if not statements:
        return None
    document: dict[str, Any] = {"Version": POLICY_VERSION}
    if isinstance(live, dict) and "Id" in live:
        document["Id"] = live["Id"]
    document["Statement"] = statements
    return document


def write_problems(
    policy: dict[str, Any], size: int, wanted: Sequence[DesiredStatement], bucket: str, partition: str
) -> list[str]:
    problems = []
    if size > POLICY_SIZE_LIMIT:
        problems.append(
            f"the merged policy would be {size} bytes, over the {POLICY_SIZE_LIMIT}-byte S3 limit; "
            "S3 would reject it. Remove grants or unmanaged statements"
        )
    for name, statement in public_statements(policy):
        problems.append(
            f"statement {name} would make the bucket public (S3 Block Public Access would refuse it "
            f"or, with RestrictPublicBuckets, cut off every cross-account grant): {public_fix(statement)}; "
            f"or remove it: aws s3api get-bucket-policy --bucket {bucket} --query Policy --output text "
            f"> policy.json, delete the statement, aws s3api put-bucket-policy --bucket {bucket} "
            "--policy file://policy.json"
        )
    for desired in wanted:
        problems.extend(
            f"statement {desired.sid}: {p}" for p in resource_problems(desired.statement, bucket, partition)
        )
    return problems


def _orphans(statement: Any) -> list[str]:
    """Bare unique ids (AROA.../AIDA...) a statement names: what S3 shows for a deleted principal."""
    found = []
    for field_name in ("Principal", "NotPrincipal"):
        principal = statement.get(field_name) if isinstance(statement, dict) else None
        names = principal.get("AWS", []) if isinstance(principal, dict) else []
        found += [n for n in (names if isinstance(names, list) else [names]) if isinstance(n, str)]
    return [name for name in found if ORPHANED_ID_RE.match(name)]


def _sid_of(statement: Any) -> str:
    sid = statement.get("Sid") if isinstance(statement, dict) else None
    return str(sid) if sid else "(no Sid)"


def orphan_warnings(statements: list[Any]) -> list[str]:
    return [
        f"statement {_sid_of(statement)} names orphaned principal {name}: the role or user was deleted, "
        "so access for it is broken (recreating it does not restore it)"
        for statement in statements
        for name in _orphans(statement)
    ]


def kept_problems(document: Any, kept: list[Any]) -> list[str]:
    """Why S3 would refuse, or silently change the meaning of, the statements a put re-sends."""
    problems = [
        f"statement {_sid_of(statement)} (not bucketshare's) names orphaned principal {name}; S3 refuses "
        "every PutBucketPolicy that holds it (Invalid principal in policy), so nothing can be written "
        "here: remove that principal or the statement by hand, then plan again"
        for statement in kept
        for name in _orphans(statement)
    ]
    version = document.get("Version") if isinstance(document, dict) else None
    if version != POLICY_VERSION:
        problems += [
            f"statement {_sid_of(statement)} (not bucketshare's) contains '${{', which is literal text "
            f"under the live policy's Version {version or '(none, meaning 2008-10-17)'} but a policy "
            f"variable under {POLICY_VERSION}, which every write uses; change the policy to "
            f"{POLICY_VERSION} by hand, writing a literal '${{' as '${{$}}{{', then plan again"
            for statement in kept
            if "${" in json.dumps(statement)
        ]
    return problems


def public_warnings(statements: list[Any]) -> list[str]:
    return [
        f"statement {statement_name(s, i)} is public; with RestrictPublicBuckets it blocks every "
        "cross-account grant on this bucket"
        for i, s in enumerate(statements)
        if is_public_statement(s)
    ]
