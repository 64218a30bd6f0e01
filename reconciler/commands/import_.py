"""reconciler import: write a declaration for what a bucket's live policy already grants."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from reconciler.commands.source import Source, add_source_arguments, describe
from reconciler.declare.config import Config
from reconciler.declare.identifiers import check_account, check_bucket_name
from reconciler.declare.share_file import load_text
from reconciler.edge.s3 import S3Edge
from reconciler.errors import BucketshareError, ExitCode, errors_only
from reconciler.importer.grants import ImportResult, import_policy
from reconciler.importer.writer import declaration_text, proposals_snippet
from reconciler.policy.normalize import statements_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(
        parser,
        "reconciler import --bucket acme-model-artifacts           # writes shares/acme-model-artifacts.yaml",
        "reconciler import --bucket acme-model-artifacts --adopt   # ... and lists the statements to replace",
    )
    add_source_arguments(parser)
    parser.add_argument("--bucket", required=True, help="the bucket whose live policy to import")
    parser.add_argument(
        "--account",
        default=None,
        metavar="ID",
        help="the bucket's owner account (default: the credentials' account)",
    )
    parser.add_argument(
        "--adopt",
        action="store_true",
        help="record the hand-written statements the grants express, for apply to replace",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="declaration to write (default: shares/BUCKET.yaml)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite --out when it exists")


@dataclass(frozen=True)
class ImportOptions:
    source: Source
    bucket: str
    account: str | None = None
    adopt: bool = False
    out: Path | None = None
    force: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Self:
        if problem := check_bucket_name(args.bucket):
            raise BucketshareError(f"--bucket: {problem}")
        if args.account is not None and (problem := check_account(args.account)):
            raise BucketshareError(f"--account: {problem}")
        return cls(Source.from_args(args), args.bucket, args.account, args.adopt, args.out, args.force)

    def out_path(self) -> Path:
        return self.out or self.source.shares / f"{self.bucket}.yaml"


def run(options: ImportOptions) -> int:
    config = options.source.load_config()
    out = options.out_path()
    check_target(out, options.force)
    edge = S3Edge(parallelism=1, roles=config.roles, mode="plan")
    account = options.account or edge.caller_account()
    if account is None:
        raise BucketshareError(
            "cannot tell which account owns the bucket: sts:GetCallerIdentity failed; pass --account"
        )
    result = import_policy(
        live_statements(edge, options.bucket, account),
        options.bucket,
        account,
        config.partition,
        config.sid_prefix,
        config.all_access_levels(),
    )
    text = declaration_text(options.bucket, account, result, options.adopt)
    check_loads(text, out, config)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BucketshareError(f"{out}: cannot write the declaration ({exc.strerror})") from exc
    print(summary(out, result, options.adopt))
    snippet = proposals_snippet(result)
    if snippet:
        print("To express the rest exactly, add these access levels to reconciler.yaml and import again:")
        print("\n".join(snippet))
    return validate_tree(options.source, out)


def check_target(out: Path, force: bool) -> None:
    """Refuse, before any AWS call, to overwrite a declaration (its grants would be lost)."""
    if out.is_dir():
        raise BucketshareError(f"{out}: is a directory; give --out a file name")
    if (out.exists() or out.is_symlink()) and not force:
        raise BucketshareError(f"{out}: already exists; pass --force to overwrite it, or --out another file")
    if not out.parent.is_dir():
        raise BucketshareError(f"{out}: folder {out.parent} does not exist; create it first")


def live_statements(edge: S3Edge, bucket: str, account: str) -> list[Any]:
    live = edge.read_policy(bucket, account)
    if live.error is not None:
        raise BucketshareError(f"bucket {bucket} (account {account}): {live.error}")
    if live.text is None:
        return []
    try:
        document = json.loads(live.text)
    except json.JSONDecodeError as exc:
        raise BucketshareError(f"bucket {bucket}: the live policy is not valid JSON ({exc.msg})") from exc
    if not isinstance(document, dict):
        raise BucketshareError(f"bucket {bucket}: the live policy is not a JSON object")
    return statements_of(document)


def check_loads(text: str, out: Path, config: Config) -> None:
    """What import writes must read back as a declaration; anything else is a bucketshare bug."""
    _, problems = load_text(text, str(out), config)
    if errors_only(problems):
        raise AssertionError("import wrote a declaration that does not load: " + str(problems[0]))


def summary(out: Path, result: ImportResult, adopt: bool) -> str:
    widened = sum(1 for g in result.grants if g.widening)
    parts = [
        f"wrote {out}: {len(result.grants)} grants"
        + (f" ({widened} widened, said beside each)" if widened else ""),
        f"{len(result.unmanaged)} statements left unmanaged",
    ]
    if adopt:
        parts.append(f"{len(result.adoptable)} adopted")
    elif result.adoptable:
        parts.append(f"{len(result.adoptable)} could be adopted with --adopt")
    return ", ".join(parts) + " (listed at the top of the file)"


def validate_tree(source: Source, out: Path) -> int:
    """The shares tree with the new file must still validate (guardrails, a bucket already
    declared elsewhere); the file is kept either way, for the person to edit."""
    if not out.resolve().is_relative_to(source.shares.resolve()):
        return ExitCode.OK
    state = source.load()
    for problem in state.problems:
        print(problem, file=sys.stderr)
    if state.errors:
        print(f"{len(state.errors)} problems: edit {out} before committing it", file=sys.stderr)
        return ExitCode.ERROR
    return ExitCode.OK
