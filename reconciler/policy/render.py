"""Turn validated declarations into the bucket-policy statements bucketshare wants.

Grants that need the same actions on the same resources under the same kind of condition
share one statement with several principals, so 100 readers of one prefix cost one
statement. The Sid names that shape, not its principals, so adding or removing a grant
never renames the statements of unrelated grants.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Any

from reconciler.declare.config import Config
from reconciler.declare.model import BucketShare, Declarations, Grant, Grantee, GranteeKind
from reconciler.errors import Problem
from reconciler.policy.access import Access, Actions, level_sid_name, uploads, writes
from reconciler.policy.documents import POLICY_SIZE_LIMIT, policy_document, policy_size
from reconciler.policy.normalize import canonical

Statement = dict[str, Any]

_PRINCIPAL_CLASS = {
    GranteeKind.ACCOUNT: "Account",
    GranteeKind.ROLE: "Arn",
    GranteeKind.USER: "Arn",
    GranteeKind.ORG: "Org",
    GranteeKind.OU: "Ou",
}
OWNER_FULL_CONTROL = "bucket-owner-full-control"


@dataclass(frozen=True)
class DesiredStatement:
    sid: str
    statement: Statement
    grants: tuple[Grant, ...]
    """The declarations this statement comes from."""

    def canonical(self, partition: str) -> str:
        """The normalised form, computed once: every plan compares against it."""
        cached = self.__dict__.get("_canonical")
        if cached is None or cached[0] != partition:
            cached = (partition, canonical(self.statement, partition))
            object.__setattr__(self, "_canonical", cached)
        return str(cached[1])


@dataclass(frozen=True)
class RenderContext:
    """What a render needs besides the share: the config's Sid prefix and partition, and the
    day that decides which grants have expired."""

    sid_prefix: str
    partition: str
    today: dt.date


@dataclass(frozen=True)
class DesiredBucket:
    """One declared bucket and the statements it should hold, rendered on demand.

    A plan of 10,000 buckets must not hold 10,000 rendered policies (four variants each) at
    once: each is rendered when first asked for, and a plan asks on its own copy (fresh())
    so the render is dropped with the bucket's plan.
    """

    share: BucketShare
    context: RenderContext
    manage_key: bool = False
    """`kms: manage`: reconcile the statements the grantees need into the bucket's customer
    managed key's policy, not only show them."""
    acl_required: bool = False
    """Rendered as under BucketOwnerPreferred: uploads must carry the bucket-owner-full-control ACL."""

    @property
    def bucket(self) -> str:
        return self.share.bucket

    @property
    def account(self) -> str:
        return self.share.account

    def active_grants(self) -> list[Grant]:
        today = self.context.today
        return [g for g in self.share.grants if g.active(today)]

    def has_expired(self) -> bool:
        return len(self.active_grants()) < len(self.share.grants)

    def render_statements(self) -> tuple[DesiredStatement, ...]:
        """The statements, rendered anew (not kept): what validate checks and drops."""
        return _render_statements(self.share, self.active_grants(), self.context, self.acl_required)

    @cached_property
    def statements(self) -> tuple[DesiredStatement, ...]:
        return self.render_statements()

    @cached_property
    def with_expired(self) -> tuple[DesiredStatement, ...] | None:
        """What would render if the expired grants were still active; None when none expired.

        A live policy equal to this lost only expired grants, which the scheduled run may remove."""
        if not self.has_expired():
            return None
        return _render_statements(self.share, list(self.share.grants), self.context, self.acl_required)

    @cached_property
    def owner_acl(self) -> tuple[DesiredStatement, ...] | None:
        """What renders when the bucket's Object Ownership is BucketOwnerPreferred: uploads must
        carry the bucket-owner-full-control ACL. None when no active grant writes (or when this
        render already requires the ACL)."""
        if not self.has_owner_acl_variant():
            return None
        return _render_statements(self.share, self.active_grants(), self.context, owner_acl=True)

    def has_owner_acl_variant(self) -> bool:
        """Whether owner_acl renders anything, known without rendering: an active grant writes."""
        return not self.acl_required and any(writes(g.access) for g in self.active_grants())

    def sids_with_expired(self) -> list[str]:
        """The Sids with_expired would have, sorted, worked out without rendering it."""
        # One Sid per shape, as a render groups them: two shapes may share a Sid name.
        shapes = {shape for g in self.share.grants for shape in _grant_shapes(g, self.acl_required)}
        return sorted(self.context.sid_prefix + shape.sid_name for shape in shapes)

    def under_owner_acl(self) -> DesiredBucket:
        """This bucket as rendered when uploads must carry the owner's ACL."""
        if self.owner_acl is None:
            return self
        under = replace(self, acl_required=True)
        under.__dict__["statements"] = self.owner_acl  # rendered already: not twice
        return under

    def fresh(self) -> DesiredBucket:
        """This bucket with nothing rendered yet; what a plan renders on it is dropped with it."""
        return replace(self)


