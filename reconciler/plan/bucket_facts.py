"""Check a bucket's facts (Object Ownership, default-encryption key) and the consumers' identity policies."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from reconciler.live.facts import BucketFacts, KeyKind, Ownership, key_kind
from reconciler.plan.explain import AccessChange, Direction
from reconciler.plan.facts import active_grants, is_cross_account, key_error, ownership_error
from reconciler.policy.consumer import ConsumerPolicy, GrantMatch, bucket_access, identity_policy
from reconciler.policy.key import render_key_statements
from reconciler.policy.render import DesiredBucket, DesiredStatement


@dataclass(frozen=True)
class _FactsOutcome:
    """What a bucket's facts change in its plan."""

    desired: DesiredBucket | None
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    acl_sids: frozenset[str] = frozenset()
    """Under BucketOwnerPreferred: Sids whose statements differ between uploads with and
    without the owner's ACL."""
    acl_required: bool = False
    acl_checked: bool = False
    """The bucket has writers and its Object Ownership was read: the ACL may matter."""
    key_arn: str | None = None
    key_statements: tuple[dict[str, Any], ...] = ()


def check_bucket_facts(
    desired: DesiredBucket | None, facts: BucketFacts | None, sid_prefix: str, partition: str
) -> _FactsOutcome:
    if desired is None or facts is None:
        return _FactsOutcome(desired)
    errors = list(facts.errors)
    acl_sids: frozenset[str] = frozenset()
    ownership = facts.ownership
    acl_checked = False
    if ownership is not None and desired.has_owner_acl_variant():
        acl_checked = True
        if ownership is Ownership.PREFERRED:
            acl_sids = acl_differences(desired)
            desired = desired.under_owner_acl()
        elif ownership is not Ownership.ENFORCED:
            errors.append(ownership_error(desired.bucket, desired.account, ownership))
    preferred = ownership is Ownership.PREFERRED
    outcome = _FactsOutcome(desired, tuple(errors), (), acl_sids, preferred, acl_checked)
    return _key_facts(outcome, facts, desired, sid_prefix, partition)


def acl_differences(desired: DesiredBucket) -> frozenset[str]:
    """Sids whose statements differ between uploads with and without the owner's ACL; it
    renders the ACL variant, so a plan asks only when the ACL matters."""
    if desired.owner_acl is None:
        return frozenset()
    # Both renders come from one renderer, so comparing the statements as rendered is
    # enough; normalising every statement of both took a quarter of a plan's own CPU.
    plain = {s.sid: s.statement for s in desired.statements}
    acl = {s.sid: s.statement for s in desired.owner_acl}
    return frozenset(sid for sid in plain.keys() | acl.keys() if plain.get(sid) != acl.get(sid))


def _key_facts(
    outcome: _FactsOutcome, facts: BucketFacts, desired: DesiredBucket, sid_prefix: str, partition: str
) -> _FactsOutcome:
    encryption = facts.encryption
    if encryption is None:
        return outcome
    kind = key_kind(encryption)
    if kind in (KeyKind.AWS_MANAGED, KeyKind.BY_NAME):
        problem = key_error(kind, encryption, desired.bucket)
        if problem and any(is_cross_account(g, desired.account) for g in desired.active_grants()):
            return replace(outcome, errors=(*outcome.errors, problem))
        return outcome
    if kind is not KeyKind.CUSTOMER:
        return outcome  # SSE-S3, the common case: no key, so no grant to look at
    grants = active_grants(desired)
    if not grants:
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


def consumer_policies_for(
    desired: DesiredBucket | None, access: tuple[AccessChange, ...], key_arn: str | None, partition: str
) -> tuple[ConsumerPolicy, ...]:
    """For each grantee that gains access: the identity policy it attaches on its side."""
    if desired is None:
        return ()
    gaining = sorted({row.grantee for row in access if row.direction is Direction.GAINS})
    if not gaining:
        return ()
    # Each grantee's statements, found in one pass (not one pass over every grant per grantee).
    naming: dict[str, list[DesiredStatement]] = {}
    for statement in desired.statements:
        for name in dict.fromkeys(g.grantee.describe() for g in statement.grants):
            naming.setdefault(name, []).append(statement)
    policies = []
    for grantee in gaining:
        found = bucket_access(desired.bucket, naming.get(grantee, []), _named(grantee), key_arn, partition)
        if found is not None:
            policies.append(ConsumerPolicy.of(grantee, identity_policy([found])))
    return tuple(policies)
