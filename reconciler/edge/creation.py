"""Create a bucket and set its defaults: Block Public Access, BucketOwnerEnforced, encryption, versioning."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass


from reconciler.edge.base import EdgeBase
from reconciler.live.facts import NEW_BUCKET_ENCRYPTION, NEW_BUCKET_OWNERSHIP


class BucketCreation(EdgeBase):
    def create_bucket(
        self, bucket: str, account: str, region: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        """CreateBucket in region; us-east-1 takes no LocationConstraint (S3 refuses one)."""
        arguments: dict[str, Any] = {"Bucket": bucket}
        if region != "us-east-1":
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
        client = self.s3(account)
        self._write(lambda: client.create_bucket(**arguments), bucket, account, "CreateBucket", sleep)

    def block_public_access(
        self, bucket: str, account: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        """All four Block Public Access settings on."""
        self._write(
            lambda: self.s3(account).put_public_access_block(
                Bucket=bucket,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
                ExpectedBucketOwner=account,
            ),
            bucket,
            account,
            "PutPublicAccessBlock",
            sleep,
        )

    def enforce_bucket_owner(
        self, bucket: str, account: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        """Object ownership BucketOwnerEnforced: ACLs off, the bucket owner owns every object
        (objects other accounts write stay readable by the owner's other readers)."""
        self._write(
            lambda: self.s3(account).put_bucket_ownership_controls(
                Bucket=bucket,
                OwnershipControls={"Rules": [{"ObjectOwnership": NEW_BUCKET_OWNERSHIP}]},
                ExpectedBucketOwner=account,
            ),
            bucket,
            account,
            "PutBucketOwnershipControls",
            sleep,
        )

    def encrypt_by_default(
        self, bucket: str, account: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        """Default encryption SSE-S3 (AES256) with an S3 Bucket Key. SSE-S3, not SSE-KMS: a
        declaration cannot name a key; switch to SSE-KMS by hand (then `kms: manage` keeps the
        key policy's statements for the grantees)."""
        self._write(
            lambda: self.s3(account).put_bucket_encryption(
                Bucket=bucket,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {
                            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": NEW_BUCKET_ENCRYPTION},
                            "BucketKeyEnabled": True,
                        }
                    ]
                },
                ExpectedBucketOwner=account,
            ),
            bucket,
            account,
            "PutBucketEncryption",
            sleep,
        )

    def enable_versioning(
        self, bucket: str, account: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._write(
            lambda: self.s3(account).put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}, ExpectedBucketOwner=account
            ),
            bucket,
            account,
            "PutBucketVersioning",
            sleep,
        )
