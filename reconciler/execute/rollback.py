"""Roll back an apply run from its journal: restore what each write replaced, if nothing changed since."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from reconciler.edge.s3 import S3Edge
from reconciler.errors import BucketshareError
from reconciler.execute.journal import RESTORED_PUBLIC, ROLLBACK, ApplyRun, Journal, JournalEntry
from reconciler.execute.outcome import (
    ALREADY_ROLLED_BACK,
    CREATED_KEPT,
    MAYBE_CREATED,
    NOTHING_TO_UNDO,
    RESTORE_WAS_PUBLIC,
    ROLL_BACK_FIRST,
    STALE_SINCE_APPLY,
    BucketOutcome,
    OutcomeKind,
    PolicyTarget,
    Run,
)
from reconciler.execute.pool import Announce, counting_presses, run_concurrently
from reconciler.execute.write import live_holds, unsafe_reason, write_policy
from reconciler.plan.kinds import PolicyKind
from reconciler.plan.model import policy_hash


def rollback_target(
    records: Sequence[JournalEntry], live_text: str | None, partition: str
) -> tuple[JournalEntry | None, str]:
    """Whether to restore the policy a bucket held before an apply run, given the run's records
    for it (oldest first) and the live policy; the record holding that policy, or None and why.

    The run is undone when the live policy is one it wrote, whatever its records say: a write
    that took effect but failed its read-back (`failed`), or one a crash cut off (`pending`), is
    undone like an `applied` one. The policy restored is the first write's previous one, so a
    run that wrote a bucket twice (a write, then apply's own restore) is undone as a whole.
    """
    first, last = records[0], records[-1]
    if live_holds(live_text, first.previous_policy, partition):
        if last.action == RESTORED_PUBLIC:
            return None, f"{NOTHING_TO_UNDO}: apply already restored the policy its write replaced"
        if last.outcome == "applied":
            return None, f"{NOTHING_TO_UNDO}: the bucket already holds the policy it had before that write"
        return None, (
            f"{NOTHING_TO_UNDO}: the last write (journalled {last.outcome}) never took effect; "
            "the bucket still holds the policy it had before"
        )
    if _wrote(records, live_text, partition):
        return first, ""
    return None, STALE_SINCE_APPLY


def _wrote(records: Sequence[JournalEntry], live_text: str | None, partition: str) -> bool:
    """Whether the live policy is one of these write records put there (or may have)."""
    return any(
        (r.outcome == "applied" and policy_hash(live_text) == r.written_hash)
        or live_holds(live_text, r.new_policy, partition)
        for r in records
    )


def _also_wrote(later: ApplyRun, target: JournalEntry | None, live_text: str | None, partition: str) -> bool:
    """Whether a later run may have written the live policy this run wrote (after a hand edit
    put the old one back, it writes the very same text): undoing this run would undo it too."""
    return target is not None and _wrote(later.writes[target.bucket], live_text, partition)


def _restore_refusal(entry: JournalEntry) -> str | None:
    """A journal is a file anyone could edit: check the text to restore like apply checks a plan."""
    if entry.previous_policy is None:
        return None
    try:
        document = json.loads(entry.previous_policy)
    except json.JSONDecodeError:
        return "refused: the previous policy in the journal is not valid JSON; restore it by hand"
    if not isinstance(document, dict):
        return "refused: the previous policy in the journal is not a JSON object; restore it by hand"
    return unsafe_reason(document, "previous", PolicyKind(entry.kind))


@dataclass(frozen=True)
class RollbackChoice:
    """The apply run to roll back, and per bucket the later apply run that wrote it since
    (and was not rolled back for it): that one must be undone first."""

    run: ApplyRun
    later: dict[str, ApplyRun]


def choose_run(runs: Sequence[ApplyRun], run_id: str | None, bucket: str | None) -> RollbackChoice:
    """The apply run to roll back: run_id's, else the last one (the last that wrote bucket,
    when one bucket is asked for)."""
    if run_id is not None:
        found = [r for r in runs if r.id == run_id]
        if not found:
            known = ", ".join(r.id for r in runs) or "none"
            raise BucketshareError(f"no apply run {run_id} in the journal (its apply runs: {known})")
        if bucket is not None and bucket not in found[0].buckets:
            raise BucketshareError(f"no applied write to roll back for {bucket} in run {run_id}")
        chosen = found[0]
    else:
        candidates = [r for r in runs if bucket is None or bucket in r.buckets]
        if not candidates:
            raise BucketshareError("no applied write to roll back" + (f" for {bucket}" if bucket else ""))
        chosen = candidates[-1]
    later = {
        name: run
        for run in runs[runs.index(chosen) + 1 :]
        for name in run.writes
        if not run.rolled_back(name)
    }
    return RollbackChoice(chosen, later)


def rollback(
    journal: Journal,
    edge: S3Edge,
    bucket: str | None,
    partition: str,
    choice: RollbackChoice | None = None,
    announce: Announce | None = None,
) -> list[BucketOutcome]:
    """Restore, per bucket and concurrently, the policy held before the apply run (the last
    one unless chosen); say per bucket what could not be restored and why. Rollback's own
    writes are journalled as undoing that run, so running it again writes nothing more."""
    if choice is None:
        runs = journal.runs()
        if not runs:
            return []
        choice = choose_run(runs, None, bucket)
    undone = choice.run
    writer = Run(edge, journal, partition, rolls_back=undone.id)
    chosen = [name for name in undone.buckets if bucket is None or name == bucket]

    def one(name: str) -> BucketOutcome:
        outcome = restore(name)
        records = undone.writes.get(name)
        policy = PolicyKind(records[0].kind) if records else PolicyKind.BUCKET
        creation = undone.created.get(name)
        if creation is None:
            return replace(outcome, policy=policy)
        template = CREATED_KEPT if creation.outcome == "applied" else MAYBE_CREATED
        note = template.format(bucket=name, run=creation.run)
        if not records:
            return BucketOutcome(name, OutcomeKind.NOTHING_TO_UNDO, note)
        return replace(outcome, message=f"{outcome.message}; {note}", policy=policy)

    def restore(name: str) -> BucketOutcome:
        records = undone.writes.get(name)
        if not records:
            return BucketOutcome(name, OutcomeKind.NOTHING_TO_UNDO, NOTHING_TO_UNDO)
        if undone.rolled_back(name):
            return BucketOutcome(name, OutcomeKind.NOTHING_TO_UNDO, ALREADY_ROLLED_BACK)
        if undone.restore_was_public(name):
            return BucketOutcome(name, OutcomeKind.FAILED, RESTORE_WAS_PUBLIC)
        target_policy = PolicyTarget(edge, name, records[0].account, PolicyKind(records[0].kind))
        live = target_policy.read()
        if live.error is not None:
            return BucketOutcome(name, OutcomeKind.FAILED, f"not restored: {live.error}")
        cut_off = undone.last_restore(name)
        if cut_off is not None and live_holds(live.text, cut_off.new_policy, partition):
            # A rollback killed (or failing its read-back) after its write took effect.
            return BucketOutcome(name, OutcomeKind.NOTHING_TO_UNDO, ALREADY_ROLLED_BACK)
        target, why = rollback_target(records, live.text, partition)
        later = choice.later.get(name)
        stale = why == STALE_SINCE_APPLY
        if later is not None and (stale or _also_wrote(later, target, live.text, partition)):
            return BucketOutcome(name, OutcomeKind.FAILED, ROLL_BACK_FIRST.format(run=later.id))
        if target is None:
            return BucketOutcome(name, OutcomeKind.STALE if stale else OutcomeKind.NOTHING_TO_UNDO, why)
        refusal = _restore_refusal(target)
        if refusal is not None:
            return BucketOutcome(name, OutcomeKind.FAILED, f"not restored: {refusal}")
        return write_policy(
            writer,
            target_policy,
            policy_hash(live.text),
            target.previous_policy,
            ROLLBACK,
            stale=STALE_SINCE_APPLY,
            live=live,  # read just above to choose the target: no second read
        )

    if not chosen:
        return []
    with counting_presses() as presses:
        return run_concurrently(one, chosen, lambda name: name, edge.parallelism, journal, presses, announce)
