"""What apply and rollback write through: the run (its edge, journal and partition) and one
co-owned resource policy, read and written by the calls of its kind's row in plan/kinds.py."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.edge.aws_errors import BucketAccessError
from reconciler.edge.s3 import S3Edge
from reconciler.execute.journal import Journal
from reconciler.live.policy import LivePolicy
from reconciler.plan.kinds import RULES, KindRules, PolicyKind, Target


@dataclass(frozen=True)
class Run:
    """What every write of one apply or rollback run shares."""

    edge: S3Edge
    journal: Journal
    partition: str
    rolls_back: str | None = None
    """For a rollback: the apply run it undoes, recorded on each of its journal records."""

    @property
    def id(self) -> str:
        """The edge's run id: the journal entries and the assumed-role sessions share it."""
        return self.edge.run_id


@dataclass(frozen=True)
class PolicyTarget:
    """One resource policy we co-own, as apply and rollback read and write it: a bucket's, or
    a KMS key's (named by its ARN). What differs between kinds is their row in plan/kinds.py."""

    edge: S3Edge
    name: str
    account: str
    kind: PolicyKind = PolicyKind.BUCKET
    just_created: bool = False
    """A resource this run created: a NoSuchBucket on reading it may be transient."""

    @classmethod
    def of(cls, edge: S3Edge, target: Target) -> PolicyTarget:
        return cls(edge, target.name, target.account, target.kind)

    @property
    def rules(self) -> KindRules:
        return RULES[self.kind]

    def read(self) -> LivePolicy:
        calls = self.rules.calls
        read = calls.read_new if self.just_created and calls.read_new is not None else calls.read
        return read(self.edge, self.name, self.account)

    def write(self, text: str | None) -> None:
        """Put text, or delete the policy when text is None (refused for a kind never deleted)."""
        calls = self.rules.calls
        if text is not None:
            calls.put(self.edge, self.name, self.account, text)
        elif calls.delete is None:
            raise BucketAccessError(f"refused: a {self.rules.noun} is never deleted; restore it by hand")
        else:
            calls.delete(self.edge, self.name, self.account)

    def is_public(self) -> bool | None:
        status = self.rules.calls.public_status
        return False if status is None else status(self.edge, self.name, self.account)
