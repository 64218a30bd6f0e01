"""Statement atoms: a bucket-policy statement as the set of accesses it allows.

The pure core of `reconciler import` (importer/grants.py). A statement is read as a set of
atoms, one per (grantee, action, scope, prefix) it allows. For each grantee the atoms of all
its statements (people often write the object-level and the bucket-level part as separate
statements) must be exactly what rendering some grants of ours would allow
(reconciler.policy.render): then those grants replace them without any grantee gaining or
losing access. Everything else stays unmanaged, with the reason.

The same atoms tell the planner whether the statements an `adopt:` list names are covered
by what the declarations render, so adopting them never takes access away.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.declare.identifiers import IAM_ARN_RE, ORPHANED_ID_RE, check_org, check_ou_path, check_prefix
from reconciler.declare.model import Grantee, GranteeKind
from reconciler.policy.access import ACCESS_ACTIONS, Access
from reconciler.policy.normalize import normalize_statement

_KNOWN_FIELDS = frozenset(("Sid", "Effect", "Principal", "Action", "Resource", "Condition"))


OBJECTS = "objects"


_LIST = "list"


_BUCKET = "bucket"


# Canonical spelling of every action an access level renders, by its lower-case form.
_SCOPES: dict[str, tuple[str, str]] = {
    action.lower(): (action, scope)
    for actions in ACCESS_ACTIONS.values()
    for scope, names in ((OBJECTS, actions.objects), (_LIST, actions.listing), (_BUCKET, actions.bucket))
    for action in names
}


# Condition (operator, lower-case key) pairs that rendering uses; anything else is unmodelled.
_PREFIX = ("StringLike", "s3:prefix")


_PRINCIPAL_ARN = ("ArnEquals", "aws:principalarn")


_PRINCIPAL_ARN_LIKE = ("ArnLike", "aws:principalarn")


_ORG_ID = ("StringEquals", "aws:principalorgid")


_ORG_PATHS = ("ForAnyValue:StringLike", "aws:principalorgpaths")


_MODELLED = frozenset((_PREFIX, _PRINCIPAL_ARN, _PRINCIPAL_ARN_LIKE, _ORG_ID, _ORG_PATHS))


@dataclass(frozen=True)
class Atom:
    """One thing a statement allows: grantee may do action on the bucket (scope bucket), on
    objects under prefix (scope objects), or list keys under prefix (scope list); prefix ""
    is the whole bucket."""

    grantee: Grantee
    action: str
    scope: str
    prefix: str = ""


class NotModelled(ValueError):
    """A statement (or a grantee's statements) that no grants of ours express; str() says why."""


def statement_label(statement: Any, index: int) -> str:
    sid = statement.get("Sid") if isinstance(statement, dict) else None
    if isinstance(sid, str) and sid:
        return f"Sid {sid!r}"
    return f"statement #{index + 1} (no Sid)"


def statement_atoms(statement: Any, bucket: str, partition: str) -> frozenset[Atom]:
    """Everything an Allow statement in our grammar allows on bucket; NotModelled otherwise."""
    if not isinstance(statement, dict):
        raise NotModelled("not a JSON object")
    if str(statement.get("Effect", "")).lower() != "allow":
        raise NotModelled(f"Effect {statement.get('Effect')!r}: bucketshare renders only Allow statements")
    for negated in ("NotPrincipal", "NotAction", "NotResource"):
        if negated in statement:
            raise NotModelled(f"uses {negated}, which bucketshare never renders")
    unknown = sorted(set(statement) - _KNOWN_FIELDS)
    if unknown:
        raise NotModelled(f"has fields bucketshare does not model: {', '.join(unknown)}")
    normal = normalize_statement(statement, partition)
    conditions = _conditions(normal.get("Condition", {}))
    actions = _actions(normal.get("Action", []))
    objects, on_bucket = _resources(normal.get("Resource", []), bucket, partition)
    grantees = _grantees(normal.get("Principal"), conditions, partition)
    list_prefixes: tuple[str, ...] = ("",)
    if _PREFIX in conditions:
        if {scope for _, scope in actions} != {_LIST} or objects:
            raise NotModelled("its s3:prefix condition covers actions or resources other than s3:ListBucket")
        list_prefixes = _listed_prefixes(conditions[_PREFIX])
    atoms: set[Atom] = set()
    for action, scope in actions:
        if scope == OBJECTS and not objects:
            raise NotModelled(f"{_SCOPES[action][0]} has no object resource in this statement")
        if scope != OBJECTS and not on_bucket:
            raise NotModelled(f"{_SCOPES[action][0]} needs the bucket ARN as a resource")
        scopes = objects if scope == OBJECTS else list_prefixes if scope == _LIST else ("",)
        atoms.update(Atom(g, action, scope, p) for g in grantees for p in scopes)
    return frozenset(atoms)


def _conditions(value: Any) -> dict[tuple[str, str], list[str]]:
    if not isinstance(value, dict):
        raise NotModelled("its Condition is not an object")
    found = {}
    for operator, block in value.items():
        for key, values in block.items():
            if (operator, key) not in _MODELLED:
                raise NotModelled(f"condition {operator} {key.rstrip(chr(0))} is not one bucketshare renders")
            found[(operator, key)] = list(values)
    return found


def _actions(values: list[str]) -> list[tuple[str, str]]:
    if not values:
        raise NotModelled("has no Action")
    found = []
    for value in values:
        if "*" in value or "?" in value:
            raise NotModelled(f"action {value} is a wildcard; bucketshare names every action")
        if value not in _SCOPES:
            raise NotModelled(f"grants {value}, which is in no access level")
        found.append((value, _SCOPES[value][1]))
    return sorted(found)


def _resources(values: list[str], bucket: str, partition: str) -> tuple[tuple[str, ...], bool]:
    """(object prefixes, whether the bucket ARN itself is a resource)."""
    bucket_arn = f"arn:{partition}:s3:::{bucket}"
    prefixes = set()
    on_bucket = False
    for value in values:
        if value == bucket_arn:
            on_bucket = True
            continue
        path = value.removeprefix(bucket_arn + "/")
        if path == value:
            raise NotModelled(f"resource {value} is not this bucket or an object in it")
        if not path.endswith("*") or "*" in path[:-1] or "?" in path:
            raise NotModelled(f"resource {value} is not a whole prefix (bucket/prefix/*)")
        prefixes.add(_prefix(path[:-1], value))
    if not values:
        raise NotModelled("has no Resource")
    return tuple(sorted(prefixes)), on_bucket


def _prefix(text: str, context: str) -> str:
    """A prefix as grants hold it: "" (whole bucket) or a valid folder ending in '/'."""
    if text == "":
        return text
    # `models*` also matches `models-old/`: only a folder is one of our prefixes.
    if not text.endswith("/") or check_prefix(text) is not None:
        raise NotModelled(f"{context} does not end in a folder (prefix/*), so no grant prefix matches it")
    return text


def _listed_prefixes(values: list[str]) -> tuple[str, ...]:
    # Rendering writes [p, p*]; p* alone means the same (`*` matches the empty string).
    prefixes = {_prefix(v[:-1], f"s3:prefix {v}") for v in values if v.endswith("*")}
    extra = [v for v in values if not v.endswith("*") and v not in prefixes]
    if extra or not prefixes or "" in prefixes:
        raise NotModelled(f"s3:prefix values {', '.join(values)} are not whole folders (prefix/, prefix/*)")
    return tuple(sorted(prefixes))


def _grantees(principal: Any, conditions: dict[tuple[str, str], list[str]], partition: str) -> list[Grantee]:
    if not isinstance(principal, dict) or not principal:
        raise NotModelled("has no Principal")
    others = sorted(set(principal) - {"AWS"})
    if others:
        raise NotModelled(
            f"names a {others[0]} principal; bucketshare grants only to AWS accounts, roles and orgs"
        )
    names = principal["AWS"]
    arns = conditions.get(_PRINCIPAL_ARN, []) + conditions.get(_PRINCIPAL_ARN_LIKE, [])
    orgs, paths = conditions.get(_ORG_ID, []), conditions.get(_ORG_PATHS, [])
    if "*" in names:
        return _fixed_everyone(arns, orgs, paths, partition)
    if orgs or paths:
        raise NotModelled("restricts named principals by organization, which bucketshare does not render")
    named = [_named(name, partition) for name in names]
    if not arns:
        return named
    roots = {g.account for g in named if g.kind is GranteeKind.ACCOUNT}
    roles = _arn_grantees(arns, partition)
    if len(roots) != len(named) or roots != {g.account for g in roles}:
        raise NotModelled("its principals are not exactly the root accounts of its aws:PrincipalArn values")
    return roles


def _fixed_everyone(arns: list[str], orgs: list[str], paths: list[str], partition: str) -> list[Grantee]:
    if arns and not orgs and not paths:
        return _arn_grantees(arns, partition)
    if arns or not orgs:
        raise NotModelled("Principal * without a fixing condition bucketshare renders (public or unmodelled)")
    for org in orgs:
        if check_org(org):
            raise NotModelled(f"aws:PrincipalOrgID {org} is not an organization id")
    if not paths:
        return [Grantee(GranteeKind.ORG, org, org=org) for org in orgs]
    units = []
    for value in paths:
        path = value.removesuffix("/*")
        if path == value or check_ou_path(path):
            raise NotModelled(
                f"aws:PrincipalOrgPaths {value} is not an OU with everything below it (.../ou-.../*)"
            )
        units.append(Grantee(GranteeKind.OU, path, org=path.split("/")[0]))
    if set(orgs) != {u.org for u in units}:
        raise NotModelled("its aws:PrincipalOrgID values are not exactly the organizations of its OU paths")
    return units


def _named(name: str, partition: str) -> Grantee:
    if ORPHANED_ID_RE.match(name):
        raise NotModelled(f"names orphaned principal {name} (a deleted role or user); fix it by hand")
    match = IAM_ARN_RE.match(name)
    if match is None or match["partition"] != partition:
        raise NotModelled(f"principal {name} is not an account, role or user of partition {partition}")
    if match["root"]:
        return Grantee(GranteeKind.ACCOUNT, match["account"], account=match["account"])
    kind = GranteeKind.ROLE if match["kind"] == "role" else GranteeKind.USER
    return Grantee(kind, name, account=match["account"])


def _arn_grantees(arns: list[str], partition: str) -> list[Grantee]:
    grantees = []
    for arn in arns:
        grantee = _named(arn, partition) if "*" not in arn and "?" not in arn else None
        if grantee is None or grantee.kind is GranteeKind.ACCOUNT:
            raise NotModelled(f"aws:PrincipalArn {arn} is not one role or user ARN")
        grantees.append(grantee)
    return grantees


def grant_atoms(grantee: Grantee, access: Access, prefixes: Sequence[str]) -> frozenset[Atom]:
    """What reconciler.policy.render grants grantee for one grant, as atoms."""
    actions = ACCESS_ACTIONS[access]
    scopes = tuple(prefixes) or ("",)
    atoms = {Atom(grantee, a.lower(), OBJECTS, p) for a in actions.objects for p in scopes}
    atoms |= {Atom(grantee, a.lower(), _LIST, p) for a in actions.listing for p in scopes}
    atoms |= {Atom(grantee, a.lower(), _BUCKET) for a in actions.bucket}
    return frozenset(atoms)


def object_actions(access: Access) -> set[str]:
    return {a.lower() for a in ACCESS_ACTIONS[access].objects}


def spell_actions(actions: Iterable[str]) -> list[str]:
    return sorted(_SCOPES[a][0] for a in actions)


def scope_text(prefix: str) -> str:
    return prefix or "the whole bucket"


def _describe_atoms(atoms: Iterable[Atom]) -> str:
    shown = sorted(f"{_SCOPES[a.action][0]} on {scope_text(a.prefix)}" for a in atoms)
    more = f" and {len(shown) - 3} more" if len(shown) > 3 else ""
    return ", ".join(shown[:3]) + more


def atom_difference(expected: frozenset[Atom], atoms: frozenset[Atom]) -> str:
    parts = []
    if expected - atoms:
        parts.append(f"its access level also needs {_describe_atoms(expected - atoms)}")
    if atoms - expected:
        parts.append(f"it also gets {_describe_atoms(atoms - expected)}, beyond that access level")
    return "; ".join(parts)


def covers(granted: frozenset[Atom], atom: Atom) -> bool:
    """Whether granted allows what atom allows: a prefix covers the prefixes below it, and an
    account root covers every role and user of that account."""
    for candidate in granted:
        if candidate.action != atom.action or candidate.scope != atom.scope:
            continue
        holder = candidate.grantee
        same = holder == atom.grantee or (
            holder.kind is GranteeKind.ACCOUNT and holder.account == atom.grantee.account
        )
        if same and atom.prefix.startswith(candidate.prefix):
            return True
    return False


def uncovered(adopted: frozenset[Atom], granted: frozenset[Atom]) -> list[Atom]:
    return [atom for atom in adopted if not covers(granted, atom)]


def describe_uncovered(atoms: Sequence[Atom]) -> str:
    grantees = sorted({a.grantee.describe() for a in atoms})
    return f"{', '.join(grantees)}: {_describe_atoms(atoms)}"


def policy_atoms(statements: Iterable[Any], bucket: str, partition: str) -> frozenset[Atom]:
    """What the statements of our grammar among these allow (others are skipped)."""
    found: set[Atom] = set()
    for statement in statements:
        try:
            found.update(statement_atoms(statement, bucket, partition))
        except NotModelled:
            continue
    return frozenset(found)
