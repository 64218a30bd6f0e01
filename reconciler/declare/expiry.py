"""Grants with an `expires:` date: which expire soon (a warning in every plan) and which
have expired (no longer rendered; the scheduled run removes them, since their end date
was reviewed in the pull request that added them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from reconciler.declare.model import Declarations


@dataclass(frozen=True, order=True)
class ExpiringGrant:
    expires: dt.date
    bucket: str
    grantee: str
    access: str
    prefixes: tuple[str, ...]
    location: str
    """`path:line:col` of the grant, for the reviewer to edit."""

    def days_left(self, today: dt.date) -> int:
        return (self.expires - today).days

    def describe(self, today: dt.date) -> str:
        days = self.days_left(today)
        when = "tomorrow" if days == 1 else f"in {days} days"
        scope = ", ".join(self.prefixes) if self.prefixes else "the whole bucket"
        return (
            f"{self.grantee} loses {self.access} on {self.bucket} ({scope}) {when}, on {self.expires} "
            f"({self.location}); extend expires: in a pull request if it is still needed"
        )


def utc_today() -> dt.date:
    """The date every expiry is judged by: UTC's, so a grant ends on the same day on every
    runner and laptop (a runner's local date can be a day either side of it)."""
    return dt.datetime.now(dt.UTC).date()


def expiring_grants(declarations: Declarations, today: dt.date, within_days: int) -> list[ExpiringGrant]:
    """Active grants whose expiry falls within the next `within_days` days, soonest first."""
    horizon = today + dt.timedelta(days=within_days)
    found = [
        ExpiringGrant(
            grant.expires,
            share.bucket,
            grant.grantee.describe(),
            grant.access.value,
            grant.prefixes,
            str(grant.location),
        )
        for share in declarations.buckets
        for grant in share.grants
        if grant.expires is not None and today < grant.expires <= horizon
    ]
    return sorted(found)
