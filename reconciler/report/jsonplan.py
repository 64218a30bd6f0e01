"""The versioned JSON plan format (docs/plan-format.md): what `plan --format json` writes and
`apply PLAN.json` reads."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from reconciler.digest import plan_digest
from reconciler.errors import BucketshareError
from reconciler.expiry import ExpiringGrant
from reconciler.explain import AccessChange, Direction
from reconciler.plan import (
    PLAN_FORMAT_VERSION,
    BucketAction,
    BucketPlan,
    ChangeKind,
    Plan,
    StatementChange,
)


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    return {
        "format_version": PLAN_FORMAT_VERSION,
        "sid_prefix": plan.sid_prefix,
        "partition": plan.partition,
        "digest": plan_digest(plan),
        "partial_since": plan.partial_since,
        "summary": summary(plan),
        "warnings": list(plan.warnings),
        "errors": list(plan.errors),
        "expiring": [_expiring_to_dict(e) for e in plan.expiring],
        "buckets": [_bucket_to_dict(b) for b in plan.buckets],
    }


def summary(plan: Plan) -> dict[str, int]:
    return {
        "buckets": len(plan.buckets),
        "put_policy": plan.count(BucketAction.PUT),
        "delete_policy": plan.count(BucketAction.DELETE),
        "no_op": plan.count(BucketAction.NOOP),
        "error": plan.count(BucketAction.ERROR),
        "statements_added": plan.statement_count(ChangeKind.ADD),
        "statements_changed": plan.statement_count(ChangeKind.CHANGE),
        "statements_removed": plan.statement_count(ChangeKind.REMOVE),
    }


def _bucket_to_dict(plan: BucketPlan) -> dict[str, Any]:
    return {
        "bucket": plan.bucket,
        "account": plan.account,
        "action": plan.action.value,
        "declared": plan.declared,
        "owners": list(plan.owners),
        "expiry_only": plan.expiry_only,
        "live_hash": plan.live_hash,
        "kept_statements": plan.kept_statements,
        "access_changes": [_access_to_dict(a) for a in plan.access],
        "warnings": list(plan.warnings),
        "errors": list(plan.errors),
        "new_policy": plan.new_policy,
        "new_size": plan.new_size,
        "size_limit": plan.size_limit,
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
    return json.dumps(plan_to_dict(plan), indent=2, sort_keys=False) + "\n"


def loads(text: str, origin: str) -> Plan:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BucketshareError(f"{origin}:{exc.lineno}:{exc.colno}: not a JSON plan ({exc.msg})") from exc
    version = data.get("format_version") if isinstance(data, dict) else None
    if not isinstance(data, dict) or version != PLAN_FORMAT_VERSION:
        raise BucketshareError(
            f"{origin}: unsupported plan format_version {version!r}; "
            f"this reconciler reads version {PLAN_FORMAT_VERSION}: run plan again"
        )
    try:
        return Plan(
            buckets=tuple(_bucket_from_dict(b) for b in data["buckets"]),
            sid_prefix=str(data["sid_prefix"]),
            partition=str(data["partition"]),
            warnings=tuple(data.get("warnings", [])),
            errors=tuple(data.get("errors", [])),
            expiring=tuple(_expiring_from_dict(e) for e in data.get("expiring", [])),
            partial_since=None if data.get("partial_since") is None else str(data["partial_since"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BucketshareError(f"{origin}: malformed plan ({exc!r}); run plan again") from exc


def _bucket_from_dict(data: dict[str, Any]) -> BucketPlan:
    return BucketPlan(
        bucket=str(data["bucket"]),
        account=str(data["account"]),
        action=BucketAction(data["action"]),
        declared=bool(data["declared"]),
        live_hash=str(data["live_hash"]),
        changes=tuple(
            StatementChange(
                sid=str(c["sid"]),
                kind=ChangeKind(c["kind"]),
                before=c["before"],
                after=c["after"],
                field_diff=tuple(c["field_diff"]),
                sentences=tuple(c["sentences"]),
                sources=tuple(c["sources"]),
            )
            for c in data["changes"]
        ),
        kept_statements=int(data["kept_statements"]),
        warnings=tuple(data["warnings"]),
        errors=tuple(data["errors"]),
        new_policy=data["new_policy"],
        new_size=int(data["new_size"]),
        size_limit=int(data["size_limit"]),
        owners=tuple(data.get("owners", [])),
        expiry_only=data.get("expiry_only", False) is True,
        access=tuple(_access_from_dict(a) for a in data.get("access_changes", [])),
    )


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
    }


def _access_from_dict(data: dict[str, Any]) -> AccessChange:
    return AccessChange(
        direction=Direction(data["direction"]),
        grantee=str(data["grantee"]),
        access=str(data["access"]),
        prefixes=tuple(str(p) for p in data["prefixes"]),
        sid=str(data["sid"]),
        expires=None if data["expires"] is None else str(data["expires"]),
        declared_at=None if data["declared_at"] is None else str(data["declared_at"]),
        why=str(data["why"]),
    )


def _expiring_to_dict(grant: ExpiringGrant) -> dict[str, Any]:
    return {
        "bucket": grant.bucket,
        "grantee": grant.grantee,
        "access": grant.access,
        "prefixes": list(grant.prefixes),
        "expires": grant.expires.isoformat(),
        "location": grant.location,
    }


def _expiring_from_dict(data: dict[str, Any]) -> ExpiringGrant:
    return ExpiringGrant(
        expires=dt.date.fromisoformat(str(data["expires"])),
        bucket=str(data["bucket"]),
        grantee=str(data["grantee"]),
        access=str(data["access"]),
        prefixes=tuple(str(p) for p in data["prefixes"]),
        location=str(data["location"]),
    )
