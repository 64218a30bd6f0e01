"""IAM condition operators over a request's context, in three-valued logic.

A condition answers True (it holds), False (it does not) or None: bucketshare cannot tell,
because the operator is one it does not model, a value is a policy variable, or the request
leaves the key's value unknown (a grantee account's organization, say). A caller never turns
None into an answer: a guessed "not blocked" would hide a real deny.

Semantics follow the IAM User Guide's condition-operator reference: keys compare
case-insensitively, values of one key are ORed, keys and operators are ANDed; a key missing
from the request makes a positive operator false and a negated one (StringNotEquals, ...)
true; `...IfExists` makes any operator true on a missing key; `ForAnyValue:` / `ForAllValues:`
compare a multi-valued key value by value (missing or empty: false / true).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

Ternary = bool | None
"""True, False, or None: can't tell."""

_Match = Callable[[str, str], Ternary]
"""(request value, policy value) -> whether they match."""


@dataclass(frozen=True)
class Context:
    """The condition keys of one request: lower-case key -> its values (one, or several for a
    multi-valued key such as aws:PrincipalOrgPaths). `unknown` names keys (lower case) whose
    presence and value the caller does not know."""

    values: Mapping[str, tuple[str, ...]]
    unknown: frozenset[str] = field(default_factory=frozenset)

    @staticmethod
    def of(keys: Mapping[str, str | Sequence[str]], unknown: Sequence[str] = ()) -> Context:
        values = {k.lower(): (v,) if isinstance(v, str) else tuple(v) for k, v in keys.items()}
        return Context(values, frozenset(u.lower() for u in unknown))


@lru_cache(maxsize=4096)
def _wildcard(pattern: str, case_sensitive: bool = True) -> re.Pattern[str]:
    """IAM's `*` (any run, empty included) and `?` (one character); nothing else is special."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL if case_sensitive else re.DOTALL | re.IGNORECASE)


def wildcard_match(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    if case_sensitive and "?" not in pattern:
        # The usual ARN patterns, exact or with one `*` at the end, need no regular expression
        # (each bucket's are new, so compiling them would cost more than matching).
        star = pattern.find("*")
        if star < 0:
            return value == pattern
        if star == len(pattern) - 1:
            return value.startswith(pattern[:-1])
    return _wildcard(pattern, case_sensitive).fullmatch(value) is not None


def _string_equals(value: str, wanted: str) -> Ternary:
    return value == wanted


def _string_equals_ignore_case(value: str, wanted: str) -> Ternary:
    return value.casefold() == wanted.casefold()


def _string_like(value: str, pattern: str) -> Ternary:
    return wildcard_match(pattern, value)


def _arn_like(value: str, pattern: str) -> Ternary:
    # Each of the six colon-separated parts is matched on its own (the last keeps its colons).
    got, want = value.split(":", 5), pattern.split(":", 5)
    if len(got) != 6 or len(want) != 6:
        # IAM documents ARN operators over ARNs only; what it does with other text is unknown.
        return None
    return all(wildcard_match(p, v) for p, v in zip(want, got, strict=True))


def _bool(value: str, wanted: str) -> Ternary:
    return value.lower() == wanted.lower()


def _ip_address(value: str, network: str) -> Ternary:
    try:
        address = ipaddress.ip_address(value)
        cidr = ipaddress.ip_network(network, strict=False)
    except ValueError:
        return None
    return address.version == cidr.version and address in cidr


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _numeric(compare: Callable[[float, float], bool]) -> _Match:
    def match(value: str, wanted: str) -> Ternary:
        got, want = _number(value), _number(wanted)
        return None if got is None or want is None else compare(got, want)

    return match


@dataclass(frozen=True)
class _Operator:
    match: _Match
    negated: bool = False


_OPERATORS: dict[str, _Operator] = {
    "stringequals": _Operator(_string_equals),
    "stringnotequals": _Operator(_string_equals, negated=True),
    "stringequalsignorecase": _Operator(_string_equals_ignore_case),
    "stringnotequalsignorecase": _Operator(_string_equals_ignore_case, negated=True),
    "stringlike": _Operator(_string_like),
    "stringnotlike": _Operator(_string_like, negated=True),
    "arnequals": _Operator(_arn_like),
    "arnlike": _Operator(_arn_like),
    "arnnotequals": _Operator(_arn_like, negated=True),
    "arnnotlike": _Operator(_arn_like, negated=True),
    "bool": _Operator(_bool),
    "ipaddress": _Operator(_ip_address),
    "notipaddress": _Operator(_ip_address, negated=True),
    "numericequals": _Operator(_numeric(lambda a, b: a == b)),
    "numericnotequals": _Operator(_numeric(lambda a, b: a == b), negated=True),
    "numericlessthan": _Operator(_numeric(lambda a, b: a < b)),
    "numericlessthanequals": _Operator(_numeric(lambda a, b: a <= b)),
    "numericgreaterthan": _Operator(_numeric(lambda a, b: a > b)),
    "numericgreaterthanequals": _Operator(_numeric(lambda a, b: a >= b)),
}


def _any_of(match: _Match, value: str, wanted: Sequence[str]) -> Ternary:
    """Whether value matches one of the policy's values (values of one key are ORed)."""
    results = [match(value, w) for w in wanted]
    if any(r is True for r in results):
        return True
    return None if any(r is None for r in results) else False


