"""Run one job per bucket on worker threads; the first Ctrl-C stops new work, the second stops waiting."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import Enum
from types import FrameType
from typing import Generic, TypeVar

from reconciler.execute.journal import Journal
from reconciler.execute.outcome import IN_FLIGHT, NOT_STARTED, ApplyInterrupted, BucketOutcome, OutcomeKind, T

R = TypeVar("R")

Announce = Callable[[int], None]


def run_concurrently(
    work: Callable[[T], BucketOutcome],
    items: Sequence[T],
    name: Callable[[T], str],
    parallelism: int,
    journal: Journal,
    presses: Presses,
    announce: Announce | None,
) -> list[BucketOutcome]:
    """work over items in a pool. On the first Ctrl-C no further item starts, but every item
    already started runs to its end: a worker stopped between its journal record and its
    write's outcome would leave a bucket nobody knows the state of. A second Ctrl-C stops
    waiting for them: the ones still in flight come back unsettled."""
    journal.open()
    try:
        done = run_pool(work, items, parallelism, presses, announce or (lambda _: None))
    finally:
        journal.close()
    outcomes = []
    for item, result in zip(items, done.items, strict=True):
        if result.error is not None and not done.interrupted:
            raise result.error
        if result.state is _State.DONE:
            outcomes.append(
                result.outcome or BucketOutcome(name(item), OutcomeKind.FAILED, str(result.error))
            )
        elif result.state is _State.STARTED:
            outcomes.append(BucketOutcome(name(item), OutcomeKind.UNKNOWN, IN_FLIGHT))
        else:
            outcomes.append(BucketOutcome(name(item), OutcomeKind.NOT_STARTED, NOT_STARTED))
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


class Presses:
    """Ctrl-C presses, counted by a SIGINT handler: a KeyboardInterrupt raised at any line of
    the waiting code could lose track of which buckets are in flight."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1


@contextmanager
def counting_presses() -> Iterator[Presses]:
    presses = Presses()
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


def run_pool(
    work: Callable[[T], R],
    items: Sequence[T],
    parallelism: int,
    presses: Presses,
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
