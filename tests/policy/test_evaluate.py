"""reconciler.policy.evaluate: one table of (statement, request) -> verdict, from the IAM docs.

Fast; the slow differential test checks the same evaluator against iam-simulate at scale.
"""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.policy.evaluate import Request, StatementRef, Verdict, decide

B = "arn:aws:s3:::bucket"
OBJ = f"{B}/models/m.bin"
ROLE = "arn:aws:iam::222222222222:role/reader"
OTHER = "arn:aws:iam::222222222222:role/other"
ALLOW_ALL = {"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": [B, f"{B}/*"]}

A = Verdict.ALLOWED
X = Verdict.EXPLICIT_DENY
I = Verdict.IMPLICIT_DENY  # noqa: E741
U = Verdict.CANT_TELL


def _deny(condition: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": "D",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": f"{B}/*",
    }
    statement.update(fields)
    for plain, negated in (
        ("Principal", "NotPrincipal"),
        ("Action", "NotAction"),
        ("Resource", "NotResource"),
    ):
        if negated in fields and plain not in fields:
            del statement[plain]
    if condition is not None:
        statement["Condition"] = condition
    return statement


def _verdict(statement: dict[str, Any], request: Request) -> Verdict:
    return decide({"Version": "2012-10-17", "Statement": [ALLOW_ALL, statement]}, request).verdict


def _get(principal: str = ROLE, keys: dict[str, Any] | None = None, resource: str = OBJ) -> Request:
    return Request.of(principal, "s3:GetObject", resource, keys)


def _put(keys: dict[str, Any]) -> Request:
    return Request.of(ROLE, "s3:PutObject", OBJ, keys)


def _list(keys: dict[str, Any]) -> Request:
    return Request.of(ROLE, "s3:ListBucket", B, keys)


