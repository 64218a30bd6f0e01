"""Plan: compare the statements we want with a live policy we co-own with others.

Pure: no AWS calls. Statements whose Sid starts with the configured prefix are ours; every
other statement is kept exactly as read, in its order. The result is a frozen Plan that
renderers print and apply executes, so there is one planning logic only.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from deepdiff import DeepDiff

from reconciler.consumer import ConsumerPolicy, GrantMatch, bucket_access, identity_policy
from reconciler.declarations import Adoption
from reconciler.expiry import ExpiringGrant
from reconciler.explain import AccessChange, Direction, access_changes, change_sentences
from reconciler.facts import (
    BucketFacts,
    KeyKind,
    Ownership,
    active_grants,
    is_cross_account,
    key_error,
    key_kind,
    ownership_error,
)
from reconciler.importer import (
    Atom,
    NotModelled,
    describe_uncovered,
    grant_atoms,
    policy_atoms,
    statement_atoms,
    uncovered,
)
from reconciler.keypolicy import render_key_statements
from reconciler.normalize import canonical, normalize_statement, same_statements, statements_of
from reconciler.policy import (
    KEY_POLICY_SIZE_LIMIT,
    POLICY_SIZE_LIMIT,
    POLICY_VERSION,
    is_public_statement,
    minified,
    policy_size,
    public_statement_sids,
    resource_problems,
)
from reconciler.render import DesiredBucket, DesiredStatement

_ORPHAN_ID = re.compile(r"^(AROA|AIDA)[A-Z0-9]{8,}$")
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


OBJECT_OWNERSHIP = "BucketOwnerEnforced"
ENCRYPTION = "AES256"


class ChangeKind(StrEnum):
    ADD = "add"
    CHANGE = "change"
    REMOVE = "remove"


class PolicyKind(StrEnum):
    """The resource policies bucketshare co-owns: one planning, diff, write and rollback logic."""

    BUCKET = "bucket-policy"
    KEY = "key-policy"
    """A KMS key's policy (`kms: manage`); the plan's `bucket` field holds the key ARN."""


class ReadError(StrEnum):
    """What kind of failure a read was, decided by the AWS edge from the error code."""

    DENIED = "denied"
    NO_BUCKET = "no-bucket"
    OTHER = "other"


@dataclass(frozen=True)
class LivePolicy:
    """One bucket's policy as the AWS edge read it."""

    bucket: str
    account: str
    text: str | None
    """The policy text as returned; None when the bucket has no policy."""
    error: str | None = None
    error_kind: ReadError | None = None
    """Set with error; decides what plan does, so rewording a message never changes a plan."""
    facts: BucketFacts | None = None
    """Object Ownership and default encryption, read for declared buckets only; None: not read."""


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
    policy of a customer managed KMS key, named by its ARN in `bucket`."""

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
    size_limit: int = POLICY_SIZE_LIMIT
    owners: tuple[str, ...] = ()
    expiry_only: bool = False
    """The whole change is the removal of grants past their reviewed `expires:` date."""
    access: tuple[AccessChange, ...] = ()
    """Who gains and loses what: the reviewer's table (reconciler.explain)."""
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
    def new_policy_text(self) -> str | None:
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
    scope: str | None = None
    """Set when only some owner accounts were planned (a shard); merge-plans joins shards."""
    keys: tuple[BucketPlan, ...] = ()
    """The KMS key policies planned with `kms: manage`, one per key, sorted by key ARN."""
    format_version: int = field(default=PLAN_FORMAT_VERSION)

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


def _error_plan(live: LivePolicy, declared: bool, message: str) -> BucketPlan:
    return BucketPlan(
        live.bucket, live.account, BucketAction.ERROR, declared, policy_hash(live.text), errors=(message,)
    )


