"""The requests a gained grant implies, as plan/effective.py evaluates them: who asks (the
grant's role or user, any principal of its account, a member of its organization or OU),
which action on which resource, and how a compliant client in the grantee's account sends
it (TLS, the encryption and ACL headers a Deny asks for, never through the owner's network).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from reconciler.declare.model import Grant, GranteeKind
from reconciler.policy.conditions import Context
from reconciler.policy.evaluate import Request, account_of, caller_context

ANY_PRINCIPAL_NAME = "bucketshare-any-principal"
"""The role standing for "any principal" of a grantee account: named by no statement."""
SOURCE_IP = "198.51.100.7"
"""A documentation address (RFC 5737): the grantee's network is never the owner's."""
_EXAMPLE_OBJECT = "example-object"
_MAX_ASSIGNMENTS = 256

# Keys a compliant client sets as the bucket requires: how the request is made.
_CLIENT_DEFAULTS: dict[str, tuple[str, ...]] = {
    "aws:securetransport": ("true", "false"),
    "s3:tlsversion": ("1.3", "1.2"),
    "s3:signatureversion": ("AWS4-HMAC-SHA256",),
    "s3:authtype": ("REST-HEADER",),
    "s3:signatureage": (),
    "s3:x-amz-content-sha256": (),
    "s3:x-amz-acl": (),
    "s3:x-amz-server-side-encryption": ("AES256", "aws:kms"),
    "s3:x-amz-server-side-encryption-aws-kms-key-id": (),
    "s3:x-amz-server-side-encryption-customer-algorithm": ("AES256",),
}
_SSE_ACTIONS = frozenset(("s3:putobject", "s3:replicateobject"))
# Request headers a client can send only with some actions (the service authorization
# reference lists each key for these alone): on any other request the key is absent, so a
# "deny unless encrypted" on s3:* denies reads however compliant the client is.
_HEADER_ACTIONS: dict[str, frozenset[str]] = {
    "s3:x-amz-acl": frozenset(
        ("s3:putobject", "s3:putobjectacl", "s3:putobjectversionacl", "s3:putbucketacl")
    ),
    "s3:x-amz-server-side-encryption": _SSE_ACTIONS,
    "s3:x-amz-server-side-encryption-aws-kms-key-id": _SSE_ACTIONS,
    "s3:x-amz-server-side-encryption-customer-algorithm": _SSE_ACTIONS,
}
# Keys whose value (or absence) the request built here states exactly; any other key a
# condition names is unknown for it.
STATED = frozenset(
    (
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principaltype",
        "aws:principalisawsservice",
        "aws:principalservicename",
        "aws:viaawsservice",
        "aws:calledvia",
        "aws:calledviafirst",
        "aws:calledvialast",
        "aws:sourceip",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceowner",
        "aws:sourceorgid",
        "s3:prefix",
        "s3:delimiter",
        "s3:max-keys",
        "s3:dataaccesspointarn",
        "s3:dataaccesspointaccount",
        "s3:accesspointnetworkorigin",
        *_CLIENT_DEFAULTS,
    )
)
_NETWORK_KEYS = frozenset(("aws:sourceip", "aws:sourcevpc", "aws:sourcevpce"))


@dataclass(frozen=True)
class Caller:
    principal: str
    keys: dict[str, str | list[str]]
    known: frozenset[str]


def sendable(choices: Sequence[dict[str, str]], action: str) -> list[dict[str, str]]:
    """The choices as a request for `action` can carry them: without the headers it can't send."""
    lowered = action.lower()
    sendable = (
        {k: v for k, v in choice.items() if k not in _HEADER_ACTIONS or lowered in _HEADER_ACTIONS[k]}
        for choice in choices
    )
    return list({tuple(sorted(c.items())): c for c in sendable}.values())


class Unnamed:
    """Stand-ins the merged policy names nowhere for "any principal" of an account or of an
    organization: worked out from its text on first need, once per policy."""

    def __init__(self, policy: Mapping[str, Any], owner: str) -> None:
        self._policy = policy
        self._owner = owner

    def principal(self, account: str) -> str:
        return f"arn:{self._partition}:iam::{account}:role/{ANY_PRINCIPAL_NAME}"

    @cached_property
    def member_account(self) -> str:
        """An account of the organization that no statement names and that is not the owner."""
        for n in itertools.count(1):
            account = f"{n:012d}"
            if account != self._owner and account not in self._text:
                return account
        raise AssertionError("unreachable")

    @cached_property
    def _partition(self) -> str:
        match = re.search(r"arn:(aws[a-z-]*):", self._text)
        return match.group(1) if match else "aws"

    @cached_property
    def _text(self) -> str:
        return repr(self._policy)


