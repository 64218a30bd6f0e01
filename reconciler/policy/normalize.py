"""One normalisation implementing the policy equivalence rules of AWS-BEHAVIOUR.md.

AWS does not return a stored policy as it was written: one-item lists come back as
strings, principal lists reordered, bare account ids as root ARNs, booleans as strings.
Comparing normalised forms is what keeps plans free of perpetual diffs.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
_SET_FIELDS = ("Action", "NotAction", "Resource", "NotResource")
_PRINCIPAL_FIELDS = ("Principal", "NotPrincipal")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _principal(value: Any, partition: str) -> dict[str, list[str]]:
    if value == "*":
        value = {"AWS": "*"}
    if not isinstance(value, dict):
        return {"?": sorted({_scalar_text(v) for v in _as_list(value)})}
    result = {}
    for key, items in value.items():
        names = set()
        for item in _as_list(items):
            text = _scalar_text(item)
            if key == "AWS" and _ACCOUNT_ID.match(text):
                text = f"arn:{partition}:iam::{text}:root"
            names.add(text)
        if names:
            result[key] = sorted(names)
    return result


def _condition(value: Any, fold_case: bool = True) -> Any:
    if not isinstance(value, dict):
        return value
    result: dict[str, dict[str, list[str]]] = {}
    for operator, block in value.items():
        if not isinstance(block, dict):
            result[operator] = {"?": [json.dumps(block, sort_keys=True)]}
            continue
        keys = result.setdefault(operator, {})
        for key, values in block.items():
            name = key.lower() if fold_case else key
            # Keys alike but for case are two conditions, both applied (AWS-BEHAVIOUR.md): keep
            # both, so such a statement never equals one with a single key.
            while name in keys:
                name += "\u0000"
            keys[name] = sorted({_scalar_text(v) for v in _as_list(values)})
    return result


def normalize_statement(statement: Any, partition: str = "aws", fold_case: bool = True) -> dict[str, Any]:
    """A canonical form: equal for two statements exactly when AWS treats them as equal.

    fold_case=False keeps the spelling of actions and condition keys, for showing a diff
    to a person; comparisons always fold case.
    """
    if not isinstance(statement, dict):
        return {"?": json.dumps(statement, sort_keys=True)}
    result: dict[str, Any] = {}
    for key, value in statement.items():
        if key == "Sid" and value == "":
            continue  # S3 has returned "Sid": "" for a statement stored without one
        if key in _SET_FIELDS:
            items = {_scalar_text(v) for v in _as_list(value)}
            fold = fold_case and "Action" in key
            result[key] = sorted(i.lower() for i in items) if fold else sorted(items)
        elif key in _PRINCIPAL_FIELDS:
            result[key] = _principal(value, partition)
        elif key == "Condition":
            result[key] = _condition(value, fold_case)
        elif key == "Effect" and isinstance(value, str):
            result[key] = value.capitalize()
        else:
            result[key] = value
    return result


def statements_of(document: Any) -> list[Any]:
    """The statements of a parsed policy; a single Statement object is a one-item list."""
    if not isinstance(document, dict):
        return []
    return _as_list(document.get("Statement"))


def canonical(statement: Any, partition: str = "aws") -> str:
    return json.dumps(normalize_statement(statement, partition), sort_keys=True)


def content_hash(statement: Any, partition: str = "aws") -> str:
    """A hash of what a statement says (its canonical form): how `adopt:` names a statement
    without a Sid, so a statement changed since the import no longer matches."""
    return hashlib.sha256(canonical(statement, partition).encode()).hexdigest()[:16]


def same_statements(left: Iterable[Any], right: Iterable[Any], partition: str = "aws") -> bool:
    """Multiset equality: a duplicated statement is a difference."""
    left, right = list(left), list(right)
    if len(left) != len(right):
        return False  # without normalising any: the common answer when a plan asks
    return Counter(canonical(s, partition) for s in left) == Counter(canonical(s, partition) for s in right)


def equivalent_policies(left: Any, right: Any, partition: str = "aws") -> bool:
    if (left is None) or (right is None):
        return left is None and right is None
    return same_statements(statements_of(left), statements_of(right), partition) and (
        left.get("Version") == right.get("Version") and left.get("Id") == right.get("Id")
    )
