"""AWS failures in words a person can act on: one line per failure, saying what to do."""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    ReadTimeoutError,
)

from reconciler.edge.aws_errors import DENIED_CODES, THROTTLE_CODES, TOTAL_ATTEMPTS
from reconciler.edge.clients import READ_TIMEOUT_VARIABLE
from reconciler.errors import BucketshareError

_IAM_ACTIONS = {
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "PutBucketEncryption": "s3:PutEncryptionConfiguration",
}
"""API operations whose IAM action has another name (the rest are s3:<operation>)."""


def _kept_failing(attempts: int, detail: str, advice: str) -> str:
    if attempts >= TOTAL_ATTEMPTS:
        return f"S3 kept failing after {TOTAL_ATTEMPTS} attempts ({detail}); {advice}"
    # Standard retries share a quota per client that failed retries drain: when many
    # requests fail at once, botocore stops retrying before total_max_attempts.
    made = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    return (
        f"S3 kept failing after {made} ({detail}; botocore stopped retrying early, as too many "
        f"requests were failing at once); {advice}"
    )


def describe_client_error(
    exc: Exception, bucket: str, account: str, operation: str, attempts: int = TOTAL_ATTEMPTS
) -> str:
    """One clear line, with what to do, for an AWS surprise on one bucket; `attempts`: how many
    attempts the failed call made."""
    if isinstance(exc, NoCredentialsError):
        raise BucketshareError(
            "no AWS credentials found; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        ) from exc
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach the S3 endpoint ({exc}); check network and AWS_ENDPOINT_URL"
    if isinstance(exc, ReadTimeoutError):
        # botocore's standard retries retry read timeouts and dropped connections too.
        return _kept_failing(
            attempts, f"no answer within the read timeout, {READ_TIMEOUT_VARIABLE}", "run again later"
        )
    if isinstance(exc, HTTPClientError):
        return _kept_failing(
            attempts, f"connection closed or reset: {exc}", "run again later or lower --parallelism"
        )
    if not isinstance(exc, ClientError):
        return f"{operation} failed: {exc}"
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "?"))
    message = str(error.get("Message", ""))
    if code == "NoSuchBucket":
        return (
            f"bucket does not exist; create it in account {account}, declare it with create: true, "
            "or remove its declaration"
        )
    if code == "BucketAlreadyExists":
        return (
            f"bucket name {bucket} is taken by another AWS account (S3 bucket names are global); "
            "declare another name"
        )
    if code == "BucketAlreadyOwnedByYou":
        return (
            f"bucket {bucket} exists already in account {account}: it was created since the plan "
            "(or by an earlier attempt whose answer was lost); check its settings and run plan again"
        )
    if code in DENIED_CODES:
        action = _IAM_ACTIONS.get(operation, f"s3:{operation}")
        hint = (
            f"the reconciler's role needs {action} on it, and the bucket must be owned by account "
            f"{account} (ExpectedBucketOwner)"
        )
        if operation == "PutBucketPolicy":
            hint += "; if Block Public Access has BlockPublicPolicy on, S3 refuses any public policy"
        return f"access denied on {operation}: {hint}"
    if code in THROTTLE_CODES or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
        return _kept_failing(attempts, f"{code}: {message}", "run again later or lower --parallelism")
    if code == "MalformedPolicy":
        return f"S3 rejected the policy as malformed: {message}"
    return f"{operation} failed with {code}: {message}"
