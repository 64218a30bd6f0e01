"""The few GitHub REST calls the workflow scripts make, all through `gh api`.

`gh` is preinstalled on GitHub's runners and reads GH_TOKEN. Every call here is a documented
endpoint, so the stand-in the tests put on PATH (tests/integration/fake_gh.py) stays small.
Bodies go to `gh api --input -` as JSON on stdin: nothing is ever passed through a shell.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any, NamedTuple

BOT_LOGIN = "github-actions[bot]"
"""The author of every comment and issue the workflows write with GITHUB_TOKEN. Only its
comments are read back: anybody can post a comment that starts with our marker."""
MAX_BODY_CHARS = 65_000
"""GitHub refuses comment and issue bodies over 65,536 characters."""


class GhError(Exception):
    def __init__(self, command: list[str], returncode: int, stderr: str) -> None:
        super().__init__(f"{' '.join(command[:5])} failed ({returncode}): {stderr.strip()}")
        self.stderr = stderr

    @property
    def forbidden(self) -> bool:
        return "HTTP 403" in self.stderr


def _gh(arguments: list[str], body: dict[str, Any] | None = None) -> Any:
    command = ["gh", "api", *arguments]
    if body is not None:
        command += ["--input", "-"]
    proc = subprocess.run(
        command,
        input=None if body is None else json.dumps(body),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise GhError(command, proc.returncode, proc.stderr)
    return json.loads(proc.stdout) if proc.stdout.strip() else None


def get(path: str) -> Any:
    return _gh(["-X", "GET", path])


def download(path: str) -> bytes:
    """A binary answer (an artifact's zip: gh follows GitHub's redirect to the file)."""
    command = ["gh", "api", "-X", "GET", path]
    proc = subprocess.run(command, capture_output=True, check=False)
    if proc.returncode != 0:
        raise GhError(command, proc.returncode, proc.stderr.decode("utf-8", "replace"))
    return proc.stdout


def get_all(path: str) -> list[Any]:
    """Every item of a paginated list: a PR can have hundreds of comments."""
    joiner = "&" if "?" in path else "?"
    pages = _gh(["--paginate", "--slurp", "-X", "GET", f"{path}{joiner}per_page=100"])
    return [item for page in pages for item in page]


def send(method: str, path: str, body: dict[str, Any]) -> Any:
    return _gh(["-X", method, path], body)


def repository() -> str:
    return os.environ["GITHUB_REPOSITORY"]


def first_line(body: str | None) -> str:
    return (body or "").split("\n", 1)[0].rstrip("\r")


def by_bot(item: dict[str, Any]) -> bool:
    user = item.get("user") or {}
    return bool(user.get("login") == BOT_LOGIN)


def by_creator_bot(item: dict[str, Any]) -> bool:
    """A deployment (which names its author `creator`) written by the workflows."""
    creator = item.get("creator") or {}
    return bool(creator.get("login") == BOT_LOGIN)


def bot_items_marked(items: list[dict[str, Any]], marker: str) -> list[dict[str, Any]]:
    """Comments or issues written by the workflows whose first line is `marker`, oldest first."""
    return [i for i in items if by_bot(i) and first_line(i.get("body")) == marker]


class Marked(NamedTuple):
    """THE bot comment of a kind on a pull request, and any others carrying the same marker."""

    comment: dict[str, Any] | None
    """The oldest: the one the plan job created and edits ever since."""
    others: list[dict[str, Any]]
    """Any job of a same-repository pull request can post as the bot, so a second marked
    comment may be forged: while one exists, no comment of the kind is trusted."""

    def others_text(self) -> str:
        ids = ", ".join(str(item["id"]) for item in self.others)
        return f"{len(self.others)} more comment(s) by {BOT_LOGIN} carry the same marker (ids {ids})"


def marked_comment(comments: list[dict[str, Any]], marker: str) -> Marked:
    """The one rule for which bot comment is THE comment of a kind: pr_comment.py edits it and
    apply_review.py trusts it, and both see the same others."""
    mine = sorted(bot_items_marked(comments, marker), key=lambda item: int(item["id"]))
    return Marked(mine[0] if mine else None, mine[1:])


def fit(body: str, note: str) -> str:
    """Cut body at a line boundary to what GitHub accepts, ending with note."""
    if len(body) <= MAX_BODY_CHARS:
        return body
    cut = body.rfind("\n", 0, MAX_BODY_CHARS - len(note) - 2)
    return body[:cut] + "\n\n" + note + "\n"


HEAD_PREFIX = "<!-- bucketshare-"
"""Hidden head lines (the marker and the review record) start with this."""


def split_head(markdown: str) -> tuple[list[str], list[str]]:
    """(hidden head lines, the visible rest) of a comment body."""
    lines = markdown.split("\n")
    head = 0
    while head < len(lines) and lines[head].startswith(HEAD_PREFIX):
        head += 1
    return lines[:head], lines[head:]


def strip_head(markdown: str) -> str:
    """The plan Markdown without its hidden head lines, for quoting under another head."""
    return "\n".join(split_head(markdown)[1])


def write_summary(text: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text.rstrip("\n") + "\n")


def set_output(name: str, value: str) -> None:
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"{name}={value}\n")


def run_url() -> str:
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
    return f"{server}/{repository()}/actions/runs/{os.environ.get('GITHUB_RUN_ID', '0')}"