def _not(result: Ternary) -> Ternary:
    return None if result is None else not result


def _single(op: _Operator, got: tuple[str, ...], wanted: Sequence[str]) -> Ternary:
    """One value against the policy's values; negated operators match none of them."""
    if len(got) != 1:
        # A single-valued operator over several values: IAM's answer depends on how the
        # service sends the key, so don't guess.
        return None
    hit = _any_of(op.match, got[0], wanted)
    return _not(hit) if op.negated else hit


def _for_any(op: _Operator, got: tuple[str, ...], wanted: Sequence[str]) -> Ternary:
    return _any([_single(op, (value,), wanted) for value in got])


def _for_all(op: _Operator, got: tuple[str, ...], wanted: Sequence[str]) -> Ternary:
    return _all([_single(op, (value,), wanted) for value in got])


def _any(results: Sequence[Ternary]) -> Ternary:
    if any(r is True for r in results):
        return True
    return None if any(r is None for r in results) else False


def _all(results: Sequence[Ternary]) -> Ternary:
    if any(r is False for r in results):
        return False
    return None if any(r is None for r in results) else True


def _texts(value: Any) -> list[str] | None:
    """A condition's values as strings (AWS stores true and 1 as "true" and "1")."""
    items = value if isinstance(value, list) else [value]
    texts = []
    for item in items:
        if isinstance(item, bool):
            texts.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            texts.append(str(item))
        else:
            return None
    return texts


def _null(context: Context, key: str, wanted: list[str]) -> Ternary:
    if key in context.unknown:
        return None
    present = bool(context.values.get(key))
    # Null true: the key must be absent; false: present. Several values are ORed.
    return _any(
        [(w.lower() == "true") != present if w.lower() in ("true", "false") else None for w in wanted]
    )


def condition_holds(operator: str, key: str, value: Any, context: Context, variables: bool) -> Ternary:
    """One `operator: {key: value}` entry of a Condition block.

    variables: the policy's Version is 2012-10-17, so `${...}` in a value is a policy
    variable (which this module does not expand: None) rather than literal text.
    """
    wanted = _texts(value)
    lowered_key = key.lower()
    if wanted is None or (variables and any("${" in w for w in wanted)):
        return None
    qualifier, name, if_exists = _parse_operator(operator)
    if name == "null" and not if_exists and not qualifier:
        return _null(context, lowered_key, wanted)
    op = _OPERATORS.get(name)
    if op is None or qualifier not in ("", "foranyvalue", "forallvalues"):
        return None
    if lowered_key in context.unknown:
        return None
    got = context.values.get(lowered_key, ())
    if not got:
        if if_exists or qualifier == "forallvalues":
            return True
        return qualifier == "" and op.negated
    if qualifier == "foranyvalue":
        return _for_any(op, got, wanted)
    if qualifier == "forallvalues":
        return _for_all(op, got, wanted)
    return _single(op, got, wanted)


@lru_cache(maxsize=256)
def _parse_operator(operator: str) -> tuple[str, str, bool]:
    """`ForAnyValue:StringLikeIfExists` -> ("foranyvalue", "stringlike", True)."""
    qualifier, _, name = operator.lower().rpartition(":")
    if_exists = name.endswith("ifexists") and name != "ifexists"
    return qualifier, name.removesuffix("ifexists") if if_exists else name, if_exists


def condition_keys(condition: Any) -> tuple[str, ...]:
    """The keys (lower case) whose values in a request decide whether `condition` holds."""
    blocks = condition.values() if isinstance(condition, dict) else ()
    keys = (str(key).lower() for block in blocks if isinstance(block, dict) for key in block)
    return tuple(sorted(set(keys)))


def conditions_hold(condition: Any, context: Context, variables: bool) -> Ternary:
    """A statement's whole Condition block: every operator and every key must hold."""
    if condition is None:
        return True
    if not isinstance(condition, dict):
        return None
    results: list[Ternary] = []
    for operator, block in condition.items():
        if not isinstance(block, dict):
            return None
        results.extend(
            condition_holds(str(operator), str(k), v, context, variables) for k, v in block.items()
        )
    return _all(results)
