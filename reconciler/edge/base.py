"""The base of the AWS edge: sessions, clients, retries and fan-out per account.

Clients are created once per account and shared by worker threads (client creation is
slow; clients are thread-safe). An account reached through a role (reconciler.yaml's
assume_role or accounts) gets its own session whose credentials come from one AssumeRole
per run and are refreshed by botocore before they expire; other accounts use the ambient
credentials (standard chain, AWS_PROFILE, AWS_ENDPOINT_URL, ...). Every bucket call passes
ExpectedBucketOwner, so a bucket name now owned by someone else is never read or written.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config as BotoConfig
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    DeferredRefreshableCredentials,
)
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
)
from botocore.retries.standard import ExponentialBackoff, RetryContext

from reconciler.declare.roles import AccountRoles, session_name
from reconciler.errors import BucketshareError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

from reconciler.edge.aws_errors import (
    TOTAL_ATTEMPTS,
    TRANSIENT_WRITE_ATTEMPTS,
    AccountAccessError,
    BucketAccessError,
    is_transient,
    rejected_credentials,
)
from reconciler.edge.clients import (
    NO_REGION,
    STS_DEFAULT_REGION,
    AssumedCredentials,
    assume_failure,
    botocore_session,
    default_session,
    make_client,
    read_timeout,
    worker_pool,
)
from reconciler.edge.error_wording import describe_client_error

T = TypeVar("T")


class EdgeBase:
    """Sessions, clients, retries and fan-out per account: what every AWS call builds on."""

    def __init__(
        self,
        parallelism: int = 16,
        session: boto3.session.Session | None = None,
        roles: AccountRoles | None = None,
        mode: str = "plan",
        run_id: str | None = None,
    ) -> None:
        self.parallelism = max(1, parallelism)
        self._session = session or default_session()
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
                if isinstance(exc, ClientError) and (rejected := rejected_credentials(exc)) is not None:
                    raise rejected from exc
                made += self._attempts.made
                self._attempts.made = made
                if made >= TOTAL_ATTEMPTS or not is_transient(exc):
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
            return make_client(session, service, self._config, **kwargs)  # used under its account's lock
        with self._base_lock:
            return make_client(session, service, self._config, **kwargs)

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
            self._unreachable[account] = assume_failure(exc, role, account)
            raise AccountAccessError(self._unreachable[account]) from exc
        core = botocore_session()
        core.get_component("credential_provider").insert_before("env", AssumedCredentials(credentials))
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

    def _each(self, work: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
        """work over items at the edge's parallelism, results in input order."""
        if not items:
            return []
        with worker_pool(min(self.parallelism, len(items))) as pool:
            return list(pool.map(work, items))

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
