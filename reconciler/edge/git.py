"""The git edge: which declaration files differ between a revision and the working tree.

The only module that runs git. A pull request that edits one file should not read every
bucket: `plan --changed-since REF` plans only the buckets declared in files that were
added, edited, moved or deleted since REF, on both sides of the change.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from reconciler.errors import BucketshareError
from reconciler.live.changes import ChangedShares

_TIMEOUT = 60


# Changes here can change how every bucket renders, so they mean a full plan.
_CODE_PATHS = (":(top)reconciler", ":(top)pyproject.toml")


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=_TIMEOUT, check=False)
    except FileNotFoundError as exc:
        raise BucketshareError("--changed-since needs git, which is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise BucketshareError(f"git {args[0]} took over {_TIMEOUT}s; plan without --changed-since") from exc
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise BucketshareError(f"git {args[0]}: {reason}")
    return done.stdout


def changed_shares(ref: str, shares_dir: Path, config_path: Path | None) -> ChangedShares:
    if ref.startswith("-") or not ref.strip():
        raise BucketshareError(f"--changed-since {ref!r} is not a git revision")
    try:
        commit = _git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}").strip()
    except BucketshareError as exc:
        raise BucketshareError(f"--changed-since {ref!r} is not a commit in this repository") from exc
    everything = None
    if _git("diff", "--name-only", commit, "--", *_CODE_PATHS).strip():
        everything = "the reconciler's code changed"
    if config_path is not None:
        changed = _git("diff", "--name-only", commit, "--", str(config_path))
        changed += _git("ls-files", "--others", "--exclude-standard", "--", str(config_path))
        if changed.strip():
            everything = f"{config_path} changed"
    top = Path(_git("rev-parse", "--show-toplevel").strip())
    # diff names files from the top of the repository; ls-files from the current directory.
    status = _git("diff", "--name-status", "-z", "--find-renames", commit, "--", str(shares_dir))
    current: set[Path] = set()
    previous: list[tuple[str, str]] = []
    fields = status.split("\0")
    index = 0
    while index < len(fields) - 1:
        kind = fields[index][:1]
        paths = fields[index + 1 : index + (3 if kind in "RC" else 2)]
        index += 3 if kind in "RC" else 2
        old, new = paths[0], paths[-1]
        if kind != "A":
            previous.append((old, _git("show", f"{commit}:{old}")))
        if kind != "D":
            current.add((top / new).resolve())
    untracked = _git("ls-files", "--others", "--exclude-standard", "-z", "--", str(shares_dir))
    current.update(Path(name).resolve() for name in untracked.split("\0") if name)
    return ChangedShares(ref, everything, frozenset(current), tuple(previous))
