"""Read one hand-written Allow statement as what it allows: grantees, S3 actions, scopes.

The statements people write (AWS's user guide, Terraform, CDK, bucketshare's own output)
spell the same access many ways: wildcards (`s3:Get*`, `s3:*`, CDK's `s3:GetObject*`),
`s3:prefix` under StringLike or StringEquals, with or without `*`, the
`s3:x-amz-acl = bucket-owner-full-control` condition, organizations by aws:PrincipalOrgID or
aws:PrincipalOrgPaths, roles by aws:PrincipalArn beside their account root. All of these are
read here; any other condition keeps the statement unmanaged, with the reason.

A reading may allow more than the statement does (listing exactly `p/` is read as listing
`p/` and below; aws:PrincipalArn of an account's root as the account): safe for adoption,
which only drops a statement whose reading the grants cover. `notes` say where it is
broader, so nobody is told a statement "already grants" what it grants only in part. The
owner's ACL condition is kept exactly, as a mark on what the statement allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.declare.identifiers import IAM_ARN_RE, ORPHANED_ID_RE, check_org, check_ou_path, check_prefix
from reconciler.declare.model import Grantee, GranteeKind
from reconciler.policy.access import LISTING_ACTIONS, expand, lookup
from reconciler.policy.normalize import normalize_statement

OBJECTS = "objects"
LIST = "list"
BUCKET = "bucket"
OWNER_FULL_CONTROL = "bucket-owner-full-control"
_KNOWN_FIELDS = frozenset(("Sid", "Effect", "Principal", "Action", "Resource", "Condition"))

# (operator, lower-case key) -> what the condition says, for the spellings people use.
_KINDS: dict[tuple[str, str], str] = {
    ("StringLike", "s3:prefix"): "prefix",
    ("StringEquals", "s3:prefix"): "prefix-exact",
    ("StringEquals", "s3:x-amz-acl"): "acl",
    ("StringEquals", "aws:principalorgid"): "org",
    ("StringLike", "aws:principalorgid"): "org",
    ("ForAnyValue:StringLike", "aws:principalorgpaths"): "paths",
    ("ForAnyValue:StringEquals", "aws:principalorgpaths"): "paths-exact",
    ("StringEquals", "aws:principalaccount"): "account",
    **{(op, "aws:principalarn"): "arn" for op in ("ArnEquals", "ArnLike", "StringEquals", "StringLike")},
}


class NotModelled(ValueError):
    """A statement (or a grantee's statements) that no grants of ours express; str() says why."""


@dataclass(frozen=True)
class Part:
    """Who may do which actions where: prefixes of objects or of listing; () for the bucket."""

    grantees: tuple[Grantee, ...]
    actions: tuple[tuple[str, str], ...]
    """(lower-case action, scope)."""
    objects: tuple[str, ...]
    listing: tuple[str, ...]
    notes: tuple[str, ...]
    owner_acl: bool = False
    """Requests must carry the bucket-owner-full-control ACL (what bucketshare renders for
    uploads under BucketOwnerPreferred): requests without it are not allowed."""


def read_statement(statement: Any, bucket: str, partition: str) -> Part:
    """What an Allow statement allows on bucket; NotModelled when it is not one we can read."""
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
    objects, on_bucket = _resources(normal.get("Resource", []), bucket, partition)
    actions = _actions(normal.get("Action", []), bool(objects), on_bucket)
    notes: list[str] = []
    grantees = _grantees(normal.get("Principal"), conditions, partition, notes)
    listing: tuple[str, ...] = ("",)
    if "prefix" in conditions or "prefix-exact" in conditions:
        # Requests without s3:prefix (object and other bucket actions) fail the condition.
        actions = [(a, s) for a, s in actions if s == LIST]
        if not actions:
            raise NotModelled("its s3:prefix condition leaves none of its actions allowed")
        listing = _listed_prefixes(conditions, notes)
    if "acl" in conditions and conditions["acl"] != [OWNER_FULL_CONTROL]:
        values = ", ".join(conditions["acl"])
        raise NotModelled(f"condition s3:x-amz-acl {values} is not one bucketshare renders")
    return Part(tuple(grantees), tuple(actions), objects, listing, tuple(notes), "acl" in conditions)


def _conditions(value: Any) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise NotModelled("its Condition is not an object")
    found: dict[str, list[str]] = {}
    for operator, block in value.items():
        for key, values in block.items():
            kind = _KINDS.get((operator, key))
            if kind is None:
                raise NotModelled(f"condition {operator} {key.rstrip(chr(0))} is not one bucketshare renders")
            base = kind.removesuffix("-exact")
            if base in found or f"{base}-exact" in found:
                raise NotModelled(f"it has two conditions on {key.rstrip(chr(0))}")
            if kind in ("org", "arn") and any("*" in v or "?" in v for v in values):
                shown = ", ".join(values)
                raise NotModelled(f"condition {operator} {key} {shown} is a pattern, not fixed values")
            found[kind] = list(values)
    return found


def _actions(values: list[str], on_objects: bool, on_bucket: bool) -> list[tuple[str, str]]:
    """(action, scope) of every S3 action allowed on a resource the statement names.

    An action that applies to none of the statement's resources allows nothing (AWS matches
    actions to resources); so do the actions a wildcard matches that act on neither the
    bucket nor its objects (access points, jobs, the account)."""
    if not values:
        raise NotModelled("has no Action")
    found = set()
    for value in values:
        matches = expand(value) if "*" in value or "?" in value else (value,)
        if not matches:
            raise NotModelled(f"action {value} matches no S3 action")
        for name in matches:
            action = lookup(name)
            if action is None:
                where = "an S3 action AWS's reference lists" if name.startswith("s3:") else "an S3 action"
                raise NotModelled(f"grants {name}, which is not {where}")
            lowered = action.name.lower()
            if action.on_objects and on_objects:
                found.add((lowered, OBJECTS))
            elif action.on_bucket and on_bucket:
                found.add((lowered, LIST if lowered in LISTING_ACTIONS else BUCKET))
    if not found:
        raise NotModelled("none of its actions applies to its resources")
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


def _listed_prefixes(conditions: dict[str, list[str]], notes: list[str]) -> tuple[str, ...]:
    """The folders listing is scoped to. Rendering writes StringLike [p, p*]; `p*` alone means
    the same (`*` matches the empty string); `p` alone (StringLike or StringEquals) lists only
    p itself, so reading it as p and below is broader (noted)."""
    exact = "prefix-exact" in conditions
    values = conditions.get("prefix-exact") or conditions.get("prefix") or []
    starred = {v[:-1] for v in values if v.endswith("*") and not exact}
    prefixes = set()
    for value in values:
        folder = value[:-1] if value.endswith("*") else value
        if exact and value.endswith("*"):
            notes.append(f"StringEquals matches s3:prefix {value!r} literally, star included")
        if folder == "" or "*" in folder or "?" in folder:
            raise NotModelled(f"s3:prefix {value!r} is not a folder (prefix/ or prefix/*)")
        prefixes.add(_prefix(folder, f"s3:prefix {value}"))
    only_exact = sorted(prefixes - starred)
    if only_exact:
        notes.append(f"it lists only exactly {', '.join(only_exact)}, not below")
    return tuple(sorted(prefixes))


def _grantees(
    principal: Any, conditions: dict[str, list[str]], partition: str, notes: list[str]
) -> list[Grantee]:
    if not isinstance(principal, dict) or not principal:
        raise NotModelled("has no Principal")
    others = sorted(set(principal) - {"AWS"})
    if others:
        raise NotModelled(
            f"names a {others[0]} principal; bucketshare grants only to AWS accounts, roles and orgs"
        )
    names = principal["AWS"]
    arns, accounts = conditions.get("arn", []), conditions.get("account", [])
    orgs = conditions.get("org", [])
    paths = conditions.get("paths", []) + conditions.get("paths-exact", [])
    if "*" in names:
        return _fixed_everyone(conditions, partition, notes)
    if orgs or paths or accounts:
        raise NotModelled(
            "restricts named principals by organization or account, which bucketshare does not render"
        )
    named = [_named(name, partition) for name in names]
    if not arns:
        return named
    roots = {g.account for g in named if g.kind is GranteeKind.ACCOUNT}
    holders = _arn_grantees(arns, partition, notes)
    if len(roots) != len(named) or roots != {g.account for g in holders}:
        raise NotModelled("its principals are not exactly the root accounts of its aws:PrincipalArn values")
    return holders


def _fixed_everyone(conditions: dict[str, list[str]], partition: str, notes: list[str]) -> list[Grantee]:
    arns, accounts = conditions.get("arn", []), conditions.get("account", [])
    orgs = conditions.get("org", [])
    paths, exact_paths = conditions.get("paths", []), conditions.get("paths-exact", [])
    fixers: list[str] = [k for k in ("arn", "account", "org") if k in conditions]
    fixers += ["paths"] if paths or exact_paths else []
    if not fixers:
        raise NotModelled("Principal * without a fixing condition bucketshare renders (public or unmodelled)")
    if fixers == ["arn"]:
        return _arn_grantees(arns, partition, notes)
    if fixers == ["account"]:
        return [_account(a) for a in accounts]
    if set(fixers) - {"org", "paths"}:
        raise NotModelled("it fixes the principal by several kinds of condition; bucketshare renders one")
    for org in orgs:
        if check_org(org):
            raise NotModelled(f"aws:PrincipalOrgID {org} is not an organization id")
    if not paths and not exact_paths:
        return [Grantee(GranteeKind.ORG, org, org=org) for org in orgs]
    units = [_unit(v, below=True) for v in paths]
    units += [_unit(v, below=False) for v in exact_paths]
    if exact_paths:
        notes.append("its aws:PrincipalOrgPaths matches only principals directly in the OU, not below")
    if not orgs:
        # S3 calls a statement fixed by aws:PrincipalOrgPaths alone public (AWS-BEHAVIOUR.md).
        raise NotModelled(
            "Principal * without a fixing condition bucketshare renders (aws:PrincipalOrgPaths "
            "without aws:PrincipalOrgID is public)"
        )
    if set(orgs) != {u.org for u in units}:
        raise NotModelled("its aws:PrincipalOrgID values are not exactly the organizations of its OU paths")
    return units


def _unit(value: str, below: bool) -> Grantee:
    path = value.removesuffix("/*") if below else value
    path = path.rstrip("/")
    if check_ou_path(path) or (below and not value.endswith("/*") and not value.endswith("/")):
        raise NotModelled(f"aws:PrincipalOrgPaths {value} is not an OU path (o-.../r-.../ou-.../*)")
    return Grantee(GranteeKind.OU, path, org=path.split("/")[0])


def _account(account: str) -> Grantee:
    if not (account.isdigit() and len(account) == 12):
        raise NotModelled(f"aws:PrincipalAccount {account} is not an account id")
    return Grantee(GranteeKind.ACCOUNT, account, account=account)


def _named(name: str, partition: str) -> Grantee:
    if ORPHANED_ID_RE.match(name):
        raise NotModelled(f"names orphaned principal {name} (a deleted role or user); fix it by hand")
    match = IAM_ARN_RE.match(name)
    if match is None or match["partition"] != partition:
        raise NotModelled(f"principal {name} is not an account, role or user of partition {partition}")
    if match["root"]:
        return _account(match["account"])
    kind = GranteeKind.ROLE if match["kind"] == "role" else GranteeKind.USER
    return Grantee(kind, name, account=match["account"])


def _arn_grantees(arns: list[str], partition: str, notes: list[str]) -> list[Grantee]:
    grantees = []
    for arn in arns:
        if "*" in arn or "?" in arn:
            raise NotModelled(f"aws:PrincipalArn {arn} is a pattern, not one role or user ARN")
        grantee = _named(arn, partition)
        if grantee.kind is GranteeKind.ACCOUNT:
            notes.append(f"its aws:PrincipalArn {arn} admits only that account's root user")
        grantees.append(grantee)
    return grantees
