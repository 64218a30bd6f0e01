#!/usr/bin/env python3
"""A stand-in for the `gh` CLI: answers the `gh api` calls the workflow scripts make.

GitHub is unreachable from here, so the workflow tests put this on PATH as `gh`. It keeps
a small GitHub in a JSON store file (FAKE_GH_STORE): comments per issue or PR number (each
with id and user.login), issues with labels and state, the commit -> pull requests mapping,
and commit comments. Lists paginate like the REST API (`per_page`, default 30, at most 100;
`page`), `--paginate` fetches every page and `--slurp` wraps them in one array. Every call
is recorded under "calls" and every write under "writes". Anything else (another gh
command, an unknown flag or endpoint) exits non-zero, so a script that strays from the
small documented set fails its test instead of passing against a guess.

Store keys the test may set: repository, token_user (who writes: github-actions[bot]),
read_only (writes answer HTTP 403, as a fork's pull_request token does), artifacts (each
with id, name, run_id and the folder `dir` holding its files: listed per run and served as
a zip, as the REST API serves them after its redirect), pulls (number -> the pull request,
with head.sha), deployments (each with its statuses; listed newest first and filtered by
sha, ref, task and environment, as `GET /repos/{repo}/deployments` does), runs (id ->
the workflow run: path, head_branch, head_sha, head_repository, event, status, conclusion,
run_attempt, and its jobs of every attempt, each with name, conclusion and run_attempt:
`GET .../jobs` lists the latest attempt's, or every attempt's with filter=all), branches
(name -> the commit sha at its tip), failing (paths whose writes answer HTTP 502, as
GitHub's API now and then does).
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import sys
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

Store = dict[str, Any]


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _now(store: Store) -> str:
    store["clock"] = store.get("clock", 0) + 1
    return f"2026-01-01T00:{store['clock'] // 60 % 60:02d}:{store['clock'] % 60:02d}Z"


def _next_id(store: Store) -> int:
    store["next_id"] = store.get("next_id", 1000) + 1
    return int(store["next_id"])


def _user(store: Store) -> dict[str, str]:
    login = store.get("token_user", "github-actions[bot]")
    return {"login": login, "type": "Bot" if login.endswith("[bot]") else "User"}


def _comment(store: Store, body: str) -> dict[str, Any]:
    stamp = _now(store)
    return {
        "id": _next_id(store),
        "user": _user(store),
        "body": body,
        "created_at": stamp,
        "updated_at": stamp,
    }


def _find_comment(store: Store, comment_id: int) -> dict[str, Any]:
    for comments in store.get("comments", {}).values():
        for comment in comments:
            if comment["id"] == comment_id:
                found: dict[str, Any] = comment
                return found
    raise HttpError(404, "Not Found")


def _body_text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise HttpError(422, f"Invalid request: {key} must be a string")
    return value


def route(store: Store, method: str, path: str, query: dict[str, str], body: dict[str, Any]) -> Any:
    repo = store["repository"]
    prefix = f"repos/{repo}/"
    if not path.startswith(prefix):
        raise HttpError(404, "Not Found")
    rest = path[len(prefix) :]
    comments = store.setdefault("comments", {})
    issues = store.setdefault("issues", {})
    if match := re.fullmatch(r"issues/(\d+)/comments", rest):
        number = match.group(1)
        if number not in comments and number not in issues:
            raise HttpError(404, "Not Found")
        if method == "GET":
            return comments.get(number, [])
        if method == "POST":
            created = _comment(store, _body_text(body, "body"))
            comments.setdefault(number, []).append(created)
            return created
    if (match := re.fullmatch(r"issues/comments/(\d+)", rest)) and method == "PATCH":
        comment = _find_comment(store, int(match.group(1)))
        comment["body"] = _body_text(body, "body")
        comment["updated_at"] = _now(store)
        return comment
    if rest == "issues" and method == "GET":
        state = query.get("state", "open")
        labels = set(filter(None, query.get("labels", "").split(",")))
        found = [
            i
            for i in sorted(issues.values(), key=lambda i: -int(i["number"]))
            if (state == "all" or i["state"] == state) and labels <= {lab["name"] for lab in i["labels"]}
        ]
        return found
    if rest == "issues" and method == "POST":
        number = max([int(n) for n in [*issues, *comments]] + [0]) + 1
        issue = {
            "number": number,
            "title": _body_text(body, "title"),
            "body": body.get("body", ""),
            "state": "open",
            "labels": [{"name": str(name)} for name in body.get("labels", [])],
            "user": _user(store),
        }
        issues[str(number)] = issue
        return issue
    if (match := re.fullmatch(r"issues/(\d+)", rest)) and method == "PATCH":
        issue = issues.get(match.group(1))
        if issue is None:
            raise HttpError(404, "Not Found")
        for key in ("title", "body", "state", "state_reason"):
            if key in body:
                issue[key] = body[key]
        return issue
    if (match := re.fullmatch(r"actions/runs/(\d+)/artifacts", rest)) and method == "GET":
        found = [a for a in store.get("artifacts", []) if a["run_id"] == match.group(1)]
        per_page, page = min(int(query.get("per_page", 30)), 100), int(query.get("page", 1))
        listed = [{"id": a["id"], "name": a["name"]} for a in _page(found, per_page, page)]
        return {"total_count": len(found), "artifacts": listed}
    if (match := re.fullmatch(r"actions/runs/(\d+)(/jobs)?", rest)) and method == "GET":
        run = store.get("runs", {}).get(match.group(1))
        if run is None:
            raise HttpError(404, "Not Found")
        if match.group(2) is None:
            return {k: v for k, v in run.items() if k != "jobs"}
        jobs = run.get("jobs", [])
        if query.get("filter", "latest") == "latest":
            jobs = [j for j in jobs if j["run_attempt"] == run["run_attempt"]]
        return {"total_count": len(jobs), "jobs": jobs}
    if (match := re.fullmatch(r"branches/([^/]+)", rest)) and method == "GET":
        tip = store.get("branches", {}).get(match.group(1))
        if tip is None:
            raise HttpError(404, "Branch not found")
        return {"name": match.group(1), "commit": {"sha": tip}}
    if (match := re.fullmatch(r"actions/artifacts/(\d+)/zip", rest)) and method == "GET":
        for artifact in store.get("artifacts", []):
            if artifact["id"] == int(match.group(1)):
                return _zipped(Path(artifact["dir"]))
        raise HttpError(404, "Not Found")
    if (match := re.fullmatch(r"pulls/(\d+)", rest)) and method == "GET":
        pull = store.get("pulls", {}).get(match.group(1))
        if pull is None:
            raise HttpError(404, "Not Found")
        return pull
    if rest.startswith("deployments"):
        return _deployments(store, method, rest, query, body)
    if (match := re.fullmatch(r"commits/([0-9a-f]{40})/pulls", rest)) and method == "GET":
        return store.get("commit_pulls", {}).get(match.group(1), [])
    if match := re.fullmatch(r"commits/([0-9a-f]{40})/comments", rest):
        found = store.setdefault("commit_comments", {}).setdefault(match.group(1), [])
        if method == "GET":
            return found
        if method == "POST":
            created = _comment(store, _body_text(body, "body"))
            found.append(created)
            return created
    raise HttpError(404, "Not Found")


DEPLOYMENT_STATES = {"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}


def _deployments(store: Store, method: str, rest: str, query: dict[str, str], body: dict[str, Any]) -> Any:
    """Deployments and their statuses, as the REST API keeps them: newest first."""
    deployments: list[dict[str, Any]] = store.setdefault("deployments", [])
    if rest == "deployments" and method == "GET":
        keys = ("sha", "ref", "task", "environment")
        return [d for d in reversed(deployments) if all(query.get(k, d[k]) == d[k] for k in keys)]
    if rest == "deployments" and method == "POST":
        ref = _body_text(body, "ref")
        if not re.fullmatch(r"[0-9a-f]{40}", ref):
            raise HttpError(422, "Invalid request: only a commit SHA is stood in as ref")
        for key, kind in (("auto_merge", bool), ("required_contexts", list), ("payload", dict)):
            if key in body and not isinstance(body[key], kind):
                raise HttpError(422, f"Invalid request: {key} is not a {kind.__name__}")
        created = {
            "id": _next_id(store),
            "sha": ref,
            "ref": ref,
            "task": body.get("task", "deploy"),
            "environment": body.get("environment", "production"),
            "payload": body.get("payload", {}),
            "description": body.get("description"),
            "creator": _user(store),
            "created_at": _now(store),
            "statuses": [],
        }
        deployments.append(created)
        return {k: v for k, v in created.items() if k != "statuses"}
    match = re.fullmatch(r"deployments/(\d+)/statuses", rest)
    found = [d for d in deployments if match and d["id"] == int(match.group(1))]
    if not found:
        raise HttpError(404, "Not Found")
    statuses: list[dict[str, Any]] = found[0]["statuses"]
    if method == "GET":
        return list(reversed(statuses))
    if method == "POST":
        state = _body_text(body, "state")
        if state not in DEPLOYMENT_STATES:
            raise HttpError(422, f"Invalid request: state {state!r}")
        status = {"id": _next_id(store), "state": state, "creator": _user(store), "created_at": _now(store)}
        status.update({k: body[k] for k in ("description", "log_url", "environment_url") if k in body})
        statuses.append(status)
        return status
    raise HttpError(404, "Not Found")


def _zipped(folder: Path) -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return data.getvalue()


def _page(items: list[Any], per_page: int, page: int) -> list[Any]:
    return items[(page - 1) * per_page : page * per_page]


def api(store: Store, argv: list[str], stdin: str) -> str | bytes:
    method, paginate, slurp, endpoint = "GET", False, False, None
    fields: dict[str, Any] = {}
    input_file: str | None = None
    args = iter(argv)
    for arg in args:
        if arg in ("-X", "--method"):
            method = next(args).upper()
        elif arg == "--paginate":
            paginate = True
        elif arg == "--slurp":
            slurp = True
        elif arg == "--input":
            input_file = next(args)
        elif arg in ("-f", "--raw-field", "-F", "--field"):
            key, _, value = next(args).partition("=")
            fields[key] = value
        elif arg in ("-H", "--header"):
            next(args)
        elif arg.startswith("-") or endpoint is not None:
            raise HttpError(0, f"unknown flag or extra argument {arg!r} (not stood in)")
        else:
            endpoint = arg
    if endpoint is None:
        raise HttpError(0, "no endpoint given")
    if slurp and not paginate:
        raise HttpError(0, "`--slurp` is only supported with `--paginate`")
    body = dict(fields)
    if input_file is not None:
        text = stdin if input_file == "-" else Path(input_file).read_text(encoding="utf-8")
        body.update(json.loads(text))
    parts = urlsplit(endpoint.lstrip("/"))
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    store.setdefault("calls", []).append({"method": method, "path": endpoint, "paginate": paginate})
    if method != "GET":
        store.setdefault("writes", []).append({"method": method, "path": parts.path, "body": body})
        if store.get("read_only"):
            raise HttpError(403, "Resource not accessible by integration")
        if any(re.search(pattern, parts.path) for pattern in store.get("failing", [])):
            raise HttpError(502, "Server Error")
    result = route(store, method, parts.path, query, body)
    if isinstance(result, bytes):
        return result
    if not isinstance(result, list):
        return json.dumps(result)
    per_page = min(int(query.get("per_page", 30)), 100)
    page = int(query.get("page", 1))
    if not paginate:
        return json.dumps(_page(result, per_page, page))
    pages = [_page(result, per_page, page)]
    while page * per_page < len(result):
        page += 1
        store["calls"].append({"method": method, "path": f"{endpoint} (page {page})", "paginate": True})
        pages.append(_page(result, per_page, page))
    return json.dumps(pages) if slurp else "".join(json.dumps(p) for p in pages)


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "api":
        print(f"fake gh: only `gh api` is stood in, not {argv[:1]}", file=sys.stderr)
        return 1
    if not os.environ.get("GH_TOKEN"):
        print("gh: To use GitHub CLI in a GitHub Actions workflow, set the GH_TOKEN environment variable.")
        return 4
    stdin = sys.stdin.read() if "-" in argv else ""
    path = os.environ["FAKE_GH_STORE"]
    with open(path, "r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        store = json.load(handle)
        try:
            output, code = api(store, argv[1:], stdin), 0
        except HttpError as exc:
            if exc.status == 0:
                print(f"fake gh: {exc}", file=sys.stderr)
                return 2
            output, code = json.dumps({"message": str(exc), "status": str(exc.status)}), 1
            print(f"gh: {exc} (HTTP {exc.status})", file=sys.stderr)
        handle.seek(0)
        handle.truncate()
        json.dump(store, handle, indent=1)
    if isinstance(output, bytes):
        sys.stdout.buffer.write(output)
    else:
        print(output)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
