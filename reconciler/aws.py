"""The AWS edge: the only module that imports boto3.

Clients are created once per account and shared by worker threads (client creation is
slow; clients are thread-safe). An account reached through a role (reconciler.yaml's
assume_role or accounts) gets its own session whose credentials come from one AssumeRole
per run and are refreshed by botocore before they expire; other accounts use the ambient
credentials (standard chain, AWS_PROFILE, AWS_ENDPOINT_URL, ...). Every bucket call passes
ExpectedBucketOwner, so a bucket name now owned by someone else is never read or written.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
import botocore.session
from botocore.config import Config as BotoConfig
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    CredentialProvider,
    Credentials,
    DeferredRefreshableCredentials,
)
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
    ReadTimeoutError,
)
from botocore.retries.standard import ExponentialBackoff, RetryContext

from reconciler.errors import BucketshareError
from reconciler.facts import BucketFacts, Encryption, FactNeeds, Ownership, key_region
from reconciler.plan import LivePolicy, ReadError
from reconciler.roles import AccountRoles, session_name

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

T = TypeVar("T")

TOTAL_ATTEMPTS = 5
"""botocore's total_max_attempts counts attempts (max_attempts would count retries)."""
TRANSIENT_WRITE_ATTEMPTS = 3
READ_TIMEOUT_VARIABLE = "BUCKETSHARE_AWS_READ_TIMEOUT"
DEFAULT_READ_TIMEOUT = 30.0
"""Seconds to wait for each answer. An answer that never comes (a stalled connection) costs
this much per attempt, so a user with a fast network may lower it."""
_MAX_READ_TIMEOUT = 3600.0
_DENIED_CODES = frozenset(("AccessDenied", "403", "AllAccessDisabled"))
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
STS_DEFAULT_REGION = "us-east-1"
"""STS answers in every region; without one set, ask its us-east-1 endpoint (as the README says)."""
NO_REGION = "no AWS region is set; set AWS_REGION (or AWS_DEFAULT_REGION)"
_FACT_NAMES = {"GetBucketOwnershipControls": "Object Ownership", "GetBucketEncryption": "default encryption"}
_THROTTLE_CODES = {"Throttling", "ThrottlingException", "SlowDown", "RequestLimitExceeded", "503"}
_IAM_ACTIONS = {
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "PutBucketEncryption": "s3:PutEncryptionConfiguration",
}
"""API operations whose IAM action has another name (the rest are s3:<operation>)."""


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


def _rejected(exc: ClientError) -> CredentialsRejected | None:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    if code not in _REJECTED_CODES:
        return None
    return CredentialsRejected(code, str(error.get("Message", "")).strip().rstrip("."))


@contextmanager
def _workers(count: int) -> Iterator[ThreadPoolExecutor]:
    """A thread pool that waits for its workers only when its caller ran to the end. Stopped
    early (Ctrl-C, credentials rejected, a generator closed), it cancels the work not started
    and leaves the reads in flight behind: one blocked on a silent endpoint would hold the
    caller for the read timeout times the attempts (150 s by default)."""
    pool = ThreadPoolExecutor(max_workers=count)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


class _Assumed(CredentialProvider):
    """Hands a session the refreshable credentials of one assumed role."""

    METHOD = "bucketshare-assume-role"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Credentials:
        return self._credentials


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
    if code in _DENIED_CODES:
        action = _IAM_ACTIONS.get(operation, f"s3:{operation}")
        hint = (
            f"the reconciler's role needs {action} on it, and the bucket must be owned by account "
            f"{account} (ExpectedBucketOwner)"
        )
        if operation == "PutBucketPolicy":
            hint += "; if Block Public Access has BlockPublicPolicy on, S3 refuses any public policy"
        return f"access denied on {operation}: {hint}"
    if code in _THROTTLE_CODES or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
        return _kept_failing(attempts, f"{code}: {message}", "run again later or lower --parallelism")
    if code == "MalformedPolicy":
        return f"S3 rejected the policy as malformed: {message}"
    return f"{operation} failed with {code}: {message}"


