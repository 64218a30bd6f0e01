"""Record the AWS operations the reconciler makes in the integration tests; check them
against the IAM role documents in docs/iam/.

Only the reconciler's own calls are recorded: handlers go on the botocore session of each
`reconciler.edge.s3.S3Edge`, so the tests' MotoAws clients and the sandbox's moto setup (plain
`boto3.client`) are never seen. The command in effect is taken from the argv of
`reconciler.cli.main` when the edge is created; the edge keeps it, so calls from its worker
threads are attributed correctly. Both hooks rely only on public names (`main(argv)` and
`S3Edge(..., session=...)`), which survive a reshuffle of cli.py and commands/.

The evaluator is deliberately small: identity policies with Allow/Deny statements, Action
and Resource lists with `*`/`?` wildcards (actions case-insensitive, ARNs case-sensitive).
Anything else (NotAction, NotResource, Condition) raises instead of guessing.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

import reconciler.cli
import reconciler.edge.s3

IAM_DOCS = Path(__file__).resolve().parents[2] / "docs" / "iam"
ROLE_DOCUMENTS = {"plan": IAM_DOCS / "plan-role-policy.json", "apply": IAM_DOCS / "apply-role-policy.json"}
HUB_DOCUMENTS = {"plan": IAM_DOCS / "hub-plan-policy.json", "apply": IAM_DOCS / "hub-apply-policy.json"}
"""With assume_role, the GitHub roles only assume each owner account's role (sts:AssumeRole)."""
HUB_OPERATIONS = frozenset({("sts", "AssumeRole")})
MANAGED_BUCKETS_PLACEHOLDER = "arn:aws:s3:::acme-*"
"""The managed-bucket pattern adopters replace (docs/iam/README.md)."""

OPERATION_ACTIONS: dict[tuple[str, str], str | None] = {
    ("s3", "GetBucketPolicy"): "s3:GetBucketPolicy",
    ("s3", "PutBucketPolicy"): "s3:PutBucketPolicy",
    ("s3", "DeleteBucketPolicy"): "s3:DeleteBucketPolicy",
    ("s3", "GetBucketPolicyStatus"): "s3:GetBucketPolicyStatus",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "GetBucketOwnershipControls"): "s3:GetBucketOwnershipControls",
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    # `create: true`: the bucket, then its safe defaults (API and IAM names differ for two).
    ("s3", "CreateBucket"): "s3:CreateBucket",
    ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3", "PutBucketOwnershipControls"): "s3:PutBucketOwnershipControls",
    ("s3", "PutBucketEncryption"): "s3:PutEncryptionConfiguration",
    ("s3", "PutBucketVersioning"): "s3:PutBucketVersioning",
    # "No permissions are required to perform this operation", and a Deny cannot stop it
    # (STS API reference, GetCallerIdentity).
    ("sts", "GetCallerIdentity"): None,
    ("sts", "AssumeRole"): "sts:AssumeRole",
    ("kms", "GetKeyPolicy"): "kms:GetKeyPolicy",
    ("kms", "PutKeyPolicy"): "kms:PutKeyPolicy",
}
"""API operation -> the IAM action it needs (None: none). A new call must be added here."""

NO_AWS_COMMANDS = frozenset({"validate", "render", "codeowners"})
UNASSIGNED = "unassigned"
"""role_for of a command not listed here: an error only if it calls AWS."""


def role_for(argv: Sequence[str]) -> str | None:
    """The role a command runs with in the workflows; None for commands that must not call AWS."""
    command = argv[0] if argv else ""
    if command in NO_AWS_COMMANDS:
        return None
    if command in ("plan", "import"):
        return "plan"
    if command in ("apply", "rollback", "drift"):
        return "apply"
    if command == "sandbox":
        return "apply" if "--apply" in argv else "plan"
    if command == "consumer-policy":
        # It reads default encryption, as plan does; --offline must make no AWS call at all.
        return None if "--offline" in argv else "plan"
    return UNASSIGNED