@dataclass(frozen=True)
class _Shape:
    part: str
    """Objects, List or Bucket; Uploads for a defined level's uploads that must carry the
    owner's ACL (its other object actions stay under Objects)."""
    access: Access
    principal_class: str
    prefixes: tuple[str, ...]
    actions: tuple[str, ...]
    owner_acl: bool = False
    """Uploads must set s3:x-amz-acl = bucket-owner-full-control; not part of the Sid, so
    requiring it shows in a plan as a change of the statement, not a rename."""
    sid_name: str = field(init=False, compare=False)
    sorted_actions: tuple[str, ...] = field(init=False, compare=False)
    listed: tuple[str, ...] = field(init=False, compare=False)
    """The s3:prefix values a List statement allows: each prefix and everything under it."""

    def __post_init__(self) -> None:
        # Worked out once per shape (shapes are cached), not once per rendered statement.
        sid_name = _sid_name(self.part, self.access, self.principal_class, self.prefixes)
        object.__setattr__(self, "sid_name", sid_name)
        object.__setattr__(self, "sorted_actions", tuple(sorted(self.actions)))
        object.__setattr__(self, "listed", tuple(sorted({v for p in self.prefixes for v in (p, p + "*")})))


def root_arn(account: str, partition: str) -> str:
    # Interned: a plan holds the same account's root in statements of many buckets.
    return sys.intern(f"arn:{partition}:iam::{account}:root")


def bucket_arn(bucket: str, partition: str) -> str:
    return f"arn:{partition}:s3:::{bucket}"


def bucket_uri(bucket: str) -> str:
    return f"s3://{bucket}"


def render_declarations(
    declarations: Declarations, config: Config, today: dt.date
) -> tuple[list[DesiredBucket], list[Problem]]:
    """Every declared bucket, ready to render, and the buckets whose policy would be too big
    (each rendered to be measured, then dropped)."""
    desired = [render_bucket(share, config, today) for share in declarations.buckets]
    return desired, check_rendered_size(desired)


def render_bucket(share: BucketShare, config: Config, today: dt.date) -> DesiredBucket:
    context = RenderContext(config.sid_prefix, config.partition, today)
    return DesiredBucket(share, context, manage_key=(share.kms or config.kms) == "manage")


def _render_statements(
    share: BucketShare, grants: list[Grant], context: RenderContext, owner_acl: bool = False
) -> tuple[DesiredStatement, ...]:
    groups: dict[_Shape, list[Grant]] = {}
    for grant in grants:
        for shape in _grant_shapes(grant, owner_acl):
            groups.setdefault(shape, []).append(grant)
    statements = []
    for shape, members in groups.items():
        sid = sys.intern(context.sid_prefix + shape.sid_name)  # the same few Sids in every bucket
        statement = _statement(sid, share.bucket, shape, members, context.partition)
        statements.append(DesiredStatement(sid, statement, tuple(members)))
    statements.sort(key=lambda s: s.sid)
    return tuple(statements)


def _grant_shapes(grant: Grant, owner_acl: bool) -> tuple[_Shape, ...]:
    access = grant.access
    return _shapes(access, access.actions, principal_class(grant), grant.prefixes, owner_acl)


@lru_cache(maxsize=4096)
def _shapes(
    access: Access, actions: Actions, principal_class: str, prefixes: tuple[str, ...], owner_acl: bool
) -> tuple[_Shape, ...]:
    """The statement shapes one grant falls into. Cached: grants repeat the same few levels,
    principal kinds and prefixes across an estate. `actions` is part of the key because two
    configs may define a level of the same name differently."""
    shapes = []
    parts = (("Objects", actions.objects), ("List", actions.listing), ("Bucket", actions.bucket))
    for part, part_actions in parts:
        if not part_actions:
            continue
        # Bucket-level actions cannot be scoped to a prefix, so their shape ignores it.
        scope = () if part == "Bucket" else prefixes
        if owner_acl and part == "Objects" and writes(access):
            shapes.extend(_owner_acl_shapes(access, principal_class, scope))
        else:
            shapes.append(_Shape(part, access, principal_class, scope, part_actions))
    return tuple(shapes)