def plan_bucket(
    desired: DesiredBucket | None,
    live: LivePolicy,
    sid_prefix: str,
    partition: str,
    region: str | None = None,
) -> BucketPlan:
    """region: where a missing bucket declared with `create: true` would be created."""
    declared = desired is not None
    if live.error_kind is ReadError.NO_BUCKET and desired is not None and desired.share.create:
        return _creation_plan(desired, live, sid_prefix, partition, region)
    if live.error is not None:
        return _error_plan(live, declared, live.error)
    try:
        document = json.loads(live.text) if live.text is not None else None
    except json.JSONDecodeError as exc:
        return _error_plan(live, declared, f"live policy is not valid JSON ({exc}); fix it by hand first")
    live_statements = statements_of(document)
    facts = _bucket_facts(desired, live.facts, sid_prefix, partition)
    desired = facts.desired
    wanted = desired.statements if desired is not None else ()
    kept = [s for s in live_statements if not _is_ours(s, sid_prefix)]
    ours = [s for s in live_statements if _is_ours(s, sid_prefix)]
    errors = [*facts.errors, *_collisions(kept, wanted)]
    changes = _statement_changes(ours, wanted, _Context(sid_prefix, partition, declared))
    adoption = _adopt(desired, kept, live.bucket, partition, bool(changes))
    errors.extend(adoption.errors)
    kept = adoption.kept
    # No change means the live statements we own render the declared grants: nothing to explain.
    access = _held(access_changes(desired, ours), desired, adoption.held) if changes else ()
    acl_sids = facts.acl_sids if facts.acl_required or _holds_acl_condition(ours) else frozenset()
    changes = _explained(changes, access, sid_prefix, acl_sids, facts.acl_required) + adoption.changes
    statements = [*kept, *(w.statement for w in wanted)]
    new_policy = _new_document(document, statements)
    if not changes:
        action = BucketAction.NOOP
    else:
        action = BucketAction.PUT if new_policy is not None else BucketAction.DELETE
    new_size = policy_size(new_policy) if new_policy is not None else 0
    if action is BucketAction.PUT:
        errors.extend(_write_problems(new_policy or {}, new_size, wanted, live.bucket, partition))
        errors.extend(_kept_problems(document, kept))
    warnings = [*facts.warnings, *_orphan_warnings(live_statements), *adoption.warnings]
    if action is BucketAction.NOOP:
        warnings.extend(_public_warnings(live_statements))
    return BucketPlan(
        bucket=live.bucket,
        account=live.account,
        action=BucketAction.ERROR if errors else action,
        declared=declared,
        live_hash=policy_hash(live.text),
        changes=tuple(changes),
        kept_statements=len(kept),
        warnings=tuple(warnings),
        errors=tuple(errors),
        new_policy=new_policy,
        new_size=new_size,
        owners=desired.share.owners if desired is not None else (),
        expiry_only=bool(changes) and not adoption.changes and _expiry_only(desired, ours, partition),
        access=access,
        adopted=tuple(c.sid for c in adoption.changes),
        facts=live.facts,
        kms_key=facts.key_arn,
        key_statements=facts.key_statements,
        consumer_policies=_consumer_policies(desired, access, facts.key_arn, partition),
    )


def _creation_plan(
    desired: DesiredBucket, live: LivePolicy, sid_prefix: str, partition: str, region: str | None
) -> BucketPlan:
    """The plan of a bucket to create: its policy planned as for an existing bucket without
    one (every statement ours, nothing kept), then the bucket's own action."""
    empty = plan_bucket(desired, LivePolicy(live.bucket, live.account, None), sid_prefix, partition)
    if region is None:
        errors = (*empty.errors, "cannot plan creating the bucket: no AWS region is set; set AWS_REGION")
        return replace(empty, action=BucketAction.ERROR, live_hash=NO_BUCKET_HASH, errors=errors)
    action = BucketAction.ERROR if empty.action is BucketAction.ERROR else BucketAction.CREATE
    creation = Creation(region, desired.share.versioning) if action is BucketAction.CREATE else None
    return replace(empty, action=action, live_hash=NO_BUCKET_HASH, create=creation)


