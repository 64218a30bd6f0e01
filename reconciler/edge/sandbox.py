"""The embedded default: a local moto server on 127.0.0.1 standing in for AWS.

This module sets up fake AWS (starts the server, creates the example buckets in their
declared accounts); the reconciler itself still reaches it only through the standard
AWS_ENDPOINT_URL and credential variables, exactly as it reaches AWS.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import boto3

from reconciler.errors import BucketshareError
from reconciler.live.facts import NEW_BUCKET_OWNERSHIP

INSTALL_HINT = "pip install 'bucketshare[sandbox]' (or pip install -e '.[sandbox]' in a checkout)"
REGION = "us-east-1"

# A typical statement a bucket already holds and bucketshare must keep untouched.
DENY_INSECURE_TRANSPORT = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::{bucket}", "arn:aws:s3:::{bucket}/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BucketshareError(f"the moto server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=1):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise BucketshareError(f"the moto server did not answer on {url} within {timeout:.0f}s")


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server process bound to 127.0.0.1 on a free port; yields its URL."""
    try:
        import moto.server  # noqa: F401
    except ImportError as exc:
        raise BucketshareError(f"the sandbox needs moto[server]: {INSTALL_HINT}") from exc
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process: subprocess.Popen[bytes] | None = None
    try:
        # A Ctrl-C between the server's start and `process` being set would leave nobody to
        # stop it: held until it is set, the signal is delivered inside this try instead.
        with _signals_held():
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        _wait_until_up(url, process)
        yield url
    finally:
        if process is not None:
            _stop(process)


_HELD = frozenset((signal.SIGINT, signal.SIGTERM, signal.SIGHUP))


@contextmanager
def _signals_held() -> Iterator[None]:
    """Block SIGINT, SIGTERM and SIGHUP in this thread for the block; any that came meanwhile
    is delivered (its Python handler runs) right after."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def account_credentials(endpoint: str, account: str) -> dict[str, str]:
    """Credentials that act in `account` on the moto server (moto's assume-role)."""
    sts = boto3.client(
        "sts",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    role = f"arn:aws:iam::{account}:role/bucketshare-sandbox"
    creds = sts.assume_role(RoleArn=role, RoleSessionName="sandbox")["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
    }


def create_buckets(endpoint: str, buckets: dict[str, list[str]], with_unmanaged: str | None) -> None:
    """Create buckets per owner account; put a statement we don't own on `with_unmanaged`."""
    for account, names in buckets.items():
        creds = account_credentials(endpoint, account)
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=creds["AWS_SESSION_TOKEN"],
        )
        for name in names:
            s3.create_bucket(Bucket=name)
            # What AWS gives every new bucket today (moto sets no ownership controls).
            s3.put_bucket_ownership_controls(
                Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": NEW_BUCKET_OWNERSHIP}]}
            )
            if name == with_unmanaged:
                statement = json.loads(json.dumps(DENY_INSECURE_TRANSPORT).replace("{bucket}", name))
                policy = {"Version": "2012-10-17", "Statement": [statement]}
                s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))


ISOLATION = {
    # No ~/.aws/config or ~/.aws/credentials: a profile there (region, endpoint_url,
    # credential_process, ca_bundle) would reach the sandbox's clients.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
"""What the sandbox sets besides its endpoint and credentials, so nothing of the user's AWS
setup is read."""


def isolate_process() -> list[str]:
    """Drop every AWS_ variable of this process (AWS_PROFILE, AWS_ROLE_ARN, AWS_CA_BUNDLE,
    AWS_ENDPOINT_URL_S3, ...): the sandbox needs no AWS account and must not read one. The
    moto server started after this inherits the clean environment too. Returns the names
    dropped, for the user's other shell."""
    dropped = sorted(name for name in os.environ if name.startswith("AWS_"))
    for name in dropped:
        del os.environ[name]
    os.environ.update(ISOLATION)
    return [name for name in dropped if name not in ISOLATION]


def environment(endpoint: str, credentials: dict[str, str]) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": REGION,
        **ISOLATION,
        **credentials,
    }


def point_process_at(env: dict[str, str]) -> None:
    os.environ.update(env)


@contextmanager
def stopped_by_term_and_hangup() -> Iterator[None]:
    """SIGTERM (kill, a CI job cancelled) and SIGHUP (the terminal closed) end the sandbox by
    unwinding, as Ctrl-C does, so the moto server it started is stopped; Python's default
    for them ends the process at once and leaves the server running. Exit 128 + the signal,
    as a shell reports a process the signal ended."""

    def stop(signum: int, frame: FrameType | None) -> None:
        for name in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(name, signal.SIG_IGN)  # stopping already: let the cleanup finish
        raise SystemExit(128 + signum)

    previous = {name: signal.signal(name, stop) for name in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(name, handler)
