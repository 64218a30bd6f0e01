"""Read a JSON plan file (docs/plan-format.md) as `apply PLAN.json` does: an untrusted document,
every field's type checked, any other format_version refused."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from enum import Enum
from typing import Any, TypeVar

from reconciler.declare.expiry import ExpiringGrant
from reconciler.errors import BucketshareError
from reconciler.live.facts import BucketFacts, Encryption, Ownership
from reconciler.plan.effective import Block
from reconciler.plan.explain import AccessChange, Direction
from reconciler.plan.kinds import PolicyKind
from reconciler.plan.model import (
    PLAN_FORMAT_VERSION,
    BucketAction,
    BucketPlan,
    ChangeKind,
    Creation,
    Plan,
    StatementChange,
)
from reconciler.plan.scopes import AccountScope
from reconciler.policy.consumer import ConsumerPolicy
from reconciler.policy.evaluate import StatementRef

E = TypeVar("E", bound=Enum)


class _Fields:
    """Typed reads of one object of a plan file, naming the field that is wrong."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ValueError(f"{where} must be an object")
        self.data, self.where = data, where

    def _get(self, key: str, kinds: type | tuple[type, ...], what: str, default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise ValueError(f"{self.where}.{key} is missing")
            return default
        value = self.data[key]
        if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
            raise ValueError(f"{self.where}.{key} must be {what}")
        if not isinstance(value, kinds):
            raise ValueError(f"{self.where}.{key} must be {what}")
        return value

    def text(self, key: str) -> str:
        return str(self._get(key, str, "a string"))

    def text_or_none(self, key: str) -> str | None:
        value = self._get(key, (str, type(None)), "a string or null", None)
        return None if value is None else str(value)

    def number(self, key: str) -> int:
        return int(self._get(key, int, "a whole number"))

    def flag(self, key: str, default: bool | None = None) -> bool:
        return bool(self._get(key, bool, "true or false", ... if default is None else default))

    def texts(self, key: str, default: tuple[str, ...] | None = None) -> tuple[str, ...]:
        items = self._get(key, list, "a list of strings", ... if default is None else list(default))
        if not all(isinstance(item, str) for item in items):
            raise ValueError(f"{self.where}.{key} must be a list of strings")
        return tuple(items)

    def objects(self, key: str, default: bool = False) -> list[_Fields]:
        items = self._get(key, list, "a list", [] if default else ...)
        return [_Fields(item, f"{self.where}.{key}[{i}]") for i, item in enumerate(items)]

    def objects_of(self, key: str) -> list[_Fields]:
        """One nested object, as a one-item list."""
        return [_Fields(self._get(key, dict, "an object"), f"{self.where}.{key}")]

    def whole(self) -> dict[str, Any]:
        return dict(self.data)

    def objects_one(self, key: str) -> _Fields:
        return _Fields(self._get(key, dict, "an object"), f"{self.where}.{key}")

    def document(self, key: str) -> dict[str, Any] | None:
        value = self._get(key, (dict, type(None)), "an object or null")
        return None if value is None else dict(value)


def loads(text: str, origin: str) -> Plan:
    """A plan file, checked field by field: it is untrusted input that apply will act on."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BucketshareError(f"{origin}:{exc.lineno}:{exc.colno}: not a JSON plan ({exc.msg})") from exc
    except RecursionError as exc:
        raise BucketshareError(f"{origin}: not a plan: its JSON is nested too deeply") from exc
    version = data.get("format_version") if isinstance(data, dict) else None
    if not isinstance(data, dict) or type(version) is not int or version != PLAN_FORMAT_VERSION:
        raise BucketshareError(
            f"{origin}: unsupported plan format_version {version!r}; "
            f"this reconciler reads version {PLAN_FORMAT_VERSION}: run plan again"
        )
    try:
        top = _Fields(data, "plan")
        return Plan(
            buckets=tuple(_policy_from_dict(b, PolicyKind.BUCKET) for b in top.objects("buckets")),
            keys=tuple(_policy_from_dict(k, PolicyKind.KEY) for k in top.objects("keys", default=True)),
            sid_prefix=top.text("sid_prefix"),
            partition=top.text("partition"),
            warnings=top.texts("warnings", ()),
            errors=top.texts("errors", ()),
            expiring=tuple(_expiring_from_dict(e) for e in top.objects("expiring", default=True)),
            partial_since=top.text_or_none("partial_since"),
            account_scope=AccountScope.from_text(top.text_or_none("scope")),
        )
    except ValueError as exc:
        raise BucketshareError(f"{origin}: malformed plan: {exc}; run plan again") from exc


def _policy_from_dict(data: _Fields, kind: PolicyKind) -> BucketPlan:
    """A bucket's plan from `buckets`, or a key's from `keys`: each list holds its own kind."""
    found = _choice(PolicyKind, data, "kind") if "kind" in data.data else PolicyKind.BUCKET
    if found is not kind:
        raise ValueError(f"{data.where}.kind must be {kind.value} in this list, not {found.value}")
    plan = replace(_bucket_from_dict(data), kind=kind, key_users=data.texts("key_users", ()))
    _check_target(plan, data.where)
    return plan


def _check_target(plan: BucketPlan, where: str) -> None:
    """What the plan of this kind can be (plan/kinds.py): its name, its actions, its account."""
    rules = plan.target.rules
    if (problem := rules.name_problem(plan.bucket)) is not None:
        raise ValueError(f"{where}.{problem}")
    if plan.action not in rules.actions or (plan.create and not rules.creatable):
        *others, last = rules.actions
        raise ValueError(f"{where}.action must be {', '.join(others)} or {last} for a {rules.noun}")
    owner = rules.owner(plan.bucket)
    if owner is not None and plan.account != owner:
        raise ValueError(f"{where}.account must be the {rules.noun.split()[0]}'s own account")


def _bucket_from_dict(data: _Fields) -> BucketPlan:
    action = _choice(BucketAction, data, "action")
    # Written for readers of the file and checked as a number; the kind's row (plan/kinds.py) is the limit.
    data.number("size_limit")
    return BucketPlan(
        bucket=data.text("bucket"),
        account=data.text("account"),
        action=action,
        declared=data.flag("declared"),
        live_hash=data.text("live_hash"),
        changes=tuple(
            StatementChange(
                sid=c.text("sid"),
                kind=_choice(ChangeKind, c, "kind"),
                before=c.document("before"),
                after=c.document("after"),
                field_diff=c.texts("field_diff"),
                sentences=c.texts("sentences"),
                sources=c.texts("sources"),
            )
            for c in data.objects("changes")
        ),
        kept_statements=data.number("kept_statements"),
        warnings=data.texts("warnings"),
        errors=data.texts("errors"),
        new_policy=data.document("new_policy"),
        new_size=data.number("new_size"),
        owners=data.texts("owners", ()),
        expiry_only=data.flag("expiry_only", False),
        access=tuple(_access_from_dict(a) for a in data.objects("access_changes", default=True)),
        adopted=data.texts("adopted", ()),
        facts=_facts_from_dict(data),
        kms_key=data.text_or_none("kms_key"),
        key_statements=tuple(s.whole() for s in data.objects("key_policy_statements", default=True)),
        consumer_policies=tuple(
            ConsumerPolicy.of(c.text("grantee"), c.document("policy") or {})
            for c in data.objects("consumer_policies", default=True)
        ),
        create=_creation_from_dict(data, action),
    )


def _facts_from_dict(bucket: _Fields) -> BucketFacts | None:
    if bucket.data.get("facts") is None:
        return None
    (data,) = bucket.objects_of("facts")
    ownership = data.text_or_none("ownership")
    encryption = None
    if data.data.get("encryption") is not None:
        (found,) = data.objects_of("encryption")
        encryption = Encryption(found.text_or_none("algorithm"), found.text_or_none("kms_key_id"))
    return BucketFacts(
        ownership=None if ownership is None else _choice(Ownership, data, "ownership"),
        encryption=encryption,
        errors=data.texts("errors", ()),
    )


def _creation_from_dict(data: _Fields, action: BucketAction) -> Creation | None:
    """`create` is set exactly on a create-bucket: apply must never create a bucket a plan
    does not say it creates, nor put a policy on one it says is missing."""
    if data.data.get("create") is None:
        if action is BucketAction.CREATE:
            raise ValueError(f"{data.where}.create is missing: a create-bucket must say how")
        return None
    if action is not BucketAction.CREATE:
        raise ValueError(f"{data.where}.create must be null unless action is create-bucket")
    fields = data.objects_one("create")
    return Creation(region=fields.text("region"), versioning=fields.flag("versioning"))


def _choice(kind: type[E], data: _Fields, key: str) -> E:
    value = data.text(key)
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(str(member.value) for member in kind)
        raise ValueError(f"{data.where}.{key} must be one of {choices}, not {value!r}") from None


def _access_from_dict(data: _Fields) -> AccessChange:
    return AccessChange(
        direction=_choice(Direction, data, "direction"),
        grantee=data.text("grantee"),
        access=data.text("access"),
        prefixes=data.texts("prefixes"),
        sid=data.text("sid"),
        expires=data.text_or_none("expires"),
        declared_at=data.text_or_none("declared_at"),
        why=data.text("why"),
        reason=data.text_or_none("reason") or "",
        held_by=data.text_or_none("held_by") or "",
        administration=data.flag("administration", False),
        # Absent in plans written before effective access was planned: nothing blocked.
        blocked_by=tuple(_block_from_dict(b) for b in data.objects("blocked_by", default=True)),
    )


def _block_from_dict(data: _Fields) -> Block:
    position = data.number("position")
    if position < 1:
        raise ValueError(f"{data.where}.position must be 1 or more")
    return Block(StatementRef(position, data.text_or_none("sid")), data.texts("actions"), certain=True)


def _expiring_from_dict(data: _Fields) -> ExpiringGrant:
    try:
        expires = dt.date.fromisoformat(data.text("expires"))
    except ValueError as exc:
        raise ValueError(f"{data.where}.expires must be a date ({exc})") from None
    return ExpiringGrant(
        expires=expires,
        bucket=data.text("bucket"),
        grantee=data.text("grantee"),
        access=data.text("access"),
        prefixes=data.texts("prefixes"),
        location=data.text("location"),
    )
