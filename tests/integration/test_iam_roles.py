"""The IAM role documents in docs/iam/ allow exactly what the reconciler does.

Every AWS operation the reconciler made during the integration tests (recorded by
iam_recorder, hooked in by conftest.py) must be allowed by the role its command runs with,
and every permission a role grants must be used by some run of it. This module runs last;
run alone, it first drives plan, apply, rollback, discovery, a key policy and an assumed
role itself.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from parliament import analyze_policy_string

from .conftest import Workspace, bucket_name, read_grant
from .helpers import encrypted_bucket, key_with_policy
from .iam_recorder import (
    IAM_DOCS,
    RECORDER,
    UNASSIGNED,
    Operation,
    Run,
    allows,
    document_actions,
    load_role,
    refusals,
    role_for,
    statements,
)

REPO_SHARES = Path(__file__).resolve().parents[2] / "shares"
REQUIRED = {
    "plan": {
        "GetCallerIdentity",
        "ListBuckets",
        "GetBucketPolicy",
        "GetBucketEncryption",
        "GetBucketOwnershipControls",
        "GetKeyPolicy",
    },
    "apply": {
        "GetKeyPolicy",
        "PutKeyPolicy",
        "ListBuckets",
        "GetBucketPolicy",
        "GetBucketEncryption",
        "GetBucketOwnershipControls",
        "PutBucketPolicy",
        "DeleteBucketPolicy",
        "GetBucketPolicyStatus",
        "CreateBucket",
        "PutPublicAccessBlock",
        "PutBucketOwnershipControls",
        "PutBucketEncryption",
        "PutBucketVersioning",
    },
}
"""What a recording must hold before the check means anything."""
ACCEPTED_PARLIAMENT_FINDINGS = {
    # Rewriting bucket policies is the apply role's job: it can grant itself object access.
    "apply-role-policy.json": {"RESOURCE_POLICY_PRIVILEGE_ESCALATION"},
}


def _document(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((IAM_DOCS / name).read_text(encoding="utf-8"))
    return loaded


def _bucket_patterns() -> list[str]:
    """The tests' bucket names (conftest.bucket_name) and the example buckets the sandbox creates."""
    examples = set()
    for path in REPO_SHARES.glob("*.y*ml"):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(document, dict) and "bucket" in document:
                examples.add(f"arn:aws:s3:::{document['bucket']}")
    return ["arn:aws:s3:::bs-*", *sorted(examples)]


@pytest.mark.parametrize("name", sorted(p.name for p in IAM_DOCS.glob("*.json")))
def test_role_documents_are_iam_policies_with_unique_sids(name: str) -> None:
    document = _document(name)
    assert document["Version"] == "2012-10-17"
    sids = [s.get("Sid", "") for s in statements(document)]
    assert all(re.fullmatch(r"[A-Za-z0-9]+", sid) for sid in sids), sids
    assert len(set(sids)) == len(sids), sids
    assert {s["Effect"] for s in statements(document)} == {"Allow"}


def test_owner_roles_trust_only_the_hub_roles() -> None:
    hub = "arn:aws:iam::111111111111:role/bucketshare-"
    # apply.yml plans with the hub's apply role before applying: it assumes the plan roles too.
    trusted = {"plan": sorted([hub + "apply", hub + "plan"]), "apply": hub + "apply"}
    for mode in ("plan", "apply"):
        (statement,) = statements(_document(f"owner-{mode}-trust.json"))
        assert statement["Principal"] == {"AWS": trusted[mode]}
        assert statement["Action"] == "sts:AssumeRole" and "Condition" not in statement


@pytest.mark.parametrize(
    "name",
    ["plan-role-policy.json", "apply-role-policy.json", "hub-plan-policy.json", "hub-apply-policy.json"],
)
def test_role_policies_pass_parliament(name: str) -> None:
    # parliament knows every S3 action and the resource types it applies to.
    findings = analyze_policy_string((IAM_DOCS / name).read_text(encoding="utf-8")).findings
    accepted = ACCEPTED_PARLIAMENT_FINDINGS.get(name, set())
    unexpected = [(f.issue, f.detail) for f in findings if f.issue not in accepted]
    assert unexpected == []


# The GitHub trust policies (which jobs may assume the roles) are checked in tests/test_iam_docs.py.


def test_plan_role_only_reads() -> None:
    actions = document_actions(_document("plan-role-policy.json"))
    assert actions and all(a.lower().startswith(("s3:get", "s3:list", "kms:get")) for a in actions), actions


def test_readme_explains_every_permission() -> None:
    readme = (IAM_DOCS / "README.md").read_text(encoding="utf-8").lower()
    for name in (
        "plan-role-policy.json",
        "apply-role-policy.json",
        "hub-plan-policy.json",
        "hub-apply-policy.json",
    ):
        for action in document_actions(_document(name)):
            assert f"`{action.lower()}`" in readme, (
                f"docs/iam/README.md does not say why {name} grants {action}"
            )


