"""Effective access: would the merged policy really let a new grant's requests through?

A kept hand-written Deny ("deny everyone but this role", a NotPrincipal deny, "deny outside
our VPC endpoint or IP range") can deny every request a new grant allows, and the plan
would still say the grantee "gains read". Here each gained grant becomes the requests it
implies, and each Deny of the whole merged policy (kept statements included) is evaluated
on them (reconciler.policy.evaluate); only a Deny can take away what our Allows grant:

- who asks: a role or user grant's own ARN; for an account, any principal of it (a role
  no statement names); for an organization or OU, a principal of a member account with
  that org id (and OU path);
- what: each action of each statement rendered for the grant, on the resources it
  renders (an object under the prefix), with the conditions the statement needs;
- how: as a compliant client sends it. A condition key that describes how the request is
  made (aws:SecureTransport, the encryption and ACL headers, TLS and signature versions)
  takes a value that keeps the Denies from applying when one exists, so a TLS-only or
  encryption-required Deny blocks nothing. Where it comes from is different: a grantee in
  another account does not come through the bucket owner's VPC, VPC endpoint or IP range,
  so those Denies do block.

Facts bucketshare does not have (whether an account grantee belongs to some organization,
a principal's tags) make a Deny "may block" rather than a guess either way.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.declare.model import Grant, GranteeKind
from reconciler.policy.conditions import Context, Ternary
from reconciler.policy.evaluate import Request, StatementRef, account_of, statement_applies
from reconciler.policy.render import DesiredStatement

ANY_PRINCIPAL_NAME = "bucketshare-any-principal"
"""The role standing for "any principal" of a grantee account: named by no statement."""
SOURCE_IP = "198.51.100.7"
"""A documentation address (RFC 5737): the grantee's network is never the owner's."""
_EXAMPLE_OBJECT = "example-object"
_VARIABLES_VERSION = "2012-10-17"
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
# Keys whose value (or absence) the request built here states exactly; any other key a
# condition names is unknown for it.
_STATED = frozenset(
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


@dataclass(frozen=True, order=True)
class Block:
    """A kept Deny that denies some of a grant's requests."""

    statement: StatementRef
    actions: tuple[str, ...]
    certain: bool
    """False: it may block, depending on facts bucketshare does not have (see unknown_keys)."""
    unknown_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class GrantAccess:
    grant: Grant
    blocks: tuple[Block, ...]

    @property
    def blocked(self) -> bool:
        return any(b.certain for b in self.blocks)

    def warnings(self) -> list[str]:
        """One sentence per Deny that blocks (or may block) the grant: what a reviewer must
        fix by hand, since bucketshare never edits statements it does not own."""
        grant = self.grant
        who = f"{grant.location}: {grant.grantee.describe()} gains {grant.access} on {grant.scope()}"
        said = []
        for block in self.blocks:
            actions = ", ".join(block.actions)
            if block.certain:
                said.append(
                    f"{who}, but kept {block.statement.named} denies it {actions}: AWS "
                    "refuses those requests until that statement is changed by hand"
                )
            else:
                keys = ", ".join(block.unknown_keys)
                said.append(
                    f"{who}, but kept {block.statement.named} may deny it {actions}, "
                    f"depending on {keys} of the grantee, which bucketshare cannot see"
                )
        return said


@dataclass(frozen=True)
class _Caller:
    principal: str
    keys: dict[str, str | list[str]]
    known: frozenset[str]


def effective_access(
    policy: Mapping[str, Any],
    statements: Sequence[DesiredStatement],
    grants: Iterable[Grant],
    owner: str,
) -> tuple[GrantAccess, ...]:
    """For each grant, the Denies of `policy` (the whole merged policy) that block its requests.

    Only Denies can take away what our own Allow statements grant, so only they are evaluated
    (a bucket without a kept Deny costs nothing), each on its own: the compliant client meets
    each Deny's conditions on how the request is made as that Deny requires.
    """
    denies = _denies(policy)
    grants = list(grants)
    if not denies:
        return tuple(GrantAccess(grant, ()) for grant in grants)
    variables = policy.get("Version") == _VARIABLES_VERSION
    deny_keys = frozenset(k for deny in denies for k in deny.keys)
    text = repr(policy)
    by_grant: dict[Grant, list[DesiredStatement]] = {}
    for desired in statements:
        for grant in desired.grants:
            by_grant.setdefault(grant, []).append(desired)
    result = []
    for grant in grants:
        caller = _caller(grant, owner, text)
        unknown = sorted(k for k in deny_keys if k not in caller.known)
        found: dict[tuple[_Deny, bool], set[str]] = {}
        for request in _requests(by_grant.get(grant, ()), caller, unknown):
            for deny in denies:
                applies = _applies(deny, request, variables)
                if applies is not False:
                    found.setdefault((deny, applies is True), set()).add(request.action)
        blocks = (
            Block(deny.ref, tuple(sorted(actions)), certain, () if certain else _unknown(deny, caller))
            for (deny, certain), actions in found.items()
        )
        result.append(GrantAccess(grant, tuple(sorted(blocks))))
    return tuple(result)


