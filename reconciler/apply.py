"""Execute a Plan: stale check, journal, write, read back. No planning happens here."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import Enum
from types import FrameType
from typing import Any, Generic, TypeVar

from reconciler.aws import BucketAccessError, CredentialsRejected, S3Edge
from reconciler.errors import BucketshareError
from reconciler.journal import CREATED, RESTORED_PUBLIC, ROLLBACK, ApplyRun, Journal, JournalEntry, now
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
R = TypeVar("R")

STALE_SINCE_PLAN = "the live policy changed since the plan; run plan again"
STALE_SINCE_APPLY = (
    "not restored: the live policy changed since the apply being rolled back; "
    "compare it with the journal and restore by hand"
)
NOT_STARTED = "not started: interrupted"
IN_FLIGHT = "in flight when stopped: its write may or may not have happened"
NOTHING_TO_UNDO = "nothing to undo"
ALREADY_ROLLED_BACK = "already rolled back; nothing to do"
WRITTEN_BUT = "written, but "
"""How a failure after a write that took effect begins."""
PUBLIC_RESTORED = (
    "written, but S3 reports the bucket policy as public (GetBucketPolicyStatus IsPublic: true), "
    "which with RestrictPublicBuckets blocks every cross-account grant on it; the previous policy "
    "was restored. Find the public statement (plan warns about it) and fix it, then plan again"
)
PUBLIC_UNKNOWN = (
    "written, but S3 did not say whether the bucket policy is public (GetBucketPolicyStatus "
    "failed); check it with `aws s3api get-bucket-policy-status` before relying on the grants"
)
ROLL_BACK_FIRST = "not restored: apply run {run} wrote it since; roll that run back first (--run {run})"
RESTORE_WAS_PUBLIC = (
    "not restored: an earlier rollback wrote the previous policy, S3 reported it as public, so "
    "the policy it replaced was put back; find the public statement in the journal's previous "
    "policy and restore by hand"
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
    settled: bool = True
    """False when a second Ctrl-C stopped the run while this bucket was in flight: whether
    its write happened is unknown (its journal record may say `pending`)."""
    kind: PolicyKind = PolicyKind.BUCKET
    """What `bucket` names: a bucket, or a KMS key by its ARN."""


@dataclass(frozen=True)
class _Run:
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
    """Ctrl-C (SIGINT) during apply or rollback. After one press the buckets in flight were
    finished and the rest not started; after a second, the ones still in flight were left
    (`settled` False). Carries every bucket's outcome, in order, so the command can say which."""

    def __init__(self, outcomes: list[BucketOutcome]) -> None:
        super().__init__("interrupted")
        self.outcomes = outcomes


Announce = Callable[[int], None]
"""Told, on the first Ctrl-C, how many buckets are in flight and will be finished."""


def apply_plan(
    plan: Plan, edge: S3Edge, journal: Journal, announce: Announce | None = None
) -> list[BucketOutcome]:
    """Every bucket (then every KMS key) that changes, concurrently at the edge's parallelism;
    outcomes in plan order.

    Each worker does one bucket's whole safe write (re-read, stale check, journal, write,
    read back), so buckets never wait on each other's round trips.
    """
    run = _Run(edge, journal, plan.partition)

    def one(bucket_plan: BucketPlan) -> BucketOutcome:
        if bucket_plan.action is BucketAction.ERROR:
            outcome = BucketOutcome(bucket_plan.bucket, False, "; ".join(bucket_plan.errors))
        else:
            outcome = apply_bucket(bucket_plan, run, plan.sid_prefix)
        return replace(outcome, kind=bucket_plan.kind)

    todo = [b for b in plan.policies if b.action is not BucketAction.NOOP]
    targets = {b.bucket: PolicyTarget(edge, b.bucket, b.account, b.kind) for b in todo}
    with _counting_presses() as presses:
        outcomes = _concurrently(one, todo, lambda b: b.bucket, edge.parallelism, journal, presses, announce)
        return _still_written(outcomes, targets, edge.parallelism, presses)


