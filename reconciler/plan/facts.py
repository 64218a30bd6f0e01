"""Which facts a bucket's grants need, and what is wrong with the facts read."""

from __future__ import annotations

from reconciler.declare.model import Grant, GranteeKind
from reconciler.live.facts import Encryption, FactNeeds, KeyKind, Ownership
from reconciler.policy.access import writes
from reconciler.policy.render import DesiredBucket


def active_grants(desired: DesiredBucket) -> tuple[Grant, ...]:
    """The grants rendered into the bucket's statements (expired ones are not), once each."""
    seen: dict[Grant, None] = {}
    for statement in desired.statements:
        seen.update((g, None) for g in statement.grants)
    return tuple(seen)


def needs_for(desired: DesiredBucket) -> FactNeeds:
    # From the grants, not the statements: asked before the read, it must not render.
    grants = desired.active_grants()
    return FactNeeds(ownership=any(writes(g.access) for g in grants), encryption=bool(grants))


def is_cross_account(grant: Grant, owner: str) -> bool:
    """Organizations and OUs span accounts; an account or ARN grant is cross-account unless
    it names the owner's own account."""
    if grant.grantee.kind in (GranteeKind.ORG, GranteeKind.OU):
        return True
    return grant.grantee.account != owner


def ownership_fix(bucket: str, account: str) -> str:
    return (
        f"aws s3api put-bucket-ownership-controls --bucket {bucket} --expected-bucket-owner {account} "
        "--ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'"
    )


def ownership_error(bucket: str, account: str, ownership: Ownership) -> str:
    setting = "no Object Ownership controls"
    if ownership is not Ownership.NONE:
        setting = f"Object Ownership {ownership}"
    return (
        f"this bucket has write grants but {setting}: objects another account writes stay that "
        "account's, and the bucket owner's other readers cannot read them. Set BucketOwnerEnforced "
        f"(ACLs off, the bucket owner owns every object): {ownership_fix(bucket, account)}"
    )


def key_error(kind: KeyKind, encryption: Encryption, bucket: str) -> str | None:
    """Why no grantee in another account could read (or write) this bucket's objects, or None."""
    if kind is KeyKind.AWS_MANAGED:
        return (
            f"default encryption uses the AWS managed key aws/s3 ({encryption.algorithm}), whose key "
            "policy cannot be changed, so no other account can decrypt the objects or encrypt new "
            "ones; set the bucket's default encryption to a customer managed KMS key by its full ARN "
            f"(aws s3api put-bucket-encryption --bucket {bucket} ...), or to SSE-S3 (AES256)"
        )
    if kind is KeyKind.BY_NAME:
        return (
            f"default encryption names its KMS key as {encryption.kms_key_id!r}, not by full key ARN; "
            "an alias or key id resolves only in the bucket owner's account, so other accounts' "
            "requests fail. Name the key by its ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID) in the "
            "bucket's default encryption"
        )
    return None
