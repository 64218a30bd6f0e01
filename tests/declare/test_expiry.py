"""Grants with `expires:`: the warning before, and the unattended removal after.

A bucket is `expiry_only` exactly when its live statements are what rendered before some
grants expired; then the scheduled run may apply it without review (select_scheduled)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import RunCli, WriteShares

from reconciler.declare.config import Config
from reconciler.declare.expiry import ExpiringGrant, expiring_grants, utc_today
from reconciler.declare.model import BucketShare, Declarations, Grant
from reconciler.declare.share_file import parse_grantee
from reconciler.errors import Location
from reconciler.live.policy import LivePolicy
from reconciler.plan.bucket import plan_bucket
from reconciler.plan.model import BucketAction, Plan
from reconciler.plan.scheduled import select_scheduled
from reconciler.policy.access import Access
from reconciler.policy.render import render_bucket
from reconciler.report import summary

TODAY = dt.date(2026, 12, 1)
OWNER = "111111111111"
YAML = "shares/audit.yaml"


def grant(to: str, expires: dt.date | None = None, line: int = 8, prefixes: tuple[str, ...] = ()) -> Grant:
    problem, grantee = parse_grantee(to, "aws")
    assert problem is None and grantee is not None
    return Grant(grantee, Access.READ, prefixes, Location(YAML, line, 5), expires=expires)


def share(*grants: Grant, bucket: str = "acme-audit") -> BucketShare:
    return BucketShare(bucket, OWNER, grants, (Location(YAML, 2, 9),))


def policy_of(statements: list[dict[str, Any]], *extra: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [*extra, *statements]})


def rendered_on(day: dt.date, *grants: Grant) -> list[dict[str, Any]]:
    return [s.statement for s in render_bucket(share(*grants), Config(), day).statements]


KEEPER = grant("222222222222", line=8)
AUDITOR = grant("666666666666", expires=dt.date(2026, 11, 30), line=12, prefixes=("models/fraud/",))
UNMANAGED = {"Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}


def plan_today(live_text: str | None, *grants: Grant) -> Any:
    desired = render_bucket(share(*grants), Config(), TODAY)
    return plan_bucket(desired, LivePolicy("acme-audit", OWNER, live_text), "BucketShare", "aws")


def test_removing_only_an_expired_grant_is_expiry_only() -> None:
    # Applied while the auditor's grant was active; today it has expired.
    before = rendered_on(dt.date(2026, 11, 1), KEEPER, AUDITOR)
    result = plan_today(policy_of(before, UNMANAGED), KEEPER, AUDITOR)
    assert result.action is BucketAction.PUT
    assert result.expiry_only
    loses = [r.sentence() for r in result.access]
    assert loses == [
        "account 666666666666 loses read on models/fraud/ (expired on 2026-11-30, shares/audit.yaml:12:5)"
    ]


def test_expiry_with_other_drift_is_not_expiry_only() -> None:
    before = rendered_on(dt.date(2026, 11, 1), KEEPER, AUDITOR)
    # Someone also removed the keeper's object statement by hand.
    tampered = [s for s in before if s["Sid"] != "BucketShareObjectsReadAccountAll"]
    result = plan_today(policy_of(tampered), KEEPER, AUDITOR)
    assert result.action is BucketAction.PUT
    assert not result.expiry_only


def test_a_new_grant_beside_an_expiry_is_not_expiry_only() -> None:
    before = rendered_on(dt.date(2026, 11, 1), AUDITOR)
    result = plan_today(policy_of(before), KEEPER, AUDITOR)
    assert not result.expiry_only
    assert [r.direction.value for r in result.access] == ["gains", "loses"]


def test_no_expired_grant_no_expiry_only() -> None:
    result = plan_today(None, KEEPER)
    assert result.action is BucketAction.PUT and not result.expiry_only


def test_an_expired_grant_already_removed_is_a_no_op() -> None:
    result = plan_today(policy_of(rendered_on(TODAY, KEEPER, AUDITOR)), KEEPER, AUDITOR)
    assert result.action is BucketAction.NOOP and not result.expiry_only


def test_last_grant_expiring_deletes_the_policy_as_expiry_only() -> None:
    before = rendered_on(dt.date(2026, 11, 1), AUDITOR)
    result = plan_today(policy_of(before), AUDITOR)
    assert result.action is BucketAction.DELETE
    assert result.expiry_only


@pytest.mark.parametrize("fix_all", [False, True])
def test_scheduled_run_applies_expiry_only_buckets_unless_drift_fix(fix_all: bool) -> None:
    expiring = plan_today(policy_of(rendered_on(dt.date(2026, 11, 1), KEEPER, AUDITOR)), KEEPER, AUDITOR)
    drifted = dataclasses.replace(plan_today(None, KEEPER), bucket="acme-drifted")
    chosen = select_scheduled(Plan((expiring, drifted), "BucketShare", "aws"), fix_all)
    actions = {b.bucket: b.action for b in chosen.buckets}
    assert actions["acme-audit"] is BucketAction.PUT
    assert actions["acme-drifted"] is (BucketAction.PUT if fix_all else BucketAction.NOOP)


def test_expiring_grants_within_the_warning_window_soonest_first() -> None:
    soon = grant("333333333333", expires=TODAY + dt.timedelta(days=3), line=20)
    edge = grant("444444444444", expires=TODAY + dt.timedelta(days=14), line=24)
    later = grant("555555555555", expires=TODAY + dt.timedelta(days=15), line=28)
    gone = grant("666666666666", expires=TODAY, line=32)
    declarations = Declarations((share(later, edge, soon, gone, KEEPER),))
    found = expiring_grants(declarations, TODAY, 14)
    assert [g.location for g in found] == [f"{YAML}:20:5", f"{YAML}:24:5"]
    assert found[0].describe(TODAY) == (
        "account 333333333333 loses read on acme-audit (the whole bucket) in 3 days, on 2026-12-04 "
        "(shares/audit.yaml:20:5); extend expires: in a pull request if it is still needed"
    )
    assert [g.location for g in expiring_grants(declarations, TODAY, 15)][-1] == f"{YAML}:28:5"


# --- the date expiry is judged by ----------------------------------------------------------

# POSIX TZ strings (no tz database needed): 14 hours ahead of UTC, and 12 hours behind.
# At any instant one of the two has a local date other than UTC's, so a test over both
# tells a UTC verdict from a local one whatever time of day it runs.
ZONES = ("<+14>-14", "<-12>+12")


@pytest.fixture
def set_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    def set_to(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()

    yield set_to
    monkeypatch.delenv("TZ", raising=False)
    monkeypatch.undo()
    time.tzset()


def test_expires_is_judged_by_the_utc_date_in_every_time_zone(
    run_cli: RunCli, write_shares: WriteShares, set_zone: Callable[[str], None]
) -> None:
    utc = dt.datetime.now(dt.UTC).date()
    tomorrow = utc + dt.timedelta(days=1)
    write_shares(
        {
            "a.yaml": 'version: 1\nbucket: acme-audit\naccount: "111111111111"\ngrants:\n'
            f'  - to: "222222222222"\n    access: read\n    expires: {utc}\n'
            f'  - to: "333333333333"\n    access: read\n    expires: {tomorrow}\n'
        }
    )
    for zone in ZONES:
        set_zone(zone)
        rc, out, err = run_cli("validate")
        assert (rc, err) == (0, ""), zone
        # The grant ending today (UTC) has ended; the one ending tomorrow has not.
        assert out.splitlines() == [
            f"shares/a.yaml:5:5: warning: grant expired on {utc} and is no longer rendered; delete it",
            "1 bucket, 2 grants, 0 problems, 1 warning",
        ], f"TZ={zone}"


def test_utc_today_ignores_the_local_zone(set_zone: Callable[[str], None]) -> None:
    for zone in ZONES:
        set_zone(zone)
        assert utc_today() == dt.datetime.now(dt.UTC).date(), zone


def test_the_markdown_comment_counts_days_left_by_the_utc_date(set_zone: Callable[[str], None]) -> None:
    utc = utc_today()
    soon = ExpiringGrant(utc + dt.timedelta(days=2), "acme-audit", "account 222222222222", "read", (), "a:8")
    plan = Plan((), "BucketShare", "aws", expiring=(soon,))
    for zone in ZONES:
        set_zone(zone)
        # What render_markdown shows (it passes no date of its own).
        assert summary.expiring(plan) == [soon.describe(utc)], zone
