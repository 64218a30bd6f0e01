"""Apply's creation of a bucket, through a stand-in edge: the order of calls, what a failure
in the middle says, what the journal keeps and what rollback says about it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from reconciler.declare.config import Config
from reconciler.declare.model import BucketShare, Grant
from reconciler.declare.share_file import parse_grantee
from reconciler.edge.aws_errors import BucketAccessError
from reconciler.errors import Location
from reconciler.execute.apply import apply_plan
from reconciler.execute.journal import CREATED, Journal, JournalEntry
from reconciler.execute.outcome import OutcomeKind
from reconciler.execute.rollback import rollback
from reconciler.live.policy import LivePolicy, ReadError
from reconciler.plan.bucket import build_plan
from reconciler.plan.model import Plan
from reconciler.policy.access import Access
from reconciler.policy.render import render_bucket

BUCKET = "acme-new"
OWNER = "111111111111"


class Edge:
    """The S3Edge methods apply uses, over one bucket held in memory (duck-typed for apply)."""

    parallelism = 1
    run_id = "run1"

    def __init__(self, fail: str | None = None, identity: str | None = OWNER) -> None:
        self.exists = False
        self.policy: str | None = None
        self.calls: list[str] = []
        self.fail = fail
        self.identity = identity

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name == self.fail:
            raise BucketAccessError(f"{name} failed with AccessDenied")

    def read_policy(self, bucket: str, account: str) -> LivePolicy:
        if not self.exists:
            return LivePolicy(bucket, account, None, "bucket does not exist", ReadError.NO_BUCKET)
        return LivePolicy(bucket, account, self.policy)

    read_new_policy = read_policy

    def client_region(self, account: str) -> str:
        return "us-east-1"

    def credentials_account(self, account: str) -> str | None:
        return self.identity

    def create_bucket(self, bucket: str, account: str, region: str) -> None:
        self._call("create_bucket")
        self.exists = True

    def block_public_access(self, bucket: str, account: str) -> None:
        self._call("block_public_access")

    def enforce_bucket_owner(self, bucket: str, account: str) -> None:
        self._call("enforce_bucket_owner")

    def encrypt_by_default(self, bucket: str, account: str) -> None:
        self._call("encrypt_by_default")

    def enable_versioning(self, bucket: str, account: str) -> None:
        self._call("enable_versioning")

    def put_policy(self, bucket: str, account: str, text: str) -> None:
        self._call("put_policy")
        self.policy = text

    def delete_policy(self, bucket: str, account: str) -> None:
        self._call("delete_policy")
        self.policy = None

    def policy_is_public(self, bucket: str, account: str) -> bool:
        return False


def plan(versioning: bool = True) -> Plan:
    problem, grantee = parse_grantee("222222222222", "aws")
    assert problem is None and grantee is not None
    grant = Grant(grantee, Access.READ, (), Location("shares/a.yaml", 6, 5))
    share = BucketShare(BUCKET, OWNER, (grant,), (Location("shares/a.yaml", 2, 9),), (), (), True, versioning)
    desired = render_bucket(share, Config(), dt.date(2026, 1, 15))
    live = LivePolicy(BUCKET, OWNER, None, "bucket does not exist", ReadError.NO_BUCKET)
    return build_plan([desired], [live], "BucketShare", "aws", region="us-east-1")


def test_the_defaults_come_first_then_the_policy(tmp_path: Path) -> None:
    edge = Edge()
    (outcome,) = apply_plan(plan(), edge, Journal(tmp_path / "j.jsonl"))
    assert outcome.ok, outcome.message
    assert edge.calls == [
        "create_bucket",
        "block_public_access",
        "enforce_bucket_owner",
        "encrypt_by_default",
        "enable_versioning",
        "put_policy",
    ]
    assert "enable_versioning" not in _calls(plan(versioning=False), tmp_path / "k.jsonl")


def _calls(the_plan: Plan, path: Path) -> list[str]:
    edge = Edge()
    apply_plan(the_plan, edge, Journal(path))
    return edge.calls


def test_a_default_that_fails_stops_there_and_says_what_the_bucket_lacks(tmp_path: Path) -> None:
    edge = Edge(fail="encrypt_by_default")
    journal = Journal(tmp_path / "j.jsonl")
    (outcome,) = apply_plan(plan(), edge, journal)
    assert not outcome.ok
    assert outcome.message == (
        "created the bucket, but setting default encryption failed (encrypt_by_default failed with "
        "AccessDenied), so it lacks: default encryption, versioning; the bucket has no policy yet: set "
        "that default by hand, then plan and apply again"
    )
    assert edge.calls[-1] == "encrypt_by_default" and edge.policy is None
    [run] = journal.runs()
    (created,) = run.created.values()
    assert (created.action, created.outcome) == (CREATED, "applied")
    assert created.message.startswith("created, but setting default encryption failed")


def test_a_failed_create_records_nothing_created(tmp_path: Path) -> None:
    edge = Edge(fail="create_bucket")
    journal = Journal(tmp_path / "j.jsonl")
    (outcome,) = apply_plan(plan(), edge, journal)
    assert (outcome.ok, outcome.message) == (False, "create_bucket failed with AccessDenied")
    assert [e.outcome for e in journal.entries()] == ["pending", "failed"]
    assert [run.created for run in journal.runs()] == [{}]


def test_credentials_that_cannot_be_told_never_create(tmp_path: Path) -> None:
    edge = Edge(identity=None)
    (outcome,) = apply_plan(plan(), edge, Journal(tmp_path / "j.jsonl"))
    assert not outcome.ok and "sts:GetCallerIdentity could not tell" in outcome.message
    assert edge.calls == []


@pytest.mark.parametrize(
    ("outcome", "said"),
    [
        ("applied", f"created bucket {BUCKET} is kept (rollback never deletes a bucket); delete it by hand"),
        ("pending", f"bucket {BUCKET} may have been created by run run0 (journalled pending"),
    ],
)
def test_rollback_of_a_creation_alone_keeps_the_bucket(tmp_path: Path, outcome: str, said: str) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    journal.append(JournalEntry("run0", "t", BUCKET, OWNER, CREATED, None, None, outcome))
    edge = Edge()
    edge.exists = True
    (result,) = rollback(journal, edge, None, "aws")
    assert result.ok and said in result.message
    assert edge.calls == []


def test_journal_runs_keep_creations_apart_from_policy_writes(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    journal.append(JournalEntry("run0", "t", BUCKET, OWNER, CREATED, None, None, "applied"))
    [run] = journal.runs()
    assert run.writes == {}
    assert list(run.created) == [BUCKET]


class PublicUnknown(Edge):
    def policy_is_public(self, bucket: str, account: str) -> bool | None:  # type: ignore[override]
        return None  # GetBucketPolicyStatus failed


class CreatedMeanwhile(Edge):
    """Another writer puts a policy between the creation and apply's write of its own."""

    def encrypt_by_default(self, bucket: str, account: str) -> None:
        super().encrypt_by_default(bucket, account)
        self.policy = '{"Version":"2012-10-17","Statement":[]}'


@pytest.mark.parametrize(
    ("edge", "kind", "said"),
    [
        (Edge(), OutcomeKind.APPLIED, "created the bucket and wrote the policy"),
        (Edge(fail="create_bucket"), OutcomeKind.FAILED, "create_bucket failed with AccessDenied"),
        (
            Edge(fail="enforce_bucket_owner"),
            OutcomeKind.WRITTEN_BUT_FAILED,
            "created the bucket, but setting",
        ),
        (
            PublicUnknown(),
            OutcomeKind.WRITTEN_BUT_FAILED,
            "created the bucket and wrote its policy, but S3 did not",
        ),
        (
            CreatedMeanwhile(),
            OutcomeKind.WRITTEN_BUT_FAILED,
            "created the bucket, but the live policy changed",
        ),
    ],
)
def test_a_creation_outcome_says_by_its_kind_whether_anything_was_written(
    tmp_path: Path, edge: Edge, kind: OutcomeKind, said: str
) -> None:
    (outcome,) = apply_plan(plan(), edge, Journal(tmp_path / "j.jsonl"))
    assert (outcome.kind, outcome.account) == (kind, OWNER)
    assert outcome.message.startswith(said), outcome.message
    assert outcome.ok is (kind is OutcomeKind.APPLIED)
