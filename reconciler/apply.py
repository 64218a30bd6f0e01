"""Execute a Plan: stale check, journal, write, read back. No planning happens here."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from reconciler.aws import BucketAccessError, S3Edge
from reconciler.journal import CREATED, Journal, JournalEntry, now
from reconciler.normalize import equivalent_policies
from reconciler.plan import (
    BucketAction,
    BucketPlan,
    Creation,
    LivePolicy,
    Plan,
    PolicyKind,
    check_against_live,
    check_creation_against_live,
    policy_hash,
)
from reconciler.policy import KEY_POLICY_SIZE_LIMIT, POLICY_SIZE_LIMIT, policy_size, public_statement_sids

T = TypeVar("T")

STALE_SINCE_PLAN = "the live policy changed since the plan; run plan again"
STALE_SINCE_APPLY = (
    "not restored: the live policy changed since the apply being rolled back; "
    "compare it with the journal and restore by hand"
)
NOT_STARTED = "not started: interrupted"
NOTHING_TO_UNDO = "nothing to undo"
RESTORED_PUBLIC = "restore-not-public"
"""The journal action of putting back the policy a write replaced, because S3 said the written
one is public (with RestrictPublicBuckets it would cut off every cross-account grant)."""
PUBLIC_RESTORED = (
    "written, but S3 reports the bucket policy as public (GetBucketPolicyStatus IsPublic: true), "
    "which with RestrictPublicBuckets blocks every cross-account grant on it; the previous policy "
    "was restored. Find the public statement (plan warns about it) and fix it, then plan again"
)
PUBLIC_UNKNOWN = (
    "written, but S3 did not say whether the bucket policy is public (GetBucketPolicyStatus "
    "failed); check it with `aws s3api get-bucket-policy-status` before relying on the grants"
)
CREATED_KEPT = (
    "created bucket {bucket} is kept (rollback never deletes a bucket); delete it by hand if unwanted"
)
MAYBE_CREATED = (
    "bucket {bucket} may have been created by run {run} (journalled pending: it stopped during the "
    "creation); rollback never deletes a bucket: check it and delete it by hand if unwanted"
)
OVERWRITTEN = (
    "written, then overwritten before apply ended (by another apply or a person: S3 has no "
    "conditional write); run plan again"
)


@dataclass(frozen=True)
class BucketOutcome:
    bucket: str
    ok: bool
    message: str
    started: bool = True
    """False when apply was interrupted before this bucket began: nothing was read or written."""
    written_hash: str | None = None
    """Hash of the policy read back after a write that succeeded."""


@dataclass(frozen=True)
class _Run:
    """What every write of one apply or rollback run shares."""

    edge: S3Edge
    journal: Journal
    partition: str

    @property
    def id(self) -> str:
        """The edge's run id: the journal entries and the assumed-role sessions share it."""
        return self.edge.run_id


@dataclass(frozen=True)
class PolicyTarget:
    """One resource policy we co-own, as apply and rollback read and write it: a bucket's, or
    a KMS key's (named by its ARN). Everything else about a safe write is the same for both."""

    edge: S3Edge
    name: str
    account: str
    kind: PolicyKind = PolicyKind.BUCKET
    just_created: bool = False
    """A bucket this run created: a NoSuchBucket on reading it may be transient."""

    @property
    def size_limit(self) -> int:
        return KEY_POLICY_SIZE_LIMIT if self.kind is PolicyKind.KEY else POLICY_SIZE_LIMIT

    def read(self) -> LivePolicy:
        if self.kind is PolicyKind.KEY:
            return self.edge.read_key_policy(self.name, self.account)
        if self.just_created:
            return self.edge.read_new_policy(self.name, self.account)
        return self.edge.read_policy(self.name, self.account)

    def write(self, text: str | None) -> None:
        """Put text, or delete the policy when text is None (never for a key: it always has one)."""
        if self.kind is PolicyKind.KEY:
            if text is None:
                raise BucketAccessError("refused: a key policy is never deleted; restore it by hand")
            self.edge.put_key_policy(self.name, self.account, text)
        elif text is None:
            self.edge.delete_policy(self.name, self.account)
        else:
            self.edge.put_policy(self.name, self.account, text)

    def is_public(self) -> bool | None:
        # Block Public Access judges bucket policies; a key policy's grants name principals.
        return False if self.kind is PolicyKind.KEY else self.edge.policy_is_public(self.name, self.account)


class ApplyInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) during apply or rollback: the buckets in flight were finished, the rest
    were not started. Carries every bucket's outcome, in order, so the command can say which."""

    def __init__(self, outcomes: list[BucketOutcome]) -> None:
        super().__init__("interrupted")
        self.outcomes = outcomes


