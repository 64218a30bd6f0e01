from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from reconciler.desired import load_desired
from reconciler.errors import BucketshareError, DeclarationError
from reconciler.policy import policy_document


def render(
    shares_dir: Path, config_path: Path | None, today: dt.date, bucket: str | None, output_format: str
) -> int:
    state = load_desired(shares_dir, config_path, today)
    if state.errors:
        raise DeclarationError(state.errors)
    buckets = [b for b in state.buckets if bucket is None or b.bucket == bucket]
    if bucket is not None and not buckets:
        raise BucketshareError(f"bucket {bucket} is not declared under {shares_dir}")
    if output_format == "json":
        documents = {b.bucket: policy_document([s.statement for s in b.statements]) for b in buckets}
        print(json.dumps(documents, indent=2))
        return 0
    for desired in buckets:
        print(f"# {desired.bucket} (account {desired.account}): {len(desired.statements)} statements")
        for statement in desired.statements:
            sources = ", ".join(str(g.location) for g in statement.grants)
            print(f"## {statement.sid}  <- {sources}")
            print(json.dumps(statement.statement, indent=2))
    return 0
