"""reconciler consumer-policy: the identity policy a grantee attaches on its own side.

A bucket policy only lets the other account in; its principals still need an identity
policy allowing the same actions (AWS-BEHAVIOUR.md). This prints it for one account or one
role/user across every declared bucket, plus the KMS key of each bucket encrypted with a
customer managed key. Which key that is lives only in AWS, so the default encryption of the
buckets involved is read live (GetBucketEncryption, the plan role is enough); `--offline`
reads nothing and leaves the KMS part out, saying so.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

from reconciler.commands.source import Source, add_source_arguments, describe
from reconciler.declare.identifiers import ACCOUNT_RE, IAM_ARN_RE
from reconciler.declare.model import GranteeKind
from reconciler.declare.roles import AccountRoles
from reconciler.errors import BucketshareError, ExitCode
from reconciler.live.facts import Encryption, KeyKind, key_kind
from reconciler.plan.facts import key_error
from reconciler.policy.consumer import BucketAccess, GrantMatch, bucket_access, grants_of, identity_policy
from reconciler.policy.render import DesiredBucket


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(
        parser,
        "reconciler consumer-policy --to 222222222222 --format json > policy.json",
        "reconciler consumer-policy --to arn:aws:iam::333333333333:role/inference --offline",
    )
    add_source_arguments(parser)
    parser.add_argument(
        "--to",
        required=True,
        metavar="ACCOUNT_OR_ARN",
        help="a 12-digit account id, or an IAM role or user ARN",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: the policy with notes as # comments; json: the policy alone, notes on stderr",
    )
    parser.add_argument(
        "--offline", action="store_true", help="read nothing from AWS; the KMS key statements are left out"
    )


@dataclass(frozen=True)
class ConsumerPolicyOptions:
    source: Source
    to: str
    output_format: str = "text"
    offline: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Self:
        return cls(Source.from_args(args), args.to.strip(), args.format, args.offline)


@dataclass(frozen=True)
class _Consumer:
    to: str
    account: str
    arn: str | None
    """Set when `to` names a role or user."""

    def describe(self) -> str:
        if self.arn is None:
            return f"account {self.account} (its account grants)"
        return f"{self.arn} (its own grants and the account grants of account {self.account})"


def _consumer(to: str, partition: str) -> _Consumer:
    if ACCOUNT_RE.match(to):
        return _Consumer(to, to, None)
    match = IAM_ARN_RE.match(to)
    if match is None or (match["root"] is None and match["kind"] is None):
        raise BucketshareError(
            f"--to {to!r} is not an account id or an IAM ARN; give 12 digits, or "
            f"arn:{partition}:iam::<account>:role/<name> (or :user/<name>)"
        )
    if match["partition"] != partition:
        raise BucketshareError(
            f"--to {to!r}: partition {match['partition']!r} is not the configured {partition!r}"
        )
    if match["root"]:
        return _Consumer(to, match["account"], None)
    return _Consumer(to, match["account"], to)


def run(options: ConsumerPolicyOptions) -> int:
    state = options.source.load_valid()
    partition = state.config.partition
    consumer = _consumer(options.to, partition)
    match = grants_of(consumer.arn or consumer.account, consumer.account if consumer.arn else None)
    buckets = [b for b in state.buckets if bucket_access(b.bucket, b.statements, match, None, partition)]
    if not buckets:
        raise BucketshareError(f"no active grant in {options.source.shares} reaches {consumer.describe()}")
    notes = [f"identity policy for {consumer.describe()}, from {len(buckets)} declared bucket(s)"]
    notes += _other_grants(state.buckets, consumer)
    keys: dict[str, str | None] = {b.bucket: None for b in buckets}
    problems: list[str] = []
    if options.offline:
        notes.append("--offline: default encryption was not read, so KMS key statements are left out")
    else:
        keys, problems = _read_keys(buckets, state.config.roles)
    accesses = [_access(b, match, keys[b.bucket], partition) for b in buckets]
    document = identity_policy(a for a in accesses if a is not None)
    _print(document, notes, problems, options.output_format)
    return ExitCode.ERROR if problems else ExitCode.OK


def _access(
    desired: DesiredBucket, match: GrantMatch, key: str | None, partition: str
) -> BucketAccess | None:
    return bucket_access(desired.bucket, desired.statements, match, key, partition)


def _other_grants(buckets: Sequence[DesiredBucket], consumer: _Consumer) -> list[str]:
    """Grants to roles of an account named by its id are not the whole account's: say so."""
    if consumer.arn is not None:
        return []
    arns = sorted(
        {
            g.grantee.id
            for b in buckets
            for s in b.statements
            for g in s.grants
            if g.grantee.kind in (GranteeKind.ROLE, GranteeKind.USER)
            and g.grantee.account == consumer.account
        }
    )
    return [f"not included: the grants to {arn}; run with --to {arn} for them" for arn in arns]


def _read_keys(
    buckets: Sequence[DesiredBucket], roles: AccountRoles
) -> tuple[dict[str, str | None], list[str]]:
    # Imported here: only this path needs boto3 (as in plan and apply).
    from reconciler.edge.s3 import S3Edge

    found = S3Edge(roles=roles, mode="plan").read_encryptions([(b.bucket, b.account) for b in buckets])
    keys: dict[str, str | None] = {}
    problems: list[str] = []
    for desired, encryption in zip(buckets, found, strict=True):
        keys[desired.bucket] = None
        if isinstance(encryption, str):
            problems.append(f"bucket {desired.bucket}: {encryption}; its KMS key statement is left out")
            continue
        keys[desired.bucket], problem = _key_of(encryption, desired.bucket)
        if problem is not None:
            problems.append(f"bucket {desired.bucket}: {problem}")
    return keys, problems


def _key_of(encryption: Encryption, bucket: str) -> tuple[str | None, str | None]:
    kind = key_kind(encryption)
    if kind is KeyKind.CUSTOMER:
        return encryption.kms_key_id, None
    return None, key_error(kind, encryption, bucket)


def _print(document: dict[str, object], notes: list[str], problems: list[str], output_format: str) -> None:
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if output_format == "json":
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return
    for note in notes:
        print(f"# {note}")
    print(json.dumps(document, indent=2))
