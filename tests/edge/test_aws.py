from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.retries.standard
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from moto import mock_aws

from reconciler.edge.aws_errors import TOTAL_ATTEMPTS, BucketAccessError
from reconciler.edge.clients import botocore_session, default_session
from reconciler.edge.error_wording import describe_client_error
from reconciler.edge.s3 import S3Edge
from reconciler.errors import BucketshareError
from reconciler.live.facts import BucketFacts, Encryption, FactNeeds, Ownership
from reconciler.live.policy import LivePolicy, ReadError

OWNER = "111111111111"
MOTO_ACCOUNT = "123456789012"
BUCKET = "acme-model-artifacts"
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "BucketShareObjectsReadAccountAll",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
            }
        ],
    }
)


@pytest.fixture(autouse=True)
def _no_ambient_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Static fake credentials; nothing from the machine's AWS setup may leak in."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's own retry sleeps would make throttling tests take seconds."""
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0)


def session() -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


def client_error(
    code: str, message: str = "", status: int = 400, operation: str = "GetBucketPolicy"
) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


# --- describe_client_error -----------------------------------------------------------------

ACCESS_HINT = (
    "the reconciler's role needs s3:{op} on it, and the bucket must be owned by account 111111111111 "
    "(ExpectedBucketOwner)"
)
BPA_HINT = "; if Block Public Access has BlockPublicPolicy on, S3 refuses any public policy"

MESSAGES = [
    pytest.param(
        client_error("NoSuchBucket", "The specified bucket does not exist", 404),
        "GetBucketPolicy",
        "bucket does not exist; create it in account 111111111111, declare it with create: true, "
        "or remove its declaration",
        id="no-such-bucket",
    ),
    pytest.param(
        client_error("AccessDenied", "Access Denied", 403),
        "GetBucketPolicy",
        "access denied on GetBucketPolicy: " + ACCESS_HINT.format(op="GetBucketPolicy"),
        id="access-denied-read",
    ),
    pytest.param(
        client_error("AccessDenied", "Access Denied", 403, "PutBucketPolicy"),
        "PutBucketPolicy",
        "access denied on PutBucketPolicy: " + ACCESS_HINT.format(op="PutBucketPolicy") + BPA_HINT,
        id="access-denied-put-mentions-block-public-access",
    ),
    pytest.param(
        client_error("403", "Forbidden", 403, "DeleteBucketPolicy"),
        "DeleteBucketPolicy",
        "access denied on DeleteBucketPolicy: " + ACCESS_HINT.format(op="DeleteBucketPolicy"),
        id="bare-403",
    ),
    pytest.param(
        client_error(
            "BucketAlreadyExists", "The requested bucket name is not available", 409, "CreateBucket"
        ),
        "CreateBucket",
        f"bucket name {BUCKET} is taken by another AWS account (S3 bucket names are global); "
        "declare another name",
        id="bucket-name-taken",
    ),
    pytest.param(
        client_error("BucketAlreadyOwnedByYou", "Your previous request succeeded", 409, "CreateBucket"),
        "CreateBucket",
        f"bucket {BUCKET} exists already in account 111111111111: it was created since the plan (or by "
        "an earlier attempt whose answer was lost); check its settings and run plan again",
        id="bucket-already-ours",
    ),
    pytest.param(
        client_error("AccessDenied", "Access Denied", 403, "PutPublicAccessBlock"),
        "PutPublicAccessBlock",
        "access denied on PutPublicAccessBlock: " + ACCESS_HINT.format(op="PutBucketPublicAccessBlock"),
        id="access-denied-names-the-iam-action",
    ),
    pytest.param(
        client_error("SlowDown", "Please reduce your request rate.", 503),
        "GetBucketPolicy",
        f"S3 kept failing after {TOTAL_ATTEMPTS} attempts (SlowDown: Please reduce your request rate.); "
        "run again later or lower --parallelism",
        id="slow-down",
    ),
    pytest.param(
        client_error("ThrottlingException", "Rate exceeded", 400),
        "GetBucketPolicy",
        f"S3 kept failing after {TOTAL_ATTEMPTS} attempts (ThrottlingException: Rate exceeded); "
        "run again later or lower --parallelism",
        id="throttling",
    ),
    pytest.param(
        client_error("InternalError", "We encountered an internal error.", 500),
        "GetBucketPolicy",
        f"S3 kept failing after {TOTAL_ATTEMPTS} attempts "
        "(InternalError: We encountered an internal error.); run again later or lower --parallelism",
        id="server-error",
    ),
    pytest.param(
        client_error("MalformedPolicy", "Invalid principal in policy", 400, "PutBucketPolicy"),
        "PutBucketPolicy",
        "S3 rejected the policy as malformed: Invalid principal in policy",
        id="malformed-policy",
    ),
    pytest.param(
        client_error("InvalidArgument", "Something else", 400),
        "GetBucketPolicy",
        "GetBucketPolicy failed with InvalidArgument: Something else",
        id="other-code",
    ),
    pytest.param(
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
        "GetBucketPolicy",
        'cannot reach the S3 endpoint (Could not connect to the endpoint URL: "http://127.0.0.1:1"); '
        "check network and AWS_ENDPOINT_URL",
        id="endpoint-unreachable",
    ),
    pytest.param(
        ReadTimeoutError(endpoint_url="http://127.0.0.1:1/b?policy"),
        "GetBucketPolicy",
        f"S3 kept failing after {TOTAL_ATTEMPTS} attempts (no answer within the read timeout, "
        "BUCKETSHARE_AWS_READ_TIMEOUT); run again later",
        id="read-timeout",
    ),
    pytest.param(
        ConnectionClosedError(endpoint_url="http://127.0.0.1:1/b?policy"),
        "PutBucketPolicy",
        f"S3 kept failing after {TOTAL_ATTEMPTS} attempts (connection closed or reset: Connection was "
        'closed before we received a valid response from endpoint URL: "http://127.0.0.1:1/b?policy".); '
        "run again later or lower --parallelism",
        id="connection-reset",
    ),
]


@pytest.mark.parametrize(("exc", "operation", "message"), MESSAGES)
def test_describe_client_error(exc: Exception, operation: str, message: str) -> None:
    text = describe_client_error(exc, BUCKET, OWNER, operation)
    assert text == message
    assert "\n" not in text


def test_missing_credentials_is_a_user_error_for_the_whole_run() -> None:
    with pytest.raises(BucketshareError) as info:
        describe_client_error(NoCredentialsError(), BUCKET, OWNER, "GetBucketPolicy")
    assert str(info.value) == (
        "no AWS credentials found; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    )


# --- a fake S3 behind botocore's before-send hook --------------------------------------------


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def s3_error(code: str, message: str, status: int) -> tuple[int, bytes]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>R1</RequestId></Error>"
    )
    return status, body.encode()


class FakeS3:
    """Answers every HTTP request from a script of (status, body) and records the requests."""

    def __init__(self, *answers: tuple[int, bytes]) -> None:
        self.answers = list(answers)
        self.requests: list[AWSPreparedRequest] = []

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        self.requests.append(request)
        status, body = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return AWSResponse(request.url, status, {}, _Raw(body))


def edge_with(fake: FakeS3, parallelism: int = 4) -> S3Edge:
    edge = S3Edge(parallelism, session())
    edge.s3(OWNER).meta.events.register("before-send.s3.*", fake)
    return edge


MALFORMED = s3_error("MalformedPolicy", "Invalid principal in policy", 400)
NO_CONTENT = (204, b"")


def test_read_policy_maps_no_such_bucket_policy_to_no_text() -> None:
    fake = FakeS3(s3_error("NoSuchBucketPolicy", "The bucket policy does not exist", 404))
    assert edge_with(fake).read_policy(BUCKET, OWNER) == LivePolicy(BUCKET, OWNER, None, None)
    assert len(fake.requests) == 1


def test_read_policy_returns_the_text_as_read() -> None:
    fake = FakeS3((200, POLICY.encode()))
    assert edge_with(fake).read_policy(BUCKET, OWNER) == LivePolicy(BUCKET, OWNER, POLICY)


def test_read_policy_reports_a_missing_bucket_as_a_bucket_error() -> None:
    fake = FakeS3(s3_error("NoSuchBucket", "The specified bucket does not exist", 404))
    result = edge_with(fake).read_policy(BUCKET, OWNER)
    assert result == LivePolicy(
        BUCKET,
        OWNER,
        None,
        "bucket does not exist; create it in account 111111111111, declare it with create: true, "
        "or remove its declaration",
        ReadError.NO_BUCKET,
    )


def test_read_policy_throttled_retries_total_max_attempts(no_backoff: None) -> None:
    fake = FakeS3(s3_error("SlowDown", "Please reduce your request rate.", 503))
    result = edge_with(fake).read_policy(BUCKET, OWNER)
    assert len(fake.requests) == TOTAL_ATTEMPTS == 5
    assert result.error == (
        "S3 kept failing after 5 attempts (SlowDown: Please reduce your request rate.); "
        "run again later or lower --parallelism"
    )


def test_read_policy_keeps_its_five_attempts_when_the_retry_quota_runs_out(no_backoff: None) -> None:
    """botocore's standard retries stop early once failed retries have drained the client's
    quota (500, 14 a retry); the edge carries each call on to TOTAL_ATTEMPTS."""
    fake = FakeS3(s3_error("InternalError", "We encountered an internal error.", 500))
    edge = edge_with(fake)
    made = []
    for _ in range(12):
        before = len(fake.requests)
        result = edge.read_policy(BUCKET, OWNER)
        made.append(len(fake.requests) - before)
    assert made == [TOTAL_ATTEMPTS] * 12
    assert result.error == (
        f"S3 kept failing after {TOTAL_ATTEMPTS} attempts (InternalError: We encountered an internal "
        "error.); run again later or lower --parallelism"
    )


def test_read_policy_recovers_from_one_throttle(no_backoff: None) -> None:
    fake = FakeS3(s3_error("SlowDown", "Please reduce your request rate.", 503), (200, POLICY.encode()))
    assert edge_with(fake).read_policy(BUCKET, OWNER).text == POLICY
    assert len(fake.requests) == 2


def test_every_bucket_call_passes_expected_bucket_owner() -> None:
    fake = FakeS3(NO_CONTENT)
    edge = edge_with(fake)
    fake.answers = [(200, POLICY.encode())]
    edge.read_policy(BUCKET, OWNER)
    fake.answers = [NO_CONTENT]
    edge.put_policy(BUCKET, OWNER, POLICY, sleep=lambda s: None)
    edge.delete_policy(BUCKET, OWNER, sleep=lambda s: None)
    fake.answers = [(200, b"<PolicyStatus><IsPublic>false</IsPublic></PolicyStatus>")]
    assert edge.policy_is_public(BUCKET, OWNER) is False
    assert [r.method for r in fake.requests] == ["GET", "PUT", "DELETE", "GET"]
    assert [r.headers.get("x-amz-expected-bucket-owner") for r in fake.requests] == [OWNER.encode()] * 4


def test_put_sends_the_policy_text_unchanged() -> None:
    fake = FakeS3(NO_CONTENT)
    edge_with(fake).put_policy(BUCKET, OWNER, POLICY, sleep=lambda s: None)
    assert fake.requests[0].body == POLICY.encode()


def test_write_retries_malformed_policy_a_bounded_number_of_times() -> None:
    fake = FakeS3(MALFORMED)
    sleeps: list[float] = []
    with pytest.raises(BucketAccessError) as info:
        edge_with(fake).put_policy(BUCKET, OWNER, POLICY, sleep=sleeps.append)
    assert str(info.value) == "S3 rejected the policy as malformed: Invalid principal in policy"
    assert len(fake.requests) == 3
    assert sleeps == [2.0, 4.0]


def test_write_succeeds_when_a_new_principal_has_propagated() -> None:
    fake = FakeS3(MALFORMED, NO_CONTENT)
    sleeps: list[float] = []
    edge_with(fake).put_policy(BUCKET, OWNER, POLICY, sleep=sleeps.append)
    assert len(fake.requests) == 2
    assert sleeps == [2.0]


def test_write_retries_a_just_created_bucket() -> None:
    fake = FakeS3(s3_error("NoSuchBucket", "The specified bucket does not exist", 404), NO_CONTENT)
    sleeps: list[float] = []
    edge_with(fake).delete_policy(BUCKET, OWNER, sleep=sleeps.append)
    assert len(fake.requests) == 2
    assert sleeps == [2.0]


def test_write_access_denied_is_not_retried_and_hints_at_block_public_access() -> None:
    fake = FakeS3(s3_error("AccessDenied", "Access Denied", 403))
    sleeps: list[float] = []
    with pytest.raises(BucketAccessError) as info:
        edge_with(fake).put_policy(BUCKET, OWNER, POLICY, sleep=sleeps.append)
    assert (
        str(info.value)
        == "access denied on PutBucketPolicy: " + ACCESS_HINT.format(op="PutBucketPolicy") + BPA_HINT
    )
    assert (len(fake.requests), sleeps) == (1, [])


def test_bucket_access_error_is_a_bucketshare_error() -> None:
    assert issubclass(BucketAccessError, BucketshareError)


# --- client configuration and sharing ------------------------------------------------------


@pytest.mark.parametrize("parallelism", [1, 4, 16, 64])
def test_client_config(parallelism: int) -> None:
    client = S3Edge(parallelism, session()).s3(OWNER)
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": TOTAL_ATTEMPTS}
    assert client.meta.config.max_pool_connections >= parallelism


@pytest.mark.parametrize(("setting", "seconds"), [(None, 30.0), ("", 30.0), ("2.5", 2.5), (" 10 ", 10.0)])
def test_read_timeout_is_a_user_setting(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, seconds: float
) -> None:
    if setting is None:
        monkeypatch.delenv("BUCKETSHARE_AWS_READ_TIMEOUT", raising=False)
    else:
        monkeypatch.setenv("BUCKETSHARE_AWS_READ_TIMEOUT", setting)
    client = S3Edge(4, session()).s3(OWNER)
    assert client.meta.config.read_timeout == seconds
    assert client.meta.config.connect_timeout == 10


@pytest.mark.parametrize("setting", ["soon", "0", "-1", "nan", "inf", "3601"])
def test_a_bad_read_timeout_is_one_line(monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
    monkeypatch.setenv("BUCKETSHARE_AWS_READ_TIMEOUT", setting)
    with pytest.raises(BucketshareError) as raised:
        S3Edge(4, session())
    assert str(raised.value) == (
        "BUCKETSHARE_AWS_READ_TIMEOUT must be a number of seconds above 0 and at most 3600, "
        f"not {setting!r}; e.g. BUCKETSHARE_AWS_READ_TIMEOUT=10, or unset it for 30"
    )


def test_clients_are_created_once_per_account_and_shared_between_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shared = session()
    real_client = shared.client
    created: list[str] = []

    def slow_client(*args: Any, **kwargs: Any) -> Any:
        created.append(args[0] if args else kwargs["service_name"])
        time.sleep(0.05)  # widen the window in which a second thread could also create one
        return real_client(*args, **kwargs)

    monkeypatch.setattr(shared, "client", slow_client)
    edge = S3Edge(8, shared)
    barrier = threading.Barrier(2)
    got: list[Any] = []

    def worker() -> None:
        barrier.wait()
        got.append(edge.s3(OWNER))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 2
    assert got[0] is got[1]
    assert created == ["s3"]
    other = edge.s3("222222222222")
    assert other is not got[0]
    assert edge.s3(OWNER) is got[0]
    assert created == ["s3", "s3"]


# --- against moto in process ---------------------------------------------------------------


def test_iter_policies_in_input_order_with_one_client_per_account(monkeypatch: pytest.MonkeyPatch) -> None:
    with mock_aws():
        shared = session()
        calls: list[str] = []
        real_client = shared.client

        def counting(*args: Any, **kwargs: Any) -> Any:
            calls.append(args[0])
            return real_client(*args, **kwargs)

        monkeypatch.setattr(shared, "client", counting)
        edge = S3Edge(8, shared)
        names = [f"acme-bucket-{i:02d}" for i in range(12)]
        for name in names:
            edge.s3(MOTO_ACCOUNT).create_bucket(Bucket=name)
        with_policy = names[::3]
        for name in with_policy:
            edge.put_policy(name, MOTO_ACCOUNT, POLICY.replace(BUCKET, name))
        advanced: list[int] = []
        lock = threading.Lock()

        def advance() -> None:
            with lock:
                advanced.append(1)

        order = ["acme-missing", *reversed(names)]  # not sorted: the result must follow the input
        results = list(edge.iter_policies([(n, MOTO_ACCOUNT) for n in order], advance))
    assert [r.bucket for r in results] == order
    assert [r.text is not None for r in results[1:]] == [n in with_policy for n in reversed(names)]
    assert all(r.error is None for r in results[1:])
    assert results[-1].text == POLICY.replace(BUCKET, names[0])
    assert results[0].error == (
        f"bucket does not exist; create it in account {MOTO_ACCOUNT}, declare it with create: true, "
        "or remove its declaration"
    )
    assert len(advanced) == 13
    assert calls == ["s3"]


def test_moto_no_such_bucket_policy_reads_as_no_policy() -> None:
    with mock_aws():
        edge = S3Edge(2, session())
        edge.s3(MOTO_ACCOUNT).create_bucket(Bucket=BUCKET)
        assert edge.read_policy(BUCKET, MOTO_ACCOUNT) == LivePolicy(BUCKET, MOTO_ACCOUNT, None)
        edge.put_policy(BUCKET, MOTO_ACCOUNT, POLICY)
        assert json.loads(edge.read_policy(BUCKET, MOTO_ACCOUNT).text or "null") == json.loads(POLICY)
        edge.delete_policy(BUCKET, MOTO_ACCOUNT)
        assert edge.read_policy(BUCKET, MOTO_ACCOUNT).text is None


def test_list_buckets_error_names_the_account() -> None:
    fake = FakeS3(s3_error("AccessDenied", "Access Denied", 403))
    with pytest.raises(BucketAccessError) as info:
        edge_with(fake).list_buckets(OWNER)
    assert str(info.value) == (
        "cannot list the buckets of account 111111111111: access denied on ListAllMyBuckets: "
        + ACCESS_HINT.format(op="ListAllMyBuckets")
    )


# --- bucket facts: Object Ownership and default encryption -----------------------------------


def test_facts_not_set_read_as_none() -> None:
    fake = FakeS3(
        s3_error("OwnershipControlsNotFoundError", "The bucket ownership controls were not found", 404),
        s3_error("ServerSideEncryptionConfigurationNotFoundError", "not found", 404),
    )
    facts = edge_with(fake).read_facts(BUCKET, OWNER, FactNeeds(ownership=True, encryption=True))
    assert facts == BucketFacts(Ownership.NONE, Encryption(None), ())
    assert all(r.headers["x-amz-expected-bucket-owner"] == OWNER.encode() for r in fake.requests)


def test_access_denied_on_a_fact_names_the_iam_action() -> None:
    fake = FakeS3(s3_error("AccessDenied", "Access Denied", 403))
    facts = edge_with(fake).read_facts(BUCKET, OWNER, FactNeeds(encryption=True))
    (error,) = facts.errors
    assert error.startswith(
        "cannot read the bucket's default encryption: access denied on GetBucketEncryption"
    )
    assert "needs s3:GetEncryptionConfiguration on it" in error
    assert facts.encryption is None


def test_encryption_reads_the_algorithm_and_key() -> None:
    key = "arn:aws:kms:us-east-1:111111111111:key/k1"
    body = (
        "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>"
        f"<SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>{key}</KMSMasterKeyID>"
        "</ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>"
    )
    fake = FakeS3((200, body.encode()))
    assert edge_with(fake).read_encryption(BUCKET, OWNER) == Encryption("aws:kms", key)


# --- credentials AWS rejects -----------------------------------------------------------------

REJECTIONS = [
    ("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", 403),
    ("SignatureDoesNotMatch", "The request signature we calculated does not match the signature.", 403),
    ("ExpiredToken", "The provided token has expired.", 400),
    ("InvalidToken", "The provided token is malformed or otherwise invalid.", 400),
]


@pytest.mark.parametrize(("code", "message", "status"), REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_rejected_credentials_stop_reads_with_one_line(code: str, message: str, status: int) -> None:
    fake = FakeS3(s3_error(code, message, status))
    edge = edge_with(fake)
    targets = [(f"{BUCKET}-{n}", OWNER) for n in range(20)]
    with pytest.raises(BucketshareError) as raised:
        list(edge.iter_policies(targets, needs={t[0]: FactNeeds(True, True) for t in targets}))
    assert str(raised.value) == (
        f"AWS rejected the credentials ({code}): {message.rstrip('.')}; check AWS_PROFILE or "
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or renew expired ones (e.g. aws sso login)"
    )
    # Never retried: the same credentials would be rejected again.
    assert all(r.headers["amz-sdk-request"].startswith(b"attempt=1;") for r in fake.requests)
    assert len({r.url for r in fake.requests}) == len(fake.requests)


@pytest.mark.parametrize("code", ["ExpiredTokenException", "UnrecognizedClientException"])
def test_kms_rejecting_the_credentials_stops_too(code: str) -> None:
    edge = S3Edge(1, session())
    key = f"arn:aws:kms:us-east-1:{OWNER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    body = json.dumps({"__type": code, "message": "The security token included in the request is invalid"})
    edge.kms(OWNER, "us-east-1").meta.events.register(
        "before-send.kms.*", lambda request, **_: AWSResponse(request.url, 400, {}, _Raw(body.encode()))
    )
    with pytest.raises(BucketshareError, match=rf"^AWS rejected the credentials \({code}\): "):
        edge.read_key_policies([(key, OWNER)])


def test_a_write_with_rejected_credentials_fails_that_bucket(no_backoff: None) -> None:
    """A write stays a per-bucket failure, so apply journals its outcome like any other."""
    fake = FakeS3(s3_error("ExpiredToken", "The provided token has expired.", 400))
    with pytest.raises(BucketAccessError, match=r"^AWS rejected the credentials \(ExpiredToken\)"):
        edge_with(fake).put_policy(BUCKET, OWNER, POLICY)
    assert len(fake.requests) == 1


def test_sessions_share_one_model_loader_whose_paths_do_not_grow(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each run, and each owner account's assumed role, builds a session: parsing the service
    # models once per process, not once per session, is most of a small run's CPU.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    first, second = default_session(), botocore_session()
    boto3.session.Session(botocore_session=second).client("s3")
    first.client("s3")
    loader = first._session.get_component("data_loader")
    assert loader is second.get_component("data_loader")
    assert len(loader.search_paths) == len(set(loader.search_paths))
