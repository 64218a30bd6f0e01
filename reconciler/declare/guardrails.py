"""Guardrails from reconciler.yaml applied to the joined declarations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from reconciler.declare.config import Config, Guardrails
from reconciler.declare.model import BucketShare, Declarations, Grant
from reconciler.errors import Problem, Severity
from reconciler.policy.access import writes


def check_guardrails(declarations: Declarations, config: Config, today: dt.date) -> list[Problem]:
    # With no guardrail set, only a grant with an end date can be flagged (expired).
    every_grant = config.guardrails != Guardrails()
    return [
        Problem(grant.location, message, severity)
        for share in declarations.buckets
        for grant in share.grants
        if every_grant or grant.expires is not None
        for message, severity in _grant_findings(share, grant, config, today)
    ]


def _grant_findings(
    share: BucketShare, grant: Grant, config: Config, today: dt.date
) -> Iterator[tuple[str, Severity]]:
    rails = config.guardrails
    who = grant.grantee
    if rails.allowed_accounts is not None and who.account and who.account not in rails.allowed_accounts:
        yield f"{who.describe()} is not in guardrails.allowed_accounts; ask to have it added", Severity.ERROR
    if rails.allowed_orgs is not None and who.org and who.org not in rails.allowed_orgs:
        yield (
            f"organization {who.org} is not in guardrails.allowed_orgs; ask to have it added",
            Severity.ERROR,
        )
    if share.bucket in rails.protected_buckets and writes(grant.access):
        yield f"bucket {share.bucket} is protected: only read grants are allowed", Severity.ERROR
    if rails.require_reason and not grant.reason:
        yield "this grant needs a 'reason' (guardrails.require_reason)", Severity.ERROR
    if grant.expires is not None and not grant.active(today):
        yield f"grant expired on {grant.expires} and is no longer rendered; delete it", Severity.WARNING
    if rails.max_expiry_days is not None:
        limit = today + dt.timedelta(days=rails.max_expiry_days)
        if grant.expires is None:
            yield (
                f"this grant needs 'expires' no later than {limit} (guardrails.max_expiry_days)",
                Severity.ERROR,
            )
        elif grant.expires > limit:
            yield (
                f"expires {grant.expires} is more than {rails.max_expiry_days} days away; "
                f"use {limit} or earlier",
                Severity.ERROR,
            )
