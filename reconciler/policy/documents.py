"""Facts about whole bucket-policy documents: size, Version, the JSON AWS would receive."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from typing import Any

from reconciler.policy.access import BUCKET_LEVEL_ACTIONS, lookup
from reconciler.policy.normalize import statements_of

POLICY_VERSION = "2012-10-17"


POLICY_SIZE_LIMIT = 20 * 1024


KEY_POLICY_SIZE_LIMIT = 32 * 1024
"""KMS refuses a key policy over 32 KB (PutKeyPolicy's Policy is at most 32,768 characters)."""
"""S3 counts the policy with whitespace removed (AWS-BEHAVIOUR.md)."""


def policy_document(statements: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": POLICY_VERSION, "Statement": list(statements)}


def minified(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def policy_size(document: dict[str, Any]) -> int:
    return len(minified(document).encode("utf-8"))


# Condition keys whose fixed value makes a Principal "*" statement non-public under S3
# Block Public Access ("The meaning of public" in the S3 user guide).
_FIXING_KEYS = frozenset(
    k.lower()
    for k in (
        "aws:PrincipalOrgID",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceOwner",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:SourceIp",
        "aws:userid",
        "s3:DataAccessPointArn",
        "s3:DataAccessPointAccount",
    )
)


_FIXING_OPERATORS = frozenset(
    ("stringequals", "stringequalsignorecase", "arnequals", "arnlike", "stringlike", "ipaddress")
)


def _values(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def _is_fixed(operator: str, key: str, values: list[str]) -> bool:
    base = operator.lower().removeprefix("forallvalues:")
    if base != operator.lower():
        return False  # ForAllValues is true when the key is missing: not a restriction.
    base = base.removeprefix("foranyvalue:")
    if base not in _FIXING_OPERATORS or key.lower() not in _FIXING_KEYS or not values:
        return False
    if any("*" in v or "?" in v or "${" in v for v in values):
        return False
    if key.lower() == "aws:sourceip":
        return all(_narrow_cidr(v) for v in values)
    return True


def _narrow_cidr(text: str) -> bool:
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return network.prefixlen >= (8 if network.version == 4 else 32)


def _everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any("*" in _values(v) for v in principal.values())
    return False


def is_public_statement(statement: Any) -> bool:
    """True when S3 Block Public Access would call this statement public."""
    if not isinstance(statement, dict) or str(statement.get("Effect", "")).lower() != "allow":
        return False
    if "NotPrincipal" in statement:
        return True
    if not _everyone(statement.get("Principal")):
        return False
    conditions = statement.get("Condition") or {}
    if not isinstance(conditions, dict):
        return True
    return not any(
        _is_fixed(operator, key, _values(values))
        for operator, block in conditions.items()
        if isinstance(block, dict)
        for key, values in block.items()
    )


def public_statement_sids(document: dict[str, Any]) -> list[str]:
    """Sids of the statements that would make a policy public (and be refused by S3)."""
    return [label for label, _ in public_statements(document)]


def statement_name(statement: Any, index: int) -> str:
    """A statement as a person finds it: its Sid, or its position when it has none."""
    sid = statement.get("Sid") if isinstance(statement, dict) else None
    return str(sid) if isinstance(sid, str) and sid else f"{index + 1} (no Sid)"


def public_statements(document: dict[str, Any]) -> list[tuple[str, Any]]:
    """(name, statement) of the statements that would make a policy public."""
    return [
        (statement_name(s, i), s) for i, s in enumerate(statements_of(document)) if is_public_statement(s)
    ]


def public_fix(statement: Any) -> str:
    """What would make a public statement non-public: the condition S3 wants to see."""
    if isinstance(statement, dict) and "NotPrincipal" in statement:
        return (
            "name the principals it is for in Principal instead of NotPrincipal (an Allow with "
            "NotPrincipal admits everyone else)"
        )
    conditions = statement.get("Condition") if isinstance(statement, dict) else None
    blocks = conditions if isinstance(conditions, dict) else {}
    keys = {k.lower(): _values(v) for b in blocks.values() if isinstance(b, dict) for k, v in b.items()}
    paths = keys.get("aws:principalorgpaths")
    if paths and "aws:principalorgid" not in keys:
        orgs = sorted({p.split("/")[0] for p in paths if p.startswith("o-")}) or ["o-..."]
        return f"add StringEquals aws:PrincipalOrgID {', '.join(orgs)} beside its aws:PrincipalOrgPaths"
    patterned = sorted(
        k for k, v in keys.items() if k in _FIXING_KEYS and any("*" in x or "?" in x or "${" in x for x in v)
    )
    if patterned:
        return f"give its {patterned[0]} condition fixed values (no *, ? or policy variables)"
    return (
        "add a condition with fixed values that fixes who may use it (StringEquals aws:PrincipalOrgID, "
        "aws:PrincipalAccount or aws:SourceVpce)"
    )


def resource_problems(statement: dict[str, Any], bucket: str, partition: str) -> list[str]:
    """What PutBucketPolicy would reject about a statement's resources and actions."""
    bucket_arn = f"arn:{partition}:s3:::{bucket}"
    resources = _values(statement.get("Resource", []))
    actions = [a.lower() for a in _values(statement.get("Action", []))]
    problems = [
        f"invalid resource {r!r}: must be {bucket_arn} or an object ARN inside it"
        for r in resources
        if r != bucket_arn and not r.startswith(bucket_arn + "/")
    ]
    on_bucket = bucket_arn in resources
    on_objects = any(r.startswith(bucket_arn + "/") for r in resources)
    for action in actions:
        found = lookup(action)
        bucket_level = action in BUCKET_LEVEL_ACTIONS or (
            found is not None and found.on_bucket and not found.on_objects
        )
        if (bucket_level and not on_bucket) or (not bucket_level and not on_objects):
            problems.append(f"action {action} does not apply to any resource in the statement")
    return problems
