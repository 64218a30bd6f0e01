"""reconciler.policy.evaluate against iam-simulate on the real policies of tests/corpus.

Policies people wrote use more of IAM than bucketshare renders (policy variables, date
operators, service principals, NotPrincipal...). For each corpus policy, requests are made
from what the policy itself names: its principals and accounts (and strangers), its actions
(wildcards expanded through the vendored S3 action list), its resources, and for each
condition key a value from the policy, another value, or none. Where our evaluator answers,
it must answer as iam-simulate does; where it says "can't tell" it is counted, never wrong.
Slow: one node process for the whole corpus.
"""

from __future__ import annotations

import ipaddress
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from iam_simulate import Answer, decide_groups

from reconciler.policy.access import expand, lookup
from reconciler.policy.evaluate import Decision, Request, Verdict, decide

pytestmark = pytest.mark.slow

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "policies"
BUCKET = "corpus-bucket"
OWNER = "111122223333"
REQUESTS_PER_POLICY = 160
_VERDICTS = {
    "Allowed": Verdict.ALLOWED,
    "ExplicitlyDenied": Verdict.EXPLICIT_DENY,
    "ImplicitlyDenied": Verdict.IMPLICIT_DENY,
}
_IAM_ARN = re.compile(r"arn:aws:iam::(\d{12}):(?:role|user)/[\w+=,.@/-]+")
_ACCOUNT = re.compile(r"(?<!\d)(\d{12})(?!\d)")
_COMMON = ("s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject", "s3:GetBucketLocation")
_BOOL_KEYS = (
    "aws:securetransport",
    "aws:multifactorauthpresent",
    "aws:viaawsservice",
    "aws:principalisawsservice",
)
_NUMBER_KEYS = ("s3:tlsversion", "s3:max-keys", "s3:signatureage", "aws:multifactorauthage")
_LIST_KEYS = ("aws:principalorgpaths", "aws:tagkeys", "aws:calledvia")


def _policies() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(CORPUS.glob("*.json")):
        text = (
            path.read_text(encoding="utf-8").replace("${BUCKET}", BUCKET).replace("${OWNER_ACCOUNT}", OWNER)
        )
        found.append((path.stem, json.loads(text)))
    return found


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    statements = policy.get("Statement", [])
    return [statements] if isinstance(statements, dict) else [s for s in statements if isinstance(s, dict)]


def _listed(statement: dict[str, Any], *fields: str) -> list[str]:
    values = []
    for name in fields:
        value = statement.get(name, [])
        values.extend(str(v) for v in (value if isinstance(value, list) else [value]))
    return values


def _actions(policy: dict[str, Any]) -> list[str]:
    actions: dict[str, None] = dict.fromkeys(_COMMON)
    for statement in _statements(policy):
        for pattern in _listed(statement, "Action", "NotAction"):
            matched = expand(pattern)
            actions.update(dict.fromkeys(sorted(matched)[:6] if len(matched) > 6 else matched))
    return [a for a in actions if (found := lookup(a)) is not None and (found.on_objects or found.on_bucket)]


def _resource(action: str, policy: dict[str, Any], rng: random.Random) -> str:
    found = lookup(action)
    assert found is not None
    if found.on_bucket and not found.on_objects:
        return f"arn:aws:s3:::{rng.choice((BUCKET, BUCKET, 'other-bucket'))}"
    named = [
        r.replace("*", "x/k").replace("?", "y").replace("${", "").replace("}", "")
        for s in _statements(policy)
        for r in _listed(s, "Resource", "NotResource")
        if r.startswith(f"arn:aws:s3:::{BUCKET}/")
    ]
    return rng.choice([*named, f"arn:aws:s3:::{BUCKET}/any/key.txt", "arn:aws:s3:::other-bucket/k"])


def _principals(policy: dict[str, Any]) -> list[str]:
    text = json.dumps(policy)
    named = [m.group(0) for m in _IAM_ARN.finditer(text)]
    accounts = sorted(set(_ACCOUNT.findall(text)) | {OWNER})
    return sorted(
        {*named, *(f"arn:aws:iam::{a}:role/someone" for a in accounts), "arn:aws:iam::666666666666:role/x"}
    )


