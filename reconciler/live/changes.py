"""The declaration files a git revision range changed: what the git edge returns to plan/changed.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ChangedShares:
    ref: str
    everything: str | None
    """Why every bucket must be planned (reconciler.yaml or the reconciler's code changed)."""
    current: frozenset[Path]
    """Working-tree files (resolved) that were added, edited or are a move's target."""
    previous: tuple[tuple[str, str], ...]
    """(path, text at ref) of files edited, deleted or moved away."""
