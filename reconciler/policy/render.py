"""Turn validated declarations into the bucket-policy statements bucketshare wants.

Grants that need the same actions on the same resources under the same kind of condition
share one statement with several principals, so 100 readers of one prefix cost one
statement. The Sid names that shape, not its principals, so adding or removing a grant
never renames the statements of unrelated grants.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from reconciler.declare.config import Config
from reconciler.declare.model import BucketShare, Declarations, Grant, Grantee, GranteeKind
from reconciler.errors import Problem
from reconciler.policy.access import Access, uploads, writes
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


def level_sid_name(access: Access) -> str:
    """A level's part of a Sid: read-write -> ReadWrite, read-delete -> ReadDelete."""
    return "".join(word.capitalize() for word in str(access).split("-"))


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
class DesiredBucket:
    bucket: str
    account: str
    statements: tuple[DesiredStatement, ...]
    share: BucketShare
    with_expired: tuple[DesiredStatement, ...] | None = None
    """What would render if the expired grants were still active; None when none expired.

    A live policy equal to this lost only expired grants, which the scheduled run may remove."""
    owner_acl: tuple[DesiredStatement, ...] | None = None
    """What renders when the bucket's Object Ownership is BucketOwnerPreferred: uploads must
    carry the bucket-owner-full-control ACL. None when no active grant writes."""
    with_expired_owner_acl: tuple[DesiredStatement, ...] | None = None
    """with_expired, as rendered under BucketOwnerPreferred (set with owner_acl and with_expired)."""
    manage_key: bool = False
    """`kms: manage`: reconcile the statements the grantees need into the bucket's customer
    managed key's policy, not only show them."""

    def under_owner_acl(self) -> DesiredBucket:
        """This bucket as rendered when uploads must carry the owner's ACL."""
        if self.owner_acl is None:
            return self
        return replace(
            self,
            statements=self.owner_acl,
            with_expired=self.with_expired_owner_acl or self.with_expired,
            owner_acl=None,
            with_expired_owner_acl=None,
        )


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


def root_arn(account: str, partition: str) -> str:
    return f"arn:{partition}:iam::{account}:root"


def bucket_arn(bucket: str, partition: str) -> str:
    return f"arn:{partition}:s3:::{bucket}"


def bucket_uri(bucket: str) -> str:
    return f"s3://{bucket}"


def render_declarations(
    declarations: Declarations, config: Config, today: dt.date
) -> tuple[list[DesiredBucket], list[Problem]]:
    desired = [render_bucket(share, config, today) for share in declarations.buckets]
    return desired, check_rendered_size(desired)


def render_bucket(share: BucketShare, config: Config, today: dt.date) -> DesiredBucket:
    active = [g for g in share.grants if g.active(today)]
    statements = _render_statements(share, active, config)
    with_expired = None
    if len(active) < len(share.grants):
        with_expired = _render_statements(share, list(share.grants), config)
    owner_acl = expired_acl = None
    if any(writes(g.access) for g in active):
        owner_acl = _render_statements(share, active, config, owner_acl=True)
        if with_expired is not None:
            expired_acl = _render_statements(share, list(share.grants), config, owner_acl=True)
    manage_key = (share.kms or config.kms) == "manage"
    return DesiredBucket(
        share.bucket, share.account, statements, share, with_expired, owner_acl, expired_acl, manage_key
    )


def _render_statements(
    share: BucketShare, grants: list[Grant], config: Config, owner_acl: bool = False
) -> tuple[DesiredStatement, ...]:
    groups: dict[_Shape, list[Grant]] = {}
    for grant in grants:
        for shape in _shapes(grant, owner_acl):
            groups.setdefault(shape, []).append(grant)
    statements = []
    for shape, members in groups.items():
        sid = _sid(config.sid_prefix, shape)
        statements.append(
            DesiredStatement(sid, _statement(sid, share.bucket, shape, members, config), tuple(members))
        )
    statements.sort(key=lambda s: s.sid)
    return tuple(statements)


def _shapes(grant: Grant, owner_acl: bool) -> list[_Shape]:
    principal_class = _PRINCIPAL_CLASS[grant.grantee.kind]
    access, actions = grant.access, grant.access.actions
    shapes = []
    parts = (("Objects", actions.objects), ("List", actions.listing), ("Bucket", actions.bucket))
    for part, part_actions in parts:
        if not part_actions:
            continue
        # Bucket-level actions cannot be scoped to a prefix, so their shape ignores it.
        prefixes = () if part == "Bucket" else grant.prefixes
        if owner_acl and part == "Objects" and writes(access):
            shapes.extend(_owner_acl_shapes(access, principal_class, prefixes))
        else:
            shapes.append(_Shape(part, access, principal_class, prefixes, part_actions))
    return shapes


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


def _sid(prefix: str, shape: _Shape) -> str:
    if shape.prefixes:
        digest = hashlib.sha256("\n".join(shape.prefixes).encode()).hexdigest()[:10].upper()
        scope = f"P{digest}"
    else:
        scope = "All"
    return f"{prefix}{shape.part}{level_sid_name(shape.access)}{shape.principal_class}{scope}"


def _statement(sid: str, bucket: str, shape: _Shape, grants: list[Grant], config: Config) -> Statement:
    partition = config.partition
    condition: dict[str, dict[str, list[str]]] = {}
    if shape.part in ("Objects", "Uploads"):
        resources = [f"{bucket_arn(bucket, partition)}/{p}*" for p in shape.prefixes or ("",)]
    elif shape.part == "List":
        resources = [bucket_arn(bucket, partition)]
        if shape.prefixes:
            condition["StringLike"] = {"s3:prefix": sorted({v for p in shape.prefixes for v in (p, p + "*")})}
    else:
        resources = [bucket_arn(bucket, partition)]
    if shape.owner_acl:
        # Under BucketOwnerPreferred only uploads with this canned ACL become the owner's.
        condition.setdefault("StringEquals", {})["s3:x-amz-acl"] = [OWNER_FULL_CONTROL]
    principal = render_principal(shape.principal_class, [g.grantee for g in grants], partition, condition)
    statement: Statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": principal,
        "Action": sorted(shape.actions),
        "Resource": sorted(resources),
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
    problems = []
    for bucket in desired:
        size = policy_size(policy_document([s.statement for s in bucket.statements]))
        if size > POLICY_SIZE_LIMIT:
            problems.append(
                Problem(
                    bucket.share.locations[0],
                    f"bucket {bucket.bucket}: rendered policy is {size} bytes, over the "
                    f"{POLICY_SIZE_LIMIT}-byte S3 limit; use fewer distinct prefixes or an org/OU grant",
                )
            )
    return problems
