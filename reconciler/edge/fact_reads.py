"""Bucket facts: Object Ownership and default encryption, read with the policy when needed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
)

from reconciler.live.facts import BucketFacts, Encryption, FactNeeds, Ownership

if TYPE_CHECKING:
    pass

from reconciler.edge.aws_errors import (
    FACT_NAMES,
    BucketAccessError,
    CredentialsRejected,
)
from reconciler.edge.base import EdgeBase


class FactReads(EdgeBase):
    def read_ownership(self, bucket: str, account: str) -> Ownership:
        """Object Ownership; raises BucketAccessError with one clear line."""
        response = self._fact(
            lambda: self.s3(account).get_bucket_ownership_controls(
                Bucket=bucket, ExpectedBucketOwner=account
            ),
            "OwnershipControlsNotFoundError",
            bucket,
            account,
            "GetBucketOwnershipControls",
        )
        if response is None:
            return Ownership.NONE
        rules = response.get("OwnershipControls", {}).get("Rules", [])
        value = str(rules[0].get("ObjectOwnership", "")) if rules else ""
        try:
            return Ownership(value)
        except ValueError:
            raise BucketAccessError(
                f"GetBucketOwnershipControls returned an unknown ObjectOwnership {value!r}"
            ) from None

    def read_encryption(self, bucket: str, account: str) -> Encryption:
        """Default encryption; raises BucketAccessError with one clear line."""
        response = self._fact(
            lambda: self.s3(account).get_bucket_encryption(Bucket=bucket, ExpectedBucketOwner=account),
            "ServerSideEncryptionConfigurationNotFoundError",
            bucket,
            account,
            "GetBucketEncryption",
        )
        if response is None:
            return Encryption(None)
        rules = response.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
        default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
        algorithm = default.get("SSEAlgorithm")
        key = default.get("KMSMasterKeyID")
        return Encryption(None if algorithm is None else str(algorithm), None if key is None else str(key))

    def _fact(self, call: Callable[[], Any], absent: str, bucket: str, account: str, operation: str) -> Any:
        """A facts read's answer; None when S3 says the setting is absent (error code absent)."""
        try:
            return self._persist(call)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == absent:
                return None
            raise self._fact_error(exc, bucket, account, operation) from exc
        except BotoCoreError as exc:
            raise self._fact_error(exc, bucket, account, operation) from exc

    def _fact_error(self, exc: Exception, bucket: str, account: str, operation: str) -> BucketAccessError:
        what = FACT_NAMES.get(operation, operation)
        return BucketAccessError(
            f"cannot read the bucket's {what}: " + self._describe(exc, bucket, account, operation)
        )

    def read_facts(self, bucket: str, account: str, needs: FactNeeds) -> BucketFacts:
        """The facts plan needs; a read that fails becomes a per-bucket error, never a crash."""
        ownership: Ownership | None = None
        encryption: Encryption | None = None
        errors: list[str] = []
        if needs.ownership:
            try:
                ownership = self.read_ownership(bucket, account)
            except CredentialsRejected:
                raise
            except BucketAccessError as exc:
                errors.append(str(exc))
        if needs.encryption:
            try:
                encryption = self.read_encryption(bucket, account)
            except CredentialsRejected:
                raise
            except BucketAccessError as exc:
                errors.append(str(exc))
        return BucketFacts(ownership, encryption, tuple(errors))

    def read_encryptions(self, targets: Sequence[tuple[str, str]]) -> list[Encryption | str]:
        """Each (bucket, account)'s default encryption, concurrently, in input order; a read
        that fails gives its one-line reason instead."""

        def read(target: tuple[str, str]) -> Encryption | str:
            try:
                return self.read_encryption(*target)
            except CredentialsRejected:
                raise
            except BucketAccessError as exc:
                return str(exc)

        return self._each(read, targets)
