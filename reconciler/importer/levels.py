"""Choose, for one grantee, the smallest access levels that cover what its statements allow.

A grantee's atoms group by prefix (object and listing actions at that prefix); bucket-wide
actions belong to the grantee. Each group takes the level with the fewest actions that
holds all of the group's actions: it may add actions (a widening, which import states next
to the grant), never drop one. A level never adds object actions to a prefix where the
grantee had none (listing a folder is not reading it). Where no level fits exactly, the exact
action list is proposed as a level for reconciler.yaml, so a second import converts it; the
proposal is named by what it holds (Proposer).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.declare.model import Grantee
from reconciler.policy.access import Access, lookup, s3_actions
from reconciler.policy.atoms import (
    BUCKET,
    LIST,
    OBJECTS,
    Atom,
    covers,
    grant_atoms,
    scope_text,
    spell,
    spell_actions,
)


@dataclass(frozen=True)
class Choice:
    access: Access
    prefix: str
    atoms: frozenset[Atom]
    """The held atoms this choice covers."""


@dataclass(frozen=True)
class Failure:
    atoms: frozenset[Atom]
    reason: str


@dataclass(frozen=True)
class Proposal:
    """An access level that would express some statements exactly."""

    name: str
    actions: tuple[str, ...]
    administration: bool

    def snippet(self) -> list[str]:
        lines = [f"  {self.name}:", f"    actions: [{', '.join(self.actions)}]"]
        if self.administration:
            lines.append("    administration: true")
        return lines


@dataclass(frozen=True)
class GranteePlan:
    choices: tuple[Choice, ...]
    failures: tuple[Failure, ...]
    proposals: tuple[Proposal, ...]


def plan_grantee(
    grantee: Grantee, atoms: frozenset[Atom], levels: Sequence[Access], proposer: Proposer | None = None
) -> GranteePlan:
    """proposer: shared by the grantees of one import, so no two proposals share a name."""
    propose = proposer or Proposer(levels)
    groups: dict[str, set[Atom]] = {}
    on_bucket = {a for a in atoms if a.scope == BUCKET}
    for atom in atoms - on_bucket:
        groups.setdefault(atom.prefix, set()).add(atom)
    bucket_actions = frozenset(a.action for a in on_bucket)
    if not groups:
        actions = sorted(bucket_actions)
        proposal = propose(actions)
        reason = (
            f"{grantee.describe()} gets only {', '.join(spell_actions(actions))} on the bucket, which no "
            f"access level is; proposed level {proposal.name}"
        )
        return GranteePlan((), (Failure(atoms, reason),), (proposal,))
    # Each prefix its own smallest level first; bucket-wide actions are then usually covered by
    # one of them. Only when they are not, ask every prefix's level to hold them too.
    chosen = _choose_all(groups, bucket_actions, levels, with_bucket=False)
    missing = _missing(chosen, bucket_actions)
    if missing or any(c is None for c in chosen.values()):
        both = _choose_all(groups, bucket_actions, levels, with_bucket=True)
        if all(c is not None for c in both.values()):
            chosen, missing = both, frozenset()
    return _outcome(grantee, atoms, groups, on_bucket, chosen, missing, bucket_actions, propose)


def _outcome(
    grantee: Grantee,
    atoms: frozenset[Atom],
    groups: dict[str, set[Atom]],
    on_bucket: set[Atom],
    chosen: dict[str, Access | None],
    missing: frozenset[str],
    bucket_actions: frozenset[str],
    propose: Proposer,
) -> GranteePlan:
    choices, failures, proposals = [], [], []
    for prefix, group in sorted(groups.items()):
        level = chosen[prefix]
        needed = sorted({a.action for a in group} | bucket_actions)
        # Exact: the level adds nothing the grantee does not already hold (at this prefix or above).
        scope = (prefix,) if prefix else ()
        exact = level is not None and all(covers(atoms, a) for a in grant_atoms(grantee, level, scope))
        # A level of the same actions would be no closer (what differs is a condition, such as
        # the owner's ACL, or where listing applies): proposing it would never end.
        same = level is not None and set(needed) == _lower(level.actions.s3())
        proposal = None if exact or same else propose(needed)
        if proposal is not None and proposal not in proposals:
            proposals.append(proposal)
        if level is None:
            assert proposal is not None
            what = ", ".join(spell_actions({a.action for a in group}))
            failures.append(
                Failure(
                    frozenset(group),
                    f"{grantee.describe()} gets {what} on {scope_text(prefix)}, which no access level "
                    f"covers; proposed level {proposal.name}",
                )
            )
        else:
            choices.append(Choice(level, prefix, frozenset(group)))
    held = {a for a in on_bucket if a.action not in missing}
    if choices and held:
        first = choices[0]
        choices[0] = Choice(first.access, first.prefix, first.atoms | held)
    if missing:
        what = ", ".join(spell_actions(missing))
        failures.append(
            Failure(
                frozenset(a for a in on_bucket if a.action in missing),
                f"{grantee.describe()} gets {what} on the bucket, which none of its access levels include",
            )
        )
    return GranteePlan(tuple(choices), tuple(failures), tuple(proposals))


def _missing(chosen: dict[str, Access | None], bucket_actions: frozenset[str]) -> frozenset[str]:
    return bucket_actions - {x.lower() for c in chosen.values() if c for x in c.actions.bucket}


def _choose_all(
    groups: dict[str, set[Atom]], bucket_actions: frozenset[str], levels: Sequence[Access], with_bucket: bool
) -> dict[str, Access | None]:
    return {
        prefix: _smallest(group, bucket_actions if with_bucket else frozenset(), levels)
        for prefix, group in groups.items()
    }


def _smallest(group: set[Atom], bucket_actions: frozenset[str], levels: Sequence[Access]) -> Access | None:
    objects = {a.action for a in group if a.scope == OBJECTS}
    listing = {a.action for a in group if a.scope == LIST}
    fits = [
        level
        for level in levels
        if objects <= _lower(level.actions.objects)
        and listing <= _lower(level.actions.listing)
        and bucket_actions <= _lower(level.actions.bucket)
        and bool(objects) == bool(level.actions.objects)
    ]
    return min(fits, key=lambda lv: (len(lv.actions.s3()), not lv.built_in, str(lv)), default=None)


def _lower(actions: tuple[str, ...]) -> set[str]:
    return {a.lower() for a in actions}


# Short words for the actions people grant most, in the order a name lists them; any other
# action is its name in kebab case (s3:GetBucketTagging -> get-bucket-tagging).
_WORDS = {
    "s3:getobject": "get",
    "s3:getobjectversion": "get-version",
    "s3:listbucket": "list",
    "s3:listbucketversions": "list-versions",
    "s3:getbucketlocation": "location",
    "s3:putobject": "put",
    "s3:abortmultipartupload": "abort",
    "s3:listmultipartuploadparts": "list-parts",
    "s3:listbucketmultipartuploads": "list-uploads",
    "s3:deleteobject": "delete",
    "s3:deleteobjectversion": "delete-version",
    "s3:putobjectacl": "acl",
    "s3:getobjectacl": "get-acl",
    "s3:getobjecttagging": "get-tagging",
    "s3:putobjecttagging": "put-tagging",
    "s3:restoreobject": "restore",
}
_ORDER = {action: n for n, action in enumerate(_WORDS)}
_MOST_WORDS = 5
"""Names longer than this say how many actions they add instead of listing them."""


class Proposer:
    """Names proposed levels by what they hold: `read-write-delete` (a built-in level and what
    it adds), `get-only` (part of a built-in level), `put-with-acl` (actions of the built-in
    levels with others), `all-get-list` (every S3 action of those verbs). A name already
    taken by a level, or by another proposal of the same import, gets a hash suffix of the
    actions, so equal action lists always get equal names."""

    def __init__(self, levels: Sequence[Access]) -> None:
        self._levels = [level for level in levels if level.built_in]
        self._taken = {str(level) for level in levels}
        self._issued: dict[tuple[str, ...], Proposal] = {}

    def __call__(self, actions: Sequence[str]) -> Proposal:
        spelled = tuple(spell_actions(actions))
        if spelled in self._issued:
            return self._issued[spelled]
        name = _descriptive_name({a.lower() for a in spelled}, self._levels)
        if name in self._taken:
            digest = hashlib.sha256(" ".join(spelled).lower().encode()).hexdigest()[:6]
            name = f"{name}-{digest}"
        administration = any(found.administration for found in (lookup(a) for a in spelled) if found)
        proposal = Proposal(name, spelled, administration)
        self._taken.add(name)
        self._issued[spelled] = proposal
        return proposal


def _descriptive_name(actions: set[str], built_in: Sequence[Access]) -> str:
    whole = _whole_families(actions)
    if whole:
        return whole
    levels = {str(level): {a.lower() for a in level.actions.s3()} for level in built_in}
    within = sorted((n for n, held in levels.items() if held >= actions), key=lambda n: len(levels[n]))
    if within:
        words = _words(actions, drop_location=True)
        missing = _words(levels[within[0]] - actions, drop_location=True)
        if len(words) > _MOST_WORDS and len(missing) <= 2:
            return "-".join([within[0], "without", *missing])
        return _joined(words, [], "only")
    holding = sorted((n for n, held in levels.items() if held <= actions), key=lambda n: -len(levels[n]))
    if holding:
        return _joined([holding[0]], _words(actions - levels[holding[0]]))
    known = set().union(*levels.values()) if levels else set()
    core, extra = actions & known, actions - known
    if core and extra:
        return _joined(_words(core, drop_location=True), _words(extra), "with")
    return _joined(_words(actions, drop_location=True), [])


def _joined(head: list[str], extra: list[str], link: str = "") -> str:
    """head, link and extra joined by '-' (link last when there is no extra); when they are
    too many words, the first few of head and how many more there are."""
    if len(head) + len(extra) <= _MOST_WORDS:
        words = [*head, link, *extra] if extra else [*head, link]
    elif extra and len(head) <= 3:
        words = [*head, "with", str(len(extra)), "more"]
    else:
        words = [*head[:3], "and", str(len(head) + len(extra) - 3), "more"]
    return "-".join(w for w in words if w)


def _words(actions: set[str], drop_location: bool = False) -> list[str]:
    # GetBucketLocation only says where the bucket is: beside others it need not be named.
    if drop_location and len(actions) > 1:
        actions = actions - {"s3:getbucketlocation"}
    ordered = sorted(actions, key=lambda a: (_ORDER.get(a, len(_ORDER)), a))
    return [_WORDS.get(a) or _kebab(spell(a)) for a in ordered]


def _kebab(action: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", action.removeprefix("s3:")).lower()


def _whole_families(actions: set[str]) -> str:
    """`all-s3-actions`, `all-get-list` or `all-object-actions` (with what else it holds) when
    the actions are every bucket and object action of S3, of some verbs, or on objects."""
    every = {a for a, found in s3_actions().items() if found.on_bucket or found.on_objects}
    if actions == every:
        return "all-s3-actions"
    verbs = sorted({_verb(a) for a in actions})
    of_verbs = {a for a in every if _verb(a) in verbs}
    if len(actions) > _MOST_WORDS and actions == of_verbs:
        return "all-" + "-".join(verbs)
    on_objects = {a for a in every if s3_actions()[a].on_objects}
    if actions >= on_objects:
        rest = _words(actions - on_objects, drop_location=True)
        return "-".join(["all-object-actions", *rest[:2], *(["and-more"] if len(rest) > 2 else [])])
    return ""


def _verb(action: str) -> str:
    return _kebab(spell(action)).split("-")[0]
