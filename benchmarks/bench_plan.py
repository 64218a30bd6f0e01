"""Plan 1,000 buckets against a local moto server, with --parallelism 1 and the default.

Run on demand: python benchmarks/bench_plan.py [--buckets N] [--delay-ms MS]
With --delay-ms, requests go through a 127.0.0.1 proxy that delays each direction, so
round trips dominate as they do against AWS (moto alone is CPU-bound on 2 cores).
Prints both timings and their ratio, measured in one run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3

from reconciler.aws import S3Edge
from reconciler.desired import load_desired
from reconciler.reconcile import gather_plan
from reconciler.sandbox import moto_server

ACCOUNT = "123456789012"  # moto's default account: the ambient test credentials act in it


def write_shares(root: Path, count: int) -> list[str]:
    names = [f"bench-{i:05d}-artifacts" for i in range(count)]
    for i, name in enumerate(names):
        (root / f"{name}.yaml").write_text(
            f'version: 1\nbucket: {name}\naccount: "{ACCOUNT}"\ngrants:\n'
            f'  - to: "{200000000000 + i % 50:012d}"\n    access: read\n    prefixes: [models/]\n'
            f"  - to: org:o-a1b2c3d4e5\n    access: read\n    prefixes: [shared/]\n"
        )
    return names


def _pipe(src: socket.socket, dst: socket.socket, delay: float) -> None:
    try:
        while data := src.recv(65536):
            time.sleep(delay)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def delay_proxy(target_port: int, delay: float) -> int:
    """A loopback TCP proxy adding `delay` seconds each way; returns its port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(256)

    def accept() -> None:
        while True:
            client, _ = server.accept()
            upstream = socket.create_connection(("127.0.0.1", target_port))
            threading.Thread(target=_pipe, args=(client, upstream, delay), daemon=True).start()
            threading.Thread(target=_pipe, args=(upstream, client, delay), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return int(server.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--buckets", type=int, default=1000)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    os.environ.pop("AWS_PROFILE", None)
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as tmp:
        names = write_shares(Path(tmp), args.buckets)
        s3 = boto3.client("s3", endpoint_url=endpoint)
        for name in names:
            s3.create_bucket(Bucket=name)
        if args.delay_ms:
            port = delay_proxy(int(endpoint.rsplit(":", 1)[1]), args.delay_ms / 1000)
            endpoint = f"http://127.0.0.1:{port}"
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        state = load_desired(Path(tmp), None, dt.date.today())
        timings = {}
        for parallelism in (1, 16):
            started = time.perf_counter()
            plan = gather_plan(state, S3Edge(parallelism), False, lambda total: lambda: None)
            timings[parallelism] = time.perf_counter() - started
            assert len(plan.buckets) == args.buckets and not plan.has_errors
        print(f"plan of {args.buckets} buckets (discovery on, {args.delay_ms:g} ms added each way):")
        print(f"  --parallelism 1 : {timings[1]:.2f} s")
        print(f"  --parallelism 16: {timings[16]:.2f} s (default)")
        print(f"  ratio 1/16: {timings[1] / timings[16]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
