from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from rich.progress import Progress as RichProgress

from reconciler.aws import S3Edge
from reconciler.desired import DesiredState
from reconciler.errors import DeclarationError
from reconciler.plan import Plan
from reconciler.reconcile import gather_plan
from reconciler.report.jsonplan import dumps
from reconciler.report.markdown import render_markdown
from reconciler.report.terminal import make_console, render_terminal

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


class ReadProgress:
    """A progress bar on a terminal; a single count line in CI logs."""

    def __init__(self) -> None:
        self._bar: RichProgress | None = None
        self._started = time.monotonic()
        self._total = 0

    def __call__(self, total: int) -> Callable[[], None]:
        self._total = total
        if sys.stderr.isatty() and total > 1:
            self._bar = RichProgress(transient=True, console=make_console(sys.stderr))
            self._bar.start()
            task = self._bar.add_task("reading bucket policies", total=total)
            bar = self._bar
            return lambda: bar.advance(task)
        return lambda: None

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
        seconds = time.monotonic() - self._started
        print(f"read {self._total} bucket policies in {seconds:.1f}s", file=sys.stderr)


def make_plan(state: DesiredState, parallelism: int, declared_only: bool) -> Plan:
    if state.errors:
        raise DeclarationError(state.errors)
    progress = ReadProgress()
    try:
        return gather_plan(state, S3Edge(parallelism), declared_only, progress)
    finally:
        progress.finish()


def render(plan: Plan, output_format: str) -> str | None:
    """The plan as text for a file or pipe; None means print to the terminal with rich."""
    if output_format == "json":
        return dumps(plan)
    if output_format == "markdown":
        return render_markdown(plan)
    return None


def show(plan: Plan, output_format: str, out: Path | None) -> None:
    text = render(plan, output_format)
    if out is not None:
        if text is None:
            with out.open("w", encoding="utf-8") as handle:
                render_terminal(plan, make_console(handle))
        else:
            out.write_text(text, encoding="utf-8")
    elif text is None:
        render_terminal(plan, make_console(sys.stdout))
    else:
        sys.stdout.write(text)


def plan_exit_code(plan: Plan, detailed: bool) -> int:
    if plan.has_errors:
        return EXIT_ERROR
    return EXIT_CHANGES if detailed and plan.has_changes else EXIT_OK


def plan_command(
    state: DesiredState,
    output_format: str,
    out: Path | None,
    save: Path | None,
    detailed: bool,
    parallelism: int,
    declared_only: bool,
) -> int:
    plan = make_plan(state, parallelism, declared_only)
    show(plan, output_format, out)
    if save is not None:
        save.write_text(dumps(plan), encoding="utf-8")
    return plan_exit_code(plan, detailed)
