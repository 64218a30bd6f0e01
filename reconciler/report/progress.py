"""Progress while plan reads live policies: a bar on a terminal, one count line in CI logs."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from reconciler.report.summary import plural
from reconciler.report.terminal import rich_console

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress


class ReadProgress:
    """A progress bar on a terminal; a single count line in CI logs."""

    def __init__(self) -> None:
        self._bar: RichProgress | None = None
        self._started = time.monotonic()
        self._total = 0

    def __call__(self, total: int) -> Callable[[], None]:
        self._total = total
        if sys.stderr.isatty() and total > 1:
            # Imported only for a bar: a CI run's plan never loads rich.
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(transient=True, console=rich_console(sys.stderr))
            self._bar.start()
            task = self._bar.add_task("reading bucket policies", total=total)
            bar = self._bar
            return lambda: bar.advance(task)
        return lambda: None

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()

    def report(self) -> None:
        """Only after a whole read: an interrupted or refused run has no count to give."""
        seconds = time.monotonic() - self._started
        read = plural(self._total, "bucket policy", "bucket policies")
        print(f"read {read} in {seconds:.1f}s", file=sys.stderr)