def apply_plan(plan: Plan, edge: S3Edge, journal: Journal) -> list[BucketOutcome]:
    """Every bucket (then every KMS key) that changes, concurrently at the edge's parallelism;
    outcomes in plan order.

    Each worker does one bucket's whole safe write (re-read, stale check, journal, write,
    read back), so buckets never wait on each other's round trips.
    """
    run = _Run(edge, journal, plan.partition)

    def one(bucket_plan: BucketPlan) -> BucketOutcome:
        if bucket_plan.action is BucketAction.ERROR:
            return BucketOutcome(bucket_plan.bucket, False, "; ".join(bucket_plan.errors))
        return apply_bucket(bucket_plan, run, plan.sid_prefix)

    todo = [b for b in plan.policies if b.action is not BucketAction.NOOP]
    outcomes = _concurrently(one, todo, lambda b: b.bucket, edge.parallelism, journal)
    targets = {b.bucket: PolicyTarget(edge, b.bucket, b.account, b.kind) for b in todo}
    return _still_written(outcomes, targets, edge.parallelism)


def _still_written(
    outcomes: list[BucketOutcome], targets: dict[str, PolicyTarget], parallelism: int
) -> list[BucketOutcome]:
    """Read every written bucket once more at the end. PutBucketPolicy has no condition, so a
    second writer whose re-read came just before our write overwrites it after our read-back;
    this read turns that lost write into a failure someone sees. A read that fails proves
    nothing either way and leaves the outcome as it was."""

    def check(outcome: BucketOutcome) -> BucketOutcome:
        if not outcome.ok or outcome.written_hash is None:
            return outcome
        live = targets[outcome.bucket].read()
        if live.error is None and policy_hash(live.text) != outcome.written_hash:
            return replace(outcome, ok=False, message=OVERWRITTEN)
        return outcome

    if not any(o.ok for o in outcomes):
        return outcomes
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(outcomes)))) as pool:
            return list(pool.map(check, outcomes))
    except KeyboardInterrupt:
        raise ApplyInterrupted(outcomes) from None


def _concurrently(
    work: Callable[[T], BucketOutcome],
    items: Sequence[T],
    name: Callable[[T], str],
    parallelism: int,
    journal: Journal,
) -> list[BucketOutcome]:
    """work over items in a pool. On KeyboardInterrupt no further item starts, but every item
    already started runs to its end: a worker stopped between its journal record and its
    write's outcome would leave a bucket nobody knows the state of."""
    journal.open()
    stop = threading.Event()

    def guarded(item: T) -> BucketOutcome:
        if stop.is_set():
            return BucketOutcome(name(item), False, NOT_STARTED, started=False)
        return work(item)

    interrupted = False
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(items) or 1))) as pool:
            futures = [pool.submit(guarded, item) for item in items]
            waiting: set[Future[BucketOutcome]] = set(futures)
            while waiting:
                try:
                    _, not_done = wait(waiting, timeout=0.2)
                    waiting = set(not_done)
                except KeyboardInterrupt:
                    # A second Ctrl-C lands here too: the buckets in flight still finish.
                    interrupted = True
                    stop.set()
                    for future in futures:
                        future.cancel()
                    waiting = {f for f in waiting if not f.cancelled()}
        outcomes = [
            BucketOutcome(name(item), False, NOT_STARTED, started=False)
            if future.cancelled()
            else future.result()
            for item, future in zip(items, futures, strict=True)
        ]
    finally:
        journal.close()
    if interrupted:
        raise ApplyInterrupted(outcomes)
    return outcomes


def apply_bucket(bucket_plan: BucketPlan, run: _Run, sid_prefix: str) -> BucketOutcome:
    target = PolicyTarget(run.edge, bucket_plan.bucket, bucket_plan.account, bucket_plan.kind)
    refusal = _unsafe(bucket_plan.new_policy, "planned", target.kind)
    if refusal:
        return BucketOutcome(bucket_plan.bucket, False, refusal)
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