def _op(name: str, bucket: str | None, argv: tuple[str, ...] = ("apply", "--auto-approve")) -> Operation:
    service = "sts" if name == "GetCallerIdentity" else "s3"
    return Operation(service, name, bucket, Run(argv, "tests/x.py::test_y"), "tests/x.py::test_y")


def test_the_check_fails_when_a_permission_is_removed() -> None:
    document = load_role("apply", ["arn:aws:s3:::bs-*"])
    put = _op("PutBucketPolicy", "bs-b-0123456789ab")
    assert refusals([put], "apply", document) == []

    for statement in statements(document):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = [a for a in actions if a != "s3:PutBucketPolicy"]
    (problem,) = refusals([put], "apply", document)
    assert problem == (
        "s3 PutBucketPolicy on arn:aws:s3:::bs-b-0123456789ab (by `reconciler apply --auto-approve` in "
        "tests/x.py::test_y) needs s3:PutBucketPolicy, which docs/iam/apply-role-policy.json does not allow"
    )


def test_the_check_fails_for_an_operation_it_cannot_map() -> None:
    (problem,) = refusals([_op("GetBucketTagging", "bs-b-1")], "plan", load_role("plan", []))
    assert "s3 GetBucketTagging" in problem and "OPERATION_ACTIONS" in problem


def test_calls_outside_any_command_name_their_test() -> None:
    put = Operation("s3", "PutBucketPolicy", "other-bucket", None, "tests/x.py::test_z")
    (problem,) = refusals([put, put], "apply", load_role("apply", ["arn:aws:s3:::bs-*"]))
    assert "(by reconciler code outside any command in tests/x.py::test_z)" in problem
    assert problem.endswith("(and 1 more such calls)")


def test_writes_outside_the_managed_buckets_are_refused() -> None:
    document = load_role("apply", ["arn:aws:s3:::bs-*"])
    assert refusals([_op("DeleteBucketPolicy", "someone-elses-bucket")], "apply", document)
    assert refusals([_op("GetBucketPolicy", "someone-elses-bucket")], "apply", document) == []
    assert refusals([_op("GetCallerIdentity", None)], "apply", document) == []


BS1 = "arn:aws:s3:::bs-1"


@pytest.mark.parametrize(
    ("statement", "action", "resource", "allowed"),
    [
        ({"Action": "s3:Get*", "Resource": "*"}, "s3:GetBucketPolicy", BS1, True),
        ({"Action": "S3:GETBUCKETPOLICY", "Resource": "*"}, "s3:GetBucketPolicy", BS1, True),
        ({"Action": "s3:GetBucketPolicy?", "Resource": "*"}, "s3:GetBucketPolicy", BS1, False),
        ({"Action": "s3:*", "Resource": "arn:aws:s3:::bs-*"}, "s3:PutBucketPolicy", BS1, True),
        ({"Action": "s3:*", "Resource": "arn:aws:s3:::BS-*"}, "s3:PutBucketPolicy", BS1, False),
        ({"Action": "s3:*", "Resource": "arn:aws:s3:::[b]s-*"}, "s3:PutBucketPolicy", BS1, False),
        ({"Action": "s3:*", "Resource": "arn:aws:s3:::bs-?"}, "s3:PutBucketPolicy", BS1, True),
        ({"Action": ["s3:ListAllMyBuckets"], "Resource": ["*"]}, "s3:ListAllMyBuckets", "*", True),
        ({"Action": "s3:ListAllMyBuckets", "Resource": "arn:aws:s3:::*"}, "s3:ListAllMyBuckets", "*", False),
    ],
)
def test_evaluator_wildcards(statement: dict[str, Any], action: str, resource: str, allowed: bool) -> None:
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **statement}]}
    assert allows(document, action, resource) is allowed


def test_evaluator_explicit_deny_wins() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:DeleteBucketPolicy", "Resource": "arn:aws:s3:::bs-*"},
        ],
    }
    assert allows(document, "s3:PutBucketPolicy", "arn:aws:s3:::bs-1")
    assert not allows(document, "s3:DeleteBucketPolicy", "arn:aws:s3:::bs-1")


def _missing_coverage() -> dict[str, set[str]]:
    missing = {role: needed - RECORDER.seen(role) for role, needed in REQUIRED.items()}
    commands = {run.command for run in RECORDER.runs}
    for command in ("validate", "render", "rollback"):
        if command not in commands:
            missing.setdefault("commands", set()).add(command)
    return {role: ops for role, ops in missing.items() if ops}


