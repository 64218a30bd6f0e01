"""An independent IAM evaluator for tests: @cloud-copilot/iam-simulate, run by node.

Nobody here wrote it, so a test that compares our evaluator (or a rendered policy) with it
checks what a policy *means* against a second reading of the IAM documentation. It is
AGPL-3.0: it lives in tests/iam_simulate/ (installed with `npm ci --prefix tests/iam_simulate`),
is never vendored and never shipped with the package.

    allowed(policy, [{"principal": "arn:aws:iam::222222222222:role/reader",
                      "action": "s3:GetObject", "resource": "arn:aws:s3:::bucket/key",
                      "context": {"aws:SecureTransport": "true"}}])  ->  [True]

The simulator does not work out who is asking (TESTING.md): aws:PrincipalArn and
aws:PrincipalAccount are filled in from `principal` unless the context already holds them;
aws:PrincipalOrgID / aws:PrincipalOrgPaths are the caller's to give. The bucket is taken to
be in another account than the principal's, with an identity policy that allows everything,
so each verdict is the bucket policy's alone. One node process answers a whole batch.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, overload

_HERE = Path(__file__).resolve().parent / "iam_simulate"
_SCRIPT = _HERE / "simulate.mjs"
_PACKAGE = _HERE / "node_modules" / "@cloud-copilot" / "iam-simulate"
_OWNERS = ("999999999999", "999999999998")
INSTALL = "npm ci --prefix tests/iam_simulate"


class SimulatorUnavailable(RuntimeError):
    """node or the npm package is missing: the test must fail, saying how to install it."""


class SimulatorRefused(ValueError):
    """iam-simulate rejected a policy or request (its validation message is kept)."""


@dataclass(frozen=True)
class Answer:
    result: str
    """"Allowed", "ExplicitlyDenied" or "ImplicitlyDenied"."""
    deny_sids: tuple[str, ...]
    """Deny statements that applied: the Sid, or "#N" (1-based position) without one or with ""."""
    allow_sids: tuple[str, ...]
    ignored_context_keys: tuple[str, ...]
    """Context keys the simulator dropped because they do not apply to the action."""

    @property
    def allowed(self) -> bool:
        return self.result == "Allowed"


def allowed(policy: dict[str, Any], requests: list[dict[str, Any]]) -> list[bool]:
    """Whether `policy` allows each request (an explicit or implicit deny is False)."""
    return [answer.allowed for answer in decide(policy, requests)]


def decide(policy: Mapping[str, Any], requests: Sequence[Mapping[str, Any]]) -> list[Answer]:
    """The simulator's full answer for each request against one policy."""
    return decide_groups([(policy, requests)])[0]


@overload
def decide_groups(
    groups: Sequence[tuple[Mapping[str, Any], Sequence[Mapping[str, Any]]]],
    refused_ok: Literal[False] = False,
) -> list[list[Answer]]: ...


@overload
def decide_groups(
    groups: Sequence[tuple[Mapping[str, Any], Sequence[Mapping[str, Any]]]],
    refused_ok: Literal[True],
) -> list[list[Answer | None]]: ...


def decide_groups(
    groups: Sequence[tuple[Mapping[str, Any], Sequence[Mapping[str, Any]]]],
    refused_ok: bool = False,
) -> list[list[Answer]] | list[list[Answer | None]]:
    """Answers for many (policy, requests) groups from one node process. refused_ok: a request
    the simulator refuses (its validation) answers None instead of raising SimulatorRefused."""
    _require_installed()
    payload = {
        "groups": [
            {"policy": policy, "requests": [_simulation_request(r) for r in requests]}
            for policy, requests in groups
        ]
    }
    done = subprocess.run(
        ["node", str(_SCRIPT)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=_HERE,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"iam-simulate failed (exit {done.returncode}): {done.stderr.strip()}")
    raw_groups = json.loads(done.stdout)["groups"]
    if refused_ok:
        return [[None if "error" in raw else _answer(raw) for raw in answers] for answers in raw_groups]
    return [[_answer(raw) for raw in answers] for answers in raw_groups]


def _require_installed() -> None:
    if shutil.which("node") is None:
        raise SimulatorUnavailable("node is not on PATH: install Node.js 20, then run " + INSTALL)
    if not _PACKAGE.is_dir():
        raise SimulatorUnavailable(f"{_PACKAGE} is missing: run `{INSTALL}` first")


def _simulation_request(request: Mapping[str, Any]) -> dict[str, Any]:
    principal = str(request["principal"])
    account = _account_of(principal)
    context: dict[str, Any] = dict(request.get("context", {}))
    lowered = {key.lower() for key in context}
    if "aws:principalarn" not in lowered:
        context["aws:PrincipalArn"] = principal
    if "aws:principalaccount" not in lowered:
        context["aws:PrincipalAccount"] = account
    owner = str(request.get("resource_account") or _owner_other_than(account))
    return {
        "principal": principal,
        "action": request["action"],
        "resource": request["resource"],
        "resourceAccount": owner,
        "context": context,
    }


def _account_of(principal_arn: str) -> str:
    parts = principal_arn.split(":")
    if len(parts) < 6 or not parts[4].isdigit():
        raise ValueError(f"not an IAM principal ARN: {principal_arn!r}")
    return parts[4]


def _owner_other_than(account: str) -> str:
    return next(owner for owner in _OWNERS if owner != account)


def _answer(raw: Mapping[str, Any]) -> Answer:
    if "error" in raw:
        raise SimulatorRefused(str(raw["error"]))
    return Answer(
        result=str(raw["result"]),
        deny_sids=tuple(raw["denySids"]),
        allow_sids=tuple(raw["allowSids"]),
        ignored_context_keys=tuple(raw["ignoredContextKeys"]),
    )
