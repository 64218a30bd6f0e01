"""Credentials that AWS stops accepting after apply's writes leave the outcomes reported."""

from __future__ import annotations

from reconciler.edge.aws_errors import CredentialsRejected
from reconciler.edge.s3 import S3Edge
from reconciler.execute.apply import apply_plan
from reconciler.execute.journal import Journal
from reconciler.live.policy import LivePolicy
from reconciler.plan.model import BucketAction

from .conftest import Workspace
from .helpers import make_fleet, saved_plan


class ExpiringEdge(S3Edge):
    """Credentials that expire once every write is proven not public: the final re-read of
    each written bucket, which only checks that nobody overwrote it, is refused."""

    def __init__(self, written: set[str]) -> None:
        super().__init__(4)
        self.proven: set[str] = set()
        self.written = written

    def policy_is_public(self, bucket: str, account: str) -> bool | None:
        answer = super().policy_is_public(bucket, account)
        self.proven.add(bucket)
        return answer

    def read_policy(self, bucket: str, account: str) -> LivePolicy:
        if self.proven == self.written:
            raise CredentialsRejected("ExpiredToken", "The provided token has expired")
        return super().read_policy(bucket, account)


def test_credentials_expiring_after_the_writes_keep_every_outcome(ws: Workspace) -> None:
    fleet = make_fleet(ws, 4)
    plan = saved_plan(ws, "222222222222", [b.name for b in fleet if b.declared], "a")
    changed = {b.bucket for b in plan.policies if b.action is not BucketAction.NOOP}
    written = {b.bucket for b in plan.policies if b.action is BucketAction.PUT}
    assert written, "the fleet must give apply policies to write"
    edge = ExpiringEdge(written)

    outcomes = apply_plan(plan, edge, Journal(ws.root / "journal.jsonl"))

    assert {o.bucket for o in outcomes if o.ok} == changed