def _value(key: str, given: list[str], rng: random.Random) -> Any:
    lowered = key.lower()
    if lowered == "aws:sourceip":
        networks = [n for n in given if "/" in n or "." in n or ":" in n]
        if networks and rng.random() < 0.6:
            network = ipaddress.ip_network(rng.choice(networks), strict=False)
            return str(network.network_address + min(1, network.num_addresses - 1))
        return "198.51.100.7"
    if lowered in _BOOL_KEYS:
        return rng.choice(("true", "false"))
    if lowered in _NUMBER_KEYS:
        return rng.choice([*(g for g in given if re.fullmatch(r"[0-9.]+", g)), "1", "1.3", "1000"])
    text = rng.choice([*given, "something-else"]) if given else "something-else"
    text = text.replace("*", "x").replace("?", "y")
    if lowered in _LIST_KEYS or lowered.startswith("aws:tagkeys"):
        return [text]
    return text


def _condition_values(policy: dict[str, Any]) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for statement in _statements(policy):
        condition = statement.get("Condition")
        for block in condition.values() if isinstance(condition, dict) else ():
            for key, values in block.items() if isinstance(block, dict) else ():
                items = values if isinstance(values, list) else [values]
                keys.setdefault(key, []).extend(
                    str(v).lower() if isinstance(v, bool) else str(v) for v in items
                )
    return keys


def _requests(policy: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    actions, principals, conditions = _actions(policy), _principals(policy), _condition_values(policy)
    requests = []
    for _ in range(REQUESTS_PER_POLICY):
        action = rng.choice(actions)
        context = {k: _value(k, v, rng) for k, v in conditions.items() if rng.random() < 0.7}
        requests.append(
            {
                "principal": rng.choice(principals),
                "action": action,
                "resource": _resource(action, policy, rng),
                "context": context,
            }
        )
    return requests


def _ours(policy: dict[str, Any], case: dict[str, Any], answer: Answer) -> Decision:
    dropped = {key.lower() for key in answer.ignored_context_keys}
    keys = {k: v for k, v in case["context"].items() if k.lower() not in dropped}
    return decide(policy, Request.of(case["principal"], case["action"], case["resource"], keys))


def _deny_labels(decision: Decision) -> list[str]:
    if decision.verdict is not Verdict.EXPLICIT_DENY:
        return []
    return sorted(ref.sid or f"#{ref.position}" for ref in decision.deciding)


def test_evaluate_agrees_with_iam_simulate_on_the_corpus() -> None:
    policies = _policies()
    assert len(policies) >= 40
    groups = [(policy, _requests(policy, seed)) for seed, (_, policy) in enumerate(policies)]
    answers = decide_groups(groups, refused_ok=True)
    counts = {"cases": 0, "agree": 0, "cant_tell": 0, "refused": 0}
    disagreements = []
    for (name, policy), (_, cases), theirs in zip(policies, groups, answers, strict=True):
        for case, answer in zip(cases, theirs, strict=True):
            counts["cases"] += 1
            if answer is None:
                counts["refused"] += 1
                continue
            ours = _ours(policy, case, answer)
            expected = _VERDICTS[answer.result]
            if ours.verdict is Verdict.CANT_TELL:
                counts["cant_tell"] += 1
            elif ours.verdict is expected and _deny_labels(ours) == sorted(answer.deny_sids):
                counts["agree"] += 1
            else:
                theirs_said = f"iam-simulate {expected} {list(answer.deny_sids)}"
                said = f"ours {ours.verdict} {_deny_labels(ours)}, {theirs_said}"
                disagreements.append(f"{name}: {case}: {said}")
    print(f"corpus: {len(policies)} policies, {counts}")
    assert disagreements == [], f"{len(disagreements)} disagree; first: " + "\n".join(disagreements[:5])
    # Most cases are decided: "can't tell" is for what bucketshare does not model, not a way out.
    assert counts["agree"] > 0.75 * (counts["cases"] - counts["refused"]), counts
