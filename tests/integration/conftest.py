"""Integration fixtures: one moto server over HTTP for the session, a fresh owner account
per test, and the reconciler CLI run in-process against it.

The reconciler reaches moto only through the standard AWS environment variables, exactly
as it reaches AWS. Bucket names are global on the shared server, so every test makes its
own; ListBuckets is per account, so every test owns its buckets in a fresh random account
and discovery never sees another test's buckets.
"""

from __future__ import annotations

import json
import secrets
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from reconciler.cli import main
from reconciler.edge.sandbox import account_credentials, moto_server

from .faultproxy import FaultProxy
from .iam_recorder import RECORDER

REGION = "us-east-1"
MOTO_ACCOUNT = "123456789012"
ENFORCED = "BucketOwnerEnforced"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    # The same loopback moto process the sandbox runs: one way to start it.
    with moto_server() as url:
        yield url


class MotoAws:
    """Direct boto3 access to the moto server, as the other parties (people, consoles) have."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._credentials: dict[str, dict[str, str]] = {}
        self._clients: dict[tuple[str, str], Any] = {}

    def new_account(self) -> str:
        while True:
            account = str(10**11 + secrets.randbelow(9 * 10**11))
            if account != MOTO_ACCOUNT and account not in self._credentials and len(set(account)) > 1:
                return account

    def credentials(self, account: str) -> dict[str, str]:
        if account not in self._credentials:
            self._credentials[account] = account_credentials(self.endpoint, account)
        return self._credentials[account]

    def s3(self, account: str) -> Any:
        return self.client(account, "s3")

    def client(self, account: str, service: str) -> Any:
        """A client of service acting in account."""
        if (account, service) not in self._clients:
            creds = self.credentials(account)
            self._clients[(account, service)] = boto3.client(
                service,
                endpoint_url=self.endpoint,
                region_name=REGION,
                aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=creds["AWS_SESSION_TOKEN"],
            )
        return self._clients[(account, service)]

    def create_bucket(self, account: str, label: str = "b", ownership: str | None = ENFORCED) -> str:
        """A new bucket with the Object Ownership AWS gives new buckets today (moto sets none);
        ownership=None leaves it unset."""
        name = bucket_name(label)
        s3 = self.s3(account)
        s3.create_bucket(Bucket=name)
        if ownership is not None:
            s3.put_bucket_ownership_controls(
                Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": ownership}]}
            )
        return name

    def policy_text(self, account: str, bucket: str) -> str | None:
        s3 = self.s3(account)
        try:
            return str(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        except s3.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] == "NoSuchBucketPolicy":
                return None
            raise

    def policy(self, account: str, bucket: str) -> dict[str, Any] | None:
        text = self.policy_text(account, bucket)
        return None if text is None else json.loads(text)

    def put_policy(self, account: str, bucket: str, policy: dict[str, Any] | str) -> str:
        text = policy if isinstance(policy, str) else json.dumps(policy, indent=2)
        self.s3(account).put_bucket_policy(Bucket=bucket, Policy=text)
        return text


def bucket_name(label: str) -> str:
    return f"bs-{label}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def moto(moto_endpoint: str) -> MotoAws:
    return MotoAws(moto_endpoint)


@pytest.fixture(autouse=True)
def record_aws_operations(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Record the reconciler's AWS calls, for test_iam_roles.py to check against docs/iam/."""
    recorded_main = RECORDER.install(monkeypatch, request.node.nodeid, main)
    monkeypatch.setattr(sys.modules[__name__], "main", recorded_main)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The IAM check reads what every other test recorded, so it runs last.
    items.sort(key=lambda item: item.path.name == "test_iam_roles.py")


@dataclass(frozen=True)
class Result:
    rc: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