def _owner_acl_shapes(access: Access, principal_class: str, prefixes: tuple[str, ...]) -> list[_Shape]:
    """Object statements under BucketOwnerPreferred: the ACL condition would also deny requests
    that carry no x-amz-acl (reads, deletes), so only uploads get it."""
    if access.built_in:
        # A read-write grant's object actions split into the read and the write statements.
        read, write = Access.READ, Access.WRITE
        shapes = []
        if access is Access.READ_WRITE:
            shapes.append(_Shape("Objects", read, principal_class, prefixes, read.actions.objects))
        shapes.append(_Shape("Objects", write, principal_class, prefixes, write.actions.objects, True))
        return shapes
    acl = uploads(access)
    rest = tuple(a for a in access.actions.objects if a not in acl)
    shapes = [_Shape("Objects", access, principal_class, prefixes, rest)] if rest else []
    if acl:
        shapes.append(_Shape("Uploads", access, principal_class, prefixes, acl, owner_acl=True))
    return shapes


def _sid_name(part: str, access: Access, principal_class: str, prefixes: tuple[str, ...]) -> str:
    """A statement's Sid after the config's prefix: its shape, never its principals."""
    if prefixes:
        digest = hashlib.sha256("\n".join(prefixes).encode()).hexdigest()[:10].upper()
        scope = f"P{digest}"
    else:
        scope = "All"
    return f"{part}{level_sid_name(access)}{principal_class}{scope}"


def _statement(sid: str, bucket: str, shape: _Shape, grants: list[Grant], partition: str) -> Statement:
    condition: dict[str, dict[str, list[str]]] = {}
    arn = bucket_arn(bucket, partition)
    if shape.part in ("Objects", "Uploads"):
        resources = sorted(f"{arn}/{p}*" for p in shape.prefixes or ("",))
    else:
        resources = [arn]
        if shape.part == "List" and shape.prefixes:
            condition["StringLike"] = {"s3:prefix": list(shape.listed)}
    if shape.owner_acl:
        # Under BucketOwnerPreferred only uploads with this canned ACL become the owner's.
        condition.setdefault("StringEquals", {})["s3:x-amz-acl"] = [OWNER_FULL_CONTROL]
    principal = render_principal(shape.principal_class, [g.grantee for g in grants], partition, condition)
    statement: Statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": principal,
        "Action": list(shape.sorted_actions),
        "Resource": resources,
    }
    if condition:
        statement["Condition"] = condition
    return statement


def principal_class(grant: Grant) -> str:
    """How a grant's principal renders (Account, Arn, Org, Ou): also part of its Sids."""
    return _PRINCIPAL_CLASS[grant.grantee.kind]


def render_principal(
    principal_class: str,
    grantees: Sequence[Grantee],
    partition: str,
    condition: dict[str, dict[str, list[str]]],
) -> Any:
    """The Principal for grantees of one class, adding to condition what it needs; the same for
    a bucket policy and a KMS key policy (any resource policy we co-own)."""
    if principal_class in ("Account", "Arn"):
        roots = sorted({root_arn(str(g.account), partition) for g in grantees})
        if principal_class == "Arn":
            # A role named by its ARN is stored by AWS as its unique id and breaks when the role
            # is recreated; the account root plus aws:PrincipalArn cannot (AWS-BEHAVIOUR.md).
            condition["ArnEquals"] = {"aws:PrincipalArn": sorted({g.id for g in grantees})}
        return {"AWS": roots}
    condition.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = sorted({str(g.org) for g in grantees})
    if principal_class == "Ou":
        # The fixed org id keeps the statement non-public under Block Public Access.
        condition["ForAnyValue:StringLike"] = {
            "aws:PrincipalOrgPaths": sorted({g.id + "/*" for g in grantees})
        }
    return "*"


def check_rendered_size(desired: list[DesiredBucket]) -> list[Problem]:
    """Each bucket is rendered, measured and dropped: none is kept for later."""
    problems = []
    for bucket in desired:
        problem = size_problem(bucket, bucket.render_statements())
        if problem is not None:
            problems.append(problem)
    return problems


def size_problem(bucket: DesiredBucket, statements: Sequence[DesiredStatement]) -> Problem | None:
    size = policy_size(policy_document([s.statement for s in statements]))
    if size <= POLICY_SIZE_LIMIT:
        return None
    return Problem(
        bucket.share.locations[0],
        f"bucket {bucket.bucket}: rendered policy is {size} bytes, over the "
        f"{POLICY_SIZE_LIMIT}-byte S3 limit; use fewer distinct prefixes or an org/OU grant",
    )
