"""Where plan must predict apply: answers AWS gives that moto does not, replayed.

Each case is a live policy as S3 would return it, planned against the declarations; the
plan must say what apply would meet (a refusal, a silent change of meaning) before merge.
"""

from __future__ import annotations

import json
import random
from typing import Any

import aws_replay
import pytest
from test_plan import BUCKET, LOG_DELIVERY, READER, desired, grant, plan, policy, rendered

from reconciler.plan.file_write import dumps
from reconciler.plan.model import BucketAction, Plan
from reconciler.policy.normalize import canonical, equivalent_policies
from reconciler.report.markdown import render_markdown

ORPHAN_ROLE = "AROAEXAMPLEID1234567"


def legacy(**fields: Any) -> dict[str, Any]:
    return {**LOG_DELIVERY, "Sid": "Legacy", **fields}


@pytest.mark.parametrize("field", ["Principal", "NotPrincipal"])
def test_a_kept_statement_naming_a_deleted_role_is_an_error_when_a_write_is_needed(field: str) -> None:
    stale = legacy(**{field: {"AWS": [ORPHAN_ROLE]}}, Effect="Deny" if field == "NotPrincipal" else "Allow")
    if field == "NotPrincipal":
        stale.pop("Principal")
    result = plan(desired(READER), policy(stale))  # our statements are missing: a put is needed
    assert result.action is BucketAction.ERROR
    assert any(
        e.startswith(f"statement Legacy (not bucketshare's) names orphaned principal {ORPHAN_ROLE}; S3 ")
        for e in result.errors
    ), result.errors
    # The warning sees NotPrincipal too.
    assert any(ORPHAN_ROLE in w for w in result.warnings)


def test_a_kept_orphan_is_only_a_warning_when_nothing_is_written() -> None:
    result = plan(desired(READER), policy(legacy(Principal={"AWS": ORPHAN_ROLE}), *rendered(READER)))
    assert result.action is BucketAction.NOOP
    assert result.errors == ()
    assert len(result.warnings) == 1


@pytest.mark.parametrize("version", ["2008-10-17", None])
def test_upgrading_the_version_under_a_literal_dollar_brace_is_an_error(version: str | None) -> None:
    literal = legacy(Resource=f"arn:aws:s3:::{BUCKET}/home/${{aws:username}}/*")
    document: dict[str, Any] = {"Statement": [literal]}
    if version:
        document["Version"] = version
    result = plan(desired(READER), json.dumps(document))
    assert result.action is BucketAction.ERROR
    [error] = [e for e in result.errors if "${" in e]
    assert "literal text under the live policy's Version" in error
    assert "writing a literal '${' as '${$}{'" in error


def test_the_same_policy_under_2012_10_17_is_fine() -> None:
    literal = legacy(Resource=f"arn:aws:s3:::{BUCKET}/home/${{aws:username}}/*")
    result = plan(desired(READER), policy(literal))
    assert result.action is BucketAction.PUT


def test_an_old_version_without_dollar_brace_is_upgraded_quietly() -> None:
    result = plan(desired(READER), json.dumps({"Version": "2008-10-17", "Statement": [LOG_DELIVERY]}))
    assert result.action is BucketAction.PUT
    assert result.new_policy is not None and result.new_policy["Version"] == "2012-10-17"


def test_condition_keys_alike_but_for_case_are_two_conditions() -> None:
    org = grant("org:o-a1b2c3d4e5")
    ours = rendered(org)
    objects = next(s for s in ours if s["Sid"] == "BucketShareObjectsReadOrgAll")
    # Both keys apply (AND); a normaliser that lets the last one win would call this unchanged.
    doubled = {
        **objects,
        "Condition": {
            "StringEquals": {"aws:principalorgid": "o-zzzzzzzzzz", "aws:PrincipalOrgID": "o-a1b2c3d4e5"}
        },
    }
    assert canonical(doubled) != canonical(objects)
    # Case alone still does not matter for one key.
    lower = {**objects, "Condition": {"StringEquals": {"aws:principalorgid": "o-a1b2c3d4e5"}}}
    assert canonical(lower) == canonical(objects)
    result = plan(desired(org), policy(*[doubled if s is objects else s for s in ours]))
    assert result.action is BucketAction.PUT
    assert [(c.sid, c.kind.value) for c in result.changes] == [("BucketShareObjectsReadOrgAll", "change")]


def test_read_back_with_an_empty_sid_is_the_policy_that_was_written() -> None:
    unnamed = {k: v for k, v in LOG_DELIVERY.items() if k != "Sid"}
    written = {"Version": "2012-10-17", "Statement": [unnamed]}
    returned = aws_replay.policy_as_returned([unnamed], random.Random(7))
    back = json.loads(returned)
    for statement in back["Statement"] if isinstance(back["Statement"], list) else [back["Statement"]]:
        statement["Sid"] = ""
    assert equivalent_policies(back, written)
    assert not equivalent_policies({**back, "Statement": [{**LOG_DELIVERY, "Sid": "Other"}]}, written)


SHAPES: list[Any] = [
    {"Sid": "BucketShareObjectsReadAccountAll", "Effect": "Allow", "Principal": 5, "Resource": {"a": 1}},
    {"Sid": "BucketShareObjectsReadAccountAll", "Principal": {"AWS": 5}, "Action": [1, 2], "Condition": [1]},
    {"Sid": "BucketShareObjectsReadAccountAll", "Condition": {"StringEquals": [1]}},
    {"Sid": "BucketShareObjectsReadAccountAll", "Condition": {"StringEquals": {"a": {"b": 1}}}},
    {"Sid": "BucketShareX", "Principal": {"AWS": [None]}, "Resource": [None]},
    {"Sid": ["BucketShare"]},
    {"Sid": 5},
    "BucketShare",
    None,
    {"Sid": "BucketShareObjectsReadAccountAll", "Principal": {"AWS": {"x": 1}}, "Resource": [["a"]]},
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("wrap", ["list", "single", "document-list"])
def test_any_live_statement_shape_is_planned_never_a_crash(shape: Any, wrap: str) -> None:
    body: Any = {"list": {"Version": "2012-10-17", "Statement": [shape]}, "single": {"Statement": shape}}.get(
        wrap, [shape]
    )
    result = plan(desired(READER), json.dumps(body))
    assert result.action in (BucketAction.PUT, BucketAction.ERROR, BucketAction.NOOP)
    render_markdown(Plan((result,), "BucketShare", "aws"))
    dumps(Plan((result,), "BucketShare", "aws"))
