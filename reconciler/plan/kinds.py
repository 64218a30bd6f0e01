"""The resource policies bucketshare co-owns, one row per kind: what differs between kinds is data.

Every kind goes through the same code: one planner (reconciler.plan.co_owned), one safe
write, journal and rollback (reconciler.execute), one plan file and one report. A row says
what differs: the size limit, whether the policy may be deleted, whether Block Public Access
judges it, how its name is shown and which edge calls read and write it.

A third kind is one more PolicyKind member, one more row in RULES and its edge calls. An S3
access point policy (the way past the 20 KB bucket policy limit on large estates), say:
`PolicyKind.ACCESS_POINT = "access-point-policy"`, named by its access point ARN; the row
`KindRules(ACCESS_POINT, "access point policy", "live policy", POLICY_SIZE_LIMIT,
EdgeCalls(read=..., put=..., delete=..., public_status=...), write_problems=..., arn=_itself,
shown=lambda arn: f"access point policy of {arn}")`
with edge methods for s3control's GetAccessPointPolicy, PutAccessPointPolicy,
DeleteAccessPointPolicy and GetAccessPointPolicyStatus added to PolicyEdge and to the edge.
Beyond that, only what is the kind's own: which of its policies a plan covers and the
statements it wants in them (as plan/keys.py says for keys), and its list in the plan file
beside `buckets` and `keys`. Diff, merge and checks, the safe write, apply, rollback, the
journal, the plan file's entries and the reports take the row as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from reconciler.live.facts import is_key_arn, key_account
from reconciler.live.policy import LivePolicy
from reconciler.plan.checks import write_problems
from reconciler.policy.documents import KEY_POLICY_SIZE_LIMIT, POLICY_SIZE_LIMIT
from reconciler.policy.render import DesiredStatement, bucket_arn, bucket_uri


class PolicyKind(StrEnum):
    """The resource policies bucketshare co-owns: one planning, diff, write and rollback logic."""

    BUCKET = "bucket-policy"
    KEY = "key-policy"
    """A KMS key's policy (`kms: manage`), named by the key ARN."""


@dataclass(frozen=True)
class Target:
    """One resource policy: its kind, its name (a bucket, a key ARN) and the owning account."""

    kind: PolicyKind
    name: str
    account: str

    @property
    def rules(self) -> KindRules:
        return RULES[self.kind]

    def arn(self, partition: str) -> str:
        return self.rules.arn(self.name, partition)

    @property
    def uri(self) -> str | None:
        return self.rules.uri(self.name)


class PolicyEdge(Protocol):
    """The edge calls the rows name (reconciler.edge.s3.S3Edge has them all)."""

    def read_policy(self, bucket: str, account: str) -> LivePolicy: ...
    def read_new_policy(self, bucket: str, account: str) -> LivePolicy: ...
    def put_policy(self, bucket: str, account: str, text: str) -> None: ...
    def delete_policy(self, bucket: str, account: str) -> None: ...
    def policy_is_public(self, bucket: str, account: str) -> bool | None: ...
    def read_key_policy(self, key_arn: str, account: str) -> LivePolicy: ...
    def put_key_policy(self, key_arn: str, account: str, text: str) -> None: ...


Read = Callable[[PolicyEdge, str, str], LivePolicy]
"""(edge, name, account) -> the policy as read."""


@dataclass(frozen=True)
class EdgeCalls:
    read: Read
    put: Callable[[PolicyEdge, str, str, str], None]
    delete: Callable[[PolicyEdge, str, str], None] | None
    """None: the policy is never deleted (a KMS key always has one)."""
    public_status: Callable[[PolicyEdge, str, str], bool | None] | None
    """Whether AWS sees the written policy as public; None when nothing judges it so."""
    read_new: Read | None = None
    """read, for a resource this run just created (None: read it as any other)."""


@dataclass(frozen=True)
class MergedPolicy:
    """The policy a plan would write, for the kind's own checks."""

    document: dict[str, Any]
    size: int
    kept: Sequence[Any]
    wanted: Sequence[DesiredStatement]
    name: str
    partition: str


