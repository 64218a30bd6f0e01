"""Bucket policies: read (one, many concurrently, a just-created bucket), write, delete, public status."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
)

from reconciler.edge.aws_errors import (
    TRANSIENT_WRITE_ATTEMPTS,
    AccountAccessError,
    BucketAccessError,
    read_error_kind,
)
from reconciler.edge.clients import (
    worker_pool,
)
from reconciler.edge.fact_reads import FactReads
from reconciler.live.facts import FactNeeds
from reconciler.live.policy import LivePolicy, ReadError


class PolicyIO(FactReads):
    def read_policy(self, bucket: str, account: str) -> LivePolicy:
        try:
            response = self._persist(
                lambda: self.s3(account).get_bucket_policy(Bucket=bucket, ExpectedBucketOwner=account)
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchBucketPolicy":
                return LivePolicy(bucket, account, None)
            message = self._describe(exc, bucket, account, "GetBucketPolicy")
            return LivePolicy(bucket, account, None, message, read_error_kind(exc))
        except BotoCoreError as exc:
            message = self._describe(exc, bucket, account, "GetBucketPolicy")
            return LivePolicy(bucket, account, None, message, ReadError.OTHER)
        except AccountAccessError as exc:
            return LivePolicy(bucket, account, None, str(exc), ReadError.OTHER)
        return LivePolicy(bucket, account, str(response["Policy"]))

    def iter_policies(
        self,
        targets: Sequence[tuple[str, str]],
        advance: Callable[[], None] | None = None,
        needs: Mapping[str, FactNeeds] | None = None,
    ) -> Iterator[LivePolicy]:
        """(bucket, account) pairs read concurrently, yielded in input order as they arrive, so
        the caller can work on the first policies while the rest are still being read. With
        `needs`, the bucket's facts are read in the same worker, after its policy."""

        def read(target: tuple[str, str]) -> LivePolicy:
            result = self.read_policy(*target)
            need = needs.get(target[0]) if needs else None
            if need is not None and need.any and result.error is None:
                result = replace(result, facts=self.read_facts(*target, need))
            if advance is not None:
                advance()
            return result

        with worker_pool(self.parallelism) as pool:
            yield from pool.map(read, targets)

    def read_new_policy(
        self, bucket: str, account: str, sleep: Callable[[float], None] = time.sleep
    ) -> LivePolicy:
        """read_policy of a bucket just created, through the NoSuchBucket S3 may answer for a
        few seconds after creation (AWS-BEHAVIOUR.md): a short bounded retry."""
        for attempt in range(1, TRANSIENT_WRITE_ATTEMPTS + 1):
            live = self.read_policy(bucket, account)
            if live.error_kind is not ReadError.NO_BUCKET or attempt == TRANSIENT_WRITE_ATTEMPTS:
                return live
            sleep(2.0 * attempt)
        raise AssertionError("unreachable")

    def put_policy(
        self, bucket: str, account: str, text: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._write(
            lambda: self.s3(account).put_bucket_policy(
                Bucket=bucket, Policy=text, ExpectedBucketOwner=account
            ),
            bucket,
            account,
            "PutBucketPolicy",
            sleep,
        )

    def delete_policy(self, bucket: str, account: str, sleep: Callable[[float], None] = time.sleep) -> None:
        self._write(
            lambda: self.s3(account).delete_bucket_policy(Bucket=bucket, ExpectedBucketOwner=account),
            bucket,
            account,
            "DeleteBucketPolicy",
            sleep,
        )

    def policy_is_public(self, bucket: str, account: str) -> bool | None:
        try:
            status = self._persist(
                lambda: self.s3(account).get_bucket_policy_status(Bucket=bucket, ExpectedBucketOwner=account)
            )
        except (ClientError, BotoCoreError, BucketAccessError):
            return None
        return bool(status.get("PolicyStatus", {}).get("IsPublic", False))
