"""The ceiling for `reconciler plan`: the least a program can do to read every bucket's policy.

    python benchmarks/raw_read.py BUCKETS.txt --account 123456789012 [--parallelism 16] [--writers FILE]
        [--discover]

Plain boto3: one client, a thread pool, and per bucket the calls plan makes for a declared
bucket: GetBucketPolicy and GetBucketEncryption with ExpectedBucketOwner, plus
GetBucketOwnershipControls for the buckets listed in --writers (a "not found" is an answer,
not an error). With --discover, first the two calls of plan's discovery:
GetCallerIdentity, then ListBuckets (the listed buckets are the declared ones). No YAML, no
planning, no output but one line on stderr: "read N policies in S s" (the read phase alone, without start-up).
Endpoint and credentials come from the environment, as for the reconciler.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("buckets", type=Path, help="file of bucket names, one a line")
    parser.add_argument("--account", required=True)
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--writers", type=Path, default=None, help="buckets whose ownership is read too")
    parser.add_argument("--discover", action="store_true", help="GetCallerIdentity and ListBuckets first")
    args = parser.parse_args()
    names = args.buckets.read_text().split()
    writers = set(args.writers.read_text().split()) if args.writers else set()
    started = time.perf_counter()
    s3 = boto3.client("s3", config=Config(max_pool_connections=max(10, args.parallelism)))
    if args.discover:
        boto3.client("sts").get_caller_identity()
        s3.list_buckets()

    def answer(call: Callable[[], Any], absent: str) -> Any:
        try:
            return call()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == absent:
                return None
            raise

    def read(name: str) -> str | None:
        owner = args.account
        policy = answer(
            lambda: s3.get_bucket_policy(Bucket=name, ExpectedBucketOwner=owner), "NoSuchBucketPolicy"
        )
        answer(
            lambda: s3.get_bucket_encryption(Bucket=name, ExpectedBucketOwner=owner),
            "ServerSideEncryptionConfigurationNotFoundError",
        )
        if name in writers:
            answer(
                lambda: s3.get_bucket_ownership_controls(Bucket=name, ExpectedBucketOwner=owner),
                "OwnershipControlsNotFoundError",
            )
        return None if policy is None else str(policy["Policy"])

    with ThreadPoolExecutor(max_workers=args.parallelism) as pool:
        policies = list(pool.map(read, names))
    seconds = time.perf_counter() - started
    print(f"read {len(policies)} policies in {seconds:.3f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