@dataclass(frozen=True)
class _Adoption:
    kept: list[Any]
    """The unmanaged statements that stay: all but the adopted ones, in their order."""
    changes: list[StatementChange] = field(default_factory=list)
    held: frozenset[Atom] = frozenset()
    """What the adopted statements granted (importer atoms): no gain to a reviewer."""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _adopt(
    desired: DesiredBucket | None, kept: list[Any], bucket: str, partition: str, ours_change: bool
) -> _Adoption:
    """Drop the hand-written statements `adopt:` names, only where ours grant all they grant.

    A Sid that is no longer live was adopted by an earlier apply when ours are already in
    place (a warning: remove it from adopt:); otherwise it is an error, since the person
    expects a statement to be replaced that is not there (typo, or changed by hand).
    """
    adoptions = desired.share.adopted if desired is not None else ()
    if not adoptions or desired is None:
        return _Adoption(kept)
    granted = policy_atoms([w.statement for w in desired.statements], bucket, partition)
    result = _Adoption(list(kept))
    held: set[Atom] = set()
    for adoption in adoptions:
        matches = [s for s in kept if isinstance(s, dict) and s.get("Sid") == adoption.sid]
        problem = _adoption_problem(adoption, matches, granted, bucket, partition)
        if problem is None:
            result.kept.remove(matches[0])
            held.update(statement_atoms(matches[0], bucket, partition))
            result.changes.append(_adopted_change(adoption, matches[0]))
        elif not matches and not ours_change:
            result.warnings.append(f"{adoption.location}: {problem} (adopted before?); remove it from adopt:")
        else:
            hint = (
                "; remove it from adopt: if an earlier apply adopted it, or fix the Sid"
                if not matches
                else ""
            )
            result.errors.append(f"{adoption.location}: {problem}{hint}")
    return replace(result, held=frozenset(held))


def _adoption_problem(
    adoption: Adoption, matches: list[Any], granted: frozenset[Atom], bucket: str, partition: str
) -> str | None:
    sid = adoption.sid
    if not matches:
        return f"adopted statement {sid!r} is not in the live policy"
    if len(matches) > 1:
        return f"adopted statement {sid!r} is in the live policy {len(matches)} times; give each its own Sid"
    try:
        atoms = statement_atoms(matches[0], bucket, partition)
    except NotModelled as exc:
        return f"statement {sid!r} cannot be adopted ({exc}); remove it from adopt: to keep it"
    missing = uncovered(atoms, granted)
    if missing:
        return (
            f"statement {sid!r} cannot be adopted: it grants {describe_uncovered(missing)}, which the "
            "declarations do not render; declare that, or remove it from adopt: to keep it"
        )
    return None


def _adopted_change(adoption: Adoption, statement: Any) -> StatementChange:
    sentence = (
        f"replaces hand-written statement {adoption.sid} (adopted at {adoption.location}): "
        "the managed statements grant all it granted, in the same write"
    )
    where = (str(adoption.location),)
    return StatementChange(adoption.sid, ChangeKind.REMOVE, statement, None, (), (sentence,), where)


def _held(
    rows: tuple[AccessChange, ...], desired: DesiredBucket | None, held: frozenset[Atom]
) -> tuple[AccessChange, ...]:
    """The reviewer's rows without the gains an adopted statement already gave: no one gains."""
    if not held or desired is None:
        return rows
    by_location = {str(g.location): g for g in desired.share.grants}
    kept_rows = []
    for row in rows:
        grant = by_location.get(row.declared_at or "")
        gained = row.direction is Direction.GAINS and grant is not None
        if gained and grant and not uncovered(grant_atoms(grant.grantee, grant.access, grant.prefixes), held):
            continue
        kept_rows.append(row)
    return tuple(kept_rows)


@dataclass(frozen=True)
class _FactsOutcome:
    """What a bucket's facts change in its plan."""

    desired: DesiredBucket | None
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    acl_sids: frozenset[str] = frozenset()
    """Sids whose statements differ between uploads with and without the owner's ACL."""
    acl_required: bool = False
    key_arn: str | None = None
    key_statements: tuple[dict[str, Any], ...] = ()


