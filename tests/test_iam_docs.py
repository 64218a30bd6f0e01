"""docs/iam trust policies: each role is assumable by exactly the GitHub jobs the README says.

GitHub's OIDC token is modelled from the facts of a job (repository, workflow file, the ref it
was read from, environment or event) and the subject template docs/iam/README.md tells the
adopter to set; the trust policy's conditions are evaluated as IAM does for StringEquals and
StringLike. A workflow file a branch or a pull request brings must not get the apply role.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

IAM = Path(__file__).resolve().parent.parent / "docs" / "iam"
ISSUER = "token.actions.githubusercontent.com"
PROVIDER = f"arn:aws:iam::111111111111:oidc-provider/{ISSUER}"
REPO = "OWNER/REPO"
MAIN = "refs/heads/main"
PRODUCTION = "environment:production"


@dataclass(frozen=True)
class Job:
    """What GitHub puts into a job's OIDC token."""

    workflow: str
    """The workflow file under .github/workflows/."""
    ref: str
    """The ref the workflow file was read from (a push's branch, a PR's merge ref)."""
    context: str
    """environment:NAME when the job names one, else pull_request or ref:REF."""
    repository: str = REPO
    workflow_repository: str = REPO
    """A called reusable workflow may live in another repository."""
    audience: str = "sts.amazonaws.com"

    def claims(self) -> dict[str, str]:
        workflow_ref = f"{self.workflow_repository}/.github/workflows/{self.workflow}@{self.ref}"
        return {"repo": self.repository, "context": self.context, "job_workflow_ref": workflow_ref}


def subject(job: Job, include_claim_keys: list[str] | None) -> str:
    """The `sub` GitHub writes: its default `repo:R:CONTEXT`, or the repository's customised
    template, `key:value` pairs in template order, `context` unprefixed (GitHub's OIDC reference,
    "Customizing the subject claims")."""
    claims = job.claims()
    if include_claim_keys is None:
        return f"repo:{claims['repo']}:{claims['context']}"
    return ":".join(claims[k] if k == "context" else f"{k}:{claims[k]}" for k in include_claim_keys)


def string_like(pattern: str, value: str) -> bool:
    """IAM StringLike: `*` any run of characters (slashes and colons too), `?` one; case-sensitive."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


OPERATORS = {"StringEquals": str.__eq__, "StringLike": string_like}


def allows(statement: dict[str, Any], request: dict[str, str]) -> bool:
    """Whether one Allow statement admits AssumeRoleWithWebIdentity with these context keys.

    Any other operator fails the test rather than being guessed at: ForAllValues and IfExists
    forms are true when the key is missing, the classic way such a trust policy opens up."""
    if statement["Principal"] != {"Federated": PROVIDER}:
        return False
    if statement["Action"] != "sts:AssumeRoleWithWebIdentity":
        return False
    for operator, conditions in statement.get("Condition", {}).items():
        assert operator in OPERATORS, f"{operator}: only StringEquals and StringLike are evaluated here"
        for key, wanted in conditions.items():
            values = wanted if isinstance(wanted, list) else [wanted]
            if key not in request or not any(OPERATORS[operator](v, request[key]) for v in values):
                return False
    return True


def assumable(name: str, job: Job, include_claim_keys: list[str] | None) -> bool:
    document = json.loads((IAM / name).read_text(encoding="utf-8"))
    assert {s["Effect"] for s in document["Statement"]} == {"Allow"}
    request = {f"{ISSUER}:aud": job.audience, f"{ISSUER}:sub": subject(job, include_claim_keys)}
    return any(allows(s, request) for s in document["Statement"])


def readme_template() -> list[str]:
    """include_claim_keys of the `gh api` call docs/iam/README.md tells the adopter to run."""
    readme = (IAM / "README.md").read_text(encoding="utf-8")
    assert f"gh api --method PUT repos/{REPO}/actions/oidc/customization/sub" in readme
    found = re.findall(r'\{"use_default": false, "include_claim_keys": \[[^\]]*\]\}', readme)
    assert len(found) == 1, "docs/iam/README.md must give one subject template"
    keys: list[str] = json.loads(found[0])["include_claim_keys"]
    return keys


TEMPLATE = readme_template()
WORKFLOWS = ["apply.yml", "drift.yml", "plan.yml", "ci.yml", "from-a-branch.yml"]
REFS = [
    MAIN,
    "refs/heads/feature",
    "refs/heads/main-2",
    "refs/heads/mainline",
    "refs/tags/main",
    "refs/pull/7/merge",
]
CONTEXTS = [PRODUCTION, "environment:staging", "environment:production-2", "pull_request", f"ref:{MAIN}"]
JOBS = [Job(w, r, c) for w, r, c in itertools.product(WORKFLOWS, REFS, CONTEXTS)]


def test_the_readme_template_puts_the_workflow_into_the_subject() -> None:
    assert TEMPLATE == ["repo", "context", "job_workflow_ref"]


def test_the_apply_role_admits_only_apply_and_drift_of_main_in_production() -> None:
    admitted = {
        (j.workflow, j.ref, j.context) for j in JOBS if assumable("apply-role-trust.json", j, TEMPLATE)
    }
    assert admitted == {("apply.yml", MAIN, PRODUCTION), ("drift.yml", MAIN, PRODUCTION)}


def test_the_plan_role_admits_only_plan_yml_of_a_pull_request() -> None:
    admitted = {
        (j.workflow, j.ref, j.context) for j in JOBS if assumable("plan-role-trust.json", j, TEMPLATE)
    }
    assert admitted == {("plan.yml", "refs/pull/7/merge", "pull_request")}
    for number in ("1", "123456"):
        assert assumable(
            "plan-role-trust.json", Job("plan.yml", f"refs/pull/{number}/merge", "pull_request"), TEMPLATE
        )


OUTSIDERS = {
    "another repository": Job("apply.yml", MAIN, PRODUCTION, "OWNER/OTHER", "OWNER/OTHER"),
    "a repository whose name starts the same": Job(
        "apply.yml", MAIN, PRODUCTION, "OWNER/REPO-2", "OWNER/REPO-2"
    ),
    "a reusable workflow of another repository": Job("apply.yml", MAIN, PRODUCTION, REPO, "ATTACKER/REPO"),
    "another audience": Job("apply.yml", MAIN, PRODUCTION, audience="https://github.com/OWNER"),
}


@pytest.mark.parametrize("job", OUTSIDERS.values(), ids=OUTSIDERS.keys())
@pytest.mark.parametrize("name", ["apply-role-trust.json", "plan-role-trust.json"])
def test_no_role_admits_jobs_from_elsewhere(name: str, job: Job) -> None:
    assert not assumable(name, job, TEMPLATE)
    pr_job = Job(
        "plan.yml", "refs/pull/7/merge", "pull_request", job.repository, job.workflow_repository, job.audience
    )
    assert not assumable(name, pr_job, TEMPLATE)


@pytest.mark.parametrize("name", ["apply-role-trust.json", "plan-role-trust.json"])
def test_without_the_customised_subject_no_job_is_admitted(name: str) -> None:
    # The trust fails closed: a repository where the template was never set (or was reset to
    # GitHub's default) gets no credentials at all, rather than any workflow getting them.
    assert not any(assumable(name, job, None) for job in JOBS)


def test_the_apply_trust_has_no_wildcard() -> None:
    document = json.loads((IAM / "apply-role-trust.json").read_text(encoding="utf-8"))
    text = json.dumps(document["Statement"][0]["Condition"])
    assert "StringLike" not in text and "*" not in text and "?" not in text and "$" not in text
