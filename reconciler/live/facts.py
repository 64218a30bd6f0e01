"""What else about a bucket decides whether a share works: Object Ownership and default
encryption, as the AWS edge read them, and what they mean for the grants. Pure.

A bucket policy alone does not make a cross-account share work (AWS-BEHAVIOUR.md, "Sharing
that actually works"): objects another account writes under ObjectWriter stay that
account's, and objects encrypted with a KMS key can be read only by principals the key's
policy lets decrypt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

NEW_BUCKET_OWNERSHIP: Final = "BucketOwnerEnforced"
"""Object Ownership of a bucket apply creates (and what AWS gives every new bucket today)."""
NEW_BUCKET_ENCRYPTION: Final = "AES256"
"""Default encryption of a bucket apply creates: SSE-S3, with an S3 Bucket Key."""


class Ownership(StrEnum):
    """GetBucketOwnershipControls' ObjectOwnership, plus NONE for no controls set."""

    ENFORCED = NEW_BUCKET_OWNERSHIP
    PREFERRED = "BucketOwnerPreferred"
    WRITER = "ObjectWriter"
    NONE = "none"


@dataclass(frozen=True)
class Encryption:
    """A bucket's default encryption (GetBucketEncryption's first rule)."""

    algorithm: str | None
    """SSEAlgorithm (AES256, aws:kms, aws:kms:dsse); None when no default encryption is set."""
    kms_key_id: str | None = None
    """KMSMasterKeyID as configured: a key ARN, an alias, a bare key id, or None (aws/s3)."""


@dataclass(frozen=True)
class FactNeeds:
    """Which facts plan reads for one bucket: each is one more call per bucket, so only what
    the grants need (ownership only for writers)."""

    ownership: bool = False
    encryption: bool = False

    @property
    def any(self) -> bool:
        return self.ownership or self.encryption


@dataclass(frozen=True)
class BucketFacts:
    """The facts read for one bucket; a field is None when it was not read (not needed, or
    its read failed: then `errors` says why)."""

    ownership: Ownership | None = None
    encryption: Encryption | None = None
    errors: tuple[str, ...] = ()


class KeyKind(StrEnum):
    NONE = "none"
    """No default encryption, or SSE-S3 (AES256): nothing for grantees to be granted."""
    CUSTOMER = "customer"
    """A customer managed key named by its full ARN: its key policy must admit the grantees."""
    AWS_MANAGED = "aws-managed"
    """The AWS managed aws/s3 key: its policy cannot be changed, so no other account can use it."""
    BY_NAME = "by-name"
    """An alias or a bare key id: it resolves in the owner's account only."""


_KEY_ARN = re.compile(r"^arn:[a-z-]+:kms:([a-z0-9-]+):[0-9]{12}:key/[A-Za-z0-9-]+\Z")


_AWS_S3_ALIAS = "alias/aws/s3"


def key_kind(encryption: Encryption) -> KeyKind:
    if encryption.algorithm is None or not encryption.algorithm.startswith("aws:kms"):
        return KeyKind.NONE
    key = encryption.kms_key_id
    # Without a KMSMasterKeyID, SSE-KMS uses the account's AWS managed key aws/s3.
    if not key or key == _AWS_S3_ALIAS or key.endswith(":" + _AWS_S3_ALIAS):
        return KeyKind.AWS_MANAGED
    return KeyKind.CUSTOMER if _KEY_ARN.match(key) else KeyKind.BY_NAME


def is_key_arn(text: str) -> bool:
    """A KMS key named by its full ARN (not an alias or a bare id)."""
    return _KEY_ARN.match(text) is not None


def key_account(key_arn: str) -> str:
    """The account that owns a KMS key (its ARN's fifth field); its policy is written there."""
    parts = key_arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def key_region(key_arn: str) -> str:
    """A KMS key ARN's region: S3 uses only keys in the bucket's own region."""
    match = _KEY_ARN.match(key_arn)
    return match.group(1) if match else ""
