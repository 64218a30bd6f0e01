"""The ceiling for `reconciler plan`: the least a program can do to read every bucket's policy.

    python benchmarks/raw_read.py BUCKETS.txt --account 123456789012 [--parallelism 16]

Plain boto3: one client, a thread pool, GetBucketPolicy with ExpectedBucketOwner per bucket
(NoSuchBucketPolicy is an answer, not an error). No YAML, no planning, no output but one
line on stderr: "read N policies in S s" (the read phase alone, without start-up).
Endpoint and credentials come from the environment, as for the reconciler.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("buckets", type=Path, help="file of bucket names, one a line")
    parser.add_argument("--account", required=True)
    parser.add_argument("--parallelism", type=int, default=16)
    args = parser.parse_args()
    names = args.buckets.read_text().split()
    started = time.perf_counter()
    s3 = boto3.client("s3", config=Config(max_pool_connections=max(10, args.parallelism)))

    def read(name: str) -> str | None:
        try:
            return str(s3.get_bucket_policy(Bucket=name, ExpectedBucketOwner=args.account)["Policy"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchBucketPolicy":
                return None
            raise

    with ThreadPoolExecutor(max_workers=args.parallelism) as pool:
        policies = list(pool.map(read, names))
    seconds = time.perf_counter() - started
    print(f"read {len(policies)} policies in {seconds:.3f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
