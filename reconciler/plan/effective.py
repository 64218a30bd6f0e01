"""Effective access: would the merged policy really let a new grant's requests through?

A kept hand-written Deny ("deny everyone but this role", a NotPrincipal deny, "deny outside
our VPC endpoint or IP range") can deny every request a new grant allows, and the plan
would still say the grantee "gains read". Here each gained grant becomes the requests it
implies (reconciler.policy.evaluate decides each against the whole merged policy):

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
from reconciler.policy.conditions import Context
from reconciler.policy.evaluate import Decision, Request, StatementRef, Verdict, account_of, decide
from reconciler.policy.render import DesiredStatement

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
    """For each grant, the Denies of `policy` (the whole merged policy) that block its requests."""
    spelling = _condition_keys(policy)
    keys = frozenset(spelling)
    choices = _client_choices(policy, keys)
    text = repr(policy)
    result = []
    for grant in grants:
        caller = _caller(grant, owner, text)
        unknown = sorted(k for k in keys if k not in caller.known)
        found: dict[tuple[StatementRef, bool], set[str]] = {}
        for request in _requests(grant, statements, caller, unknown):
            decision = _best_decision(policy, request, choices)
            for ref, certain in _denials(policy, decision):
                found.setdefault((ref, certain), set()).add(request.action)
        blocks = tuple(
            Block(
                ref, tuple(sorted(actions)), certain, () if certain else tuple(spelling[k] for k in unknown)
            )
            for (ref, certain), actions in sorted(
                found.items(), key=lambda item: (item[0][0].position, item[0][1])
            )
        )
        result.append(GrantAccess(grant, blocks))
    return tuple(result)


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
    grant: Grant, statements: Sequence[DesiredStatement], caller: _Caller, unknown: Sequence[str]
) -> Iterator[Request]:
    for desired in statements:
        if grant not in desired.grants:
            continue
        statement = desired.statement
        needed = _needed_keys(statement.get("Condition"))
        for action in _texts(statement.get("Action")):
            for resource in _texts(statement.get("Resource")):
                concrete = resource[:-1] + _EXAMPLE_OBJECT if resource.endswith("*") else resource
                keys = {**caller.keys, **needed}
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


def _condition_entries(policy: Mapping[str, Any]) -> Iterator[tuple[str, list[str]]]:
    for statement in _statements(policy):
        condition = statement.get("Condition") if isinstance(statement, dict) else None
        if not isinstance(condition, dict):
            continue
        for block in condition.values():
            if isinstance(block, dict):
                for key, values in block.items():
                    yield (
                        str(key).lower(),
                        [_scalar(v) for v in (values if isinstance(values, list) else [values])],
                    )


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _condition_keys(policy: Mapping[str, Any]) -> dict[str, str]:
    """Every condition key the policy names (lower case) -> its first spelling there."""
    spelling: dict[str, str] = {}
    for statement in _statements(policy):
        condition = statement.get("Condition") if isinstance(statement, dict) else None
        for block in condition.values() if isinstance(condition, dict) else ():
            for key in block if isinstance(block, dict) else ():
                spelling.setdefault(str(key).lower(), str(key))
    return spelling


def _client_choices(policy: Mapping[str, Any], keys: frozenset[str]) -> list[dict[str, str]]:
    """Every combination of values (or absence) of the client-set keys the policy names."""
    values: dict[str, list[str | None]] = {}
    for key in sorted(k for k in keys if k in _CLIENT_DEFAULTS):
        options: list[str | None] = [*_CLIENT_DEFAULTS[key]]
        for named, given in _condition_entries(policy):
            if named == key:
                options.extend(v.replace("*", "x").replace("?", "x") for v in given if "${" not in v)
        options.append(None)
        values[key] = list(dict.fromkeys(options))
    combos: list[dict[str, str]] = []
    for picked in itertools.product(*values.values()):
        combos.append({k: v for k, v in zip(values, picked, strict=True) if v is not None})
        if len(combos) >= _MAX_ASSIGNMENTS:
            break
    return combos


def _with_keys(request: Request, extra: Mapping[str, str]) -> Request:
    if not extra:
        return request
    values = {**request.context.values, **{k: (v,) for k, v in extra.items()}}
    context = Context(values, request.context.unknown)
    return Request(request.principal, request.action, request.resource, context)


def _rank(decision: Decision) -> tuple[int, int]:
    order = {Verdict.ALLOWED: 0, Verdict.CANT_TELL: 1, Verdict.EXPLICIT_DENY: 2, Verdict.IMPLICIT_DENY: 3}
    return order[decision.verdict], len(decision.deciding) + len(decision.undecided)


def _best_decision(
    policy: Mapping[str, Any], request: Request, choices: Sequence[dict[str, str]]
) -> Decision:
    """The decision for the compliant client: the best over the ways it may send the request."""
    best: Decision | None = None
    for choice in choices:
        decision = decide(policy, _with_keys(request, choice))
        if best is None or _rank(decision) < _rank(best):
            best = decision
        if best.verdict is Verdict.ALLOWED:
            break
    return best if best is not None else decide(policy, request)


def _denials(policy: Mapping[str, Any], decision: Decision) -> Iterator[tuple[StatementRef, bool]]:
    if decision.verdict is Verdict.EXPLICIT_DENY:
        yield from ((ref, True) for ref in decision.deciding)
    statements = _statements(policy)
    for ref in decision.undecided:
        statement = statements[ref.position - 1]
        effect = statement.get("Effect") if isinstance(statement, dict) else None
        if not (isinstance(effect, str) and effect.lower() == "allow"):
            yield ref, False
