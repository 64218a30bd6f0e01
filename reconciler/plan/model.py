"""The plan as data: actions, statement changes, one bucket's plan, the whole plan."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from reconciler.declare.expiry import ExpiringGrant
from reconciler.live.facts import NEW_BUCKET_ENCRYPTION, NEW_BUCKET_OWNERSHIP, BucketFacts
from reconciler.plan.explain import AccessChange
from reconciler.plan.kinds import PolicyKind, Target
from reconciler.plan.scopes import EVERY_ACCOUNT, AccountScope
from reconciler.policy.consumer import ConsumerPolicy
from reconciler.policy.documents import minified

PLAN_FORMAT_VERSION = 1


class BucketAction(StrEnum):
    PUT = "put-policy"
    DELETE = "delete-policy"
    CREATE = "create-bucket"
    """The bucket does not exist and is declared with `create: true`: apply creates it with
    the defaults of Creation, then writes new_policy (if any)."""
    NOOP = "no-op"
    ERROR = "error"


WRITING_ACTIONS = frozenset((BucketAction.PUT, BucketAction.DELETE, BucketAction.CREATE))


NO_BUCKET_HASH = "no-bucket"
"""live_hash of a bucket that did not exist when planned: neither a policy text's hash nor
`none` (an existing bucket without a policy), so a create and a put never share a digest."""


@dataclass(frozen=True)
class Creation:
    """How apply creates a missing bucket. The safe defaults are fixed, not declared: Block
    Public Access with all four settings on, object ownership BucketOwnerEnforced (ACLs off),
    default encryption SSE-S3. Only versioning is a choice; the region is where the plan was
    made, so the bucket a reviewer approved is the one created."""

    region: str
    versioning: bool = False

    def describe(self) -> str:
        versioning = "versioning enabled" if self.versioning else "versioning off"
        return (
            f"creates the bucket in {self.region}: Block Public Access (all four settings on), "
            f"object ownership {OBJECT_OWNERSHIP}, default encryption SSE-S3 ({ENCRYPTION}, bucket key), "
            f"{versioning}"
        )


OBJECT_OWNERSHIP = NEW_BUCKET_OWNERSHIP


ENCRYPTION = NEW_BUCKET_ENCRYPTION


class ChangeKind(StrEnum):
    ADD = "add"
    CHANGE = "change"
    REMOVE = "remove"


@dataclass(frozen=True)
class StatementChange:
    sid: str
    kind: ChangeKind
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    field_diff: tuple[str, ...]
    sentences: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class BucketPlan:
    """The plan for one resource policy we co-own: a bucket's, or (kind key-policy) the
    policy of a customer managed KMS key. `bucket` is the policy's name (the bucket, or the
    key ARN), as the JSON plan calls it; `target` says which resource that is."""

    bucket: str
    account: str
    action: BucketAction
    declared: bool
    live_hash: str
    changes: tuple[StatementChange, ...] = ()
    kept_statements: int = 0
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    new_policy: dict[str, Any] | None = None
    new_size: int = 0
    owners: tuple[str, ...] = ()
    expiry_only: bool = False
    """The whole change is the removal of grants past their reviewed `expires:` date."""
    access: tuple[AccessChange, ...] = ()
    """Who gains and loses what: the reviewer's table (reconciler.plan.explain)."""
    adopted: tuple[str, ...] = ()
    """Sids of the hand-written statements this plan replaces by ours (`adopt:`); apply lets
    the plan drop them only when its own statements grant everything they grant."""
    facts: BucketFacts | None = None
    kms_key: str | None = None
    """The customer managed key (ARN) the bucket's default encryption uses, when it does."""
    key_statements: tuple[dict[str, Any], ...] = ()
    """The statements that key's policy needs for the grantees (warn mode: shown, not written)."""
    consumer_policies: tuple[ConsumerPolicy, ...] = ()
    """The identity policy each grantee that gains access attaches on its side."""
    kind: PolicyKind = PolicyKind.BUCKET
    key_users: tuple[str, ...] = ()
    """For a key policy: the buckets whose grants it carries."""
    create: Creation | None = None
    """Set exactly when action is CREATE."""

    @property
    def target(self) -> Target:
        return Target(self.kind, self.bucket, self.account)

    @property
    def size_limit(self) -> int:
        return self.target.rules.size_limit

    @cached_property
    def new_policy_text(self) -> str | None:
        """Worked out once: the digest, the plan file and apply each ask for it."""
        return None if self.new_policy is None else minified(self.new_policy)

    @property
    def writes(self) -> bool:
        """Whether apply writes anything for this bucket."""
        return self.action in WRITING_ACTIONS


@dataclass(frozen=True)
class Plan:
    buckets: tuple[BucketPlan, ...]
    sid_prefix: str
    partition: str
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    expiring: tuple[ExpiringGrant, ...] = ()
    partial_since: str | None = None
    """Set when only the buckets whose declarations changed since this revision were planned."""
    account_scope: AccountScope = EVERY_ACCOUNT
    """The owner accounts planned: some only in a shard's plan; merge-plans joins shards."""
    keys: tuple[BucketPlan, ...] = ()
    """The KMS key policies planned with `kms: manage`, one per key, sorted by key ARN."""
    format_version: int = field(default=PLAN_FORMAT_VERSION)

    @property
    def scope(self) -> str | None:
        """The account scope as the plan file and the report say it; None: every account."""
        return self.account_scope.describe()

    def count(self, action: BucketAction) -> int:
        return sum(1 for b in self.buckets if b.action is action)

    def statement_count(self, kind: ChangeKind) -> int:
        return sum(1 for b in self.buckets for c in b.changes if c.kind is kind)

    @property
    def policies(self) -> tuple[BucketPlan, ...]:
        """Every resource policy planned: the buckets', then the keys'."""
        return (*self.buckets, *self.keys)

    @property
    def has_changes(self) -> bool:
        return any(b.writes for b in self.policies)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(b.action is BucketAction.ERROR for b in self.policies)


def policy_hash(text: str | None) -> str:
    """Identifies the live policy exactly as read, for the stale check before writing."""
    if text is None:
        return "none"
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _natural(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def ordered_messages(messages: Iterable[str]) -> tuple[str, ...]:
    """Plan-wide messages once each, in one order (file:line:col, account and bucket numbers
    compare as numbers): a plan of shards joined says the same as a plan of everything."""
    return tuple(sorted(set(messages), key=_natural))
