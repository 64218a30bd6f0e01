"""boto3 sessions and clients: the profile, the read timeout, assumed-role credentials, worker pools."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import boto3
import botocore.session
from botocore.config import Config as BotoConfig
from botocore.credentials import (
    CredentialProvider,
    Credentials,
)
from botocore.exceptions import (
    ClientError,
    NoRegionError,
    ProfileNotFound,
)
from botocore.loaders import Loader

from reconciler.errors import BucketshareError

READ_TIMEOUT_VARIABLE = "BUCKETSHARE_AWS_READ_TIMEOUT"


DEFAULT_READ_TIMEOUT = 30.0
"""Seconds to wait for each answer. An answer that never comes (a stalled connection) costs
this much per attempt, so a user with a fast network may lower it."""


_MAX_READ_TIMEOUT = 3600.0


STS_DEFAULT_REGION = "us-east-1"
"""STS answers in every region; without one set, ask its us-east-1 endpoint (as docs/commands.md says)."""


NO_REGION = "no AWS region is set; set AWS_REGION (or AWS_DEFAULT_REGION)"


@contextmanager
def worker_pool(count: int) -> Iterator[ThreadPoolExecutor]:
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


class AssumedCredentials(CredentialProvider):
    """Hands a session the refreshable credentials of one assumed role."""

    METHOD = "bucketshare-assume-role"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Credentials:
        return self._credentials


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


class _AppendOnce(list[str]):
    """boto3 appends its data folder to the loader of every session built on it: with one
    loader for all sessions, the list would grow by one entry per session."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


@functools.cache
def _shared_loader() -> Loader:
    """One loader per process. Each botocore session otherwise parses the S3, STS and KMS
    models again (about 30 ms of CPU per client here): once per run, and once more for every
    owner account's assumed-role session. AWS_DATA_PATH is honoured as botocore does."""
    extra = os.environ.get("AWS_DATA_PATH")
    paths = [os.path.expanduser(p) for p in extra.split(os.pathsep)] if extra else []
    return Loader(extra_search_paths=_AppendOnce(paths))


def botocore_session() -> botocore.session.Session:
    core = botocore.session.Session()
    core.register_component("data_loader", _shared_loader())
    return core


def default_session() -> boto3.session.Session:
    core = botocore_session()
    try:
        core.get_scoped_config()  # a profile that does not exist: one line now, not a traceback later
        return boto3.session.Session(botocore_session=core)
    except ProfileNotFound as exc:
        raise _profile_error(exc) from exc


def _profile_error(exc: ProfileNotFound) -> BucketshareError:
    return BucketshareError(
        f"AWS profile {exc.kwargs.get('profile')!r} (AWS_PROFILE) is not in the AWS config; "
        "name a profile that exists, or unset AWS_PROFILE"
    )


def make_client(session: boto3.session.Session, service: str, config: BotoConfig, **kwargs: Any) -> Any:
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


def assume_failure(exc: Exception, role: str, account: str) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        detail = f"{error.get('Code', '?')}: {error.get('Message', '')}"
    else:
        detail = str(exc)
    return (
        f"account {account}: cannot assume role {role} ({detail}); the role must exist in that "
        "account and trust the reconciler's credentials with sts:AssumeRole"
    )
