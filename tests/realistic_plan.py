"""A plan the size and shape of a real pull request's: 16 buckets with 30-character names,
12-digit accounts, role ARNs with paths, reasons, expiry dates, a widened prefix list, a
changed access level, a revocation, a hand edit to revert, a customer managed KMS key and a
bucket that errors. Built with the pure planner (no AWS), for the rendering tests."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

from reconciler.declare.config import Config
from reconciler.declare.model import BucketShare, Grant
from reconciler.declare.share_file import parse_grantee
from reconciler.errors import Location
from reconciler.live.facts import BucketFacts, Encryption, Ownership
from reconciler.live.policy import LivePolicy
from reconciler.plan.bucket import build_plan
from reconciler.plan.model import Plan
from reconciler.policy.access import Access
from reconciler.policy.render import DesiredBucket, render_bucket

TODAY = dt.date(2026, 12, 1)
OWNER = "481516234200"
KEY = "arn:aws:kms:eu-west-1:481516234200:key/1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d"
_ROLES = (
    "arn:aws:iam::730335412875:role/service-role/data-platform/etl-nightly-loader",
    "arn:aws:iam::204719583366:role/inference/batch-scoring-prod",
    "arn:aws:iam::918273645501:role/analytics/quicksight@dataset-refresh",
)
_ACCOUNTS = ("730335412875", "204719583366", "918273645501", "556677889900")
_REASONS = (
    "Nightly ETL loads the curated tables for the finance dashboards (FIN-2231)",
    "Batch scoring reads the promoted models; approved by ml-platform",
    None,
)


def _grant(to: str, access: str, prefixes: tuple[str, ...], path: str, line: int, **extra: Any) -> Grant:
    problem, grantee = parse_grantee(to, "aws")
    assert problem is None and grantee is not None, problem
    return Grant(grantee, Access(access), prefixes, Location(path, line, 5), **extra)


_NAMES = (
    "curated",
    "raw-events",
    "model-store",
    "feature-lake",
    "partner-exports",
    "fraud-scores",
    "clickstream",
    "billing-ledger",
    "search-index",
    "ml-datasets",
    "audit-trail",
    "pricing",
    "inventory",
    "risk-reports",
    "media-assets",
    "support-tickets",
)


def _bucket_name(index: int) -> str:
    """Up to 30 characters: a long realistic name, hyphen pieces and all."""
    return f"acme-{_NAMES[index]}-eu-west-1-prod-0000"[:30].rstrip("-")


def _share(bucket: str, grants: tuple[Grant, ...], owners: tuple[str, ...]) -> DesiredBucket:
    share = BucketShare(bucket, OWNER, grants, (Location(f"shares/{bucket}.yaml", 1, 9),), owners)
    return render_bucket(share, Config(), TODAY)


def _policy(*statements: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _statements(desired: DesiredBucket) -> list[dict[str, Any]]:
    return [copy.deepcopy(d.statement) for d in desired.statements]


def realistic_plan() -> Plan:
    wanted: list[DesiredBucket] = []
    live: list[LivePolicy] = []
    for index in range(16):
        bucket = _bucket_name(index)
        path = f"shares/{bucket}.yaml"
        role, account = _ROLES[index % 3], _ACCOUNTS[index % 4]
        reason = _REASONS[index % 3]
        grants = (
            _grant(role, "read", ("curated/finance/", "curated/risk/"), path, 8, reason=reason),
            _grant(
                account,
                "read-write",
                ("exports/partner-feeds/",),
                path,
                14,
                expires=dt.date(2027, 6, 30) if index % 2 else None,
            ),
        )
        owners = ("data-platform",) if index % 2 else ("ml-platform", "fraud-detection")
        desired = _share(bucket, grants, owners)
        wanted.append(desired)
        facts = None
        if index == 0:
            # The same grantee, one prefix more: one row saying what changed.
            narrower = _share(
                bucket, (_grant(role, "read", ("curated/finance/",), path, 8), grants[1]), owners
            )
            text = _policy(*_statements(narrower))
        elif index == 1:
            # A read grant made read-write.
            before = (grants[0], _grant(account, "read", ("exports/partner-feeds/",), path, 14))
            text = _policy(*_statements(_share(bucket, before, owners)))
        elif index == 2:
            # A grantee added by hand to one of our statements: the plan reverts it.
            statements = _statements(desired)
            for statement in statements:
                if statement["Sid"].startswith("BucketShareObjectsReadWriteAccount"):
                    statement["Principal"] = {
                        "AWS": [f"arn:aws:iam::{account}:root", "arn:aws:iam::999988887777:root"]
                    }
            text = _policy(*statements)
        elif index == 3:
            facts = BucketFacts(Ownership.ENFORCED, Encryption("aws:kms", KEY))
            text = None
        elif index == 4:
            live.append(
                LivePolicy(bucket, OWNER, None, "access denied on GetBucketPolicy: needs s3:GetBucketPolicy")
            )
            continue
        elif index == 5:
            # A hand-written statement S3 refuses on any write: the bucket errors, grants wait.
            orphan = {
                "Sid": "LegacyVendorRead",
                "Effect": "Allow",
                "Principal": {"AWS": "AROAEXAMPLEID1234567"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
            text = _policy(orphan)
        else:
            text = None
        live.append(LivePolicy(bucket, OWNER, text, facts=facts))
    return build_plan(wanted, live, "BucketShare", "aws")