def _bucket_facts(
    desired: DesiredBucket | None, facts: BucketFacts | None, sid_prefix: str, partition: str
) -> _FactsOutcome:
    if desired is None or facts is None:
        return _FactsOutcome(desired)
    errors = list(facts.errors)
    acl_sids: frozenset[str] = frozenset()
    ownership = facts.ownership
    if desired.owner_acl is not None and ownership is not None:
        plain = {(s.sid, s.canonical(partition)) for s in desired.statements}
        acl = {(s.sid, s.canonical(partition)) for s in desired.owner_acl}
        acl_sids = frozenset(sid for sid, _ in plain ^ acl)
        if ownership is Ownership.PREFERRED:
            desired = desired.under_owner_acl()
        elif ownership is not Ownership.ENFORCED:
            errors.append(ownership_error(desired.bucket, desired.account, ownership))
    outcome = _FactsOutcome(desired, tuple(errors), (), acl_sids, ownership is Ownership.PREFERRED)
    return _key_facts(outcome, facts, desired, sid_prefix, partition)


def _key_facts(
    outcome: _FactsOutcome, facts: BucketFacts, desired: DesiredBucket, sid_prefix: str, partition: str
) -> _FactsOutcome:
    encryption = facts.encryption
    if encryption is None:
        return outcome
    kind = key_kind(encryption)
    grants = active_grants(desired)
    if kind in (KeyKind.AWS_MANAGED, KeyKind.BY_NAME):
        problem = key_error(kind, encryption, desired.bucket)
        if problem and any(is_cross_account(g, desired.account) for g in grants):
            return replace(outcome, errors=(*outcome.errors, problem))
        return outcome
    if kind is not KeyKind.CUSTOMER or not grants:
        return outcome
    key_arn = str(encryption.kms_key_id)
    statements = tuple(s.statement for s in render_key_statements(grants, key_arn, sid_prefix, partition))
    if desired.manage_key:
        # kms: manage: the key's own plan (Plan.keys) carries these statements.
        return replace(outcome, key_arn=key_arn, key_statements=statements)
    warning = (
        f"objects are encrypted with the customer managed KMS key {key_arn}: its key policy must also "
        f"allow the grantees ({len(statements)} statement{'s' if len(statements) != 1 else ''} shown "
        "with this bucket); bucketshare does not change key policies (kms: manage would)"
    )
    return replace(outcome, warnings=(warning,), key_arn=key_arn, key_statements=statements)


def _named(grantee: str) -> GrantMatch:
    return lambda grant: grant.grantee.describe() == grantee


def _consumer_policies(
    desired: DesiredBucket | None, access: tuple[AccessChange, ...], key_arn: str | None, partition: str
) -> tuple[ConsumerPolicy, ...]:
    """For each grantee that gains access: the identity policy it attaches on its side."""
    if desired is None:
        return ()
    gaining = sorted({row.grantee for row in access if row.direction is Direction.GAINS})
    policies = []
    for grantee in gaining:
        found = bucket_access(desired.bucket, desired.statements, _named(grantee), key_arn, partition)
        if found is not None:
            policies.append(ConsumerPolicy(grantee, identity_policy([found])))
    return tuple(policies)


def _is_ours(statement: Any, sid_prefix: str) -> bool:
    return isinstance(statement, dict) and str(statement.get("Sid", "")).startswith(sid_prefix)


def _collisions(kept: list[Any], wanted: Sequence[DesiredStatement]) -> list[str]:
    rendered = {w.sid.lower(): w.sid for w in wanted}
    return [
        f"statement {s.get('Sid')!r} is not managed by bucketshare but collides with rendered Sid "
        f"{rendered[str(s.get('Sid')).lower()]}; rename it by hand"
        for s in kept
        if isinstance(s, dict) and str(s.get("Sid", "")).lower() in rendered
    ]