def _drive_every_command(ws: Workspace) -> None:
    """plan (with discovery), apply (creating a bucket too, and a key policy under `kms:
    manage` beside a write grant, which reads the bucket's ownership), apply of a deleted
    declaration, rollback, validate, render."""
    encrypted_bucket(ws, key_with_policy(ws)[1])
    keep, gone = ws.bucket("keep"), ws.bucket("gone")
    ws.declare(keep, read_grant("222222222222"), name="keep.yaml")
    ws.declare(gone, read_grant("333333333333"), name="gone.yaml")
    made = bucket_name("made")
    ws.declare(made, read_grant("222222222222"), name="made.yaml")
    with (ws.shares / "made.yaml").open("a", encoding="utf-8") as handle:
        handle.write("create: true\nversioning: true\n")
    source = ("--shares", "shares", "--config", str(ws.config))
    assert ws.run("validate", *source).rc == 0
    ws.render()
    assert ws.plan("--detailed-exitcode").rc == 2
    applied = ws.apply()
    assert applied.rc == 0, applied.text
    (ws.shares / "gone.yaml").unlink()
    deleted = ws.apply()
    assert f"{gone}: ok: deleted the policy" in deleted.out, deleted.text
    rolled_back = ws.run("rollback", ".bucketshare/journal.jsonl")
    assert rolled_back.rc == 0, rolled_back.text
    _drive_through_assumed_roles(ws)


def _drive_through_assumed_roles(ws: Workspace) -> None:
    """plan and apply of a bucket in another owner account, through its assumed role."""
    owner = ws.moto.new_account()
    elsewhere = ws.moto.create_bucket(owner, "hub")
    ws.write(
        f"{elsewhere}.yaml",
        f'version: 1\nbucket: {elsewhere}\naccount: "{owner}"\nowner: ml\ngrants:\n'
        + read_grant("222222222222"),
    )
    ws.set_config('version: 1\nassume_role: "arn:{partition}:iam::{account}:role/bucketshare-{mode}"\n')
    assert ws.plan().rc == 0
    applied = ws.apply()
    assert applied.rc == 0, applied.text


def test_every_recorded_aws_operation_is_allowed_and_every_permission_is_used(ws: Workspace) -> None:
    if _missing_coverage():
        _drive_every_command(ws)
    assert _missing_coverage() == {}, "the recording is too thin to check the role documents"

    problems = []
    for run in RECORDER.runs:
        made = sorted({op.name for op in RECORDER.operations if op.run is run})
        if made and role_for(run.argv) is None:
            problems.append(f"{run.describe()} must make no AWS call, made {made}")
        elif made and role_for(run.argv) == UNASSIGNED:
            problems.append(f"{run.describe()} made {made}, but iam_recorder.role_for gives it no role")
    patterns = _bucket_patterns()
    for role in ("plan", "apply"):
        document = load_role(role, patterns)
        everything = RECORDER.for_role(role)
        operations = [op for op in everything if not op.by_hub]
        hub = RECORDER.hub_document(role)
        assumed = [op for op in everything if op.by_hub]
        problems += [
            p.replace(f"{role}-role-policy", f"hub-{role}-policy") for p in refusals(assumed, role, hub)
        ]
        if not assumed:
            problems.append(
                f"no {role}-role command assumed an owner account's role: test_accounts.py should"
            )
        if role == "plan":
            # apply.yml's plan step runs with the hub's apply role, assuming the plan roles.
            problems += [
                p.replace("plan-role-policy", "hub-apply-policy")
                for p in refusals(assumed, "plan", RECORDER.hub_document("apply"))
            ]
        problems += refusals(operations, role, document)
        if role == "plan":
            # apply.yml and drift.yml run `reconciler plan` with the apply role too.
            problems += refusals(operations, "apply", load_role("apply", patterns))
        used = {op.action.lower() for op in operations if op.action is not None}
        for action in sorted(a for a in document_actions(document) if a.lower() not in used):
            problems.append(
                f"docs/iam/{role}-role-policy.json grants {action}, which no {role}-role command used "
                "in the integration tests: remove it, or test the code that needs it"
            )
    # Reconciler code a test calls directly (not through the CLI) must at least pass the apply role.
    outside = RECORDER.outside_commands()
    problems += refusals([op for op in outside if not op.by_hub], "apply", load_role("apply", patterns))
    problems += refusals([op for op in outside if op.by_hub], "apply", RECORDER.hub_document("apply"))
    counts = {role: len(RECORDER.for_role(role)) for role in ("plan", "apply")}
    counts["outside commands"] = len(RECORDER.outside_commands())
    print(f"checked {sum(counts.values())} AWS operations of {len(RECORDER.runs)} reconciler runs: {counts}")
    assert problems == [], "\n".join(problems)
