"""reconciler.policy.evaluate agrees with an evaluator nobody here wrote, case for case.

iam-simulate (npm, AGPL-3.0, tests only: tests/iam_simulate.py) decides each generated
request against each generated policy (tests/policy/evaluate_cases.py: today's rendered
policies with and without the kept Denies people write); our evaluator must give the same
verdict and name the same deciding statements. Slow: one node process, some seconds.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from evaluate_cases import policies, requests
from iam_simulate import Answer, decide_groups

from reconciler.policy.evaluate import Decision, Request, Verdict, decide

pytestmark = pytest.mark.slow

POLICIES = 130
REQUESTS_PER_POLICY = 190
_VERDICTS = {
    "Allowed": Verdict.ALLOWED,
    "ExplicitlyDenied": Verdict.EXPLICIT_DENY,
    "ImplicitlyDenied": Verdict.IMPLICIT_DENY,
}


def _ours(policy: dict[str, Any], case: dict[str, Any], ignored: tuple[str, ...]) -> Decision:
    # The simulator drops keys that do not apply to the action; AWS would not send them.
    dropped = {key.lower() for key in ignored}
    keys = {k: v for k, v in case["context"].items() if k.lower() not in dropped}
    return decide(policy, Request.of(case["principal"], case["action"], case["resource"], keys))


def _labels(decision: Decision) -> tuple[str, ...]:
    return tuple(sorted(ref.sid or f"#{ref.position}" for ref in decision.deciding))


def _disagreement(policy: dict[str, Any], case: dict[str, Any], theirs: Answer) -> str | None:
    ours = _ours(policy, case, theirs.ignored_context_keys)
    expected = _VERDICTS[theirs.result]
    if ours.verdict is not expected:
        return f"verdict {ours.verdict} != {expected}"
    if expected is Verdict.EXPLICIT_DENY and _labels(ours) != tuple(sorted(theirs.deny_sids)):
        return f"deny statements {_labels(ours)} != {sorted(theirs.deny_sids)}"
    if expected is Verdict.ALLOWED and _labels(ours) != tuple(sorted(theirs.allow_sids)):
        return f"allow statements {_labels(ours)} != {sorted(theirs.allow_sids)}"
    return None


def test_evaluate_agrees_with_iam_simulate() -> None:
    groups = [
        (policy, requests(seed, REQUESTS_PER_POLICY))
        for seed, (_, policy) in enumerate(policies(16, POLICIES))
    ]
    started = time.monotonic()
    answers = decide_groups(groups)
    simulated = time.monotonic() - started
    cases = verdicts = 0
    seen: dict[Verdict, int] = {}
    disagreements = []
    for (name, policy), (_, cases_of_policy), theirs in zip(
        policies(16, POLICIES), groups, answers, strict=True
    ):
        for case, answer in zip(cases_of_policy, theirs, strict=True):
            cases += 1
            problem = _disagreement(policy, case, answer)
            if problem is None:
                verdicts += 1
                seen[_VERDICTS[answer.result]] = seen.get(_VERDICTS[answer.result], 0) + 1
            else:
                disagreements.append(f"{name}: {case}: {problem}")
    print(f"{cases} cases over {POLICIES} policies in {simulated:.1f} s of simulation; by verdict: {seen}")
    assert disagreements == [], f"{len(disagreements)} of {cases} disagree; first: " + "\n".join(
        disagreements[:5]
    )
    # Each kind of answer is exercised, or a generator bug could make the test vacuous.
    assert all(seen.get(v, 0) > cases // 20 for v in _VERDICTS.values()), seen


def test_the_fast_table_agrees_with_iam_simulate() -> None:
    """The hand-written verdicts of test_evaluate.py, where ours is certain, are IAM's too."""
    from test_evaluate import ALLOW_ALL, CASES

    certain = [(name, s, r, v) for name, s, r, v in CASES if v is not Verdict.CANT_TELL]
    groups = []
    for _, statement, request, _ in certain:
        keys = {
            k: list(v) if k == "aws:principalorgpaths" else v[0] for k, v in request.context.values.items()
        }
        case = {"principal": request.principal, "action": request.action, "resource": request.resource}
        groups.append(
            ({"Version": "2012-10-17", "Statement": [ALLOW_ALL, statement]}, [{**case, "context": keys}])
        )
    answers = decide_groups(groups)
    wrong = [
        name for (name, _, _, v), [a] in zip(certain, answers, strict=True) if _VERDICTS[a.result] is not v
    ]
    assert wrong == []
    assert len(certain) > 40
