"""The one table from access levels to S3 and KMS actions (rendered into the README)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Access(StrEnum):
    READ = "read"
    WRITE = "write"
    READ_WRITE = "read-write"


@dataclass(frozen=True)
class Actions:
    objects: tuple[str, ...]
    """Actions on `arn:aws:s3:::BUCKET/PREFIX*`."""
    listing: tuple[str, ...]
    """Bucket-level actions that honour the `s3:prefix` condition key."""
    bucket: tuple[str, ...]
    """Bucket-level actions that cannot be scoped to a prefix."""
    key: tuple[str, ...]
    """KMS actions on a customer managed key encrypting the bucket (its key policy). Writers
    need kms:Decrypt too: S3 decrypts the data key to assemble a multipart upload."""


_READ = Actions(
    objects=("s3:GetObject", "s3:GetObjectVersion"),
    listing=("s3:ListBucket",),
    bucket=("s3:GetBucketLocation",),
    key=("kms:Decrypt",),
)
_WRITE = Actions(
    objects=("s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"),
    listing=(),
    bucket=("s3:ListBucketMultipartUploads",),
    key=("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"),
)

ACCESS_ACTIONS: dict[Access, Actions] = {
    Access.READ: _READ,
    Access.WRITE: _WRITE,
    Access.READ_WRITE: Actions(
        objects=_READ.objects + _WRITE.objects,
        listing=_READ.listing + _WRITE.listing,
        bucket=_READ.bucket + _WRITE.bucket,
        key=_WRITE.key,
    ),
}

BUCKET_LEVEL_ACTIONS = frozenset(
    action.lower() for actions in ACCESS_ACTIONS.values() for action in actions.listing + actions.bucket
) | {"s3:listbucketversions"}


def writes(access: Access) -> bool:
    return bool(ACCESS_ACTIONS[access].objects and access is not Access.READ)
