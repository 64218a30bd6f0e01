"""The test-only bridge to iam-simulate answers as IAM does on three plain cases.

Slow: it starts node. Without `npm ci --prefix tests/iam_simulate` it fails, saying so.
"""

from __future__ import annotations

from typing import Any

import pytest
from iam_simulate import allowed, decide

pytestmark = pytest.mark.slow

_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Read",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::bucket/*",
        },
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::bucket", "arn:aws:s3:::bucket/*"],
            "Condition": {"StringNotEquals": {"aws:PrincipalArn": "arn:aws:iam::222222222222:role/x"}},
        },
    ],
}


def _get(principal: str, resource: str = "arn:aws:s3:::bucket/k") -> dict[str, Any]:
    return {"principal": principal, "action": "s3:GetObject", "resource": resource, "context": {}}


def test_bridge_fills_in_the_principal_and_reports_the_deciding_statement() -> None:
    answers = decide(
        _POLICY,
        [
            _get("arn:aws:iam::222222222222:role/x"),
            _get("arn:aws:iam::222222222222:role/y"),
            _get("arn:aws:iam::333333333333:role/x"),
        ],
    )
    assert [a.result for a in answers] == ["Allowed", "ExplicitlyDenied", "ExplicitlyDenied"]
    assert answers[0].allow_sids == ("Read",)
    assert answers[1].deny_sids == ("#2",)


def test_allowed_is_false_outside_the_granted_resource() -> None:
    principal = "arn:aws:iam::222222222222:role/x"
    assert allowed(_POLICY, [_get(principal), _get(principal, "arn:aws:s3:::other/k")]) == [True, False]
