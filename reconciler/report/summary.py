"""What every view of a plan shows first, in one order: errors, warnings, grants expiring
soon, one line of totals (then who gains and loses what: access_changes.py). Shared by the
terminal and Markdown renderers so the two never tell a reviewer different things."""

from __future__ import annotations

import datetime as dt
import json

from reconciler.declare.expiry import utc_today
from reconciler.plan.kinds import Target
from reconciler.plan.model import BucketAction, BucketPlan, ChangeKind, Plan
from reconciler.policy.render import bucket_arn, bucket_uri


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


_LINE = json.JSONEncoder(ensure_ascii=False).encode
"""json.dumps(value, ensure_ascii=False) without a new encoder per call: a plan renders
tens of thousands of statements."""


def json_lines(document: dict[str, object] | list[dict[str, object]]) -> list[str]:
    """A policy, or a list of statements, as valid JSON to paste: one line per statement, so
    a plan comment stays short."""
    line = _LINE
    if isinstance(document, list):
        items = [f"  {line(s)}," for s in document]
        return ["[", *items[:-1], items[-1][:-1], "]"] if items else ["[]"]
    statements = document.get("Statement")
    if not isinstance(statements, list) or not statements:
        return [line(document)]
    head = {k: v for k, v in document.items() if k != "Statement"}
    opening = line(head)[:-1] + (', "Statement": [' if head else '"Statement": [')
    return [opening, *json_lines(statements)[1:-1], "]}"]


def policy_name(plan: BucketPlan) -> str:
    """How a planned policy is named to a reader: the bucket, or the key and its buckets."""
    name = plan.target.rules.shown(plan.bucket)
    return f"{name} (for {', '.join(plan.key_users)})" if plan.key_users else name


def errors(plan: Plan) -> list[str]:
    """Plan-wide errors, then each failing bucket's, named."""
    found = list(plan.errors)
    found += [f"{b.bucket}: {e}" for b in plan.policies for e in b.errors]
    return found


def warnings(plan: Plan) -> list[str]:
    found = list(plan.warnings)
    found += [f"{b.bucket}: {w}" for b in plan.policies for w in b.warnings]
    return found


def expiring(plan: Plan, today: dt.date | None = None) -> list[str]:
    day = today or utc_today()
    return [grant.describe(day) for grant in plan.expiring]


def partial(plan: Plan, changed: str | None = None) -> str | None:
    """The first thing a partial plan says about itself; `changed` words what the revision
    compared against stands for ("in this pull request"), in place of its name."""
    said = []
    if plan.scope is not None:
        said.append(
            f"Shard plan ({plan.scope}): only the buckets of those owner accounts; "
            "reconciler merge-plans joins the shards into the plan to review."
        )
    if plan.partial_since is not None:
        changed = changed or f"since {plan.partial_since}"
        said.append(
            f"Partial plan: only the buckets whose declarations changed {changed} "
            f"({plural(len(plan.buckets), 'bucket')}); the scheduled drift run plans everything."
        )
    return " ".join(said) or None


def totals(plan: Plan) -> str:
    """One line: what the merge does, in counts."""
    changing = sum(1 for b in plan.buckets if b.writes)
    created = plan.count(BucketAction.CREATE)
    # Named only when there are some: most plans create nothing, and their line stays as it was.
    creating = f"{created:,} create-bucket, " if created else ""
    parts = [
        f"{plural(changing, 'bucket')} to change ({creating}"
        f"{plan.count(BucketAction.PUT):,} put-policy, {plan.count(BucketAction.DELETE):,} delete-policy)",
        f"{plan.count(BucketAction.NOOP):,} no-op",
        plural(plan.count(BucketAction.ERROR), "error"),
        f"statements: {plan.statement_count(ChangeKind.ADD):,} to add, "
        f"{plan.statement_count(ChangeKind.CHANGE):,} to change, "
        f"{plan.statement_count(ChangeKind.REMOVE):,} to remove",
    ]
    if plan.keys:
        changing_keys = sum(1 for k in plan.keys if k.action is BucketAction.PUT)
        failing_keys = sum(1 for k in plan.keys if k.action is BucketAction.ERROR)
        parts.append(
            f"KMS key policies: {changing_keys:,} to change, {failing_keys:,} with errors, "
            f"of {plural(len(plan.keys), 'key')} managed"
        )
    return "; ".join(parts)


def locators(bucket: str, partition: str) -> str:
    """How people and tools name the bucket: its ARN and its s3:// URI."""
    return f"{bucket_arn(bucket, partition)}  {bucket_uri(bucket)}"


def target_locators(target: Target, partition: str) -> str | None:
    """A target's ARN and URI, for kinds whose name is not its ARN already (a bucket)."""
    uri = target.uri
    return None if uri is None else f"{target.arn(partition)}  {uri}"
