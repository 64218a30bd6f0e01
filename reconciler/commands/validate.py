from __future__ import annotations

import datetime as dt
from pathlib import Path

from reconciler.desired import load_desired
from reconciler.errors import DeclarationError


def validate(shares_dir: Path, config_path: Path | None, today: dt.date) -> int:
    state = load_desired(shares_dir, config_path, today)
    warnings = [p for p in state.problems if p not in state.errors]
    for warning in warnings:
        print(warning)
    if state.errors:
        raise DeclarationError(state.errors)
    buckets = len(state.declarations.buckets)
    grants = state.declarations.grant_count()
    print(
        f"{buckets} buckets, {grants} grants, 0 problems"
        + (f", {len(warnings)} warnings" if warnings else "")
    )
    return 0
