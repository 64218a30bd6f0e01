"""Execute a Plan: stale check, journal, write, read back. No planning happens here."""

from __future__ import annotations

from dataclasses import replace

from reconciler.edge.aws_errors import CredentialsRejected
from reconciler.edge.s3 import S3Edge
from reconciler.execute.create import create_bucket
from reconciler.execute.journal import Journal
from reconciler.execute.outcome import (
    OVERWRITTEN,
    ApplyInterrupted,
    BucketOutcome,
    OutcomeKind,
    PolicyTarget,
    Run,
)
from reconciler.execute.pool import Announce, Presses, counting_presses, run_concurrently, run_pool
from reconciler.execute.write import unsafe_reason, write_policy
from reconciler.plan.model import BucketAction, BucketPlan, Plan, policy_hash
from reconciler.plan.verify import check_against_live

"""Told, on the first Ctrl-C, how many buckets are in flight and will be finished."""


def apply_plan(
    plan: Plan, edge: S3Edge, journal: Journal, announce: Announce | None = None
) -> list[BucketOutcome]:
    """Every bucket (then every KMS key) that changes, concurrently at the edge's parallelism;
    outcomes in plan order.

    Each worker does one bucket's whole safe write (re-read, stale check, journal, write,
    read back), so buckets never wait on each other's round trips.
    """
    run = Run(edge, journal, plan.partition)

    def one(bucket_plan: BucketPlan) -> BucketOutcome:
        if bucket_plan.action is BucketAction.ERROR:
            return BucketOutcome(bucket_plan.bucket, OutcomeKind.FAILED, "; ".join(bucket_plan.errors))
        return apply_bucket(bucket_plan, run, plan.sid_prefix)

    todo = [b for b in plan.policies if b.action is not BucketAction.NOOP]
    targets = {b.bucket: PolicyTarget.of(edge, b.target) for b in todo}
    with counting_presses() as presses:
        try:
            outcomes = run_concurrently(
                one, todo, lambda b: b.bucket, edge.parallelism, journal, presses, announce
            )
            return _still_written(_owned(outcomes, targets), targets, edge.parallelism, presses)
        except ApplyInterrupted as interrupted:
            raise ApplyInterrupted(_owned(interrupted.outcomes, targets)) from None


def _owned(outcomes: list[BucketOutcome], targets: dict[str, PolicyTarget]) -> list[BucketOutcome]:
    """Each outcome with its policy's kind and account, the ones never begun (or left in
    flight) too: a key left unsettled is named as a key."""
    return [replace(o, account=targets[o.bucket].account, policy=targets[o.bucket].kind) for o in outcomes]


def _still_written(
    outcomes: list[BucketOutcome], targets: dict[str, PolicyTarget], parallelism: int, presses: Presses
) -> list[BucketOutcome]:
    """Read every written bucket once more at the end. PutBucketPolicy has no condition, so a
    second writer whose re-read came just before our write overwrites it after our read-back;
    this read turns that lost write into a failure someone sees. A read that fails proves
    nothing either way and leaves the outcome as it was. Reads only: a Ctrl-C skips it."""

    def check(outcome: BucketOutcome) -> BucketOutcome:
        if not outcome.ok or outcome.written_hash is None:
            return outcome
        try:
            live = targets[outcome.bucket].read()
        except CredentialsRejected:
            return outcome  # credentials that expired mid-run prove nothing about the write
        if live.error is None and policy_hash(live.text) != outcome.written_hash:
            return replace(outcome, kind=OutcomeKind.WRITTEN_BUT_FAILED, message=OVERWRITTEN)
        return outcome

    if not any(o.ok for o in outcomes):
        return outcomes
    checked = run_pool(check, outcomes, parallelism, presses, None)
    if checked.interrupted:
        raise ApplyInterrupted(outcomes)
    for item in checked.items:
        if item.error is not None:
            raise item.error
    return [c.outcome for c in checked.items if c.outcome is not None]


def apply_bucket(bucket_plan: BucketPlan, run: Run, sid_prefix: str) -> BucketOutcome:
    target = PolicyTarget.of(run.edge, bucket_plan.target)
    refusal = unsafe_reason(bucket_plan.new_policy, "planned", target.kind)
    if refusal:
        return BucketOutcome(bucket_plan.bucket, OutcomeKind.FAILED, refusal)
    if bucket_plan.action is BucketAction.CREATE:
        return create_bucket(bucket_plan, run, sid_prefix)
    return write_policy(
        run,
        target,
        bucket_plan.live_hash,
        bucket_plan.new_policy_text,
        bucket_plan.action.value,
        check=lambda live_text: check_against_live(bucket_plan, live_text, sid_prefix, run.partition),
    )
