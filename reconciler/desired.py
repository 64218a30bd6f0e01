"""The offline half of the pipeline: config + shares/ -> validated, rendered desired state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from reconciler.config import Config, load_config
from reconciler.declarations import Declarations, load_shares
from reconciler.errors import Problem, errors_only
from reconciler.render import DesiredBucket, render_declarations


@dataclass(frozen=True)
class DesiredState:
    config: Config
    declarations: Declarations
    buckets: tuple[DesiredBucket, ...]
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> list[Problem]:
        return errors_only(list(self.problems))


def load_desired(shares_dir: Path, config_path: Path | None, today: dt.date) -> DesiredState:
    config, problems = load_config(config_path)
    if errors_only(problems):
        return DesiredState(config, Declarations(()), (), tuple(sorted(problems)))
    declarations, share_problems = load_shares(shares_dir, config, today)
    buckets, render_problems = render_declarations(declarations, config, today)
    all_problems = sorted([*problems, *share_problems, *render_problems])
    return DesiredState(config, declarations, tuple(buckets), tuple(all_problems))