def _transient(exc: Exception) -> bool:
    """An error botocore's standard retries retry: a dropped or timed-out connection, a 5xx or
    a throttle."""
    if isinstance(exc, HTTPClientError):
        return True
    if not isinstance(exc, ClientError):
        return False
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in _THROTTLE_CODES or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500


def read_error_kind(exc: ClientError) -> ReadError:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    if code in _DENIED_CODES:
        return ReadError.DENIED
    return ReadError.NO_BUCKET if code == "NoSuchBucket" else ReadError.OTHER


def read_timeout() -> float:
    """The read timeout in seconds: BUCKETSHARE_AWS_READ_TIMEOUT, or 30."""
    text = os.environ.get(READ_TIMEOUT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_READ_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= _MAX_READ_TIMEOUT:  # also false for nan
        raise BucketshareError(
            f"{READ_TIMEOUT_VARIABLE} must be a number of seconds above 0 and at most "
            f"{_MAX_READ_TIMEOUT:.0f}, not {text!r}; e.g. {READ_TIMEOUT_VARIABLE}=10, or unset it for 30"
        )
    return seconds


def _session() -> boto3.session.Session:
    try:
        return boto3.session.Session()
    except ProfileNotFound as exc:
        raise _profile_error(exc) from exc


def _profile_error(exc: ProfileNotFound) -> BucketshareError:
    return BucketshareError(
        f"AWS profile {exc.kwargs.get('profile')!r} (AWS_PROFILE) is not in the AWS config; "
        "name a profile that exists, or unset AWS_PROFILE"
    )


def _client(session: boto3.session.Session, service: str, config: BotoConfig, **kwargs: Any) -> Any:
    """A client, or one line saying which setting of the environment is wrong."""
    try:
        return session.client(service, config=config, **kwargs)  # type: ignore[call-overload]
    except ProfileNotFound as exc:
        raise _profile_error(exc) from exc
    except NoRegionError as exc:
        raise BucketshareError(NO_REGION) from exc
    except ValueError as exc:
        endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
        if endpoint:
            raise BucketshareError(
                f"AWS_ENDPOINT_URL {endpoint!r} is not an endpoint URL ({exc}); use e.g. "
                "https://s3.us-east-1.amazonaws.com, or unset it"
            ) from exc
        # An empty region makes botocore build https://s3..amazonaws.com.
        raise BucketshareError(NO_REGION) from exc


def _assume_failure(exc: Exception, role: str, account: str) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        detail = f"{error.get('Code', '?')}: {error.get('Message', '')}"
    else:
        detail = str(exc)
    return (
        f"account {account}: cannot assume role {role} ({detail}); the role must exist in that "
        "account and trust the reconciler's credentials with sts:AssumeRole"
    )


class S3Edge:
    def __init__(
        self,
        parallelism: int = 16,
        session: boto3.session.Session | None = None,
        roles: AccountRoles | None = None,
        mode: str = "plan",
        run_id: str | None = None,
    ) -> None:
        self.parallelism = max(1, parallelism)
        self._session = session or _session()
        self._roles = roles or AccountRoles()
        self._mode = mode
        self.run_id = run_id or uuid.uuid4().hex[:12]
        """Names the assumed-role sessions (CloudTrail) and the journal entries of this run."""
        self._config = BotoConfig(
            retries={"mode": "standard", "total_max_attempts": TOTAL_ATTEMPTS},
            max_pool_connections=max(10, self.parallelism),
            connect_timeout=10,
            read_timeout=read_timeout(),
        )
        self._clients: dict[str, S3Client] = {}
        self._sessions: dict[str, boto3.session.Session] = {}
        self._identities: dict[str, str | None] = {}
        self._unreachable: dict[str, str] = {}
        self._kms_clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._base_lock = threading.Lock()
        """boto3 sessions are not thread-safe: the ambient one is shared by every account."""
        self._account_locks: dict[str, threading.Lock] = {}
        self._attempts = threading.local()
        self.hook_session(self._session)

    def hook_session(self, session: boto3.session.Session) -> None:
        """Every session this edge makes calls with passes here before its first client."""
        session.events.register("needs-retry", self._attempted, unique_id=f"bucketshare-{id(self)}")

    def _attempted(self, attempts: int, **_: Any) -> None:
        # botocore emits needs-retry after every attempt, in the thread making the call: the
        # last one before an error is raised is how many attempts that call made.
        self._attempts.made = attempts

    def _persist(self, call: Callable[[], T]) -> T:
        """call, its retries carried on up to TOTAL_ATTEMPTS when botocore cut them short.

        botocore's standard retries draw on a quota per client (500; 14 a retry, 5 for a
        throttle) that only 2xx answers refill, and the answer for a bucket without a policy
        is a 404: at a 10% fault rate over a few hundred buckets the quota runs dry and calls
        fail after one attempt. Every call stays bounded by TOTAL_ATTEMPTS, and --parallelism
        bounds the calls at once.
        """
        made = 0
        while True:
            self._attempts.made = 1
            try:
                return call()
            except NoRegionError as exc:
                # A client made without a region, asked to sign against AWS_ENDPOINT_URL.
                raise BucketshareError(NO_REGION) from exc
            except (ClientError, HTTPClientError) as exc:
                if isinstance(exc, ClientError) and (rejected := _rejected(exc)) is not None:
                    raise rejected from exc
                made += self._attempts.made
                self._attempts.made = made
                if made >= TOTAL_ATTEMPTS or not _transient(exc):
                    raise
                time.sleep(ExponentialBackoff().delay_amount(RetryContext(attempt_number=made)))

    def _describe(self, exc: Exception, bucket: str, account: str, operation: str) -> str:
        attempts = getattr(self._attempts, "made", TOTAL_ATTEMPTS)
        return describe_client_error(exc, bucket, account, operation, attempts)

    @property
    def region(self) -> str:
        """The region this edge's clients call, so where CreateBucket puts a bucket: the
        environment's (AWS_REGION, AWS_DEFAULT_REGION, the profile), or us-east-1, botocore's
        default for S3 when none is set."""
        return self._session.region_name or "us-east-1"

    def role_for(self, account: str) -> str | None:
        """The role this run assumes in account; None: the ambient credentials."""
        return self._roles.role_for(account, self._mode)

    def s3(self, account: str) -> S3Client:
        """account's client; AccountAccessError when its role cannot be assumed (asked once
        per run: every later call for the account gets the same answer at once)."""
        known = self._clients.get(account)
        if known is not None:
            return known
        with self._account_lock(account):
            if account not in self._clients:
                self._clients[account] = self._new_client(self._session_for(account), "s3")
            return self._clients[account]

    def kms(self, account: str, region: str) -> Any:
        """The KMS client of account in region (a key's region is in its ARN)."""
        with self._account_lock(account):
            if (account, region) not in self._kms_clients:
                session = self._session_for(account)
                self._kms_clients[account, region] = self._new_client(session, "kms", region_name=region)
            return self._kms_clients[account, region]

    def _new_client(self, session: boto3.session.Session, service: str, **kwargs: Any) -> Any:
        if service == "sts":
            kwargs.setdefault("region_name", session.region_name or STS_DEFAULT_REGION)
        if session is not self._session:
            return _client(session, service, self._config, **kwargs)  # used under its account's lock
        with self._base_lock:
            return _client(session, service, self._config, **kwargs)

    def _account_lock(self, account: str) -> threading.Lock:
        # Per account, so one slow AssumeRole does not hold up the other accounts' first calls.
        with self._lock:
            return self._account_locks.setdefault(account, threading.Lock())

    def _session_for(self, account: str) -> boto3.session.Session:
        """Called with the account's lock held."""
        if account in self._unreachable:
            raise AccountAccessError(self._unreachable[account])
        if account not in self._sessions:
            role = self.role_for(account)
            self._sessions[account] = self._session if role is None else self._assumed_session(account, role)
        return self._sessions[account]

    def _assumed_session(self, account: str, role: str) -> boto3.session.Session:
        with self._base_lock:
            source = self._session.get_credentials()
        if source is None:
            raise BucketshareError(
                "no AWS credentials found; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
            )
        fetcher = AssumeRoleCredentialFetcher(
            lambda service, **kwargs: self._new_client(self._session, service, **kwargs),
            source,
            role,
            extra_args={"RoleSessionName": session_name(self._mode, self.run_id)},
        )
        # botocore refreshes these before they expire (15 minutes ahead), so a long run never
        # signs with expired credentials; the first fetch happens here, once per account.
        credentials = DeferredRefreshableCredentials(fetcher.fetch_credentials, "assume-role")
        try:
            self._persist(credentials.get_frozen_credentials)
        except (ClientError, BotoCoreError) as exc:
            self._unreachable[account] = _assume_failure(exc, role, account)
            raise AccountAccessError(self._unreachable[account]) from exc
        core = botocore.session.Session()
        core.get_component("credential_provider").insert_before("env", _Assumed(credentials))
        session = boto3.session.Session(botocore_session=core)
        self.hook_session(session)
        return session

    def caller_account(self) -> str | None:
        sts = self._new_client(self._session, "sts")
        try:
            identity = self._persist(sts.get_caller_identity)
        except NoCredentialsError as exc:
            raise BucketshareError(
                "no AWS credentials found; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
            ) from exc
        except (ClientError, BotoCoreError):
            return None
        return str(identity["Account"])

    def client_region(self, account: str) -> str:
        """The region account's client calls: where its CreateBucket puts a bucket."""
        return str(self.s3(account).meta.region_name)

    def credentials_account(self, account: str) -> str | None:
        """The account the credentials used for account's buckets belong to (None: unknown).

        CreateBucket has no ExpectedBucketOwner: it makes the bucket in whatever account the
        credentials are of, so apply asks first. Once per account and run."""
        if account not in self._identities:
            self.s3(account)  # takes the account's lock itself: not under it here
            with self._account_lock(account):
                if account not in self._identities:
                    sts = self._new_client(self._sessions[account], "sts")
                    try:
                        identity = self._persist(sts.get_caller_identity)
                        self._identities[account] = str(identity["Account"])
                    except (ClientError, BotoCoreError):
                        self._identities[account] = None
        return self._identities[account]

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
        what = _FACT_NAMES.get(operation, operation)
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

    def _each(self, work: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
        """work over items at the edge's parallelism, results in input order."""
        if not items:
            return []
        with _workers(min(self.parallelism, len(items))) as pool:
            return list(pool.map(work, items))

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

        with _workers(self.parallelism) as pool:
            yield from pool.map(read, targets)

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
                OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
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
        """Default encryption SSE-S3 (AES256) with an S3 Bucket Key. SSE-S3, not SSE-KMS: a KMS
        key would also need key-policy statements for every grantee, which bucketshare does
        not manage yet."""
        self._write(
            lambda: self.s3(account).put_bucket_encryption(
                Bucket=bucket,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {
                            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
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

    def _write(
        self,
        call: Callable[[], Any],
        bucket: str,
        account: str,
        operation: str,
        sleep: Callable[[float], None],
    ) -> None:
        # A principal created seconds ago, or a bucket just created, can fail transiently.
        for attempt in range(1, TRANSIENT_WRITE_ATTEMPTS + 1):
            try:
                self._persist(call)
                return
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code in ("MalformedPolicy", "NoSuchBucket") and attempt < TRANSIENT_WRITE_ATTEMPTS:
                    sleep(2.0 * attempt)
                    continue
                raise BucketAccessError(self._describe(exc, bucket, account, operation)) from exc
            except BotoCoreError as exc:
                raise BucketAccessError(self._describe(exc, bucket, account, operation)) from exc

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

    def policy_is_public(self, bucket: str, account: str) -> bool | None:
        try:
            status = self._persist(
                lambda: self.s3(account).get_bucket_policy_status(Bucket=bucket, ExpectedBucketOwner=account)
            )
        except (ClientError, BotoCoreError, BucketAccessError):
            return None
        return bool(status.get("PolicyStatus", {}).get("IsPublic", False))
