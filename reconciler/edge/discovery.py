"""Discovery: the buckets each account owns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
)

if TYPE_CHECKING:
    pass

from reconciler.edge.aws_errors import (
    BucketAccessError,
    CredentialsRejected,
)
from reconciler.edge.base import EdgeBase


class Discovery(EdgeBase):
    def list_buckets(self, account: str) -> list[str]:
        names: list[str] = []
        paginator = self.s3(account).get_paginator("list_buckets")
        try:
            for page in self._persist(lambda: list(paginator.paginate())):
                names.extend(str(b["Name"]) for b in page.get("Buckets", []))
        except (ClientError, BotoCoreError) as exc:
            raise BucketAccessError(
                f"cannot list the buckets of account {account}: "
                + self._describe(exc, "*", account, "ListAllMyBuckets")
            ) from exc
        return names

    def list_buckets_of(self, accounts: Sequence[str]) -> list[tuple[str, list[str] | BucketAccessError]]:
        """Each account's bucket names, or why they could not be listed; accounts concurrently
        (with a role each, the first call per account is also its AssumeRole)."""

        def listing(account: str) -> tuple[str, list[str] | BucketAccessError]:
            try:
                return account, self.list_buckets(account)
            except CredentialsRejected:
                raise
            except BucketAccessError as exc:
                return account, exc

        return self._each(listing, accounts)