def _new_document(live: Any, statements: list[Any]) -> dict[str, Any] | None:
    if not statements:
        return None
    document: dict[str, Any] = {"Version": POLICY_VERSION}
    if isinstance(live, dict) and "Id" in live:
        document["Id"] = live["Id"]
    document["Statement"] = statements
    return document


def _write_problems(
    policy: dict[str, Any], size: int, wanted: Sequence[DesiredStatement], bucket: str, partition: str
) -> list[str]:
    problems = []
    if size > POLICY_SIZE_LIMIT:
        problems.append(
            f"the merged policy would be {size} bytes, over the {POLICY_SIZE_LIMIT}-byte S3 limit; "
            "S3 would reject it. Remove grants or unmanaged statements"
        )
    for sid in public_statement_sids(policy):
        problems.append(
            f"statement {sid} would make the bucket public (S3 Block Public Access would refuse it "
            "or, with RestrictPublicBuckets, cut off every cross-account grant); remove it"
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
    return [name for name in found if _ORPHAN_ID.match(name)]


def _sid_of(statement: Any) -> str:
    sid = statement.get("Sid") if isinstance(statement, dict) else None
    return str(sid) if sid else "(no Sid)"


def _orphan_warnings(statements: list[Any]) -> list[str]:
    return [
        f"statement {_sid_of(statement)} names orphaned principal {name}: the role or user was deleted, "
        "so access for it is broken (recreating it does not restore it)"
        for statement in statements
        for name in _orphans(statement)
    ]


def _kept_problems(document: Any, kept: list[Any]) -> list[str]:
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


def _public_warnings(statements: list[Any]) -> list[str]:
    return [
        f"statement {s.get('Sid', '(no Sid)')} is public; with RestrictPublicBuckets it blocks every "
        "cross-account grant on this bucket"
        for s in statements
        if is_public_statement(s)
    ]


@dataclass(frozen=True)
class _Context:
    sid_prefix: str
    partition: str
    declared: bool


def _statement_changes(
    ours: list[Any], wanted: Sequence[DesiredStatement], ctx: _Context
) -> list[StatementChange]:
    live_by_sid: dict[str, Any] = {}
    changes = []
    for statement in ours:
        sid = str(statement.get("Sid"))
        if sid in live_by_sid:
            sentence = f"removes a duplicate of statement {sid}; the first copy stays"
            changes.append(StatementChange(sid, ChangeKind.REMOVE, statement, None, (), (sentence,), ()))
        else:
            live_by_sid[sid] = statement
    wanted_by_sid = {w.sid: w for w in wanted}
    for sid in sorted(live_by_sid.keys() | wanted_by_sid.keys()):
        before, desired = live_by_sid.get(sid), wanted_by_sid.get(sid)
        if desired is None:
            changes.append(_change(sid, ChangeKind.REMOVE, before, None, None, ctx))
        elif before is None:
            changes.append(_change(sid, ChangeKind.ADD, None, desired.statement, desired, ctx))
        elif before != desired.statement and canonical(before, ctx.partition) != desired.canonical(
            ctx.partition
        ):
            # Equal dicts need no normalising: the common case for a policy we wrote ourselves.
            changes.append(_change(sid, ChangeKind.CHANGE, before, desired.statement, desired, ctx))
    return changes


def _change(
    sid: str,
    kind: ChangeKind,
    before: Any,
    after: dict[str, Any] | None,
    desired: DesiredStatement | None,
    ctx: _Context,
) -> StatementChange:
    old = normalize_statement(before, ctx.partition) if before is not None else {}
    new = normalize_statement(after, ctx.partition) if after is not None else {}
    field_diff: tuple[str, ...] = ()
    if kind is ChangeKind.CHANGE:
        field_diff = tuple(DeepDiff(old, new, ignore_order=True, verbose_level=2).pretty().splitlines())
    sources = tuple(sorted({str(g.location) for g in desired.grants})) if desired else ()
    return StatementChange(sid, kind, before, after, field_diff, (), sources)


_ACL_SENTENCE = (
    "uploads must set the bucket-owner-full-control ACL (s3:x-amz-acl), so that under the bucket's "
    "Object Ownership BucketOwnerPreferred every object another account writes becomes the owner's"
)
_ACL_SPLIT_SENTENCE = (
    "replaced by separate read and write statements: the upload ACL condition of BucketOwnerPreferred "
    "must not apply to reads"
)
_ACL_READS_SENTENCE = (
    "holds the reads of read-write grants, split from their writes: the upload ACL condition of "
    "BucketOwnerPreferred must not apply to reads"
)


_ACL_DROPPED_SENTENCE = (
    "uploads no longer need the bucket-owner-full-control ACL: the bucket's Object Ownership is now "
    "BucketOwnerEnforced (ACLs off, the owner owns every object), so reads and writes render as before"
)


def _holds_acl_condition(ours: list[Any]) -> bool:
    """Whether our live statements were written for BucketOwnerPreferred."""
    return any("s3:x-amz-acl" in json.dumps(s).lower() for s in ours)


def _acl_sentence(change: StatementChange, acl_required: bool) -> str:
    if not acl_required:
        return _ACL_DROPPED_SENTENCE
    if change.kind is ChangeKind.REMOVE:
        return _ACL_SPLIT_SENTENCE
    return _ACL_SENTENCE if "s3:x-amz-acl" in json.dumps(change.after) else _ACL_READS_SENTENCE


def _explained(
    changes: list[StatementChange],
    rows: tuple[AccessChange, ...],
    sid_prefix: str,
    acl_sids: frozenset[str] = frozenset(),
    acl_required: bool = False,
) -> list[StatementChange]:
    """Each change with the reviewer's sentences for it (worded by reconciler.explain)."""
    explained = []
    for c in changes:
        sentences = c.sentences or change_sentences(c.sid, c.kind, c.before, c.after, rows, sid_prefix)
        if c.sid in acl_sids and not any(r.sid == c.sid for r in rows):
            sentences = (_acl_sentence(c, acl_required),)
        explained.append(replace(c, sentences=sentences))
    return explained


def _expiry_only(desired: DesiredBucket | None, ours: list[Any], partition: str) -> bool:
    """True when the live statements are exactly what rendered before some grants expired."""
    if desired is None or desired.with_expired is None:
        return False
    before = [w.statement for w in desired.with_expired]
    return same_statements(ours, before, partition)


def _not_ours_to_read(live: LivePolicy) -> bool:
    return live.error_kind in (ReadError.DENIED, ReadError.NO_BUCKET)


def build_plan(
    desired: Sequence[DesiredBucket],
    live: Iterable[LivePolicy],
    sid_prefix: str,
    partition: str,
    warnings: Sequence[str] = (),
    errors: Sequence[str] = (),
    region: str | None = None,
) -> Plan:
    """A plan over every declared bucket plus every discovered bucket that holds our statements;
    region: where missing buckets declared with `create: true` would be created."""
    by_bucket = {d.bucket: d for d in desired}
    plans = []
    skipped = []
    # Each bucket is planned as its read arrives (live may be a lazy stream), so planning
    # overlaps the reads still in flight; the plan is sorted by bucket at the end.
    for state in live:
        if state.bucket not in by_bucket and state.error is not None and _not_ours_to_read(state):
            # A discovered bucket we cannot read may not be ours at all: say so, don't fail.
            skipped.append((state.bucket, f"discovery could not read bucket {state.bucket}: {state.error}"))
            continue
        bucket_plan = plan_bucket(by_bucket.get(state.bucket), state, sid_prefix, partition, region)
        if bucket_plan.declared or bucket_plan.action is not BucketAction.NOOP:
            plans.append(bucket_plan)
    plans.sort(key=lambda b: b.bucket)
    found = [message for _, message in skipped]
    return Plan(
        tuple(plans), sid_prefix, partition, ordered_messages([*warnings, *found]), ordered_messages(errors)
    )


def _natural(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def ordered_messages(messages: Iterable[str]) -> tuple[str, ...]:
    """Plan-wide messages once each, in one order (file:line:col, account and bucket numbers
    compare as numbers): a plan of shards joined says the same as a plan of everything."""
    return tuple(sorted(set(messages), key=_natural))


def select_scheduled(plan: Plan, fix_all_drift: bool) -> Plan:
    """What the unattended scheduled run may apply: expired-grant removals, or all with `drift: fix`.

    Other changing buckets, and every key policy that changes, become no-ops, so apply writes
    nothing to them; their drift is still reported by the plan the run printed.
    """
    if fix_all_drift:
        return plan
    buckets = tuple(
        b if b.expiry_only or not b.writes else replace(b, action=BucketAction.NOOP, create=None)
        for b in plan.buckets
    )
    keys = tuple(replace(k, action=BucketAction.NOOP) if k.writes else k for k in plan.keys)
    return replace(plan, buckets=buckets, keys=keys)


def check_against_live(
    bucket_plan: BucketPlan, live_text: str | None, sid_prefix: str, partition: str = "aws"
) -> str | None:
    """Why a saved bucket plan must not be written over this live policy, or None.

    A saved plan is a file anyone could edit. Rebuilding the document from the live policy
    (what we do not own, kept exactly and in order, but for the statements the plan adopts)
    and the plan's own statements must give exactly the text the plan would write, with the
    action the plan names. A plan may drop an adopted statement only when its own statements
    grant everything that statement grants, so an edited `adopted` list cannot revoke access.
    """
    try:
        live = json.loads(live_text) if live_text is not None else None
    except json.JSONDecodeError:
        return "refused: the live policy is not valid JSON; fix it by hand, then plan again"
    kept = [s for s in statements_of(live) if not _is_ours(s, sid_prefix)]
    planned = statements_of(bucket_plan.new_policy)
    ours_planned = [s for s in planned if _is_ours(s, sid_prefix)]
    kept, refusal = _drop_adopted(bucket_plan, kept, ours_planned, partition)
    if refusal is not None:
        return refusal
    if [s for s in planned if not _is_ours(s, sid_prefix)] != kept:
        return (
            "refused: the saved plan does not keep every statement bucketshare does not own exactly "
            "as the live policy holds it; run plan again"
        )
    rebuilt = _new_document(live, [*kept, *ours_planned])
    action = BucketAction.PUT if rebuilt is not None else BucketAction.DELETE
    if action is not bucket_plan.action:
        planned_action = bucket_plan.action.value
        return f"refused: the saved plan says {planned_action} where its policy means {action.value}"
    if (minified(rebuilt) if rebuilt is not None else None) != bucket_plan.new_policy_text:
        return "refused: the saved plan's policy is not what plan builds from the live policy; run plan again"
    return None


EXISTS_NOW = "refused: the bucket exists now; run plan again"


def check_creation_against_live(
    bucket_plan: BucketPlan, live: LivePolicy, sid_prefix: str, region: str
) -> str | None:
    """Why a saved create-bucket plan must not be applied now, or None.

    The bucket must still be missing (a bucket that appeared since, anyone's, is not the one
    reviewed), the plan must be for the region apply creates in, and its policy must be
    exactly what plan builds for a new bucket: only statements bucketshare owns.
    """
    if live.error_kind is not ReadError.NO_BUCKET:
        return live.error if live.error is not None else EXISTS_NOW
    creation = bucket_plan.create
    if creation is None or bucket_plan.live_hash != NO_BUCKET_HASH:
        return "refused: the saved plan says create-bucket without a bucket to create; run plan again"
    if creation.region != region:
        return (
            f"refused: the plan creates the bucket in {creation.region}, but apply runs in {region}; "
            f"set AWS_REGION={creation.region} or run plan again"
        )
    if bucket_plan.adopted:
        return "refused: the saved plan adopts statements of a bucket that does not exist; run plan again"
    planned = statements_of(bucket_plan.new_policy)
    if any(not _is_ours(s, sid_prefix) for s in planned):
        return (
            "refused: the saved plan writes statements bucketshare does not own to a new bucket; "
            "run plan again"
        )
    rebuilt = _new_document(None, planned)
    if (minified(rebuilt) if rebuilt is not None else None) != bucket_plan.new_policy_text:
        return "refused: the saved plan's policy is not what plan builds for a new bucket; run plan again"
    return None


def _drop_adopted(
    bucket_plan: BucketPlan, kept: list[Any], ours: list[Any], partition: str
) -> tuple[list[Any], str | None]:
    """kept without the statements the plan adopts, or why the plan may not drop them."""
    if not bucket_plan.adopted:
        return kept, None
    if len(set(bucket_plan.adopted)) != len(bucket_plan.adopted):
        return kept, "refused: the saved plan adopts one statement twice; run plan again"
    granted = policy_atoms(ours, bucket_plan.bucket, partition)
    remaining = list(kept)
    for sid in bucket_plan.adopted:
        matches = [s for s in kept if isinstance(s, dict) and s.get("Sid") == sid]
        if len(matches) != 1:
            return (
                kept,
                f"refused: the saved plan adopts statement {sid!r}, which the live policy does not hold once",
            )
        try:
            atoms = statement_atoms(matches[0], bucket_plan.bucket, partition)
        except NotModelled:
            atoms = None
        if atoms is None or uncovered(atoms, granted):
            return kept, (
                f"refused: the saved plan drops hand-written statement {sid!r} without its own statements "
                "granting all it grants; run plan again"
            )
        remaining.remove(matches[0])
    return remaining, None


def plan_key_policy(
    key_arn: str,
    account: str,
    live: LivePolicy,
    wanted: Sequence[DesiredStatement],
    users: Sequence[str],
    sid_prefix: str,
    partition: str,
) -> BucketPlan:
    """A KMS key's policy, planned as the bucket policies are: statements with our Sid prefix
    are ours, every other (the key administrators', the key users') is kept exactly and in
    order; the merged policy must fit KMS's 32 KB. A key policy is never deleted."""
    base = BucketPlan(
        key_arn,
        account,
        BucketAction.ERROR,
        True,
        policy_hash(live.text),
        kind=PolicyKind.KEY,
        size_limit=KEY_POLICY_SIZE_LIMIT,
        key_users=tuple(users),
    )
    if live.error is not None:
        return replace(base, errors=(live.error,))
    try:
        document = json.loads(live.text) if live.text is not None else None
    except json.JSONDecodeError as exc:
        return replace(base, errors=(f"the key policy is not valid JSON ({exc}); fix it by hand first",))
    statements = statements_of(document)
    kept = [s for s in statements if not _is_ours(s, sid_prefix)]
    ours = [s for s in statements if _is_ours(s, sid_prefix)]
    errors = _collisions(kept, wanted)
    changes = _explained(
        _statement_changes(ours, wanted, _Context(sid_prefix, partition, True)), (), sid_prefix
    )
    new_policy = _new_document(document, [*kept, *(w.statement for w in wanted)])
    new_size = policy_size(new_policy) if new_policy is not None else 0
    if changes and new_policy is not None:
        if not kept:
            errors.append(
                "the key policy would hold only bucketshare's statements: no administrator could manage "
                "the key any more (KMS refuses such a policy); add the key administrators' statement by hand"
            )
        if new_size > KEY_POLICY_SIZE_LIMIT:
            errors.append(
                f"the merged key policy would be {new_size} bytes, over KMS's {KEY_POLICY_SIZE_LIMIT}-byte "
                "limit; remove grants or unmanaged statements"
            )
        errors.extend(_kept_problems(document, kept))
    if changes and new_policy is None:
        errors.append("the key policy would hold no statement at all; a key policy is never deleted")
    action = BucketAction.PUT if changes else BucketAction.NOOP
    return replace(
        base,
        action=BucketAction.ERROR if errors else action,
        changes=tuple(changes),
        kept_statements=len(kept),
        errors=tuple(errors),
        warnings=tuple(_orphan_warnings(statements)),
        new_policy=new_policy,
        new_size=new_size,
    )
