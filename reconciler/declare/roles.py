"""Which IAM role to assume in each owner account: the `assume_role` template of
reconciler.yaml and its per-account overrides. Pure: the AWS edge assumes the roles."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.declare.identifiers import IAM_ARN_RE

MODES = ("plan", "apply")
"""`plan` reads; `apply` (also rollback) writes: two roles, so a PR's plan never holds write rights."""
PLACEHOLDERS = frozenset(("partition", "account", "mode"))
_SESSION_UNSAFE = re.compile(r"[^\w+=,.@-]")


def template_problem(template: str, partition: str, account_required: bool) -> str | None:
    """Why a role template (or override) cannot name a role; None when it can."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        return f"{template!r} is not a role template ({exc}); write placeholders as {{account}}"
    unknown = sorted(names - PLACEHOLDERS)
    if unknown:
        return (
            f"unknown placeholder {{{unknown[0]}}} in {template!r}; use {{partition}}, {{account}} "
            "and {mode}"
        )
    fields = template.split(":")
    account_field = fields[4] if len(fields) > 5 else ""
    if account_required and account_field != "{account}":
        return (
            f"{template!r} must name the account as {{account}}, e.g. "
            "arn:{partition}:iam::{account}:role/bucketshare-{mode}: a role acts only in its own account"
        )
    sample = fill(template, partition, "123456789012", "plan")
    match = IAM_ARN_RE.match(sample)
    if match is None or match["kind"] != "role":
        return f"{template!r} does not give a role ARN, e.g. arn:{{partition}}:iam::{{account}}:role/NAME"
    if match["partition"] != partition:
        return f"{template!r} gives partition {match['partition']!r}, not the configured {partition!r}"
    return None


def fill(template: str, partition: str, account: str, mode: str) -> str:
    return template.format(partition=partition, account=account, mode=mode)


@dataclass(frozen=True)
class AccountRoles:
    """The role to assume per owner account; no role means the ambient credentials."""

    partition: str = "aws"
    template: str | None = None
    overrides: Mapping[str, str] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        return self.template is not None or bool(self.overrides)

    def role_for(self, account: str, mode: str) -> str | None:
        chosen = self.overrides.get(account, self.template)
        return None if chosen is None else fill(chosen, self.partition, account, mode)


def session_name(mode: str, run_id: str) -> str:
    """The RoleSessionName CloudTrail shows: bucketshare, the mode and the run (journal's run id)."""
    return _SESSION_UNSAFE.sub("-", f"bucketshare-{mode}-{run_id}")[:64]