CASES: list[tuple[str, dict[str, Any], Request, Verdict]] = [
    # Principal, NotPrincipal
    (
        "deny names the caller's account root",
        _deny(Principal={"AWS": "arn:aws:iam::222222222222:root"}),
        _get(),
        X,
    ),
    ("deny names a bare account id", _deny(Principal={"AWS": "222222222222"}), _get(), X),
    ("deny names another role", _deny(Principal={"AWS": OTHER}), _get(), A),
    ("deny names a service only", _deny(Principal={"Service": "logs.amazonaws.com"}), _get(), A),
    ("NotPrincipal spares the role", _deny(NotPrincipal={"AWS": [ROLE]}), _get(), A),
    ("NotPrincipal denies the rest", _deny(NotPrincipal={"AWS": [ROLE]}), _get(OTHER), X),
    ("NotPrincipal sparing the account root", _deny(NotPrincipal={"AWS": "222222222222"}), _get(OTHER), A),
    (
        "wildcard inside a principal ARN",
        _deny(Principal={"AWS": "arn:aws:iam::222222222222:role/*"}),
        _get(),
        U,
    ),
    ("unknown principal type", _deny(Principal={"Robot": "r"}), _get(), U),
    # Action, NotAction, Resource, NotResource
    ("action wildcard, any case", _deny(Action="S3:get*"), _get(), X),
    ("action ? wildcard", _deny(Action="s3:GetObjec?"), _get(), X),
    ("other action", _deny(Action="s3:PutObject"), _get(), A),
    ("NotAction excludes it", _deny(NotAction=["s3:GetObject"]), _get(), A),
    ("NotAction covers it", _deny(NotAction=["s3:PutObject"]), _get(), X),
    ("resource is case-sensitive", _deny(Resource=f"{B}/MODELS/*"), _get(), A),
    ("NotResource excludes it", _deny(NotResource=f"{B}/models/*"), _get(), A),
    ("NotResource covers it", _deny(NotResource=f"{B}/datasets/*"), _get(), X),
    ("both Action and NotAction", _deny(Action="s3:*", NotAction="s3:PutObject"), _get(), U),
    ("policy variable in Resource", _deny(Resource=f"{B}/${{aws:username}}/*"), _get(), U),
    # String operators, missing keys, IfExists
    (
        "StringNotEquals spares the named role",
        _deny({"StringNotEquals": {"aws:PrincipalArn": ROLE}}),
        _get(),
        A,
    ),
    (
        "StringNotEquals denies others",
        _deny({"StringNotEquals": {"aws:PrincipalArn": [ROLE]}}),
        _get(OTHER),
        X,
    ),
    (
        "StringEquals is case-sensitive",
        _deny({"StringEquals": {"aws:PrincipalArn": ROLE.upper()}}),
        _get(),
        A,
    ),
    (
        "StringEqualsIgnoreCase",
        _deny({"StringEqualsIgnoreCase": {"aws:PrincipalArn": ROLE.upper()}}),
        _get(),
        X,
    ),
    (
        "StringNotEqualsIgnoreCase",
        _deny({"StringNotEqualsIgnoreCase": {"aws:principalarn": ROLE.upper()}}),
        _get(),
        A,
    ),
    ("StringLike", _deny({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/read*"}}), _get(), X),
    ("StringNotLike", _deny({"StringNotLike": {"aws:PrincipalArn": "*:role/other"}}), _get(), X),
    (
        "key names are case-insensitive",
        _deny({"StringEquals": {"AWS:PRINCIPALACCOUNT": "222222222222"}}),
        _get(),
        X,
    ),
    (
        "missing key: positive operator false",
        _deny({"StringEquals": {"aws:SourceVpce": "vpce-1"}}),
        _get(),
        A,
    ),
    (
        "missing key: negated operator true",
        _deny({"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}),
        _get(),
        X,
    ),
    ("missing key: IfExists true", _deny({"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}}), _get(), X),
    (
        "present key: IfExists compares",
        _deny({"StringNotEqualsIfExists": {"aws:SourceVpce": "vpce-1"}}),
        _get(keys={"aws:SourceVpce": "vpce-1"}),
        A,
    ),
    # ARN operators
    (
        "ArnNotLike spares a matching role",
        _deny({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/r*"}}),
        _get(),
        A,
    ),
    (
        "ArnEquals takes wildcards too",
        _deny({"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}),
        _get(),
        X,
    ),
    (
        "ArnLike with a pattern not an ARN",
        _deny({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*"}}),
        _get(),
        U,
    ),
    (
        "ArnLike, part by part",
        _deny({"ArnLike": {"aws:PrincipalArn": "arn:*:iam::222222222222:*"}}),
        _get(),
        X,
    ),
    ("ArnNotEquals on a non-ARN value", _deny({"ArnNotEquals": {"aws:PrincipalArn": "reader"}}), _get(), U),
    # Bool, Null, IP, numbers
    (
        "TLS-only deny, plain http",
        _deny({"Bool": {"aws:SecureTransport": "false"}}),
        _get(keys={"aws:SecureTransport": "false"}),
        X,
    ),
    (
        "TLS-only deny, https",
        _deny({"Bool": {"aws:SecureTransport": False}}),
        _get(keys={"aws:SecureTransport": "true"}),
        A,
    ),
    ("Bool on a missing key", _deny({"Bool": {"aws:SecureTransport": "false"}}), _get(), A),
    ("BoolIfExists on a missing key", _deny({"BoolIfExists": {"aws:SecureTransport": "false"}}), _get(), X),
    ("Null true on a missing key", _deny({"Null": {"s3:x-amz-server-side-encryption": "true"}}), _get(), X),
    (
        "Null true on a present key",
        _deny({"Null": {"s3:x-amz-server-side-encryption": "true"}}),
        _put({"s3:x-amz-server-side-encryption": "AES256"}),
        A,
    ),
    (
        "NotIpAddress outside the range",
        _deny({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        _get(keys={"aws:SourceIp": "192.0.2.1"}),
        X,
    ),
    (
        "NotIpAddress inside the range",
        _deny({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        _get(keys={"aws:SourceIp": "10.9.9.9"}),
        A,
    ),
    ("NotIpAddress with no source IP", _deny({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), _get(), X),
    (
        "IpAddress with an IPv6 caller",
        _deny({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        _get(keys={"aws:SourceIp": "2001:db8::1"}),
        A,
    ),
    (
        "NumericLessThan",
        _deny({"NumericLessThan": {"s3:TlsVersion": "1.2"}}),
        _get(keys={"s3:TlsVersion": "1.1"}),
        X,
    ),
    (
        "NumericGreaterThanEquals",
        _deny({"NumericGreaterThanEquals": {"s3:TlsVersion": 1.3}}),
        _get(keys={"s3:TlsVersion": "1.2"}),
        A,
    ),
    (
        "NumericNotEquals, an equal value",
        _deny({"NumericNotEquals": {"s3:max-keys": ["10", "20"]}}, Resource=B),
        _list({"s3:max-keys": "20"}),
        A,
    ),
    (
        "NumericNotEquals, another value",
        _deny({"NumericNotEquals": {"s3:max-keys": ["10", "20"]}}, Resource=B),
        _list({"s3:max-keys": "30"}),
        X,
    ),
    (
        "a number that is not one",
        _deny({"NumericEquals": {"s3:max-keys": "ten"}}, Resource=B),
        _list({"s3:max-keys": "10"}),
        U,
    ),
    # Set operators over aws:PrincipalOrgPaths
    (
        "ForAnyValue matches one of two paths",
        _deny({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-1/r-1/ou-2/*"}}),
        _get(keys={"aws:PrincipalOrgPaths": ["o-1/r-1/ou-1/", "o-1/r-1/ou-2/"]}),
        X,
    ),
    (
        "ForAnyValue on a missing key",
        _deny({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "*"}}),
        _get(),
        A,
    ),
    (
        "ForAllValues on a missing key",
        _deny({"ForAllValues:StringLike": {"aws:PrincipalOrgPaths": "x"}}),
        _get(),
        X,
    ),
    (
        "ForAllValues:StringNotLike with one path inside",
        _deny({"ForAllValues:StringNotLike": {"aws:PrincipalOrgPaths": "o-1/r-1/ou-1/*"}}),
        _get(keys={"aws:PrincipalOrgPaths": ["o-1/r-1/ou-1/", "o-2/r-2/"]}),
        A,
    ),
    (
        "single-valued operator over two values",
        _deny({"StringLike": {"aws:PrincipalOrgPaths": "o-1/*"}}),
        _get(keys={"aws:PrincipalOrgPaths": ["o-1/r-1/", "o-2/r-2/"]}),
        U,
    ),
    # What it does not model: never a guess
    ("date operator", _deny({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}), _get(), U),
    ("misspelt operator", _deny({"StringEqualz": {"aws:PrincipalArn": ROLE}}), _get(), U),
    (
        "policy variable in a value",
        _deny({"StringNotEquals": {"aws:PrincipalArn": "${aws:PrincipalArn}"}}),
        _get(),
        U,
    ),
    (
        "key whose value is unknown",
        _deny({"StringNotEquals": {"aws:PrincipalOrgID": "o-1"}}),
        Request.of(ROLE, "s3:GetObject", OBJ, unknown=["aws:PrincipalOrgID"]),
        U,
    ),
    ("effect neither allow nor deny", _deny(Effect="Maybe"), _get(), U),
    ("effect in lower case", _deny(Effect="deny"), _get(), U),
]


@pytest.mark.parametrize(
    ("statement", "request_", "verdict"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_decide(statement: dict[str, Any], request_: Request, verdict: Verdict) -> None:
    assert _verdict(statement, request_) is verdict


def test_without_a_deny_only_an_applying_allow_allows() -> None:
    allow = {
        "Effect": "Allow",
        "Principal": {"AWS": ROLE},
        "Action": "s3:GetObject",
        "Resource": f"{B}/models/*",
    }
    policy = {"Version": "2012-10-17", "Statement": allow}
    assert decide(policy, _get()).verdict is Verdict.ALLOWED
    assert decide(policy, _get(OTHER)).verdict is Verdict.IMPLICIT_DENY
    assert decide(policy, _get(resource=f"{B}/datasets/d.csv")).verdict is Verdict.IMPLICIT_DENY


def test_deciding_statements_are_named_by_sid_or_position() -> None:
    unnamed = _deny({"StringNotEquals": {"aws:PrincipalArn": OTHER}})
    del unnamed["Sid"]
    policy = {"Version": "2012-10-17", "Statement": [ALLOW_ALL, _deny(Sid="TlsOnly"), unnamed]}
    decision = decide(policy, _get())
    assert decision.verdict is Verdict.EXPLICIT_DENY
    assert decision.deciding == (StatementRef(2, "TlsOnly"), StatementRef(3, None))
    assert [ref.label for ref in decision.deciding] == ["TlsOnly", "statement 3 (no Sid)"]


def test_a_certain_deny_wins_over_one_it_cannot_tell() -> None:
    unsure = _deny({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, Sid="Later")
    policy = {"Version": "2012-10-17", "Statement": [ALLOW_ALL, unsure, _deny(Sid="Always")]}
    decision = decide(policy, _get())
    assert decision.verdict is Verdict.EXPLICIT_DENY
    assert [r.sid for r in decision.deciding] == ["Always"]
    assert [r.sid for r in decision.undecided] == ["Later"]


def test_variables_are_literal_text_before_version_2012() -> None:
    literal = _deny(Resource=f"{B}/${{aws:username}}/*")
    policy = {"Version": "2008-10-17", "Statement": [ALLOW_ALL, literal]}
    assert decide(policy, _get()).verdict is Verdict.ALLOWED
    assert decide(policy, _get(resource=f"{B}/${{aws:username}}/k")).verdict is Verdict.EXPLICIT_DENY


def test_the_request_fills_in_who_asks_unless_told() -> None:
    request = Request.of(ROLE, "s3:GetObject", OBJ, {"aws:PrincipalArn": OTHER})
    assert request.context.values["aws:principalarn"] == (OTHER,)
    assert request.context.values["aws:principalaccount"] == ("222222222222",)
    assert request.account == "222222222222"
