"""Mistakes in the AWS environment are one line each, exit 1, before any AWS call."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import RunCli, WriteShares

SHARE = (
    'version: 1\nbucket: acme-env-check\naccount: "111111111111"\n'
    'grants:\n  - to: "222222222222"\n    access: read\n'
)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"AWS_PROFILE": "nope", "AWS_REGION": "us-east-1"},
            "error: AWS profile 'nope' (AWS_PROFILE) is not in the AWS config; name a profile that exists, "
            "or unset AWS_PROFILE",
        ),
        (
            {"AWS_ENDPOINT_URL": "not a url", "AWS_REGION": "us-east-1"},
            "error: AWS_ENDPOINT_URL 'not a url' is not an endpoint URL",
        ),
        ({"AWS_DEFAULT_REGION": ""}, "error: no AWS region is set; set AWS_REGION (or AWS_DEFAULT_REGION)"),
    ],
)
@pytest.mark.parametrize("command", ["plan", "apply"])
def test_environment_mistakes_are_one_line(
    aws_env: pytest.MonkeyPatch,
    write_shares: WriteShares,
    run_cli: RunCli,
    settings: dict[str, str],
    message: str,
    command: str,
) -> None:
    for name, value in settings.items():
        aws_env.setenv(name, value)
    shares = write_shares({"env.yaml": SHARE})
    extra = ["--auto-approve"] if command == "apply" else []
    rc, out, err = run_cli(command, "--shares", shares, "--declared-only", *extra)
    assert rc == 1, out + err
    assert err.strip().splitlines()[-1].startswith(message), err
    assert "Traceback" not in out + err
