"""Many owner accounts: what assuming a role per account costs, and what sharding gives.

    python benchmarks/accounts.py [--accounts 3] [--buckets-per-account 20] [--shards 3]

On a moto server behind the loopback delay proxy (25 ms round trip), A owner accounts with
B declared buckets each are planned through reconciler.yaml's assume_role, beside the
smallest boto3 program making the same calls (one AssumeRole and one ListBuckets per
account, GetBucketPolicy and GetBucketEncryption per bucket, 16 threads). Then the same plan as S shards
(`plan --shard I/S`, run one after another here; a matrix runs them at once) and
merge-plans. Every measure is a whole process, so start-up counts; ratios are printed from
this one run.

    python benchmarks/accounts.py --merge-buckets 100000 --shards 8

instead times merge-plans alone on synthetic shard plans of that many no-op buckets (the
size a full plan of every bucket reaches), with its peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import aws_env  # benchmarks/ is sys.path[0] when run as a script
from delayproxy import DelayProxy

from reconciler.edge.sandbox import create_buckets, moto_server
from reconciler.plan.scopes import shard_of

TEMPLATE = "arn:{partition}:iam::{account}:role/bucketshare-{mode}"
RAW = """
import sys, time, boto3
from concurrent.futures import ThreadPoolExecutor
from botocore.config import Config
from botocore.exceptions import ClientError
accounts = sys.argv[1].split(",")
started = time.perf_counter()
sts = boto3.client("sts")
def account(a):
    role = f"arn:aws:iam::{a}:role/bucketshare-plan"
    c = sts.assume_role(RoleArn=role, RoleSessionName="raw")["Credentials"]
    s3 = boto3.client("s3", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                      aws_session_token=c["SessionToken"], config=Config(max_pool_connections=16))
    return a, s3, [b["Name"] for b in s3.list_buckets()["Buckets"]]
def read(item):
    a, s3, name = item
    try:
        s3.get_bucket_policy(Bucket=name, ExpectedBucketOwner=a)["Policy"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchBucketPolicy":
            raise
    try:
        s3.get_bucket_encryption(Bucket=name, ExpectedBucketOwner=a)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ServerSideEncryptionConfigurationNotFoundError":
            raise
with ThreadPoolExecutor(16) as pool:
    listed = list(pool.map(account, accounts))
    list(pool.map(read, [(a, s3, n) for a, s3, names in listed for n in names]))
print(f"{time.perf_counter() - started:.3f}", file=sys.stderr)
"""


def spread(count: int, shards: int) -> list[str]:
    """Account ids that fill the shards evenly, as many real ids would on average."""
    found: list[str] = []
    candidate = 400000000000
    while len(found) < count:
        candidate += 7919
        account = f"{candidate:012d}"
        if shard_of(account, shards) == len(found) % shards:
            found.append(account)
    return found


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def setup(moto_url: str, root: Path, accounts: list[str], per_account: int) -> None:
    names = {a: [f"bench-{a}-{i}" for i in range(per_account)] for a in accounts}
    create_buckets(moto_url, names, with_unmanaged=None)
    shares = root / "shares"
    shares.mkdir()
    for account, buckets in names.items():
        for bucket in buckets:
            (shares / f"{bucket}.yaml").write_text(
                f'version: 1\nbucket: {bucket}\naccount: "{account}"\nowner: ml\ngrants:\n'
                '  - to: "222222222222"\n    access: read\n',
                encoding="utf-8",
            )
    (root / "reconciler.yaml").write_text(f'version: 1\nassume_role: "{TEMPLATE}"\n', encoding="utf-8")


def synthetic_merge(buckets: int, shards: int) -> None:
    from reconciler.plan.file_write import dumps
    from reconciler.plan.model import BucketAction, BucketPlan, Plan

    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for shard in range(shards):
            names = [f"bench-{shard}-{i:07d}" for i in range(buckets // shards)]
            plans = tuple(
                BucketPlan(name, "111111111111", BucketAction.NOOP, True, "none", new_policy=_policy(name))
                for name in names
            )
            path = Path(tmp) / f"s{shard}.json"
            path.write_text(dumps(Plan(plans, "BucketShare", "aws", scope=f"shard {shard}/{shards}")))
            files.append(str(path))
        size = sum(Path(f).stat().st_size for f in files) / 1e6
        command = ["reconciler", "merge-plans", *files, "--save", str(Path(tmp) / "m.json"), "--digest-only"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        seconds = time.perf_counter() - started
        peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    print(
        f"merge-plans of {shards} shard plans, {buckets} buckets ({size:.0f} MB): {seconds:.2f} s, "
        f"peak RSS {peak:.0f} MB"
    )


def _policy(bucket: str) -> dict[str, object]:
    principals = [f"arn:aws:iam::{222222222222 + i}:root" for i in range(3)]
    statement = {
        "Sid": "BucketShareObjectReadAccountAll",
        "Effect": "Allow",
        "Principal": {"AWS": principals},
        "Action": ["s3:GetObject"],
        "Resource": [f"arn:aws:s3:::{bucket}/*"],
    }
    return {"Version": "2012-10-17", "Statement": [statement]}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--buckets-per-account", type=int, default=20)
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument("--merge-buckets", type=int, default=0)
    args = parser.parse_args()
    if args.merge_buckets:
        synthetic_merge(args.merge_buckets, args.shards)
        return 0
    accounts = spread(args.accounts, args.shards)
    with tempfile.TemporaryDirectory() as tmp, moto_server() as moto_url:
        root = Path(tmp)
        setup(moto_url, root, accounts, args.buckets_per_account)
        proxy = DelayProxy(int(moto_url.rsplit(":", 1)[1]), 0.0125).start()
        try:
            env = aws_env(proxy.url)
            source = ["--shares", "shares", "--config", "reconciler.yaml"]
            whole = min(
                timed(["reconciler", "plan", *source, "--save", "all.json"], env, root) for _ in range(2)
            )
            raw_script = root / "raw.py"
            raw_script.write_text(RAW, encoding="utf-8")
            raw = min(
                timed([sys.executable, str(raw_script), ",".join(accounts)], env, root) for _ in range(2)
            )
            shard_times = []
            for index in range(args.shards):
                command = [
                    "reconciler",
                    "plan",
                    *source,
                    "--shard",
                    f"{index}/{args.shards}",
                    "--save",
                    f"s{index}.json",
                ]
                shard_times.append(timed(command, env, root))
            merge = timed(
                [
                    "reconciler",
                    "merge-plans",
                    *(f"s{i}.json" for i in range(args.shards)),
                    "--save",
                    "merged.json",
                ],
                env,
                root,
            )
            same = (root / "merged.json").read_text() == (root / "all.json").read_text()
        finally:
            proxy.stop()
    buckets = args.accounts * args.buckets_per_account
    sizes = [sum(shard_of(a, args.shards) == i for a in accounts) for i in range(args.shards)]
    print(
        f"{args.accounts} accounts x {args.buckets_per_account} buckets = {buckets} buckets, 25 ms round trip"
    )
    print(
        f"plan with discovery, a role per account: {whole:.2f} s "
        f"(raw boto3, same calls: {raw:.2f} s, {whole / raw:.2f}x)"
    )
    print(f"per bucket: {whole / buckets * 1000:.1f} ms; raw {raw / buckets * 1000:.1f} ms")
    print(
        f"{args.shards} shards (accounts per shard {sizes}): slowest {max(shard_times):.2f} s, "
        f"sum {sum(shard_times):.2f} s; merge-plans {merge:.2f} s; merged plan == unsharded plan: {same}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