def caller_of(grant: Grant, owner: str, unnamed: Unnamed) -> Caller:
    grantee = grant.grantee
    if grantee.kind in (GranteeKind.ROLE, GranteeKind.USER):
        principal = grantee.id
    else:
        principal = unnamed.principal(grantee.account or unnamed.member_account)
    keys: dict[str, str | list[str]] = {
        "aws:PrincipalType": "User" if ":user/" in principal else "AssumedRole",
        "aws:PrincipalIsAWSService": "false",
        "aws:ViaAWSService": "false",
        "aws:SourceIp": SOURCE_IP,
    }
    known = set(STATED)
    if account_of(principal) == owner:
        # The owner's own principals may well come through its VPC endpoints and networks.
        known -= _NETWORK_KEYS
        del keys["aws:SourceIp"]
    if grantee.org is not None:
        keys["aws:PrincipalOrgID"] = grantee.org
        known.add("aws:principalorgid")
        if grantee.kind is GranteeKind.OU:
            # A member of the OU: its path as IAM sends it (with the trailing slash).
            keys["aws:PrincipalOrgPaths"] = [grantee.id.rstrip("/") + "/"]
            known.add("aws:principalorgpaths")
    return Caller(principal, keys, frozenset(known))


@dataclass(frozen=True)
class Asks:
    """What a rendered statement lets each of its grantees ask, whoever the grantee is."""

    prefixes: tuple[str | None, ...]
    """The s3:prefix of each listing it allows (a Deny may refuse listing one prefix and not
    another); None: its requests carry no prefix."""
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    """Concrete: an object under each prefix the statement's resources cover."""


def asks_of(statement: Mapping[str, Any]) -> Asks:
    resources = (
        r[:-1] + _EXAMPLE_OBJECT if r.endswith("*") else r for r in _texts(statement.get("Resource"))
    )
    prefixes = _prefixes(statement.get("Condition"))
    return Asks(prefixes or (None,), tuple(_texts(statement.get("Action"))), tuple(resources))


def requests(asked: Sequence[Asks], caller: Caller, unknown: Sequence[str]) -> Iterator[Request]:
    contexts: dict[str | None, Context] = {}
    for asks in asked:
        for prefix in asks.prefixes:
            if prefix not in contexts:
                needed = {} if prefix is None else {"s3:prefix": prefix}
                contexts[prefix] = caller_context(caller.principal, {**caller.keys, **needed}, unknown)
            for action in asks.actions:
                for resource in asks.resources:
                    yield Request(caller.principal, action, resource, contexts[prefix])


def _prefixes(condition: Any) -> tuple[str, ...]:
    prefixes: list[str] = []
    blocks = condition.values() if isinstance(condition, dict) else ()
    for block in blocks:
        for key, values in block.items() if isinstance(block, dict) else ():
            if key.lower() == "s3:prefix":
                prefixes.extend(p.rstrip("*") for p in sorted(_texts(values)))
    return tuple(dict.fromkeys(prefixes))


def _texts(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [] if value is None else [value]
    return [str(item) for item in items]


def condition_entries(statement: Any) -> list[tuple[str, list[str]]]:
    """(key as spelt, its values as text) of each entry of a statement's Condition."""
    condition = statement.get("Condition") if isinstance(statement, dict) else None
    entries = []
    for block in condition.values() if isinstance(condition, dict) else ():
        for key, values in block.items() if isinstance(block, dict) else ():
            entries.append(
                (str(key), [_scalar(v) for v in (values if isinstance(values, list) else [values])])
            )
    return entries


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def client_choices(entries: Sequence[tuple[str, list[str]]]) -> tuple[dict[str, str], ...]:
    """Every combination of values (or absence) of the keys on how a request is made that a
    statement's conditions name: the usual values first, then the statement's own, then none."""
    values: dict[str, list[str | None]] = {}
    for key, given in entries:
        lowered = key.lower()
        if lowered not in _CLIENT_DEFAULTS:
            continue
        options = values.setdefault(lowered, [*_CLIENT_DEFAULTS[lowered]])
        options.extend(v.replace("*", "x").replace("?", "x") for v in given if "${" not in v)
    combos: list[dict[str, str]] = []
    choices = [list(dict.fromkeys([*options, None])) for options in values.values()]
    for picked in itertools.product(*choices):
        combos.append({k: v for k, v in zip(values, picked, strict=True) if v is not None})
        if len(combos) >= _MAX_ASSIGNMENTS:
            break
    return tuple(combos)
