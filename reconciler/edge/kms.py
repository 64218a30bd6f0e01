"""KMS key policies: read and write the policy of a customer managed key."""

from __future__ import annotations

from collections.abc import Sequence

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
)

from reconciler.edge.aws_errors import (
    AccountAccessError,
    BucketAccessError,
)
from reconciler.edge.base import EdgeBase
from reconciler.live.facts import key_region
from reconciler.live.policy import LivePolicy, ReadError


class KeyPolicies(EdgeBase):
    def read_key_policy(self, key_arn: str, account: str) -> LivePolicy:
        """A KMS key's policy (policy name `default`, the only one), as a LivePolicy named by
        the key ARN; a failure is an error for that key only."""
        try:
            client = self.kms(account, key_region(key_arn))
            response = self._persist(lambda: client.get_key_policy(KeyId=key_arn, PolicyName="default"))
        except (ClientError, BotoCoreError) as exc:
            return LivePolicy(key_arn, account, None, self._key_error(exc, key_arn, account, "GetKeyPolicy"))
        except AccountAccessError as exc:
            return LivePolicy(key_arn, account, None, str(exc), ReadError.OTHER)
        return LivePolicy(key_arn, account, str(response["Policy"]))

    def read_key_policies(self, targets: Sequence[tuple[str, str]]) -> list[LivePolicy]:
        """(key ARN, account) pairs, read concurrently, in input order."""
        return self._each(lambda target: self.read_key_policy(*target), targets)

    def put_key_policy(self, key_arn: str, account: str, text: str) -> None:
        try:
            client = self.kms(account, key_region(key_arn))
            self._persist(lambda: client.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=text))
        except (ClientError, BotoCoreError) as exc:
            raise BucketAccessError(self._key_error(exc, key_arn, account, "PutKeyPolicy")) from exc

    def _key_error(self, exc: Exception, key_arn: str, account: str, operation: str) -> str:
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code, message = str(error.get("Code", "?")), str(error.get("Message", ""))
            if code == "AccessDeniedException":
                return (
                    f"access denied on {operation} for key {key_arn}: the key policy or the role of "
                    f"account {account} must allow kms:{operation}"
                )
            if code == "NotFoundException":
                return (
                    f"KMS key {key_arn} does not exist in account {account}; "
                    "fix the bucket's default encryption"
                )
            if code == "MalformedPolicyDocumentException":
                return f"KMS rejected the key policy as malformed: {message}"
        return self._describe(exc, key_arn, account, operation)
