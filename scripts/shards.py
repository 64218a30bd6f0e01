"""The matrix mode of the plan and apply workflows: shards of owner accounts, one job each.

    python scripts/shards.py matrix --count N
        writes the step output `matrix`, the JSON list of shard indexes 0..N-1
    python scripts/shards.py fetch (--prefix NAME- | --name NAME) --into DIR [--count N]
        downloads this run's artifacts whose names start with NAME- (or are NAME) into DIR/<name>/
    python scripts/shards.py digests DIR --count N
        writes the step output `digests`, the JSON list of each shard plan's digest by index

GitHub Actions' matrix runs the shards (no scheduler of ours); `reconciler plan --shard I/N`
picks a shard's accounts by a hash of the account id. Artifacts travel between the jobs of
one run through `gh api` (actions/download-artifact is not among the pinned actions).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import zipfile
from pathlib import Path

import ghapi

from reconciler.errors import BucketshareError
from reconciler.plan.digest import plan_digest
from reconciler.plan.file_read import loads
from reconciler.plan.scopes import MAX_SHARDS

PLAN_FILE = "plan-shard.json"
MAX_ARTIFACT_BYTES = 512 * 1024 * 1024


def shard_count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_SHARDS:
        raise SystemExit(
            f"error: BUCKETSHARE_SHARDS must be a whole number from 1 to {MAX_SHARDS}, not {text!r}"
        )
    return int(text)


def matrix(count: int) -> None:
    ghapi.set_output("matrix", json.dumps(list(range(count))))
    print(f"{count} shards")


def run_artifacts(repo: str, run_id: str) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    page = 1
    while True:
        answer = ghapi.get(f"repos/{repo}/actions/runs/{run_id}/artifacts?per_page=100&page={page}")
        items = list(answer.get("artifacts", []))
        found += items
        if not items or len(found) >= int(answer.get("total_count", 0)):
            return found
        page += 1


def _extract(data: bytes, into: Path) -> None:
    """An artifact zip, refusing members that would land outside `into`."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in archive.infolist():
            target = (into / member.filename).resolve()
            if not target.is_relative_to(into.resolve()) or member.file_size > MAX_ARTIFACT_BYTES:
                raise SystemExit(f"error: artifact member {member.filename!r} is not a plan file")
        archive.extractall(into)


def fetch(prefix: str | None, name: str | None, into: Path, count: int | None) -> None:
    repo, run_id = ghapi.repository(), os.environ["GITHUB_RUN_ID"]

    def chosen(artifact: dict[str, object]) -> bool:
        found = str(artifact.get("name", ""))
        return found == name if name is not None else found.startswith(prefix or "")

    wanted = [a for a in run_artifacts(repo, run_id) if chosen(a)]
    if count is not None and len(wanted) != count:
        names = sorted(str(a.get("name")) for a in wanted)
        raise SystemExit(f"error: expected {count} artifacts {prefix or name}*, found {len(wanted)}: {names}")
    for artifact in wanted:
        name = str(artifact["name"])
        target = into / name
        if target.exists():
            raise SystemExit(f"error: {target} exists already; fetch into an empty folder")
        target.mkdir(parents=True)
        _extract(ghapi.download(f"repos/{repo}/actions/artifacts/{artifact['id']}/zip"), target)
        print(f"fetched {name}")


def digests(folder: Path, count: int) -> None:
    """Each shard plan's digest, so every apply job applies exactly the shard that was merged."""
    by_index: list[str | None] = [None] * count
    for path in sorted(folder.glob(f"*/{PLAN_FILE}")):
        try:
            plan = loads(path.read_text(encoding="utf-8"), str(path))
        except BucketshareError as exc:
            raise SystemExit(f"error: {exc}") from exc
        shard = plan.account_scope.shard
        if shard is None or shard[0] >= count:
            raise SystemExit(f"error: {path} is not a shard of {count}: scope {plan.scope or ''!r}")
        by_index[shard[0]] = plan_digest(plan)
    if None in by_index:
        raise SystemExit(f"error: a shard plan is missing: {by_index}")
    ghapi.set_output("digests", json.dumps(by_index))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    split = sub.add_parser("matrix")
    split.add_argument("--count", required=True)
    get = sub.add_parser("fetch")
    which = get.add_mutually_exclusive_group(required=True)
    which.add_argument("--prefix")
    which.add_argument("--name")
    get.add_argument("--into", type=Path, required=True)
    get.add_argument("--count", default=None)
    sums = sub.add_parser("digests")
    sums.add_argument("folder", type=Path)
    sums.add_argument("--count", required=True)
    args = parser.parse_args(argv)
    if args.command == "matrix":
        matrix(shard_count(args.count))
    elif args.command == "fetch":
        fetch(args.prefix, args.name, args.into, None if args.count is None else shard_count(args.count))
    else:
        digests(args.folder, shard_count(args.count))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
