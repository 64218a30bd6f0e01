"""Write a Plan as the JSON plan file (docs/plan-format.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from reconciler.declare.expiry import ExpiringGrant
from reconciler.live.facts import BucketFacts
from reconciler.plan.digest import plan_digest
from reconciler.plan.explain import AccessChange
from reconciler.plan.model import (
    PLAN_FORMAT_VERSION,
    BucketAction,
    BucketPlan,
    ChangeKind,
    Creation,
    Plan,
)


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    return {**_head(plan), "buckets": [_bucket_to_dict(b, plan.partition) for b in plan.buckets]}


def _head(plan: Plan) -> dict[str, Any]:
    """Everything but the buckets."""
    return {
        "format_version": PLAN_FORMAT_VERSION,
        "sid_prefix": plan.sid_prefix,
        "partition": plan.partition,
        "digest": plan_digest(plan),
        "partial_since": plan.partial_since,
        "scope": plan.scope,
        "summary": summary(plan),
        "warnings": list(plan.warnings),
        "errors": list(plan.errors),
        "expiring": [_expiring_to_dict(e) for e in plan.expiring],
        "keys": [_bucket_to_dict(k, plan.partition) for k in plan.keys],
    }


def summary(plan: Plan) -> dict[str, int]:
    return {
        "buckets": len(plan.buckets),
        "put_policy": plan.count(BucketAction.PUT),
        "delete_policy": plan.count(BucketAction.DELETE),
        "create_bucket": plan.count(BucketAction.CREATE),
        "no_op": plan.count(BucketAction.NOOP),
        "error": plan.count(BucketAction.ERROR),
        "statements_added": plan.statement_count(ChangeKind.ADD),
        "statements_changed": plan.statement_count(ChangeKind.CHANGE),
        "statements_removed": plan.statement_count(ChangeKind.REMOVE),
    }


def _bucket_to_dict(plan: BucketPlan, partition: str) -> dict[str, Any]:
    return {
        "bucket": plan.bucket,
        # Derived from bucket and the plan's partition, for people and scripts; never read back.
        # A key's entry names the key by its ARN already and has no s3:// URI.
        "arn": plan.target.arn(partition),
        "uri": plan.target.uri,
        "account": plan.account,
        "kind": plan.kind.value,
        "key_users": list(plan.key_users),
        "action": plan.action.value,
        "create": _creation_to_dict(plan.create),
        "declared": plan.declared,
        "owners": list(plan.owners),
        "expiry_only": plan.expiry_only,
        "live_hash": plan.live_hash,
        "kept_statements": plan.kept_statements,
        "adopted": list(plan.adopted),
        "access_changes": [_access_to_dict(a) for a in plan.access],
        "warnings": list(plan.warnings),
        "errors": list(plan.errors),
        "new_policy": plan.new_policy,
        "new_size": plan.new_size,
        "size_limit": plan.size_limit,
        "facts": _facts_to_dict(plan.facts),
        "kms_key": plan.kms_key,
        "key_policy_statements": list(plan.key_statements),
        "consumer_policies": [{"grantee": c.grantee, "policy": c.document} for c in plan.consumer_policies],
        "changes": [
            {
                "sid": c.sid,
                "kind": c.kind.value,
                "before": c.before,
                "after": c.after,
                "field_diff": list(c.field_diff),
                "sentences": list(c.sentences),
                "sources": list(c.sources),
            }
            for c in plan.changes
        ],
    }


def dumps(plan: Plan) -> str:
    return "".join(plan_chunks(plan))


def plan_chunks(plan: Plan) -> Iterator[str]:
    """The plan file a line at a time, one line per bucket: json's C encoder only runs without
    indent (the indented form took longer to write than the plan took to read at 1,000
    buckets), and a line at a time holds one bucket's text, not the whole plan's three times."""
    head = json.dumps(_head(plan), ensure_ascii=False)[:-1]
    if not plan.buckets:
        yield f'{head}, "buckets": []}}\n'
        return
    yield f'{head}, "buckets": [\n'
    last = len(plan.buckets) - 1
    for index, bucket in enumerate(plan.buckets):
        line = json.dumps(_bucket_to_dict(bucket, plan.partition), ensure_ascii=False)
        yield line + (",\n" if index < last else "\n")
    yield "]}\n"


def _facts_to_dict(facts: BucketFacts | None) -> dict[str, Any] | None:
    if facts is None:
        return None
    encryption = facts.encryption
    return {
        "ownership": None if facts.ownership is None else facts.ownership.value,
        "encryption": None
        if encryption is None
        else {"algorithm": encryption.algorithm, "kms_key_id": encryption.kms_key_id},
        "errors": list(facts.errors),
    }


def _creation_to_dict(creation: Creation | None) -> dict[str, Any] | None:
    if creation is None:
        return None
    return {"region": creation.region, "versioning": creation.versioning}


def _access_to_dict(row: AccessChange) -> dict[str, Any]:
    return {
        "direction": row.direction.value,
        "grantee": row.grantee,
        "access": row.access,
        "prefixes": list(row.prefixes),
        "sid": row.sid,
        "expires": row.expires,
        "declared_at": row.declared_at,
        "why": row.why,
        "reason": row.reason,
        "held_by": row.held_by,
        "administration": row.administration,
        "blocked_by": [
            {"sid": b.statement.sid, "position": b.statement.position, "actions": list(b.actions)}
            for b in row.blocked_by
        ],
    }


def _expiring_to_dict(grant: ExpiringGrant) -> dict[str, Any]:
    return {
        "bucket": grant.bucket,
        "grantee": grant.grantee,
        "access": grant.access,
        "prefixes": list(grant.prefixes),
        "expires": grant.expires.isoformat(),
        "location": grant.location,
    }