def create_bucket(bucket_plan: BucketPlan, run: _Run, sid_prefix: str) -> BucketOutcome:
    """Create a missing bucket with the safe defaults, journalled, then write its policy
    through the same safe write as any other bucket."""
    bucket, account, edge = bucket_plan.bucket, bucket_plan.account, run.edge
    refusal = _creation_refusal(bucket_plan, run, sid_prefix)
    if refusal is not None:
        return BucketOutcome(bucket, False, refusal)
    creation = bucket_plan.create
    assert creation is not None  # checked by _creation_refusal
    entry = JournalEntry(run.id, now(), bucket, account, CREATED, None, None, "pending", creation.describe())
    run.journal.append(entry)
    try:
        edge.create_bucket(bucket, account, creation.region)
    except BucketAccessError as exc:
        run.journal.append(replace(entry, time=now(), outcome="failed", message=str(exc)))
        return BucketOutcome(bucket, False, str(exc))
    problem = _set_defaults(edge, bucket, account, creation)
    done = creation.describe() if problem is None else f"created, but {problem}"
    run.journal.append(replace(entry, time=now(), outcome="applied", message=done))
    if problem is not None:
        # Plan sees an existing bucket from now on and never sets these: say so, loudly.
        return BucketOutcome(
            bucket,
            False,
            f"created the bucket, but {problem}; the bucket has no policy yet: set that default by "
            "hand, then plan and apply again",
        )
    if bucket_plan.new_policy_text is None:
        return BucketOutcome(bucket, True, "created the bucket (no grants: no policy)")
    target = PolicyTarget(edge, bucket, account, just_created=True)
    text = bucket_plan.new_policy_text
    written = write_policy(run, target, policy_hash(None), text, BucketAction.PUT.value, live=target.read())
    said = "created the bucket and " if written.ok else "created the bucket, but "
    return replace(written, message=said + written.message)


def _creation_refusal(bucket_plan: BucketPlan, run: _Run, sid_prefix: str) -> str | None:
    """Why this bucket must not be created now: it exists (anyone's), the plan does not add
    up, or the credentials are of another account than the declared owner."""
    bucket, account, edge = bucket_plan.bucket, bucket_plan.account, run.edge
    live = edge.read_policy(bucket, account)
    try:
        region = edge.client_region(account)
    except BucketAccessError as exc:
        return str(exc)
    # This re-read is the only guard against a bucket that appeared since the plan: in
    # us-east-1, CreateBucket on a bucket the caller already owns succeeds without a word.
    refusal = check_creation_against_live(bucket_plan, live, sid_prefix, region)
    if refusal is not None:
        return refusal
    # CreateBucket takes no ExpectedBucketOwner: it creates in the credentials' own account.
    owner = edge.credentials_account(account)
    if owner != account:
        whose = f"of account {owner}" if owner else "of an account sts:GetCallerIdentity could not tell"
        return (
            f"refused: the credentials for account {account} are {whose}, and CreateBucket would "
            "create the bucket there; use that account's credentials or role"
        )
    return None


def _set_defaults(edge: S3Edge, bucket: str, account: str, creation: Creation) -> str | None:
    """The safe defaults on a bucket just created, Block Public Access first; None when all
    are set, else which failed and why (the later ones are not tried)."""
    steps: list[tuple[str, Callable[[], None]]] = [
        ("Block Public Access", lambda: edge.block_public_access(bucket, account)),
        ("object ownership", lambda: edge.enforce_bucket_owner(bucket, account)),
        ("default encryption", lambda: edge.encrypt_by_default(bucket, account)),
    ]
    if creation.versioning:
        steps.append(("versioning", lambda: edge.enable_versioning(bucket, account)))
    for done, (name, step) in enumerate(steps):
        try:
            step()
        except BucketAccessError as exc:
            missing = ", ".join(n for n, _ in steps[done:])
            return f"setting {name} failed ({exc}), so it lacks: {missing}"
    return None


def _unsafe(document: dict[str, Any] | None, which: str, kind: PolicyKind) -> str | None:
    """A saved plan (or a journal) can be edited by hand: never write a policy AWS would
    refuse, or a public bucket policy."""
    if document is None:
        return None
    limit = KEY_POLICY_SIZE_LIMIT if kind is PolicyKind.KEY else POLICY_SIZE_LIMIT
    if policy_size(document) > limit:
        return f"refused: the {which} policy is over the {limit}-byte limit"
    if kind is PolicyKind.BUCKET and public_statement_sids(document):
        return f"refused: the {which} policy holds a public statement"
    return None


