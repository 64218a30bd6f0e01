"""The offline half of the pipeline: config + shares/ -> validated, rendered desired state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from reconciler.declare.config import Config, load_config
from reconciler.declare.expiry import ExpiringGrant, expiring_grants
from reconciler.declare.model import Declarations
from reconciler.declare.tree import Chooser, load_shares
from reconciler.errors import Problem, Severity, errors_only
from reconciler.policy.render import DesiredBucket, render_declarations


@dataclass(frozen=True)
class DesiredState:
    config: Config
    declarations: Declarations
    buckets: tuple[DesiredBucket, ...]
    problems: tuple[Problem, ...]
    today: dt.date

    @property
    def errors(self) -> list[Problem]:
        return errors_only(list(self.problems))

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    def expiring(self) -> list[ExpiringGrant]:
        return expiring_grants(self.declarations, self.today, self.config.expiry_warning_days)


def load_desired(
    shares_dir: Path, config_path: Path | None, today: dt.date, choose: Chooser | None = None
) -> DesiredState:
    config, problems = load_config(config_path)
    if errors_only(problems):
        return DesiredState(config, Declarations(()), (), tuple(sorted(problems)), today)
    declarations, share_problems = load_shares(shares_dir, config, today, choose)
    buckets, render_problems = render_declarations(declarations, config, today)
    all_problems = sorted([*problems, *share_problems, *render_problems])
    return DesiredState(config, declarations, tuple(buckets), tuple(all_problems), today)
