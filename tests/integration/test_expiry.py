"""Expiry over HTTP: plans warn before a grant ends, and mark the bucket whose whole change
is the removal of expired grants, which the scheduled run may then apply unattended."""

from __future__ import annotations

import datetime as dt

from reconciler.declare.expiry import utc_today

from .conftest import Workspace, bucket_plan, statement

TODAY = utc_today()


def grant(to: str, expires: dt.date | None) -> str:
    text = f'  - to: "{to}"\n    access: read\n'
    return text + (f"    expires: {expires.isoformat()}\n" if expires else "")


def test_plan_warns_about_a_grant_expiring_soon_naming_its_line(ws: Workspace) -> None:
    bucket = ws.bucket("soon")
    soon = TODAY + dt.timedelta(days=5)
    path = ws.declare(bucket, grant("222222222222", None) + grant("333333333333", soon))
    out = ws.root / "plan.md"
    result = ws.plan("--format", "markdown", "--out", out)
    assert result.rc == 0, result.text
    markdown = out.read_text(encoding="utf-8").replace("\\", "").replace("&#58;", ":")
    assert "**Expiring soon**" in markdown
    assert (
        f"account 333333333333 loses read on {bucket} (the whole bucket) in 5 days, on {soon} ({path}:8:5)"
    ) in markdown
    text = ws.plan()
    assert f"expiring soon: account 333333333333 loses read on {bucket}" in text.out


def test_the_warning_window_comes_from_reconciler_yaml(ws: Workspace) -> None:
    bucket = ws.bucket("window")
    ws.declare(bucket, grant("333333333333", TODAY + dt.timedelta(days=20)))
    assert "expiring soon" not in ws.plan().out
    ws.set_config("version: 1\nexpiry_warning_days: 30\n")
    assert "expiring soon: account 333333333333" in ws.plan().out


def test_bucket_that_only_loses_expired_grants_is_expiry_only(ws: Workspace) -> None:
    expiring, drifted = ws.bucket("expiring"), ws.bucket("drifted")
    later = TODAY + dt.timedelta(days=30)
    ws.declare(expiring, grant("222222222222", None) + grant("333333333333", later))
    ws.declare(drifted, grant("222222222222", None) + grant("333333333333", later))
    assert ws.apply().rc == 0
    # Time passes: both grants to 333333333333 expire; someone also edits `drifted` by hand.
    yesterday = TODAY - dt.timedelta(days=1)
    ws.declare(expiring, grant("222222222222", None) + grant("333333333333", yesterday))
    ws.declare(drifted, grant("222222222222", None) + grant("333333333333", yesterday))
    live = ws.policy(drifted)
    assert live is not None
    live["Statement"] = [s for s in live["Statement"] if s["Sid"] != "BucketShareListReadAccountAll"]
    live["Statement"].append(statement("HandWritten", drifted))
    ws.put_policy(drifted, live)

    result, plan = ws.plan_json("--detailed-exitcode")
    assert result.rc == 2, result.text
    assert bucket_plan(plan, expiring)["expiry_only"] is True
    assert bucket_plan(plan, drifted)["expiry_only"] is False
    rows = bucket_plan(plan, expiring)["access_changes"]
    assert [(r["direction"], r["grantee"]) for r in rows] == [("loses", "account 333333333333")]
    assert rows[0]["why"] == f"expired on {yesterday}, shares/{expiring}.yaml:8:5"
