"""The planner reports gains a kept Deny blocks: on the row, in a warning, through the JSON plan
file and in the terminal and comment renderers; the bucket's plan still goes ahead."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_plan import BUCKET, READER, desired, grant, live, plan, policy, rendered

from reconciler.plan.bucket import build_plan
from reconciler.plan.explain import Direction
from reconciler.plan.file_read import loads
from reconciler.plan.file_write import dumps
from reconciler.plan.model import BucketAction, Plan
from reconciler.report.markdown import render_markdown
from reconciler.report.terminal import plan_lines

ETL = "arn:aws:iam::444444444444:role/etl"
ARN = f"arn:aws:s3:::{BUCKET}"
READ = ("s3:GetBucketLocation", "s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket")


def deny(sid: str | None, condition: dict[str, Any]) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [ARN, f"{ARN}/*"],
    }
    if sid:
        statement["Sid"] = sid
    statement["Condition"] = condition
    return statement


ONLY_ETL = deny("OnlyEtl", {"StringNotEquals": {"aws:PrincipalArn": ETL}})
TLS_ONLY = deny("TlsOnly", {"Bool": {"aws:SecureTransport": "false"}})


def test_a_blocked_gain_is_marked_and_warned_and_the_bucket_still_changes() -> None:
    result = plan(desired(READER, grant(ETL, "write", line=12)), policy(TLS_ONLY, ONLY_ETL))
    assert result.action is BucketAction.PUT
    gains = {row.grantee: row for row in result.access if row.direction is Direction.GAINS}
    blocked = gains["account 222222222222"].blocked_by
    assert [(b.statement.sid, b.statement.position, b.actions) for b in blocked] == [("OnlyEtl", 2, READ)]
    assert gains[f"role {ETL}"].blocked_by == ()
    assert gains["account 222222222222"].blocked_text == "blocked by Sid OnlyEtl"
    assert [w for w in result.warnings if "OnlyEtl" in w] == [
        "shares/fraud-team.yaml:8:5: account 222222222222 gains read on the whole bucket, but kept Sid "
        f"OnlyEtl denies it {', '.join(READ)}: AWS refuses those requests until that statement is "
        "changed by hand"
    ]


def test_a_tls_only_deny_is_not_reported() -> None:
    result = plan(desired(grant("222222222222", "read-write")), policy(TLS_ONLY))
    assert [row.blocked_by for row in result.access] == [()]
    assert not any("TlsOnly" in w for w in result.warnings)


def test_a_gain_already_held_by_a_hand_written_statement_is_not_evaluated() -> None:
    # The hand-written copy already grants it (and is already denied): nothing new is gained.
    copies = [{**statement, "Sid": f"Hand{n}"} for n, statement in enumerate(rendered(READER))]
    result = plan(desired(READER), policy(ONLY_ETL, *copies))
    assert [(bool(row.held_by), row.blocked_by) for row in result.access] == [(True, ())]
    assert not any("OnlyEtl" in w for w in result.warnings)


@pytest.fixture
def blocked_plan() -> Plan:
    unnamed = deny(None, {"StringNotEquals": {"aws:PrincipalArn": ETL}})
    result = plan(desired(READER), policy(unnamed, ONLY_ETL))
    return Plan((result,), "BucketShare", "aws")


def test_the_json_plan_carries_blocked_by_and_reads_it_back(blocked_plan: Plan) -> None:
    text = dumps(blocked_plan)
    rows = json.loads(text)["buckets"][0]["access_changes"]
    assert rows[0]["blocked_by"] == [
        {"sid": None, "position": 1, "actions": list(READ)},
        {"sid": "OnlyEtl", "position": 2, "actions": list(READ)},
    ]
    assert loads(text, "plan.json").buckets[0].access == blocked_plan.buckets[0].access


def test_a_plan_file_without_blocked_by_reads_as_nothing_blocked(blocked_plan: Plan) -> None:
    data = json.loads(dumps(blocked_plan))
    for row in data["buckets"][0]["access_changes"]:
        del row["blocked_by"]
    assert [row.blocked_by for row in loads(json.dumps(data), "old.json").buckets[0].access] == [()]


def test_a_plan_file_with_a_bad_position_is_refused(blocked_plan: Plan) -> None:
    data = json.loads(dumps(blocked_plan))
    data["buckets"][0]["access_changes"][0]["blocked_by"][0]["position"] = 0
    with pytest.raises(Exception, match=r"blocked_by\[0\]\.position must be 1 or more"):
        loads(json.dumps(data), "bad.json")


def test_terminal_and_comment_rows_say_blocked_by(blocked_plan: Plan) -> None:
    terminal = "\n".join(line.text for line in plan_lines(blocked_plan, 300))
    assert "shares/fraud-team.yaml:8:5; blocked by statement 1 (no Sid) and Sid OnlyEtl" in terminal
    narrow = "\n".join(line.text for line in plan_lines(blocked_plan, 60))
    assert "blocked by statement 1 (no Sid) and Sid OnlyEtl" in " ".join(narrow.split())
    comment = render_markdown(blocked_plan)
    row = next(line for line in comment.splitlines() if line.startswith("| account"))
    assert "**blocked by** statement 1 \\(no Sid\\) and Sid `OnlyEtl`" in row
    assert "**blocked by** statement 1 \\(no Sid\\) and Sid `OnlyEtl`" in comment.split("<details>")[1]


def test_build_plan_keeps_the_marks() -> None:
    built = build_plan([desired(READER)], [live(policy(ONLY_ETL))], "BucketShare", "aws")
    assert built.buckets[0].access[0].blocked_text == "blocked by Sid OnlyEtl"
