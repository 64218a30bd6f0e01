"""Read whom a statement allows: its Principal and the conditions that fix it, as grantees.

Accounts, roles and users named directly or by aws:PrincipalArn; `Principal: *` fixed by
aws:PrincipalAccount, aws:PrincipalArn, or an organization (aws:PrincipalOrgID, with OU paths
by aws:PrincipalOrgPaths). Anything else is public or not a grantee bucketshare renders.
"""

from __future__ import annotations

from typing import Any

from reconciler.declare.identifiers import IAM_ARN_RE, ORPHANED_ID_RE, check_org, check_ou_path
from reconciler.declare.model import Grantee, GranteeKind
from reconciler.policy.not_modelled import NotModelled


def read_grantees(
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
    if name.startswith(f"arn:{partition}:iam::cloudfront:user/CloudFront Origin Access Identity "):
        raise NotModelled(
            f"principal {name} is a CloudFront origin access identity, CloudFront's own principal: "
            "bucketshare grants only to AWS accounts, roles, users and organizations"
        )
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
