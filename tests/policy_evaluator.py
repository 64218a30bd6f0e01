"""Evaluate the subset of the IAM bucket-policy grammar that bucketshare renders.

A test oracle written from the IAM documentation, not from reconciler/: it answers "does this
policy allow this request?" so tests can check what a rendered policy *means*, not how it
looks. It models, for one request against one bucket policy:

- Effect Allow/Deny (an explicit Deny wins; nothing allowed means implicit deny);
- Principal `"*"`, `{"AWS": "*"}`, account ids and `arn:P:iam::ACCOUNT:root` (which match any
  principal of that account), and exact role/user ARNs;
- Action (case-insensitive, `*`/`?` wildcards) and Resource (case-sensitive, wildcards);
- Condition operators StringEquals, StringLike, ArnEquals, ArnLike, optionally qualified by
  ForAnyValue:/ForAllValues:. A key missing from the request makes an unqualified or
  ForAnyValue condition false, and a ForAllValues condition true (IAM's documented trap);
- policy variables (`${aws:username}`, `${*}`, `${?}`, `${$}`, `${key, 'default'}`) in
  Resource and condition values, which IAM expands only under Version 2012-10-17.

Anything outside this subset (NotPrincipal, NotAction, NotResource, other operators,
IfExists, service principals) raises UnsupportedPolicy instead of guessing an answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_VARIABLES_VERSION = "2012-10-17"
_ROOT_RE = re.compile(r"^arn:(?P<partition>[a-z-]+):iam::(?P<account>[0-9]{12}):root$")
_ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
_VARIABLE_RE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT_RE = re.compile(r"^\s*([^,\s]+)\s*,\s*'([^']*)'\s*$")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}
_MULTI_VALUED_KEYS = frozenset({"aws:principalorgpaths"})
_OPERATORS = frozenset({"stringequals", "stringlike", "arnequals", "arnlike"})


class UnsupportedPolicy(ValueError):
    """The policy uses grammar this evaluator does not model; no answer is better than a guess."""


@dataclass(frozen=True)
class Request:
    """One S3 request as IAM sees it when evaluating a bucket policy."""

    principal_arn: str
    """The calling role or user, e.g. arn:aws:iam::222222222222:role/reader."""
    action: str
    resource: str
    org_id: str | None = None
    """aws:PrincipalOrgID; None when the account belongs to no organization."""
    org_paths: tuple[str, ...] = ()
    """aws:PrincipalOrgPaths, e.g. ("o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/",)."""
    s3_prefix: str | None = None
    """The s3:prefix of a ListBucket request; None when the request sends none."""

    @property
    def partition(self) -> str:
        return self.principal_arn.split(":")[1]

    @property
    def account(self) -> str:
        return self.principal_arn.split(":")[4]

    def context(self) -> dict[str, tuple[str, ...]]:
        """Condition keys (lower-cased: IAM compares key names case-insensitively) to values."""
        keys: dict[str, tuple[str, ...]] = {
            "aws:principalarn": (self.principal_arn,),
            "aws:principalaccount": (self.account,),
        }
        resource_part = self.principal_arn.split(":", 5)[5]
        if resource_part.startswith("user/"):
            keys["aws:username"] = (resource_part.rsplit("/", 1)[1],)
        if self.org_id is not None:
            keys["aws:principalorgid"] = (self.org_id,)
            if self.org_paths:
                keys["aws:principalorgpaths"] = self.org_paths
        if self.s3_prefix is not None:
            keys["s3:prefix"] = (self.s3_prefix,)
        return keys


def is_allowed(policy: Mapping[str, Any], request: Request) -> bool:
    return decide(policy, request) == "Allow"


def allowing_sids(policy: Mapping[str, Any], request: Request) -> list[str]:
    """Sids of the Allow statements that match the request (for readable failure messages)."""
    version = policy.get("Version")
    context = request.context()
    return [
        str(statement.get("Sid", "<no Sid>"))
        for statement in _statements(policy)
        if _effect(statement) == "allow" and _applies(statement, request, context, version)
    ]


def decide(policy: Mapping[str, Any], request: Request) -> str:
    """ "Allow", "ExplicitDeny" or "ImplicitDeny"."""
    version = policy.get("Version")
    context = request.context()
    allowed = False
    for statement in _statements(policy):
        if _applies(statement, request, context, version):
            if _effect(statement) == "deny":
                return "ExplicitDeny"
            allowed = True
    return "Allow" if allowed else "ImplicitDeny"


def _statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = policy.get("Statement", [])
    if isinstance(statements, Mapping):
        return [statements]
    return list(statements)


def _effect(statement: Mapping[str, Any]) -> str:
    effect = str(statement.get("Effect", "")).lower()
    if effect not in ("allow", "deny"):
        raise UnsupportedPolicy(f"Effect {statement.get('Effect')!r}")
    return effect


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _applies(
    statement: Mapping[str, Any],
    request: Request,
    context: Mapping[str, tuple[str, ...]],
    version: Any,
) -> bool:
    for element in ("NotPrincipal", "NotAction", "NotResource"):
        if element in statement:
            raise UnsupportedPolicy(element)
    return (
        _principal_matches(statement.get("Principal"), request)
        and any(_glob(a, request.action, ignore_case=True) for a in _as_list(statement.get("Action", [])))
        and any(
            _pattern_matches(r, request.resource, context, version)
            for r in _as_list(statement.get("Resource", []))
        )
        and _conditions_hold(statement.get("Condition", {}), context, version)
    )


def _principal_matches(principal: Any, request: Request) -> bool:
    if principal is None:
        raise UnsupportedPolicy("a bucket-policy statement needs a Principal")
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        raise UnsupportedPolicy(f"Principal {principal!r}")
    for key, values in principal.items():
        if key != "AWS":
            raise UnsupportedPolicy(f"Principal key {key!r}")
        for value in _as_list(values):
            if value == "*":
                return True
            if "*" in value or "?" in value:
                raise UnsupportedPolicy(f"wildcard principal {value!r}")
            if _ACCOUNT_RE.match(value):
                if value == request.account:
                    return True
                continue
            root = _ROOT_RE.match(value)
            if root:
                # An account root principal stands for every principal of that account.
                if (root["partition"], root["account"]) == (request.partition, request.account):
                    return True
            elif value == request.principal_arn:
                return True
    return False


def _conditions_hold(conditions: Any, context: Mapping[str, tuple[str, ...]], version: Any) -> bool:
    if not isinstance(conditions, Mapping):
        raise UnsupportedPolicy(f"Condition {conditions!r}")
    for operator, tests in conditions.items():
        qualifier, _, base = operator.rpartition(":")
        if qualifier.lower() not in ("", "foranyvalue", "forallvalues") or base.lower() not in _OPERATORS:
            raise UnsupportedPolicy(f"condition operator {operator!r}")
        for key, policy_values in tests.items():
            if not _condition_holds(
                qualifier.lower(), base.lower(), key.lower(), policy_values, context, version
            ):
                return False
    return True


def _condition_holds(
    qualifier: str,
    operator: str,
    key: str,
    policy_values: Any,
    context: Mapping[str, tuple[str, ...]],
    version: Any,
) -> bool:
    values = [str(v) for v in _as_list(policy_values)]
    present = context.get(key)
    if not qualifier and key in _MULTI_VALUED_KEYS:
        raise UnsupportedPolicy(f"multi-valued key {key} needs ForAnyValue/ForAllValues")
    if present is None:
        # A missing key fails every test except ForAllValues, which holds vacuously.
        return qualifier == "forallvalues"

    def one(value: str) -> bool:
        return any(_operator_matches(operator, pattern, value, context, version) for pattern in values)

    if qualifier == "forallvalues":
        return all(one(v) for v in present)
    return any(one(v) for v in present)


def _operator_matches(
    operator: str, pattern: str, value: str, context: Mapping[str, tuple[str, ...]], version: Any
) -> bool:
    if operator == "stringequals":
        expanded = _expand_literal(pattern, context, version)
        return expanded is not None and expanded == value
    if operator == "stringlike":
        return _pattern_matches(pattern, value, context, version)
    # ArnEquals and ArnLike behave alike: each of the six ARN parts is matched on its own,
    # and both accept * and ? wildcards (IAM condition operator reference).
    pattern_parts = pattern.split(":", 5)
    value_parts = value.split(":", 5)
    if len(pattern_parts) != 6 or len(value_parts) != 6:
        return False
    return all(
        _pattern_matches(p, v, context, version) for p, v in zip(pattern_parts, value_parts, strict=True)
    )


def _pattern_matches(pattern: str, value: str, context: Mapping[str, tuple[str, ...]], version: Any) -> bool:
    """Wildcard match (case-sensitive) after expanding policy variables."""
    if version != _VARIABLES_VERSION or "${" not in pattern:
        return _glob(pattern, value, ignore_case=False)
    regex = _variable_regex(pattern, context)
    return regex is not None and regex.fullmatch(value) is not None


def _glob(pattern: str, value: str, *, ignore_case: bool) -> bool:
    return _compiled_glob(pattern, ignore_case).fullmatch(value) is not None


@lru_cache(maxsize=65536)
def _compiled_glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(_glob_regex(pattern), re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _glob_regex(text: str) -> str:
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)


def _variable_value(body: str, context: Mapping[str, tuple[str, ...]]) -> str | None:
    if body in _ESCAPES:
        return _ESCAPES[body]
    default = _DEFAULT_RE.match(body)
    key, fallback = (default[1], default[2]) if default else (body.strip(), None)
    values = context.get(key.lower())
    if values is None or len(values) != 1:
        # IAM: a variable whose key is absent (and has no default) makes the element not match.
        return fallback
    return values[0]


def _variable_regex(pattern: str, context: Mapping[str, tuple[str, ...]]) -> re.Pattern[str] | None:
    parts: list[str] = []
    position = 0
    for match in _VARIABLE_RE.finditer(pattern):
        parts.append(_glob_regex(pattern[position : match.start()]))
        value = _variable_value(match[1], context)
        if value is None:
            return None
        # An expanded value, including ${*}, is literal text, never a wildcard.
        parts.append(re.escape(value))
        position = match.end()
    parts.append(_glob_regex(pattern[position:]))
    return re.compile("".join(parts), re.DOTALL)


def _expand_literal(pattern: str, context: Mapping[str, tuple[str, ...]], version: Any) -> str | None:
    if version != _VARIABLES_VERSION or "${" not in pattern:
        return pattern
    out: list[str] = []
    position = 0
    for match in _VARIABLE_RE.finditer(pattern):
        out.append(pattern[position : match.start()])
        value = _variable_value(match[1], context)
        if value is None:
            return None
        out.append(value)
        position = match.end()
    out.append(pattern[position:])
    return "".join(out)