@dataclass(frozen=True)
class KindRules:
    kind: PolicyKind
    noun: str
    """How messages name the kind: `bucket policy`, `key policy`."""
    live_name: str
    """How planning errors name the live policy."""
    size_limit: int
    calls: EdgeCalls
    write_problems: Callable[[MergedPolicy], list[str]]
    """Why the merged policy must not be written (its size first), beyond the checks every kind shares."""
    arn: Callable[[str, str], str]
    """(name, partition) -> the resource's ARN."""
    uri: Callable[[str], str | None] = lambda name: None
    """name -> the resource's URI, for kinds that have one (a bucket's s3://)."""
    shown: Callable[[str], str] = lambda name: name
    """name -> how the report and apply's lines name the policy."""
    creatable: bool = False
    """Whether a plan may create the resource (a bucket declared with `create: true`)."""
    name_problem: Callable[[str], str | None] = lambda name: None
    """Why a saved plan's name cannot be one of this kind's (a hand-edited plan)."""
    owner: Callable[[str], str | None] = lambda name: None
    """The account the name says owns it, when the name says (a key ARN does)."""

    @property
    def deletable(self) -> bool:
        return self.calls.delete is not None

    @property
    def actions(self) -> tuple[str, ...]:
        """The plan actions this kind can have, as the plan file spells them."""
        return (
            "put-policy",
            *(("delete-policy",) if self.deletable else ()),
            *(("create-bucket",) if self.creatable else ()),
            "no-op",
            "error",
        )

    @property
    def public_check(self) -> bool:
        """Block Public Access judges it: a public statement is never written, and after a write
        AWS must say the policy is not public."""
        return self.calls.public_status is not None


def _bucket_write_problems(merged: MergedPolicy) -> list[str]:
    return write_problems(merged.document, merged.size, merged.wanted, merged.name, merged.partition)


def _key_write_problems(merged: MergedPolicy) -> list[str]:
    problems = []
    if not merged.kept:
        problems.append(
            "the key policy would hold only bucketshare's statements: no administrator could manage "
            "the key any more (KMS refuses such a policy); add the key administrators' statement by hand"
        )
    if merged.size > KEY_POLICY_SIZE_LIMIT:
        problems.append(
            f"the merged key policy would be {merged.size} bytes, over KMS's {KEY_POLICY_SIZE_LIMIT}-byte "
            "limit; remove grants or unmanaged statements"
        )
    return problems


def _itself(name: str, partition: str) -> str:
    return name


RULES: dict[PolicyKind, KindRules] = {
    PolicyKind.BUCKET: KindRules(
        PolicyKind.BUCKET,
        "bucket policy",
        "live policy",
        POLICY_SIZE_LIMIT,
        EdgeCalls(
            read=lambda edge, name, account: edge.read_policy(name, account),
            put=lambda edge, name, account, text: edge.put_policy(name, account, text),
            delete=lambda edge, name, account: edge.delete_policy(name, account),
            public_status=lambda edge, name, account: edge.policy_is_public(name, account),
            # S3 may answer NoSuchBucket for a few seconds after creation (AWS-BEHAVIOUR.md).
            read_new=lambda edge, name, account: edge.read_new_policy(name, account),
        ),
        _bucket_write_problems,
        bucket_arn,
        bucket_uri,
        creatable=True,
    ),
    PolicyKind.KEY: KindRules(
        PolicyKind.KEY,
        "key policy",
        "the key policy",
        KEY_POLICY_SIZE_LIMIT,
        EdgeCalls(
            read=lambda edge, name, account: edge.read_key_policy(name, account),
            put=lambda edge, name, account, text: edge.put_key_policy(name, account, text),
            delete=None,
            # Block Public Access judges bucket policies; a key policy's grants name principals.
            public_status=None,
        ),
        _key_write_problems,
        _itself,
        shown=lambda key_arn: f"key policy of {key_arn}",
        name_problem=lambda name: None if is_key_arn(name) else "bucket must be a KMS key ARN",
        owner=key_account,
    ),
}
