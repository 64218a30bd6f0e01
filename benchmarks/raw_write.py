"""The ceiling for `reconciler apply`: the least a program can do to write policies safely.

    python benchmarks/raw_write.py WRITES.json [--parallelism 16]

WRITES.json is a list of {"bucket", "account", "policy"} (policy: the text to write).
Per bucket, in a thread pool, the same calls apply makes: GetBucketPolicy (the stale
check's re-read), PutBucketPolicy, GetBucketPolicy (read back), and GetBucketPolicyStatus
(is it public?), then, once every write is done, GetBucketPolicy of each bucket again in a
second pool (apply's check that no other writer overwrote it), all with ExpectedBucketOwner.
No journal, no comparison beyond the read backs being equal. One line on stderr: "wrote N
policies in S s".
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("writes", type=Path)
    parser.add_argument("--parallelism", type=int, default=16)
    args = parser.parse_args()
    writes: list[dict[str, Any]] = json.loads(args.writes.read_text())
    started = time.perf_counter()
    s3 = boto3.client("s3", config=Config(max_pool_connections=max(10, args.parallelism)))

    def get(bucket: str, account: str) -> str | None:
        try:
            return str(s3.get_bucket_policy(Bucket=bucket, ExpectedBucketOwner=account)["Policy"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchBucketPolicy":
                return None
            raise

    def write(item: dict[str, Any]) -> bool:
        bucket, account, policy = item["bucket"], item["account"], item["policy"]
        get(bucket, account)
        s3.put_bucket_policy(Bucket=bucket, Policy=policy, ExpectedBucketOwner=account)
        after = get(bucket, account)
        s3.get_bucket_policy_status(Bucket=bucket, ExpectedBucketOwner=account)
        return after is not None and json.loads(after) == json.loads(policy)

    def still_written(item: dict[str, Any]) -> bool:
        after = get(item["bucket"], item["account"])
        return after is not None and json.loads(after) == json.loads(item["policy"])

    with ThreadPoolExecutor(max_workers=args.parallelism) as pool:
        written = list(pool.map(write, writes))
    with ThreadPoolExecutor(max_workers=args.parallelism) as pool:
        ok = [w and still for w, still in zip(written, pool.map(still_written, writes), strict=True)]
    seconds = time.perf_counter() - started
    differing = ok.count(False)
    print(f"wrote {len(ok)} policies in {seconds:.3f} s ({differing} read back differently)", file=sys.stderr)
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