@dataclass(frozen=True, eq=False)
class _Deny:
    """A statement that may deny: its Effect is Deny (or unreadable, which can't be told)."""

    ref: StatementRef
    statement: Any
    keys: dict[str, str]
    """Its condition keys, lower case -> as spelt in it."""
    choices: tuple[dict[str, str], ...]
    """The ways a compliant client may send the keys on how a request is made that it names,
    the most usual first."""

    @property
    def certain_effect(self) -> bool:
        return isinstance(self.statement, dict) and self.statement.get("Effect") == "Deny"


def _denies(policy: Mapping[str, Any]) -> list[_Deny]:
    denies = []
    for position, statement in enumerate(_statements(policy), start=1):
        if isinstance(statement, dict) and statement.get("Effect") == "Allow":
            continue
        sid = statement.get("Sid") if isinstance(statement, dict) else None
        ref = StatementRef(position, str(sid) if sid else None)
        entries = list(_condition_entries(statement))
        keys = {key.lower(): key for key, _ in entries}
        denies.append(_Deny(ref, statement, keys, _client_choices(entries)))
    return denies


def _applies(deny: _Deny, request: Request, variables: bool) -> Ternary:
    """Whether the Deny applies however a compliant client sends the request: False as soon
    as one way avoids it; None when no way is certain to."""
    if not isinstance(deny.statement, dict):
        return None
    verdict: Ternary = True
    for choice in deny.choices:
        applies = statement_applies(deny.statement, _with_keys(request, choice), variables)
        if applies is False:
            return False
        if applies is None:
            verdict = None
    return verdict if deny.certain_effect else None


def _unknown(deny: _Deny, caller: _Caller) -> tuple[str, ...]:
    return tuple(spelt for key, spelt in sorted(deny.keys.items()) if key not in caller.known)


def _caller(grant: Grant, owner: str, policy_text: str) -> _Caller:
    grantee = grant.grantee
    if grantee.kind in (GranteeKind.ROLE, GranteeKind.USER):
        principal = grantee.id
    else:
        account = grantee.account or _member_account(owner, policy_text)
        principal = f"arn:{_partition(policy_text)}:iam::{account}:role/{ANY_PRINCIPAL_NAME}"
    keys: dict[str, str | list[str]] = {
        "aws:PrincipalType": "User" if ":user/" in principal else "AssumedRole",
        "aws:PrincipalIsAWSService": "false",
        "aws:ViaAWSService": "false",
        "aws:SourceIp": SOURCE_IP,
    }
    known = set(_STATED)
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
    return _Caller(principal, keys, frozenset(known))


def _partition(policy_text: str) -> str:
    match = re.search(r"arn:(aws[a-z-]*):", policy_text)
    return match.group(1) if match else "aws"


def _member_account(owner: str, policy_text: str) -> str:
    """An account of the organization that no statement names and that is not the owner."""
    for n in itertools.count(1):
        account = f"{n:012d}"
        if account != owner and account not in policy_text:
            return account
    raise AssertionError("unreachable")


def _requests(
    statements: Sequence[DesiredStatement], caller: _Caller, unknown: Sequence[str]
) -> Iterator[Request]:
    for desired in statements:
        statement = desired.statement
        keys = {**caller.keys, **_needed_keys(statement.get("Condition"))}
        for action in _texts(statement.get("Action")):
            for resource in _texts(statement.get("Resource")):
                concrete = resource[:-1] + _EXAMPLE_OBJECT if resource.endswith("*") else resource
                yield Request.of(caller.principal, action, concrete, keys, unknown)


def _needed_keys(condition: Any) -> dict[str, str | list[str]]:
    """The request keys a rendered statement's conditions ask for that the caller does not
    already carry: a listing's s3:prefix (the prefix itself)."""
    needed: dict[str, str | list[str]] = {}
    if not isinstance(condition, dict):
        return needed
    for block in condition.values():
        if not isinstance(block, dict):
            continue
        for key, values in block.items():
            if key.lower() == "s3:prefix":
                prefixes = sorted(_texts(values))
                if prefixes:
                    needed["s3:prefix"] = prefixes[0].rstrip("*")
    return needed


def _texts(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [] if value is None else [value]
    return [str(item) for item in items]


def _statements(policy: Mapping[str, Any]) -> list[Any]:
    statements = policy.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements or [])


def _condition_entries(statement: Any) -> list[tuple[str, list[str]]]:
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


def _client_choices(entries: Sequence[tuple[str, list[str]]]) -> tuple[dict[str, str], ...]:
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


def _with_keys(request: Request, extra: Mapping[str, str]) -> Request:
    if not extra:
        return request
    values = {**request.context.values, **{k: (v,) for k, v in extra.items()}}
    context = Context(values, request.context.unknown)
    return Request(request.principal, request.action, request.resource, context)
