"""Decide one request against one bucket policy: allowed, explicitly or implicitly denied.

Pure and small, written from IAM's policy evaluation logic for a resource policy: an
applying Deny wins, else an applying Allow allows, else the request is implicitly denied.
A statement applies when its principal, action, resource and condition all match. Each of
those answers in three-valued logic (reconciler.policy.conditions): where bucketshare cannot
tell (an unknown operator or principal type, a policy variable, a key whose value the caller
does not know) the verdict is CANT_TELL rather than a guess. Tested against an independent
evaluator (tests/iam_simulate.py) over many generated requests.

    decide(policy, Request.of("arn:aws:iam::222222222222:role/reader", "s3:GetObject",
                              "arn:aws:s3:::bucket/key", {"aws:SecureTransport": "true"}))
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.policy.conditions import (
    Context,
    Ternary,
    condition_keys,
    conditions_hold,
    wildcard_match,
)

_VARIABLES_VERSION = "2012-10-17"
_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
_ROOT = re.compile(r"^arn:[a-z-]+:iam::([0-9]{12}):root$")
_KNOWN_PRINCIPAL_TYPES = frozenset(("AWS", "Service", "Federated", "CanonicalUser"))


class Verdict(StrEnum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit-deny"
    IMPLICIT_DENY = "implicit-deny"
    CANT_TELL = "can't tell"


@dataclass(frozen=True)
class Request:
    """One request as IAM sees it when evaluating a bucket policy."""

    principal: str
    """The calling role or user, e.g. arn:aws:iam::222222222222:role/reader."""
    action: str
    resource: str
    context: Context = field(default_factory=lambda: Context({}))

    @property
    def account(self) -> str:
        return account_of(self.principal)

    @staticmethod
    def of(
        principal: str,
        action: str,
        resource: str,
        keys: Mapping[str, str | Sequence[str]] | None = None,
        unknown: Sequence[str] = (),
    ) -> Request:
        """A request whose aws:PrincipalArn and aws:PrincipalAccount come from principal
        unless keys says otherwise (the org id and paths are the caller's to give)."""
        return Request(principal, action, resource, caller_context(principal, keys, unknown))


def caller_context(
    principal: str, keys: Mapping[str, str | Sequence[str]] | None = None, unknown: Sequence[str] = ()
) -> Context:
    """A caller's condition keys, the same for all its requests (see Request.of)."""
    given = dict(keys or {})
    lowered = {k.lower() for k in given}
    if "aws:principalarn" not in lowered:
        given["aws:PrincipalArn"] = principal
    if "aws:principalaccount" not in lowered:
        given["aws:PrincipalAccount"] = account_of(principal)
    return Context.of(given, unknown)


@dataclass(frozen=True, order=True)
class StatementRef:
    """A statement named as a person finds it: by Sid, or by position when it has none."""

    position: int
    """1-based, in the policy's order."""
    sid: str | None

    @property
    def label(self) -> str:
        return self.sid if self.sid else f"statement {self.position} (no Sid)"

    @property
    def named(self) -> str:
        """As a sentence names it: `Sid OnlyEtl`, or `statement 3 (no Sid)`."""
        return f"Sid {self.sid}" if self.sid else self.label


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    deciding: tuple[StatementRef, ...] = ()
    """The Deny statements that applied (explicit deny), or the Allows that did (allowed)."""
    undecided: tuple[StatementRef, ...] = ()
    """Statements bucketshare could not evaluate for this request (why the verdict is
    CANT_TELL, or Denies that might apply on top of a certain answer's Allows)."""


def account_of(principal: str) -> str:
    parts = principal.split(":")
    return parts[4] if len(parts) >= 6 else ""


def decide(policy: Mapping[str, Any], request: Request) -> Decision:
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return Decision(Verdict.CANT_TELL)
    variables = policy.get("Version") == _VARIABLES_VERSION
    denies: list[StatementRef] = []
    allows: list[StatementRef] = []
    unsure_denies: list[StatementRef] = []
    unsure_allows: list[StatementRef] = []
    for position, statement in enumerate(statements, start=1):
        ref = StatementRef(position, _sid(statement))
        effect = _effect(statement)
        applies = statement_applies(statement, request, variables) if effect is not None else None
        if applies is False:
            continue
        is_deny = effect != "allow"
        if applies is None:
            (unsure_denies if is_deny else unsure_allows).append(ref)
        else:
            (denies if is_deny else allows).append(ref)
    return _combine(denies, allows, unsure_denies, unsure_allows)


def _combine(
    denies: list[StatementRef],
    allows: list[StatementRef],
    unsure_denies: list[StatementRef],
    unsure_allows: list[StatementRef],
) -> Decision:
    if denies:
        return Decision(Verdict.EXPLICIT_DENY, tuple(denies), tuple(unsure_denies))
    if unsure_denies:
        return Decision(Verdict.CANT_TELL, (), tuple(unsure_denies + unsure_allows))
    if allows:
        return Decision(Verdict.ALLOWED, tuple(allows))
    if unsure_allows:
        return Decision(Verdict.CANT_TELL, (), tuple(unsure_allows))
    return Decision(Verdict.IMPLICIT_DENY)


def _effect(statement: Any) -> str | None:
    """ "allow" or "deny"; None for anything else. S3 takes the Effect in any case, as the
    diff and import do: a kept "deny" denies."""
    effect = statement.get("Effect") if isinstance(statement, dict) else None
    spelt = effect.lower() if isinstance(effect, str) else None
    return spelt if spelt in ("allow", "deny") else None


def _sid(statement: Any) -> str | None:
    sid = statement.get("Sid") if isinstance(statement, dict) else None
    return str(sid) if sid else None


def statement_applies(statement: Mapping[str, Any], request: Request, variables: bool) -> Ternary:
    """Whether one statement's principal, action, resource and condition all match."""
    return StatementMatcher(statement, variables).applies(request)


class StatementMatcher:
    """One statement, ready to answer many requests: each part of it remembers its answer by
    the only request value it depends on (the principal, the action, the resource, the values
    of the keys its Condition names), so the requests of a bucket's grants, which share most
    of those values, evaluate each distinct one once."""

    def __init__(self, statement: Mapping[str, Any], variables: bool) -> None:
        self._statement = statement
        self._variables = variables
        self._principals: dict[str, Ternary] = {}
        self._actions: dict[str, Ternary] = {}
        self._resources: dict[str, Ternary] = {}
        self._condition_keys = condition_keys(statement.get("Condition"))
        self._conditions: dict[tuple[Any, ...], Ternary] = {}

    def applies(self, request: Request, sent: Mapping[str, str] | None = None) -> Ternary:
        """statement_applies, with `sent` as in condition()."""
        target = self.target(request)
        if target is False:
            return False
        return _all((target, self.condition(request.context, sent)))

    def target(self, request: Request) -> Ternary:
        """Whether the principal, action and resource all match (the Condition aside)."""
        statement = self._statement
        principal, action, resource = request.principal, request.action, request.resource
        if principal not in self._principals:
            self._principals[principal] = _principal_part(statement, request)
        if action not in self._actions:
            self._actions[action] = _listed(
                statement, "Action", "NotAction", lambda p: _action_matches(p, action)
            )
        if resource not in self._resources:
            self._resources[resource] = _listed(
                statement,
                "Resource",
                "NotResource",
                lambda p: _resource_matches(p, resource, self._variables),
            )
        return _all((self._principals[principal], self._actions[action], self._resources[resource]))

    def condition(self, context: Context, sent: Mapping[str, str] | None = None) -> Ternary:
        """Whether the Condition holds for `context`, with `sent` (lower-case key -> value)
        replacing the values of the keys on how the request is made."""
        sent = sent or {}
        seen = tuple(
            ((sent[key],) if key in sent else context.values.get(key), key in context.unknown)
            for key in self._condition_keys
        )
        if seen not in self._conditions:
            if sent:
                context = Context({**context.values, **{k: (v,) for k, v in sent.items()}}, context.unknown)
            condition = self._statement.get("Condition")
            self._conditions[seen] = conditions_hold(condition, context, self._variables)
        return self._conditions[seen]


def _all(results: Sequence[Ternary]) -> Ternary:
    if False in results:
        return False
    return None if None in results else True


def _listed(statement: Mapping[str, Any], plain: str, negated: str, match: Any) -> Ternary:
    """Action/NotAction or Resource/NotResource: exactly one of the pair must be there."""
    if (plain in statement) == (negated in statement):
        return None
    field_name = plain if plain in statement else negated
    values = statement[field_name]
    patterns = values if isinstance(values, list) else [values]
    if not all(isinstance(p, str) for p in patterns):
        return None
    hit = _any(match(p) for p in patterns)
    if field_name == negated:
        return None if hit is None else not hit
    return hit


def _any(results: Any) -> Ternary:
    seen = list(results)
    if any(r is True for r in seen):
        return True
    return None if any(r is None for r in seen) else False


def _action_matches(pattern: str, action: str) -> Ternary:
    return wildcard_match(pattern, action, case_sensitive=False)


def _resource_matches(pattern: str, resource: str, variables: bool) -> Ternary:
    if variables and "${" in pattern:
        return None
    return wildcard_match(pattern, resource)


def _principal_part(statement: Mapping[str, Any], request: Request) -> Ternary:
    if ("Principal" in statement) == ("NotPrincipal" in statement):
        # A bucket policy statement names exactly one of the two.
        return None
    if "Principal" in statement:
        return principal_matches(statement["Principal"], request)
    excepted = statement["NotPrincipal"]
    hit = principal_matches(excepted, request)
    if hit is True and not _names_account(excepted, request.account):
        # AWS checks the caller's account as well as its role or user: a NotPrincipal that
        # names the role but not its account "might deny access to the entire account"
        # (IAM User Guide, NotPrincipal), so whether it spares the caller can't be told.
        return None
    return None if hit is None else not hit


def _names_account(principal: Any, account: str) -> bool:
    """Whether a Principal value names `account` itself (its root or bare id), or everyone."""
    if principal == "*":
        return True
    values = principal.get("AWS", []) if isinstance(principal, dict) else []
    items = values if isinstance(values, list) else [values]
    return any(_aws_account_named(str(item), account) for item in items)


def _aws_account_named(item: str, account: str) -> bool:
    if item == "*" or item == account:
        return True
    root = _ROOT.match(item)
    return root is not None and root.group(1) == account


def principal_matches(principal: Any, request: Request) -> Ternary:
    """Whether a Principal value names the caller (an IAM role or user)."""
    if principal == "*":
        return True
    if not isinstance(principal, dict) or not principal:
        return None
    results: list[Ternary] = []
    for kind, values in principal.items():
        if kind not in _KNOWN_PRINCIPAL_TYPES:
            return None
        items = values if isinstance(values, list) else [values]
        if kind != "AWS":
            # Service, federated and canonical-user principals are never an IAM role or user.
            results.append(False)
            continue
        results.extend(_aws_principal_matches(str(item), request) for item in items)
    return _any(results)


def _aws_principal_matches(item: str, request: Request) -> Ternary:
    if item == "*":
        return True
    if _ACCOUNT_ID.match(item):
        return item == request.account
    root = _ROOT.match(item)
    if root:
        # The account root in a bucket policy stands for every principal of the account.
        return root.group(1) == request.account
    if "*" in item or "?" in item:
        return None
    return item == request.principal