def _still_written(
    outcomes: list[BucketOutcome], targets: dict[str, PolicyTarget], parallelism: int, presses: _Presses
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
            return replace(outcome, ok=False, message=OVERWRITTEN)
        return outcome

    if not any(o.ok for o in outcomes):
        return outcomes
    checked = _pool(check, outcomes, parallelism, presses, None)
    if checked.interrupted:
        raise ApplyInterrupted(outcomes)
    for item in checked.items:
        if item.error is not None:
            raise item.error
    return [c.outcome for c in checked.items if c.outcome is not None]


def _concurrently(
    work: Callable[[T], BucketOutcome],
    items: Sequence[T],
    name: Callable[[T], str],
    parallelism: int,
    journal: Journal,
    presses: _Presses,
    announce: Announce | None,
) -> list[BucketOutcome]:
    """work over items in a pool. On the first Ctrl-C no further item starts, but every item
    already started runs to its end: a worker stopped between its journal record and its
    write's outcome would leave a bucket nobody knows the state of. A second Ctrl-C stops
    waiting for them: the ones still in flight come back unsettled."""
    journal.open()
    try:
        done = _pool(work, items, parallelism, presses, announce or (lambda _: None))
    finally:
        journal.close()
    outcomes = []
    for item, result in zip(items, done.items, strict=True):
        if result.error is not None and not done.interrupted:
            raise result.error
        if result.state is _State.DONE:
            outcomes.append(result.outcome or BucketOutcome(name(item), False, str(result.error)))
        elif result.state is _State.STARTED:
            outcomes.append(BucketOutcome(name(item), False, IN_FLIGHT, settled=False))
        else:
            outcomes.append(BucketOutcome(name(item), False, NOT_STARTED, started=False))
    if done.interrupted:
        raise ApplyInterrupted(outcomes)
    return outcomes


class _State(Enum):
    WAITING = "waiting"
    STARTED = "started"
    DONE = "done"


@dataclass
class _Item(Generic[R]):
    state: _State = _State.WAITING
    outcome: R | None = None
    error: BaseException | None = None


@dataclass(frozen=True)
class _PoolResult(Generic[R]):
    items: list[_Item[R]]
    interrupted: bool


class _Presses:
    """Ctrl-C presses, counted by a SIGINT handler: a KeyboardInterrupt raised at any line of
    the waiting code could lose track of which buckets are in flight."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1


@contextmanager
def _counting_presses() -> Iterator[_Presses]:
    presses = _Presses()
    if threading.current_thread() is not threading.main_thread():
        yield presses  # only the main thread gets signals
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:
        yield presses  # started with Ctrl-C ignored (nohup, a background job): keep it so
        return
    signal.signal(signal.SIGINT, presses)
    try:
        yield presses
    finally:
        signal.signal(signal.SIGINT, previous)


def _pool(
    work: Callable[[T], R],
    items: Sequence[T],
    parallelism: int,
    presses: _Presses,
    announce: Announce | None,
) -> _PoolResult[R]:
    """work over items on daemon threads. With announce, the first press stops new items and
    waits for the started ones (announcing how many), a second stops waiting; without, the
    first press stops waiting. Daemon threads, unlike ThreadPoolExecutor's, let the process
    exit while a call it gave up on still hangs (nothing joins them at exit)."""
    results: list[_Item[R]] = [_Item() for _ in items]
    lock = threading.Lock()
    stop = threading.Event()
    all_done = threading.Event()
    queue = iter(range(len(items)))
    left = [len(items)]

    def worker() -> None:
        while True:
            with lock:
                index = next(queue, None)
                if index is None:
                    return
                if stop.is_set():
                    left[0] -= 1
                    if not left[0]:
                        all_done.set()
                    continue
                results[index].state = _State.STARTED
            item = results[index]
            try:
                item.outcome = work(items[index])
            except BaseException as exc:  # re-raised by the caller, in the main thread
                item.error = exc
            with lock:
                item.state = _State.DONE
                left[0] -= 1
                if not left[0]:
                    all_done.set()

    if not items:
        return _PoolResult(results, False)
    for number in range(max(1, min(parallelism, len(items)))):
        threading.Thread(target=worker, name=f"bucketshare-{number}", daemon=True).start()
    while not all_done.wait(0.05):
        if presses.count and not stop.is_set():
            stop.set()
            if announce is None:
                break
            with lock:
                in_flight = sum(1 for r in results if r.state is _State.STARTED)
            announce(in_flight)
        if presses.count > 1:
            break
    with lock:
        snapshot = [replace(r) for r in results]
    return _PoolResult(snapshot, bool(presses.count))


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
    return replace(written, message=_after_creation(written))


def _after_creation(written: BucketOutcome) -> str:
    """What the policy write said, as the second half of a creation's one sentence."""
    if written.message.startswith(WRITTEN_BUT):
        return "created the bucket and wrote its policy, but " + written.message.removeprefix(WRITTEN_BUT)
    return ("created the bucket and " if written.ok else "created the bucket, but ") + written.message


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
    if restored.message.startswith(WRITTEN_BUT):
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
    if _holds(live_text, first.previous_policy, partition):
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


def _also_wrote(later: ApplyRun, target: JournalEntry | None, live_text: str | None, partition: str) -> bool:
    """Whether a later run may have written the live policy this run wrote (after a hand edit
    put the old one back, it writes the very same text): undoing this run would undo it too."""
    return target is not None and _wrote(later.writes[target.bucket], live_text, partition)


def _wrote(records: Sequence[JournalEntry], live_text: str | None, partition: str) -> bool:
    """Whether the live policy is one of these write records put there (or may have)."""
    return any(
        (r.outcome == "applied" and policy_hash(live_text) == r.written_hash)
        or _holds(live_text, r.new_policy, partition)
        for r in records
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
    writer = _Run(edge, journal, partition, rolls_back=undone.id)
    chosen = [name for name in undone.buckets if bucket is None or name == bucket]

    def one(name: str) -> BucketOutcome:
        outcome = restore(name)
        records = undone.writes.get(name)
        kind = PolicyKind(records[0].kind) if records else PolicyKind.BUCKET
        creation = undone.created.get(name)
        if creation is None:
            return replace(outcome, kind=kind)
        template = CREATED_KEPT if creation.outcome == "applied" else MAYBE_CREATED
        note = template.format(bucket=name, run=creation.run)
        if not records:
            return BucketOutcome(name, True, note)
        return replace(outcome, message=f"{outcome.message}; {note}", kind=kind)

    def restore(name: str) -> BucketOutcome:
        records = undone.writes.get(name)
        if not records:
            return BucketOutcome(name, True, NOTHING_TO_UNDO)
        if undone.rolled_back(name):
            return BucketOutcome(name, True, ALREADY_ROLLED_BACK)
        if undone.restore_was_public(name):
            return BucketOutcome(name, False, RESTORE_WAS_PUBLIC)
        policy = PolicyTarget(edge, name, records[0].account, PolicyKind(records[0].kind))
        live = policy.read()
        if live.error is not None:
            return BucketOutcome(name, False, f"not restored: {live.error}")
        cut_off = undone.last_restore(name)
        if cut_off is not None and _holds(live.text, cut_off.new_policy, partition):
            # A rollback killed (or failing its read-back) after its write took effect.
            return BucketOutcome(name, True, ALREADY_ROLLED_BACK)
        target, why = rollback_target(records, live.text, partition)
        later = choice.later.get(name)
        stale = why == STALE_SINCE_APPLY
        if later is not None and (stale or _also_wrote(later, target, live.text, partition)):
            return BucketOutcome(name, False, ROLL_BACK_FIRST.format(run=later.id))
        if target is None:
            return BucketOutcome(name, why.startswith(NOTHING_TO_UNDO), why)
        refusal = _restore_refusal(target)
        if refusal is not None:
            return BucketOutcome(name, False, f"not restored: {refusal}")
        return write_policy(
            writer,
            policy,
            policy_hash(live.text),
            target.previous_policy,
            ROLLBACK,
            stale=STALE_SINCE_APPLY,
            live=live,  # read just above to choose the target: no second read
        )

    if not chosen:
        return []
    with _counting_presses() as presses:
        return _concurrently(one, chosen, lambda name: name, edge.parallelism, journal, presses, announce)
