"""The embedded default: a local moto server on 127.0.0.1 standing in for AWS.

This module sets up fake AWS (starts the server, creates the example buckets in their
declared accounts); the reconciler itself still reaches it only through the standard
AWS_ENDPOINT_URL and credential variables, exactly as it reaches AWS.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import boto3

from reconciler.errors import BucketshareError

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
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


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
                Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
            )
            if name == with_unmanaged:
                statement = json.loads(json.dumps(DENY_INSECURE_TRANSPORT).replace("{bucket}", name))
                policy = {"Version": "2012-10-17", "Statement": [statement]}
                s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))


def environment(endpoint: str, credentials: dict[str, str]) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": REGION,
        **credentials,
    }


def point_process_at(env: dict[str, str]) -> None:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(env)
