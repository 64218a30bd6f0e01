"""The identity policy a grantee attaches on its side: a bucket policy alone is not enough,
the consumer's own IAM policy must allow the same actions (AWS-BEHAVIOUR.md). Pure.

The statements carry the bucket statements' actions and resources, and their conditions
that describe the request (s3:prefix, s3:x-amz-acl), not the ones that pick the principal
(an identity policy has no Principal). Where a bucket's objects are encrypted with a
customer managed key, one more statement allows that key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.declare.model import Grant, GranteeKind
from reconciler.policy.documents import POLICY_VERSION
from reconciler.policy.key import key_actions, s3_via_service
from reconciler.policy.render import DesiredStatement

_PRINCIPAL_KEYS = frozenset(("aws:principalarn", "aws:principalorgid", "aws:principalorgpaths"))

GrantMatch = Callable[[Grant], bool]


@dataclass(frozen=True)
class ConsumerPolicy:
    """The identity policy one grantee attaches, as shown in a plan's details."""

    grantee: str
    """As a person reads it: `account 222222222222`, `role arn:...`."""
    text: str
    """The policy as compact JSON: a plan holds one per gaining grantee of every bucket until
    it is shown, and as text it takes a quarter of the memory of the parsed document."""

    @classmethod
    def of(cls, grantee: str, document: dict[str, Any]) -> ConsumerPolicy:
        return cls(grantee, json.dumps(document, separators=(",", ":"), ensure_ascii=False))

    @property
    def document(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.text)
        return document


@dataclass(frozen=True)
class BucketAccess:
    """What one bucket grants one consumer: the statements (and the key) it needs."""

    bucket: str
    statements: tuple[dict[str, Any], ...]
    key_arn: str | None = None
    key_actions: tuple[str, ...] = ()
    partition: str = "aws"


def grants_of(to: str, account_of_arn: str | None) -> GrantMatch:
    """Which grants reach `to`: an account id matches account grants; an IAM ARN matches
    grants naming that ARN and the account grants of its account (any principal of a granted
    account may use the grant once its own identity policy allows it)."""

    def match(grant: Grant) -> bool:
        grantee = grant.grantee
        if grantee.kind is GranteeKind.ACCOUNT:
            return grantee.id == (account_of_arn or to)
        return (
            account_of_arn is not None
            and grantee.kind in (GranteeKind.ROLE, GranteeKind.USER)
            and (grantee.id == to)
        )

    return match


def bucket_access(
    bucket: str,
    statements: Sequence[DesiredStatement],
    match: GrantMatch,
    key_arn: str | None,
    partition: str,
) -> BucketAccess | None:
    """What the matching grants give on one bucket; None when they give nothing, or name only
    organizations and OUs: those have no identity to attach a policy to."""
    found = [s for s in statements if any(match(g) and _attaches(g) for g in s.grants)]
    if not found:
        return None
    identity: list[dict[str, Any]] = []
    for desired in found:
        statement = _identity_statement(desired.statement)
        if statement not in identity:
            identity.append(statement)
    actions: set[str] = set()
    for desired in found:
        actions.update(a for g in desired.grants if match(g) and _attaches(g) for a in key_actions(g))
    return BucketAccess(
        bucket, tuple(identity), key_arn, tuple(sorted(actions)) if key_arn else (), partition
    )


def _attaches(grant: Grant) -> bool:
    return grant.grantee.kind not in (GranteeKind.ORG, GranteeKind.OU)


def _identity_statement(statement: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "Sid": statement["Sid"],
        "Effect": "Allow",
        "Action": statement["Action"],
        "Resource": statement["Resource"],
    }
    condition = {
        operator: kept
        for operator, block in (statement.get("Condition") or {}).items()
        if (kept := {k: v for k, v in block.items() if k.lower() not in _PRINCIPAL_KEYS})
    }
    if condition:
        result["Condition"] = condition
    return result


def _tag(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8].upper()


def identity_policy(accesses: Iterable[BucketAccess]) -> dict[str, Any]:
    """One identity policy over every bucket: Sids alphanumeric and unique (IAM refuses
    duplicate Sids in identity policies, unlike S3), one KMS statement per key."""
    statements: list[dict[str, Any]] = []
    used: set[str] = set()
    keys: dict[str, tuple[set[str], str]] = {}

    def add(sid: str, statement: dict[str, Any]) -> None:
        unique, n = sid, 1
        while unique in used:
            n += 1
            unique = f"{sid}N{n}"
        used.add(unique)
        statements.append({"Sid": unique, **{k: v for k, v in statement.items() if k != "Sid"}})

    for access in sorted(accesses, key=lambda a: a.bucket):
        for statement in access.statements:
            add(f"{statement['Sid']}B{_tag(access.bucket)}", statement)
        if access.key_arn is not None:
            actions, _ = keys.setdefault(access.key_arn, (set(), access.partition))
            actions.update(access.key_actions)
    for key_arn, (actions, partition) in sorted(keys.items()):
        add(
            f"KmsK{_tag(key_arn)}",
            {
                "Effect": "Allow",
                "Action": sorted(actions),
                "Resource": key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": s3_via_service(key_arn, partition)}},
            },
        )
    return {"Version": POLICY_VERSION, "Statement": statements}