class Workspace:
    """A repository checkout in tmp_path: shares/, reconciler.yaml, and the CLI run in it."""

    def __init__(
        self,
        root: Path,
        moto: MotoAws,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        self.root = root
        self.moto = moto
        self.account = moto.new_account()
        self.shares = root / "shares"
        self.shares.mkdir()
        self.config = root / "reconciler.yaml"
        self.config.write_text("version: 1\n", encoding="utf-8")
        self._monkeypatch = monkeypatch
        self._capsys = capsys
        self._saved_plans: dict[str, dict[str, Any]] = {}
        """The JSON plan ws.plan saved, by the terminal output of the same run."""
        self.point(moto.endpoint, self.account)

    def point(self, endpoint: str | None = None, account: str | None = None) -> None:
        """Point the reconciler (this process's environment) at endpoint as account."""
        env = self._monkeypatch
        env.setenv("AWS_ENDPOINT_URL", endpoint or self.moto.endpoint)
        env.setenv("AWS_DEFAULT_REGION", REGION)
        env.setenv("AWS_CONFIG_FILE", str(self.root / "no-aws-config"))
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(self.root / "no-aws-credentials"))
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION"):
            env.delenv(name, raising=False)
        for name, value in self.moto.credentials(account or self.account).items():
            env.setenv(name, value)

    def bucket(self, label: str = "b", ownership: str | None = ENFORCED) -> str:
        return self.moto.create_bucket(self.account, label, ownership)

    def write(self, name: str, text: str) -> Path:
        path = self.shares / name
        path.write_text(text, encoding="utf-8")
        return path

    def declare(self, bucket: str, grants: str, name: str | None = None, owner: str = "ml-platform") -> str:
        """Write a share file for bucket in this workspace's account; returns its display path.

        `grants` is the YAML of the grants list, indented by two spaces; the first grant's
        mapping therefore starts at line 6, column 5.
        """
        name = name or f"{bucket}.yaml"
        self.write(
            name,
            f'version: 1\nbucket: {bucket}\naccount: "{self.account}"\nowner: {owner}\ngrants:\n{grants}',
        )
        return f"shares/{name}"

    def set_config(self, text: str) -> None:
        self.config.write_text(text, encoding="utf-8")

    def run(self, *args: str | Path) -> Result:
        self._monkeypatch.chdir(self.root)
        self._capsys.readouterr()
        rc = main([str(a) for a in args])
        out, err = self._capsys.readouterr()
        return Result(rc, out, err)

    def _source(self) -> list[str]:
        return ["--shares", "shares", "--config", str(self.config)]

    def plan(self, *extra: str | Path) -> Result:
        """plan, its JSON plan saved too (unless extra saves it): shown_action reads it."""
        saved = None if "--save" in extra else self.root / f"shown-{uuid.uuid4().hex[:6]}.json"
        result = self.run("plan", *self._source(), *extra, *(("--save", saved) if saved else ()))
        if saved is not None and saved.exists():
            self._saved_plans[result.out] = json.loads(saved.read_text(encoding="utf-8"))
            saved.unlink()
        return result

    def plan_json(self, *extra: str | Path) -> tuple[Result, dict[str, Any]]:
        out = self.root / f"plan-{uuid.uuid4().hex[:6]}.json"
        result = self.plan("--format", "json", "--out", out, *extra)
        return result, json.loads(out.read_text(encoding="utf-8"))

    def apply(self, *extra: str | Path) -> Result:
        return self.run("apply", *self._source(), "--auto-approve", *extra)

    def apply_saved(self, plan_file: Path, *extra: str | Path) -> Result:
        return self.run("apply", *self._source(), plan_file, *extra)

    def render(self) -> dict[str, Any]:
        result = self.run("render", *self._source(), "--format", "json")
        assert result.rc == 0, result.text
        documents: dict[str, Any] = json.loads(result.out)
        return documents

    def shown_action(self, text_plan: str, bucket: str) -> str | None:
        """The action of bucket in the plan whose terminal output is text_plan (from the JSON
        plan saved with it); None when the text shows no section for it (a no-op without
        warnings, or a bucket not in the plan)."""
        for entry in self._saved_plans[text_plan]["buckets"]:
            if entry["bucket"] == bucket and entry["account"] == self.account:
                shown = entry["action"] != "no-op" or entry["warnings"]
                return str(entry["action"]) if shown else None
        return None

    def policy(self, bucket: str) -> dict[str, Any] | None:
        return self.moto.policy(self.account, bucket)

    def policy_text(self, bucket: str) -> str | None:
        return self.moto.policy_text(self.account, bucket)

    def put_policy(self, bucket: str, policy: dict[str, Any] | str) -> str:
        return self.moto.put_policy(self.account, bucket, policy)


@pytest.fixture
def ws(
    tmp_path: Path, moto: MotoAws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Workspace:
    return Workspace(tmp_path, moto, monkeypatch, capsys)


@pytest.fixture
def fault_proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    with FaultProxy(moto_endpoint) as proxy:
        yield proxy


@pytest.fixture
def no_retry_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's standard retries back off for seconds; the count of attempts is what matters."""
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, ctx: 0)


def bucket_plan(plan: dict[str, Any], bucket: str) -> dict[str, Any]:
    found = [b for b in plan["buckets"] if b["bucket"] == bucket]
    assert len(found) == 1, f"{bucket} appears {len(found)} times in the plan"
    return found[0]


def sentences(plan: dict[str, Any], bucket: str) -> list[str]:
    return [s for c in bucket_plan(plan, bucket)["changes"] for s in c["sentences"]]


def statement(sid: str, bucket: str, **fields: Any) -> dict[str, Any]:
    """An unmanaged statement of the kind a bucket already holds."""
    base: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    base.update(fields)
    return base


def read_grant(to: str, prefixes: list[str] | None = None, access: str = "read") -> str:
    text = f'  - to: "{to}"\n    access: {access}\n'
    if prefixes:
        text += f"    prefixes: {json.dumps(prefixes)}\n"
    return text
