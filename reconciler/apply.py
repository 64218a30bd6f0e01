"""Execute a Plan: stale check, journal, write, read back. No planning happens here."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TypeVar

from reconciler.aws import BucketAccessError, S3Edge
from reconciler.journal import Journal, JournalEntry, now
from reconciler.normalize import equivalent_policies
from reconciler.plan import BucketAction, BucketPlan, Plan, check_against_live, policy_hash
from reconciler.policy import POLICY_SIZE_LIMIT, policy_size, public_statement_sids

T = TypeVar("T")


@dataclass(frozen=True)
class BucketOutcome:
    bucket: str
    ok: bool
    message: str


def apply_plan(plan: Plan, edge: S3Edge, journal: Journal) -> list[BucketOutcome]:
    """Every bucket that changes, concurrently at the edge's parallelism; outcomes in plan order.

    Each worker does one bucket's whole safe write (re-read, stale check, journal, write,
    read back), so buckets never wait on each other's round trips.
    """
    run = uuid.uuid4().hex[:12]

    def one(bucket_plan: BucketPlan) -> BucketOutcome:
        if bucket_plan.action is BucketAction.ERROR:
            return BucketOutcome(bucket_plan.bucket, False, "; ".join(bucket_plan.errors))
        return apply_bucket(bucket_plan, edge, journal, run, plan.partition, plan.sid_prefix)

    todo = [b for b in plan.buckets if b.action is not BucketAction.NOOP]
    return _concurrently(one, todo, edge.parallelism, journal)


def _concurrently(
    work: Callable[[T], BucketOutcome], items: Sequence[T], parallelism: int, journal: Journal
) -> list[BucketOutcome]:
    journal.open()
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(items) or 1))) as pool:
            return list(pool.map(work, items))
    finally:
        journal.close()


def apply_bucket(
    bucket_plan: BucketPlan, edge: S3Edge, journal: Journal, run: str, partition: str, sid_prefix: str
) -> BucketOutcome:
    bucket, account = bucket_plan.bucket, bucket_plan.account
    refusal = _unsafe(bucket_plan)
    if refusal:
        return BucketOutcome(bucket, False, refusal)
    return write_policy(
        bucket,
        account,
        bucket_plan.live_hash,
        bucket_plan.new_policy_text,
        bucket_plan.action.value,
        edge,
        journal,
        run,
        partition,
        lambda live_text: check_against_live(bucket_plan, live_text, sid_prefix),
    )


def _unsafe(bucket_plan: BucketPlan) -> str | None:
    """A saved plan can be edited by hand: never write a policy S3 would refuse or that is public."""
    if bucket_plan.new_policy is None:
        return None
    if policy_size(bucket_plan.new_policy) > POLICY_SIZE_LIMIT:
        return f"refused: the planned policy is over the {POLICY_SIZE_LIMIT}-byte limit"
    if public_statement_sids(bucket_plan.new_policy):
        return "refused: the planned policy holds a public statement"
    return None


def write_policy(
    bucket: str,
    account: str,
    expected_hash: str,
    new_text: str | None,
    action: str,
    edge: S3Edge,
    journal: Journal,
    run: str,
    partition: str,
    check: Callable[[str | None], str | None] | None = None,
) -> BucketOutcome:
    """Re-read, refuse if stale (or if check refuses), journal, write (or delete when new_text
    is None), verify."""
    live = edge.read_policy(bucket, account)
    if live.error is not None:
        return BucketOutcome(bucket, False, live.error)
    if policy_hash(live.text) != expected_hash:
        return BucketOutcome(bucket, False, "the live policy changed since the plan; run plan again")
    refusal = check(live.text) if check is not None else None
    if refusal is not None:
        return BucketOutcome(bucket, False, refusal)
    entry = JournalEntry(run, now(), bucket, account, action, live.text, new_text, "pending")
    journal.append(entry)
    try:
        if new_text is None:
            edge.delete_policy(bucket, account)
        else:
            edge.put_policy(bucket, account, new_text)
    except BucketAccessError as exc:
        journal.append(replace(entry, time=now(), outcome="failed", message=str(exc)))
        return BucketOutcome(bucket, False, str(exc))
    after = edge.read_policy(bucket, account)
    meant = json.loads(new_text) if new_text is not None else None
    got = json.loads(after.text) if after.text is not None else None
    if after.error is not None or not equivalent_policies(got, meant, partition):
        message = after.error or "the policy read back differs from what was written"
        journal.append(replace(entry, time=now(), outcome="failed", message=message))
        return BucketOutcome(bucket, False, message)
    journal.append(replace(entry, time=now(), outcome="applied", written_hash=policy_hash(after.text)))
    if new_text is not None and edge.policy_is_public(bucket, account):
        return BucketOutcome(bucket, False, "written, but S3 reports the bucket policy as public; fix it now")
    verb = "deleted the policy" if new_text is None else "wrote the policy"
    return BucketOutcome(bucket, True, verb)


def rollback(journal: Journal, edge: S3Edge, bucket: str | None, partition: str) -> list[BucketOutcome]:
    """Restore, per bucket and concurrently, the policy held before the last applied write."""
    run = uuid.uuid4().hex[:12]
    chosen = [
        (name, entry)
        for name, entry in sorted(journal.last_applied().items())
        if bucket is None or name == bucket
    ]

    def one(item: tuple[str, JournalEntry]) -> BucketOutcome:
        name, entry = item
        expected = entry.written_hash or ""
        return write_policy(
            name, entry.account, expected, entry.previous_policy, "rollback", edge, journal, run, partition
        )

    if not chosen:
        return []
    return _concurrently(one, chosen, edge.parallelism, journal)
