"""AWS errors as classes and codes: what fails one bucket, one account or the whole run, and
which answers are worth retrying. error_wording.py turns them into words."""

from __future__ import annotations

from botocore.exceptions import ClientError, HTTPClientError

from reconciler.errors import BucketshareError
from reconciler.live.policy import ReadError

TOTAL_ATTEMPTS = 5
"""botocore's total_max_attempts counts attempts (max_attempts would count retries)."""


TRANSIENT_WRITE_ATTEMPTS = 3


DENIED_CODES = frozenset(("AccessDenied", "403", "AllAccessDisabled"))


_REJECTED_CODES = frozenset(
    (
        "InvalidAccessKeyId",  # S3: no such access key
        "SignatureDoesNotMatch",  # S3, STS: the wrong secret key
        "ExpiredToken",  # S3, STS: expired session credentials
        "InvalidToken",  # S3: a malformed session token
        "InvalidClientTokenId",  # STS, IAM: no such access key or session token
        "ExpiredTokenException",  # KMS
        "UnrecognizedClientException",  # KMS: no such access key or session token
    )
)
"""AWS refusing who is asking rather than what is asked: every later call fails the same way."""


FACT_NAMES = {"GetBucketOwnershipControls": "Object Ownership", "GetBucketEncryption": "default encryption"}


THROTTLE_CODES = {"Throttling", "ThrottlingException", "SlowDown", "RequestLimitExceeded", "503"}


class BucketAccessError(BucketshareError):
    """An AWS answer about one bucket; other buckets carry on."""


class AccountAccessError(BucketAccessError):
    """An owner account's role could not be assumed: every bucket of that account fails with
    this message; other accounts carry on."""


class CredentialsRejected(BucketAccessError):
    """AWS did not accept the credentials: no bucket can be read or written with them, so a run
    stops at the first such answer with one line. A BucketAccessError, so that a write it
    interrupts is journalled as failed like any other; the read paths let it through."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(
            f"AWS rejected the credentials ({code}): {message}; check AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or renew expired ones (e.g. aws sso login)"
        )


def rejected_credentials(exc: ClientError) -> CredentialsRejected | None:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    if code not in _REJECTED_CODES:
        return None
    return CredentialsRejected(code, str(error.get("Message", "")).strip().rstrip("."))


def is_transient(exc: Exception) -> bool:
    """An error botocore's standard retries retry: a dropped or timed-out connection, a 5xx or
    a throttle."""
    if isinstance(exc, HTTPClientError):
        return True
    if not isinstance(exc, ClientError):
        return False
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in THROTTLE_CODES or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500


def read_error_kind(exc: ClientError) -> ReadError:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    if code in DENIED_CODES:
        return ReadError.DENIED
    return ReadError.NO_BUCKET if code == "NoSuchBucket" else ReadError.OTHER
