"""Write one policy safely: re-read, refuse what is unsafe, journal, write, read back."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from reconciler.edge.aws_errors import BucketAccessError
from reconciler.execute.journal import RESTORED_PUBLIC, JournalEntry, now
from reconciler.execute.outcome import (
    PUBLIC_RESTORED,
    PUBLIC_UNKNOWN,
    STALE_SINCE_PLAN,
    BucketOutcome,
    OutcomeKind,
    PolicyTarget,
    Run,
)
from reconciler.live.policy import LivePolicy
from reconciler.plan.kinds import RULES, PolicyKind
from reconciler.plan.model import policy_hash
from reconciler.policy.documents import policy_size, public_statement_sids
from reconciler.policy.normalize import equivalent_policies


def unsafe_reason(document: dict[str, Any] | None, which: str, kind: PolicyKind) -> str | None:
    """A saved plan (or a journal) can be edited by hand: never write a policy AWS would
    refuse, or a public bucket policy."""
    if document is None:
        return None
    rules = RULES[kind]
    if policy_size(document) > rules.size_limit:
        return f"refused: the {which} policy is over the {rules.size_limit}-byte limit"
    if rules.public_check and public_statement_sids(document):
        return f"refused: the {which} policy holds a public statement"
    return None


def write_policy(
    run: Run,
    target: PolicyTarget,
    expected_hash: str,
    new_text: str | None,
    action: str,
    *,
    check: Callable[[str | None], str | None] | None = None,
    stale: str = STALE_SINCE_PLAN,
    live: LivePolicy | None = None,
    prove_not_public: bool = True,
) -> BucketOutcome:
    """Re-read (unless the caller just did: live), refuse if stale (or if check refuses),
    journal, write (or delete when new_text is None), verify, and prove S3 does not see the
    written policy as public (else put back the one it replaced)."""
    journal, partition = run.journal, run.partition
    bucket, account = target.name, target.account
    live = live or target.read()
    if live.error is not None:
        return BucketOutcome(bucket, OutcomeKind.FAILED, live.error)
    if policy_hash(live.text) != expected_hash:
        if live_holds(live.text, new_text, partition):
            # A run whose answer was lost wrote it already: nothing to do, nothing lost.
            return BucketOutcome(bucket, OutcomeKind.NO_OP, "already as planned; nothing written")
        return BucketOutcome(bucket, OutcomeKind.STALE, stale)
    refusal = check(live.text) if check is not None else None
    if refusal is not None:
        return BucketOutcome(bucket, OutcomeKind.FAILED, refusal)
    entry = JournalEntry(
        run.id,
        now(),
        bucket,
        account,
        action,
        live.text,
        new_text,
        "pending",
        kind=target.kind.value,
        rolls_back=run.rolls_back,
    )
    journal.append(entry)
    try:
        target.write(new_text)
    except BucketAccessError as exc:
        journal.append(replace(entry, time=now(), outcome="failed", message=str(exc)))
        return BucketOutcome(bucket, OutcomeKind.FAILED, str(exc))
    after = target.read()
    if after.error is not None or not live_holds(after.text, new_text, partition):
        message = after.error or "the policy read back differs from what was written"
        journal.append(replace(entry, time=now(), outcome="failed", message=message))
        return BucketOutcome(bucket, OutcomeKind.FAILED, message)
    written = policy_hash(after.text)
    journal.append(replace(entry, time=now(), outcome="applied", written_hash=written))
    if new_text is not None and prove_not_public:
        public = target.is_public()
        if public is None:
            return BucketOutcome(bucket, OutcomeKind.WRITTEN_BUT_FAILED, PUBLIC_UNKNOWN, written_hash=written)
        if public:
            return _restore_not_public(run, target, after, live.text)
    verb = "deleted the policy" if new_text is None else "wrote the policy"
    return BucketOutcome(bucket, OutcomeKind.APPLIED, verb, written_hash=written)


def _restore_not_public(
    run: Run, target: PolicyTarget, after: LivePolicy, previous: str | None
) -> BucketOutcome:
    """Put back the policy a write replaced; the same safe write, journalled, so a crash in
    between leaves a record rollback can act on."""
    bucket = target.name
    restored = write_policy(
        run,
        target,
        policy_hash(after.text),
        previous,
        RESTORED_PUBLIC,
        stale="written, but S3 reports the bucket policy as public, and the live policy changed before "
        "the previous one could be restored; run rollback for this bucket",
        live=after,
        prove_not_public=False,
    )
    if restored.ok:
        return BucketOutcome(
            bucket, OutcomeKind.WRITTEN_BUT_FAILED, PUBLIC_RESTORED, written_hash=restored.written_hash
        )
    if restored.kind is OutcomeKind.STALE:
        # Its message (the stale= above) says the write took effect and what to do.
        return replace(restored, kind=OutcomeKind.WRITTEN_BUT_FAILED)
    return BucketOutcome(
        bucket,
        OutcomeKind.WRITTEN_BUT_FAILED,
        f"written, but S3 reports the bucket policy as public, and restoring the previous policy "
        f"failed ({restored.message}); run rollback for this bucket",
    )


def live_holds(live_text: str | None, policy_text: str | None, partition: str) -> bool:
    """Whether the live policy is policy_text (None: no policy), as S3 may have rewritten it.
    A text that is not JSON is no policy we could have written."""
    if live_text == policy_text:
        return True
    if live_text is None or policy_text is None:
        return False
    try:
        return equivalent_policies(json.loads(live_text), json.loads(policy_text), partition)
    except json.JSONDecodeError:
        return False
