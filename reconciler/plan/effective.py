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
  encryption-required Deny blocks nothing. The encryption and ACL headers go only with the
  actions that take them (a GetObject carries none), and one request carries one value of
  each, so Denies that want different values together block it. Where it comes from is
  different: a grantee in another account does not come through the bucket owner's VPC,
  VPC endpoint or IP range, so those Denies do block.

Facts bucketshare does not have (whether an account grantee belongs to some organization,
a principal's tags) make a Deny "may block" rather than a guess either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.declare.model import Grant
from reconciler.plan.grant_requests import (
    Asks,
    Caller,
    Unnamed,
    asks_of,
    caller_of,
    client_choices,
    condition_entries,
    requests,
    sendable,
)
from reconciler.policy.conditions import Ternary
from reconciler.policy.evaluate import Request, StatementMatcher, StatementRef
from reconciler.policy.render import DesiredStatement

_VARIABLES_VERSION = "2012-10-17"


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
            elif block.unknown_keys:
                keys = ", ".join(block.unknown_keys)
                said.append(
                    f"{who}, but kept {block.statement.named} may deny it {actions}, "
                    f"depending on {keys} of the grantee, which bucketshare cannot see"
                )
            else:
                said.append(
                    f"{who}, but kept {block.statement.named} may deny it {actions}: bucketshare "
                    "cannot tell whether it applies (a NotPrincipal must name the grantee's account "
                    "as well as its role or user, or AWS may deny the whole account)"
                )
        return said


def effective_access(
    policy: Mapping[str, Any],
    statements: Sequence[DesiredStatement],
    grants: Iterable[Grant],
    owner: str,
) -> tuple[GrantAccess, ...]:
    """For each grant, the Denies of `policy` (the whole merged policy) that block its requests.

    Only Denies can take away what our own Allow statements grant, so only they are evaluated
    (a bucket without a kept Deny costs nothing), each on its own: the compliant client meets
    each Deny's conditions on how the request is made as that Deny requires. The Denies a
    client avoids one at a time are then checked together, with one way of sending the request.
    """
    variables = policy.get("Version") == _VARIABLES_VERSION
    denies = _denies(policy, variables)
    grants = list(grants)
    if not denies:
        return tuple(GrantAccess(grant, ()) for grant in grants)
    deny_keys = frozenset(k for deny in denies for k in deny.keys)
    unnamed = Unnamed(policy, owner)
    by_grant: dict[Grant, list[Asks]] = {}
    for desired in statements:
        asks = asks_of(desired.statement)
        for grant in desired.grants:
            by_grant.setdefault(grant, []).append(asks)
    result = []
    for grant in grants:
        caller = caller_of(grant, owner, unnamed)
        unknown = sorted(k for k in deny_keys if k not in caller.known)
        found: dict[tuple[_Deny, bool], set[str]] = {}
        for request in requests(by_grant.get(grant, ()), caller, unknown):
            avoided = []
            for deny in denies:
                applies = deny.applies(request)
                if applies is not False:
                    found.setdefault((deny, applies is True), set()).add(request.action)
                elif len(deny.choices) > 1:
                    avoided.append(deny)
            for deny in _jointly_unavoidable(avoided, request):
                found.setdefault((deny, True), set()).add(request.action)
        blocks = (
            Block(deny.ref, tuple(sorted(actions)), certain, () if certain else _unknown(deny, caller))
            for (deny, certain), actions in found.items()
        )
        result.append(GrantAccess(grant, tuple(sorted(blocks))))
    return tuple(result)


class _Deny:
    """A statement that may deny: its Effect is Deny (or unreadable, which can't be told).
    One per statement of a policy, so what it learns about one request serves the next."""

    def __init__(self, ref: StatementRef, statement: Any, variables: bool) -> None:
        self.ref = ref
        self.entries = tuple(condition_entries(statement))
        """Its condition entries: (key as spelt, values as text)."""
        self.keys = {key.lower(): key for key, _ in self.entries}
        """Its condition keys, lower case -> as spelt in it."""
        self.choices = client_choices(self.entries)
        """The ways a compliant client may send the keys on how a request is made that it
        names, the most usual first."""
        self.certain_effect = _effect_is(statement, "deny")
        self._matcher = StatementMatcher(statement, variables) if isinstance(statement, dict) else None
        self._sendable: dict[str, list[dict[str, str]]] = {}

    def sendable(self, action: str) -> list[dict[str, str]]:
        if action not in self._sendable:
            self._sendable[action] = sendable(self.choices, action)
        return self._sendable[action]

    def applies(self, request: Request) -> Ternary:
        """Whether it applies however a compliant client sends the request: False as soon
        as one way avoids it; None when no way is certain to."""
        if self._matcher is None:
            return None
        verdict = self._matcher.target(request)
        if verdict is False:
            return False
        for choice in self.sendable(request.action):
            held = self._matcher.condition(request.context, choice)
            if held is False:
                return False
            if held is None:
                verdict = None
        return verdict if self.certain_effect else None

    def applies_when_sent(self, request: Request, choice: Mapping[str, str]) -> Ternary:
        return None if self._matcher is None else self._matcher.applies(request, choice)


def _effect_is(statement: Any, effect: str) -> bool:
    """S3 takes the Effect in any case, as the evaluator does."""
    spelt = statement.get("Effect") if isinstance(statement, dict) else None
    return isinstance(spelt, str) and spelt.lower() == effect


def _denies(policy: Mapping[str, Any], variables: bool) -> list[_Deny]:
    denies = []
    for position, statement in enumerate(_statements(policy), start=1):
        if _effect_is(statement, "allow"):
            continue
        sid = statement.get("Sid") if isinstance(statement, dict) else None
        denies.append(_Deny(StatementRef(position, str(sid) if sid else None), statement, variables))
    return denies


def _jointly_unavoidable(avoided: Sequence[_Deny], request: Request) -> list[_Deny]:
    """The Denies a client avoids one at a time by how it sends a request (an encryption
    header, TLS) but not all at once, since one request carries one value of each header:
    together they certainly deny it. Empty when some way of sending avoids them all."""
    if len(avoided) < 2:
        return []
    relevant = [
        deny
        for deny in avoided
        if any(
            deny.applies_when_sent(request, choice) is not False for choice in deny.sendable(request.action)
        )
    ]
    if len(relevant) < 2:
        return []
    entries = [entry for deny in relevant for entry in deny.entries]
    for choice in sendable(client_choices(entries), request.action):
        if all(deny.applies_when_sent(request, choice) is False for deny in relevant):
            return []
    return relevant


def _statements(policy: Mapping[str, Any]) -> list[Any]:
    statements = policy.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements or [])


def _unknown(deny: _Deny, caller: Caller) -> tuple[str, ...]:
    return tuple(spelt for key, spelt in sorted(deny.keys.items()) if key not in caller.known)
