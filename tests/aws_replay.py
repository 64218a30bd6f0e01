"""Replay how AWS hands a stored bucket policy back (AWS-BEHAVIOUR.md, "How a stored policy comes back").

moto stores and returns exactly what it was given, so a test that wants to see what a real
GetBucketPolicy returns has to apply AWS's rewrites itself:

- one-item lists come back as plain strings;
- principal lists (and action/resource/condition value lists) come back in another order;
- statement fields, condition blocks and document keys come back in another order, with
  other whitespace;
- condition values that were booleans or numbers come back as strings;
- an account principal comes back as its root ARN even if it was written as a bare
  12-digit id; since a policy may have been written by hand or by another tool, a test
  may also need the reverse (a bare id where we render a root ARN): both are provided.

Every function returns a new object and leaves its argument untouched.
"""

from __future__ import annotations

import copy
import json
import random
import re
from typing import Any

Statement = dict[str, Any]

_ROOT_ARN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):iam::([0-9]{12}):root$")
_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
_LIST_FIELDS = ("Action", "NotAction", "Resource", "NotResource")
_PRINCIPAL_FIELDS = ("Principal", "NotPrincipal")


def collapse_singletons(statement: Statement) -> Statement:
    """Every one-item list in the statement as a plain string, as AWS often returns it."""

    def collapse(value: Any) -> Any:
        if isinstance(value, list):
            items = [collapse(v) for v in value]
            return items[0] if len(items) == 1 else items
        if isinstance(value, dict):
            return {k: collapse(v) for k, v in value.items()}
        return value

    result: Statement = collapse(copy.deepcopy(statement))
    return result


def _map_principals(statement: Statement, rewrite: Any) -> Statement:
    result = copy.deepcopy(statement)
    for field in _PRINCIPAL_FIELDS:
        principal = result.get(field)
        if isinstance(principal, dict) and "AWS" in principal:
            names = principal["AWS"]
            principal["AWS"] = [rewrite(n) for n in names] if isinstance(names, list) else rewrite(names)
    return result


def bare_account_ids(statement: Statement) -> Statement:
    """Root ARN principals as bare 12-digit ids (how a hand-written policy may name them)."""

    def rewrite(name: Any) -> Any:
        match = _ROOT_ARN.match(name) if isinstance(name, str) else None
        return match.group(2) if match else name

    return _map_principals(statement, rewrite)


def root_arns(statement: Statement, partition: str = "aws") -> Statement:
    """Bare 12-digit account ids as root ARNs: what AWS stores for them."""

    def rewrite(name: Any) -> Any:
        if isinstance(name, str) and _ACCOUNT_ID.match(name):
            return f"arn:{partition}:iam::{name}:root"
        return name

    return _map_principals(statement, rewrite)


def everyone_as_aws_star(statement: Statement) -> Statement:
    """`Principal: "*"` in its equivalent `{"AWS": "*"}` form."""
    result = copy.deepcopy(statement)
    if result.get("Principal") == "*":
        result["Principal"] = {"AWS": "*"}
    return result


def stringify_conditions(statement: Statement) -> Statement:
    """Boolean and number condition values as the strings AWS returns (`false` -> `"false"`)."""

    def text(value: Any) -> Any:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return value

    result = copy.deepcopy(statement)
    for block in (result.get("Condition") or {}).values():
        if isinstance(block, dict):
            for key, values in block.items():
                block[key] = [text(v) for v in values] if isinstance(values, list) else text(values)
    return result


def _shuffle_keys(mapping: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    keys = list(mapping)
    rng.shuffle(keys)
    return {k: mapping[k] for k in keys}


def _shuffled_list(value: Any, rng: random.Random) -> Any:
    if not isinstance(value, list):
        return value
    items = list(value)
    rng.shuffle(items)
    return items


def shuffle_order(statement: Statement, rng: random.Random) -> Statement:
    """Field order, principal/action/resource order and condition order as AWS might return them."""
    result = copy.deepcopy(statement)
    for field in _LIST_FIELDS:
        if field in result:
            result[field] = _shuffled_list(result[field], rng)
    for field in _PRINCIPAL_FIELDS:
        principal = result.get(field)
        if isinstance(principal, dict):
            result[field] = _shuffle_keys({k: _shuffled_list(v, rng) for k, v in principal.items()}, rng)
    condition = result.get("Condition")
    if isinstance(condition, dict):
        result["Condition"] = _shuffle_keys(
            {
                op: _shuffle_keys({k: _shuffled_list(v, rng) for k, v in block.items()}, rng)
                if isinstance(block, dict)
                else block
                for op, block in condition.items()
            },
            rng,
        )
    return _shuffle_keys(result, rng)


def as_returned(statement: Statement, rng: random.Random, partition: str = "aws") -> Statement:
    """One random way AWS (or a policy written by hand) might hand this statement back."""
    result = stringify_conditions(statement)
    result = bare_account_ids(result) if rng.random() < 0.5 else root_arns(result, partition)
    if rng.random() < 0.5:
        result = everyone_as_aws_star(result)
    result = shuffle_order(result, rng)
    if rng.random() < 0.8:
        result = collapse_singletons(result)
    return result


def dumps_like_aws(document: dict[str, Any], rng: random.Random) -> str:
    """The document as text with another key order and other whitespace."""
    separators = rng.choice([(",", ":"), (", ", ": "), (",", ": ")])
    indent = rng.choice([None, 2, 4])
    return json.dumps(_shuffle_keys(document, rng), indent=indent, separators=separators)


def policy_as_returned(
    statements: list[Statement],
    rng: random.Random,
    partition: str = "aws",
    version: str = "2012-10-17",
    shuffle_statements: bool = True,
) -> str:
    """The text GetBucketPolicy might return for a policy holding these statements."""
    returned = [as_returned(s, rng, partition) for s in statements]
    if shuffle_statements:
        rng.shuffle(returned)
    body: Any = returned[0] if len(returned) == 1 and rng.random() < 0.5 else returned
    return dumps_like_aws({"Version": version, "Statement": body}, rng)