def write_policy(
    run: _Run,
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
        return BucketOutcome(bucket, False, live.error)
    if policy_hash(live.text) != expected_hash:
        if _holds(live.text, new_text, partition):
            # A run whose answer was lost wrote it already: nothing to do, nothing lost.
            return BucketOutcome(bucket, True, "already as planned; nothing written")
        return BucketOutcome(bucket, False, stale)
    refusal = check(live.text) if check is not None else None
    if refusal is not None:
        return BucketOutcome(bucket, False, refusal)
    entry = JournalEntry(
        run.id, now(), bucket, account, action, live.text, new_text, "pending", kind=target.kind.value
    )
    journal.append(entry)
    try:
        target.write(new_text)
    except BucketAccessError as exc:
        journal.append(replace(entry, time=now(), outcome="failed", message=str(exc)))
        return BucketOutcome(bucket, False, str(exc))
    after = target.read()
    if after.error is not None or not _holds(after.text, new_text, partition):
        message = after.error or "the policy read back differs from what was written"
        journal.append(replace(entry, time=now(), outcome="failed", message=message))
        return BucketOutcome(bucket, False, message)
    written = policy_hash(after.text)
    journal.append(replace(entry, time=now(), outcome="applied", written_hash=written))
    if new_text is not None and prove_not_public:
        public = target.is_public()
        if public is None:
            return BucketOutcome(bucket, False, PUBLIC_UNKNOWN, written_hash=written)
        if public:
            return _restore_not_public(run, target, after, live.text)
    verb = "deleted the policy" if new_text is None else "wrote the policy"
    return BucketOutcome(bucket, True, verb, written_hash=written)


def _restore_not_public(
    run: _Run, target: PolicyTarget, after: LivePolicy, previous: str | None
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
        return BucketOutcome(bucket, False, PUBLIC_RESTORED, written_hash=restored.written_hash)
    if restored.message.startswith("written, but"):
        return restored
    return BucketOutcome(
        bucket,
        False,
        f"written, but S3 reports the bucket policy as public, and restoring the previous policy "
        f"failed ({restored.message}); run rollback for this bucket",
    )


def _holds(live_text: str | None, policy_text: str | None, partition: str) -> bool:
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


def rollback_target(
    attempts: Sequence[JournalEntry], live_text: str | None, partition: str
) -> tuple[JournalEntry | None, str]:
    """Which attempt's previous policy to restore, given the live policy; or None and why not.

    The latest attempt is undone when the live policy is the one it wrote, whatever its
    record says: a write that took effect but failed its read-back (`failed`), or one a crash
    cut off (`pending`), is undone like an `applied` one. An attempt whose write never took
    effect (the live policy is still its previous one) is passed over for the one before it.
    """
    for attempt in reversed(attempts):
        if attempt.action == RESTORED_PUBLIC and _holds(live_text, attempt.new_policy, partition):
            # The write before it was undone at once, by apply itself.
            return None, f"{NOTHING_TO_UNDO}: apply already restored the policy its write replaced"
        written = attempt.outcome == "applied" and policy_hash(live_text) == attempt.written_hash
        if written or _holds(live_text, attempt.new_policy, partition):
            return attempt, ""
        if not _holds(live_text, attempt.previous_policy, partition):
            return None, STALE_SINCE_APPLY
        if attempt.outcome == "applied":
            return None, f"{NOTHING_TO_UNDO}: the bucket already holds the policy it had before that write"
        # This write never took effect: the bucket holds what the attempt found; look further back.
    return None, (
        f"{NOTHING_TO_UNDO}: the last write (journalled {attempts[-1].outcome}) never took effect; "
        "the bucket still holds the policy it had before"
    )


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
    return _unsafe(document, "previous", PolicyKind(entry.kind))


def rollback(journal: Journal, edge: S3Edge, bucket: str | None, partition: str) -> list[BucketOutcome]:
    """Restore, per bucket and concurrently, the policy held before its last write that took
    effect; say per bucket what could not be restored and why."""
    run = _Run(edge, journal, partition)
    writes, created = journal.attempts(), journal.created()
    chosen = [
        (name, writes.get(name, []))
        for name in sorted(writes.keys() | created.keys())
        if bucket is None or name == bucket
    ]

    def one(item: tuple[str, list[JournalEntry]]) -> BucketOutcome:
        outcome = restore(item)
        creation = created.get(item[0])
        if creation is None:
            return outcome
        template = CREATED_KEPT if creation.outcome == "applied" else MAYBE_CREATED
        note = template.format(bucket=item[0], run=creation.run)
        if not item[1]:
            return BucketOutcome(item[0], True, note)
        return replace(outcome, message=f"{outcome.message}; {note}")

    def restore(item: tuple[str, list[JournalEntry]]) -> BucketOutcome:
        name, attempts = item
        if not attempts:
            return BucketOutcome(name, True, NOTHING_TO_UNDO)
        policy = PolicyTarget(edge, name, attempts[-1].account, PolicyKind(attempts[-1].kind))
        live = policy.read()
        if live.error is not None:
            return BucketOutcome(name, False, f"not restored: {live.error}")
        target, why = rollback_target(attempts, live.text, partition)
        if target is None:
            return BucketOutcome(name, why.startswith(NOTHING_TO_UNDO), why)
        refusal = _restore_refusal(target)
        if refusal is not None:
            return BucketOutcome(name, False, f"not restored: {refusal}")
        return write_policy(
            run,
            policy,
            policy_hash(live.text),
            target.previous_policy,
            "rollback",
            stale=STALE_SINCE_APPLY,
            live=live,  # read just above to choose the target: no second read
        )

    if not chosen:
        return []
    return _concurrently(one, chosen, lambda item: item[0], edge.parallelism, journal)