@dataclass(frozen=True)
class Run:
    """One `reconciler.cli.main` call."""

    argv: tuple[str, ...]
    test: str

    @property
    def command(self) -> str:
        return self.argv[0] if self.argv else ""

    def describe(self) -> str:
        return f"`reconciler {' '.join(self.argv)}` in {self.test}"


@dataclass(frozen=True)
class Operation:
    service: str
    name: str
    bucket: str | None
    run: Run | None
    """None: made by an S3Edge created outside any CLI command (a test calling gather_plan)."""
    test: str
    role_arn: str | None = None
    """AssumeRole's RoleArn, or a KMS call's KeyId (a key ARN): the resource the action is on."""

    @property
    def by_hub(self) -> bool:
        return (self.service, self.name) in HUB_OPERATIONS

    def describe(self) -> str:
        return self.run.describe() if self.run else f"reconciler code outside any command in {self.test}"

    @property
    def action(self) -> str | None:
        return OPERATION_ACTIONS[(self.service, self.name)]

    @property
    def resource(self) -> str:
        if self.role_arn is not None:
            return self.role_arn
        return "*" if self.bucket is None else f"arn:aws:s3:::{self.bucket}"


class Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: list[Run] = []
        self.runs: list[Run] = []
        self.operations: list[Operation] = []
        self._test = "?"

    def install(
        self, monkeypatch: pytest.MonkeyPatch, test: str, main: Callable[..., int]
    ) -> Callable[..., int]:
        """Hook S3Edge and the CLI for one test; returns `main` wrapped, for callers that imported it."""
        self._test = test
        wrapped = self._wrap_main(main)
        monkeypatch.setattr(reconciler.cli, "main", wrapped)
        original = reconciler.edge.s3.S3Edge.__init__
        signature = inspect.signature(original)
        if "session" not in signature.parameters:
            raise AssertionError("S3Edge no longer takes session=: update iam_recorder to hook its sessions")
        recorder = self

        @functools.wraps(original)
        def init(edge: Any, *args: Any, **kwargs: Any) -> None:
            bound = signature.bind(edge, *args, **kwargs)
            session = bound.arguments.get("session") or boto3.session.Session()
            bound.arguments["session"] = session
            recorder._hook(session)
            original(*bound.args, **bound.kwargs)

        monkeypatch.setattr(reconciler.edge.s3.S3Edge, "__init__", init)
        hook = reconciler.edge.s3.S3Edge.hook_session

        @functools.wraps(hook)
        def hook_session(edge: Any, session: boto3.session.Session) -> None:
            # The sessions of assumed roles, made per owner account as the run goes.
            recorder._hook(session)
            hook(edge, session)

        monkeypatch.setattr(reconciler.edge.s3.S3Edge, "hook_session", hook_session)
        return wrapped

    def _wrap_main(self, main: Callable[..., int]) -> Callable[..., int]:
        if getattr(main, "_iam_recorder", False):
            return main

        @functools.wraps(main)
        def recorded_main(argv: Sequence[str] | None = None) -> int:
            run = Run(tuple(str(a) for a in argv or ()), self._test)
            with self._lock:
                self.runs.append(run)
                self._current.append(run)
            try:
                return main(argv)
            finally:
                with self._lock:
                    self._current.pop()

        recorded_main._iam_recorder = True  # type: ignore[attr-defined]
        return recorded_main

    def _hook(self, session: boto3.session.Session) -> None:
        # Clients copy the session's handlers when created, and S3Edge creates them lazily.
        with self._lock:
            run = self._current[-1] if self._current else None
            test = self._test

        def record(params: Mapping[str, Any], model: Any, **_: Any) -> None:
            service = model.service_model.service_name
            bucket = params.get("Bucket")
            role_arn = params.get("RoleArn") or params.get("KeyId")
            operation = Operation(
                service,
                model.name,
                None if bucket is None else str(bucket),
                run,
                test,
                None if role_arn is None else str(role_arn),
            )
            with self._lock:
                self.operations.append(operation)

        session.events.register("before-parameter-build", record, unique_id=f"iam-recorder-{id(session)}")

    def hub_document(self, role: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(HUB_DOCUMENTS[role].read_text(encoding="utf-8"))
        return loaded

    def for_role(self, role: str) -> list[Operation]:
        return [op for op in self.operations if op.run is not None and role_for(op.run.argv) == role]

    def outside_commands(self) -> list[Operation]:
        return [op for op in self.operations if op.run is None]

    def seen(self, role: str) -> set[str]:
        return {op.name for op in self.for_role(role)}


RECORDER = Recorder()


class UnsupportedPolicy(ValueError):
    """The document uses grammar this evaluator does not model."""


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _glob(pattern: str, value: str, ignore_case: bool) -> bool:
    # IAM wildcards are only * and ?: no character classes as in fnmatch.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    found: Any = document["Statement"]
    return [found] if isinstance(found, dict) else list(found)


def _matches(statement: Mapping[str, Any], action: str, resource: str) -> bool:
    unsupported = {"NotAction", "NotResource", "Condition", "NotPrincipal", "Principal"} & set(statement)
    if unsupported:
        raise UnsupportedPolicy(f"statement {statement.get('Sid')!r} uses {sorted(unsupported)}")
    return any(_glob(p, action, ignore_case=True) for p in _as_list(statement["Action"])) and any(
        _glob(p, resource, ignore_case=False) for p in _as_list(statement["Resource"])
    )


def allows(document: Mapping[str, Any], action: str, resource: str) -> bool:
    """Does this identity policy allow action on resource? An explicit Deny wins."""
    effects = {str(s["Effect"]).lower() for s in statements(document) if _matches(s, action, resource)}
    return "allow" in effects and "deny" not in effects


def substitute(document: Mapping[str, Any], placeholder: str, patterns: Iterable[str]) -> dict[str, Any]:
    """A copy of document with the placeholder resource replaced by patterns."""
    replacement = list(patterns)
    copy: dict[str, Any] = json.loads(json.dumps(document))
    for statement in statements(copy):
        resources = _as_list(statement["Resource"])
        if placeholder in resources:
            statement["Resource"] = [r for r in resources if r != placeholder] + replacement
    return copy


def document_actions(document: Mapping[str, Any]) -> set[str]:
    return {a for s in statements(document) if s["Effect"] == "Allow" for a in _as_list(s["Action"])}


def load_role(role: str, bucket_patterns: Iterable[str]) -> dict[str, Any]:
    document = json.loads(ROLE_DOCUMENTS[role].read_text(encoding="utf-8"))
    return substitute(document, MANAGED_BUCKETS_PLACEHOLDER, bucket_patterns)


def refusals(operations: Iterable[Operation], role: str, document: Mapping[str, Any]) -> list[str]:
    """One line per kind of operation the role document does not allow (or cannot map to an action)."""
    refused: dict[tuple[str, str], list[Operation]] = {}
    for op in operations:
        key = (op.service, op.name)
        if key not in OPERATION_ACTIONS or (op.action and not allows(document, op.action, op.resource)):
            refused.setdefault(key, []).append(op)
    problems = []
    for (service, name), ops in sorted(refused.items()):
        first = ops[0]
        where = first.describe()
        if (service, name) not in OPERATION_ACTIONS:
            problem = (
                f"{service} {name} (by {where}) has no IAM action in iam_recorder.OPERATION_ACTIONS: "
                f"add it there and grant it in docs/iam/{role}-role-policy.json"
            )
        else:
            problem = (
                f"{service} {name} on {first.resource} (by {where}) needs {first.action}, which "
                f"docs/iam/{role}-role-policy.json does not allow"
            )
        if len(ops) > 1:
            problem += f" (and {len(ops) - 1} more such calls)"
        problems.append(problem)
    return problems
