"""Run a GitHub Actions workflow's jobs here, without GitHub.

Each job's `run:` steps run in order with bash as the runner does (`bash --noprofile --norc
-eo pipefail`), in the job's working directory, with GITHUB_OUTPUT, GITHUB_ENV,
GITHUB_STEP_SUMMARY, GITHUB_EVENT_PATH and the other default variables pointed at temp
files. `uses:` steps are not run; they are recorded, and stood in for where a later step
depends on them:

- aws-actions/configure-aws-credentials: when its `if:` holds, exports the AWS variables
  the caller's `aws_login(role_arn)` returns (the moto endpoint and that role's account).
- actions/upload-artifact: records the name and path, and whether the file exists, and
  hands the file (or folder) to the run's `on_upload` (the fake gh's artifact store).
- checkout and setup-python: recorded only (the working directory is already the
  checkout; bash finds the test venv's python first on PATH).

The one `run:` stood in for is the install step, `python -m pip install .` or the
hash-checked pair (`pip install --require-hashes -r requirements/apply.txt`, then
`pip install --no-deps .`): the test venv already has bucketshare and its dependencies
installed, and building it again would take most of a minute.

A job with `strategy.matrix` (one dimension) runs once per value, in order; its `outputs:`
are evaluated after its steps and reach later jobs through `needs.<job>.outputs`.

Expressions are evaluated in `env:`, `with:` and `if:` by a small evaluator of what the
workflows use (contexts, literals, == != && || !, fromJSON, and the status functions). Anything
else, including any `${{ }}` inside a `run:` script, raises UnsupportedWorkflow: the test
fails rather than guess.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

INSTALL_SCRIPTS = {
    "python -m pip install .",
    "pip install .",
    "python -m pip install --require-hashes -r requirements/apply.txt\n"
    "python -m pip install --no-deps --no-build-isolation .",
}
STATUS_FUNCTIONS = {"always", "success", "failure", "cancelled"}
CONTEXTS = {"github", "env", "vars", "inputs", "steps", "needs", "job", "runner", "matrix", "strategy"}
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||[!().\[\],])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


class UnsupportedWorkflow(Exception):
    """The workflow uses something this runner does not stand in for."""


# ---- expressions -------------------------------------------------------------------------


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise UnsupportedWorkflow(f"cannot parse expression {text!r} at {text[pos:]!r}")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return found


def _to_number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip()) if value.strip() else 0.0
        except ValueError:
            return math.nan
    return math.nan


def loose_equal(left: Any, right: Any) -> bool:
    """GitHub's ==: strings compare case-insensitively; mixed types compare as numbers."""
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    if type(left) is type(right) and not isinstance(left, int | float):
        return bool(left == right) if not isinstance(left, dict | list) else left is right
    return _to_number(left) == _to_number(right)


def truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, "") and not (isinstance(value, float) and value == 0.0)


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


class Expression:
    """One `${{ }}` body, parsed once; `uses_status` tells whether it calls a status function."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._tokens = _tokens(text)
        self._pos = 0
        self.uses_status = False
        self._tree = self._or()
        if self._pos != len(self._tokens):
            raise UnsupportedWorkflow(f"trailing tokens in expression {text!r}")

    def _peek(self) -> tuple[str, str] | None:
        return self._tokens[self._pos] if self._pos < len(self._tokens) else None

    def _take(self, value: str | None = None) -> tuple[str, str]:
        token = self._peek()
        if token is None or (value is not None and token[1] != value):
            raise UnsupportedWorkflow(f"expected {value or 'a token'} in expression {self.text!r}")
        self._pos += 1
        return token

    def _binary(self, ops: tuple[str, ...], operand: Callable[[], Any]) -> Any:
        tree = operand()
        while (token := self._peek()) is not None and token[0] == "op" and token[1] in ops:
            self._pos += 1
            tree = ("bin", token[1], tree, operand())
        return tree

    def _or(self) -> Any:
        return self._binary(("||",), self._and)

    def _and(self) -> Any:
        return self._binary(("&&",), self._eq)

    def _eq(self) -> Any:
        return self._binary(("==", "!="), self._unary)

    def _unary(self) -> Any:
        token = self._peek()
        if token == ("op", "!"):
            self._pos += 1
            return ("not", self._unary())
        return self._postfix()

    def _postfix(self) -> Any:
        tree = self._primary()
        while (token := self._peek()) is not None and token in (("op", "."), ("op", "[")):
            self._pos += 1
            if token[1] == ".":
                kind, name = self._take()
                if kind != "name":
                    raise UnsupportedWorkflow(f"bad property in {self.text!r}")
                tree = ("get", tree, ("lit", name))
            else:
                index = self._or()
                self._take("]")
                tree = ("get", tree, index)
        return tree

    def _primary(self) -> Any:
        kind, value = self._take()
        if kind == "str":
            return ("lit", value[1:-1].replace("''", "'"))
        if kind == "num":
            return ("lit", float(value))
        if kind == "op" and value == "(":
            tree = self._or()
            self._take(")")
            return tree
        if kind == "name":
            if value in ("true", "false"):
                return ("lit", value == "true")
            if value == "null":
                return ("lit", None)
            if self._peek() == ("op", "(") and value.casefold() == "fromjson":
                self._take("(")
                argument = self._or()
                self._take(")")
                return ("fromjson", argument)
            if self._peek() == ("op", "("):
                if value not in STATUS_FUNCTIONS:
                    raise UnsupportedWorkflow(f"function {value}() is not stood in ({self.text!r})")
                self._take("(")
                self._take(")")
                self.uses_status = True
                return ("call", value)
            if value not in CONTEXTS:
                raise UnsupportedWorkflow(f"context {value!r} is not stood in ({self.text!r})")
            return ("ctx", value)
        raise UnsupportedWorkflow(f"unexpected {value!r} in expression {self.text!r}")

    def evaluate(self, contexts: dict[str, Any], status: dict[str, bool]) -> Any:
        return self._eval(self._tree, contexts, status)

    def _eval(self, tree: Any, contexts: dict[str, Any], status: dict[str, bool]) -> Any:
        kind = tree[0]
        if kind == "lit":
            return tree[1]
        if kind == "ctx":
            return contexts.get(tree[1])
        if kind == "call":
            return status[tree[1]]
        if kind == "fromjson":
            return json.loads(to_text(self._eval(tree[1], contexts, status)))
        if kind == "get":
            base = self._eval(tree[1], contexts, status)
            key = self._eval(tree[2], contexts, status)
            if isinstance(base, dict):
                # Property names are case-insensitive in GitHub's expressions.
                for name, value in base.items():
                    if isinstance(key, str) and name.casefold() == key.casefold():
                        return value
            if isinstance(base, list) and isinstance(key, int | float) and 0 <= key < len(base):
                return base[int(key)]
            return None
        if kind == "not":
            return not truthy(self._eval(tree[1], contexts, status))
        op, left = tree[1], self._eval(tree[2], contexts, status)
        if op == "&&":
            return left if not truthy(left) else self._eval(tree[3], contexts, status)
        if op == "||":
            return left if truthy(left) else self._eval(tree[3], contexts, status)
        right = self._eval(tree[3], contexts, status)
        return loose_equal(left, right) if op == "==" else not loose_equal(left, right)


_TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def interpolate(value: Any, contexts: dict[str, Any], status: dict[str, bool]) -> str:
    text = to_text(value)
    return _TEMPLATE.sub(lambda m: to_text(Expression(m.group(1)).evaluate(contexts, status)), text)


def condition(text: Any, contexts: dict[str, Any], status: dict[str, bool]) -> bool:
    """An `if:`: wrapped in `${{ }}` or not; success() && (...) unless it calls a status function."""
    if text is None:
        return status["success"]
    if isinstance(text, bool):
        return text and status["success"]
    body = str(text).strip()
    whole = _TEMPLATE.fullmatch(body)
    expression = Expression(whole.group(1) if whole else body)
    value = truthy(expression.evaluate(contexts, status))
    return value if expression.uses_status else value and status["success"]


# ---- the runner --------------------------------------------------------------------------


@dataclass
class StepResult:
    name: str
    id: str | None
    kind: str
    """run, uses, install or skipped"""
    outcome: str
    """success, failure or skipped"""
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    env: dict[str, str] = field(default_factory=dict)
    uses: str | None = None
    with_: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class JobResult:
    name: str
    result: str
    """success, failure or skipped"""
    steps: list[StepResult] = field(default_factory=list)
    summary: str = ""
    uploads: list[dict[str, Any]] = field(default_factory=list)
    aws_logins: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def output(self) -> str:
        return "".join(s.stdout + s.stderr for s in self.steps)

    def step(self, key: str) -> StepResult:
        found = [s for s in self.steps if key in (s.id, s.name)]
        assert len(found) == 1, f"step {key!r}: {len(found)} matches in job {self.name}"
        return found[0]


@dataclass
class Run:
    """What a job runs against: the event, the repository variables and the stand-ins."""

    workdir: Path
    event_name: str
    event: dict[str, Any]
    repository: str
    sha: str
    vars: dict[str, str]
    base_env: dict[str, str]
    """PATH (fake gh and the venv first), HOME, FAKE_GH_STORE, ...: what every step sees."""
    aws_login: Callable[[str], dict[str, str]]
    ref: str = "refs/heads/main"
    step_timeout: float = 120.0
    run_id: str = "4242"
    run_attempt: str = "1"
    """2 and on for a re-run: the same run id, as GitHub re-runs a run."""
    on_upload: Callable[[str, Path], None] | None = None
    """Given an uploaded artifact's name and path: where later jobs can fetch it from."""


def load_workflow(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    return dict(data)


def _read_file_commands(path: Path) -> dict[str, str]:
    """name=value lines and name<<DELIM heredocs, as GITHUB_OUTPUT and GITHUB_ENV hold them."""
    values: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            while index < len(lines) and lines[index] != delimiter:
                body.append(lines[index])
                index += 1
            index += 1
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
        elif line.strip():
            raise UnsupportedWorkflow(f"malformed line in {path.name}: {line!r}")
    return values


class JobRunner:
    def __init__(
        self,
        workflow: dict[str, Any],
        job_id: str,
        run: Run,
        needs: dict[str, Any],
        matrix: dict[str, Any] | None = None,
    ) -> None:
        self.workflow = workflow
        self.job_id = job_id
        self.job = workflow["jobs"][job_id]
        self.run_ = run
        self.needs = needs
        self.matrix = matrix or {}
        label = "-".join(to_text(v) for v in self.matrix.values())
        suffix = f"-{label}" if label else ""
        self.temp = run.workdir.parent / f"runner-{run.run_id}-{run.run_attempt}-{job_id}{suffix}"
        self.temp.mkdir(exist_ok=True)
        self.summary = self.temp / "summary.md"
        self.summary.write_text("", encoding="utf-8")
        self.event_path = self.temp / "event.json"
        self.event_path.write_text(json.dumps(run.event), encoding="utf-8")
        self.env: dict[str, str] = {}
        self.steps: dict[str, dict[str, Any]] = {}
        self.failed = False

    def contexts(self) -> dict[str, Any]:
        run = self.run_
        github = {
            "event_name": run.event_name,
            "event": run.event,
            "repository": run.repository,
            "sha": run.sha,
            "ref": run.ref,
            "token": "fake-github-token",
            "workflow": self.workflow.get("name", ""),
            "server_url": "https://github.com",
            "run_id": run.run_id,
            "run_attempt": run.run_attempt,
        }
        inputs = run.event.get("inputs") or {} if run.event_name == "workflow_dispatch" else {}
        return {
            "github": github,
            "vars": dict(run.vars),
            "inputs": inputs,
            "env": dict(self.env),
            "steps": self.steps,
            "needs": self.needs,
            "job": {"status": "failure" if self.failed else "success"},
            "runner": {"os": "Linux", "temp": str(self.temp)},
            "matrix": dict(self.matrix),
            "strategy": {},
        }

    def status(self) -> dict[str, bool]:
        return {"always": True, "success": not self.failed, "failure": self.failed, "cancelled": False}

    def default_env(self) -> dict[str, str]:
        run = self.run_
        return {
            **run.base_env,
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": run.event_name,
            "GITHUB_EVENT_PATH": str(self.event_path),
            "GITHUB_REPOSITORY": run.repository,
            "GITHUB_SHA": run.sha,
            "GITHUB_REF": run.ref,
            "GITHUB_WORKSPACE": str(run.workdir),
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_RUN_ID": run.run_id,
            "GITHUB_RUN_ATTEMPT": run.run_attempt,
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "RUNNER_TEMP": str(self.temp),
        }

    def evaluated(self, mapping: dict[str, Any] | None) -> dict[str, str]:
        return {k: interpolate(v, self.contexts(), self.status()) for k, v in (mapping or {}).items()}

    def execute(self) -> JobResult:
        result = JobResult(self.job_id, "success")
        if self.job.get("defaults") or self.workflow.get("defaults") or self.job.get("container"):
            raise UnsupportedWorkflow(f"{self.job_id}: defaults/container are not stood in")
        self.env = {**self.evaluated(self.workflow.get("env")), **self.evaluated(self.job.get("env"))}
        for index, step in enumerate(self.job.get("steps", [])):
            outcome = self.step(step, index, result)
            result.steps.append(outcome)
            if outcome.outcome == "failure" and not step.get("continue-on-error"):
                self.failed = True
        result.result = "failure" if self.failed else "success"
        result.summary = self.summary.read_text(encoding="utf-8")
        result.outputs = self.evaluated(self.job.get("outputs"))
        return result

    def step(self, step: dict[str, Any], index: int, job: JobResult) -> StepResult:
        step_id = step.get("id")
        name = str(step.get("name") or step.get("uses") or step.get("run", "")).splitlines()[0]
        outputs: dict[str, str] = {}
        record = {"outputs": outputs, "outcome": "skipped", "conclusion": "skipped"}
        if step_id:
            self.steps[step_id] = record
        if not condition(step.get("if"), self.contexts(), self.status()):
            return StepResult(name, step_id, "skipped", "skipped")
        env = {**self.env, **self.evaluated(step.get("env"))}
        if "uses" in step:
            result = self.uses(step, name, env, job)
        else:
            result = self.shell(step, name, env, index, outputs)
        record["outcome"] = record["conclusion"] = result.outcome
        result.outputs = dict(outputs)
        return result

    def uses(self, step: dict[str, Any], name: str, env: dict[str, str], job: JobResult) -> StepResult:
        action = str(step["uses"]).split("@", 1)[0]
        with_ = self.evaluated(step.get("with"))
        result = StepResult(name, step.get("id"), "uses", "success", uses=str(step["uses"]), with_=with_)
        if action == "aws-actions/configure-aws-credentials":
            role = with_.get("role-to-assume", "")
            if not role:
                result.outcome = "failure"
                result.stderr = "configure-aws-credentials: no role-to-assume\n"
                return result
            job.aws_logins.append(role)
            self.env.update(self.run_.aws_login(role))
        elif action == "actions/upload-artifact":
            path = self.run_.workdir / with_["path"]
            exists = path.exists()
            job.uploads.append({"name": with_.get("name"), "path": with_["path"], "exists": exists})
            if not exists and with_.get("if-no-files-found", "warn") == "error":
                result.outcome = "failure"
            elif exists and self.run_.on_upload is not None:
                self.run_.on_upload(with_["name"], path)
        elif action not in ("actions/checkout", "actions/setup-python"):
            raise UnsupportedWorkflow(f"action {action} is not stood in")
        return result

    def shell(
        self, step: dict[str, Any], name: str, env: dict[str, str], index: int, outputs: dict[str, str]
    ) -> StepResult:
        script = str(step["run"])
        if "${{" in script:
            raise UnsupportedWorkflow(f"expression inside run: of step {name!r}: pass it through env:")
        if step.get("shell", "bash") != "bash":
            raise UnsupportedWorkflow(f"shell {step.get('shell')!r} is not stood in")
        if "\n".join(line.strip() for line in script.strip().splitlines()) in INSTALL_SCRIPTS:
            return StepResult(name, step.get("id"), "install", "success")
        output_file = self.temp / f"output-{index}"
        env_file = self.temp / f"env-{index}"
        script_file = self.temp / f"step-{index}.sh"
        for path in (output_file, env_file):
            path.write_text("", encoding="utf-8")
        script_file.write_text(script, encoding="utf-8")
        full_env = {
            **self.default_env(),
            **env,
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_ENV": str(env_file),
        }
        workdir = self.run_.workdir / step.get("working-directory", ".")
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)],
            cwd=workdir,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=self.run_.step_timeout,
            check=False,
        )
        outputs.update(_read_file_commands(output_file))
        self.env.update(_read_file_commands(env_file))
        outcome = "success" if proc.returncode == 0 else "failure"
        return StepResult(
            name, step.get("id"), "run", outcome, proc.returncode, proc.stdout, proc.stderr, full_env
        )


def _triggers(workflow: dict[str, Any]) -> set[str]:
    on = workflow["on"]
    if isinstance(on, str):
        return {on}
    return set(on) if isinstance(on, list | dict) else set()


def run_workflow(path: Path, run: Run, only: list[str] | None = None) -> dict[str, JobResult]:
    """Run the workflow's jobs in `needs` order (or only the jobs named, ignoring needs)."""
    workflow = load_workflow(path)
    if run.event_name not in _triggers(workflow):
        raise UnsupportedWorkflow(f"{path.name} does not run on {run.event_name}")
    jobs: dict[str, Any] = workflow["jobs"]
    results: dict[str, JobResult] = {}
    pending = list(only or jobs)
    while pending:
        ready = [j for j in pending if only or all(n in results for n in _needs(jobs[j]))]
        if not ready:
            raise UnsupportedWorkflow(f"{path.name}: unresolvable needs among {pending}")
        job_id = ready[0]
        pending.remove(job_id)
        needs = {
            n: {"result": results[n].result, "outputs": results[n].outputs}
            for n in _needs(jobs[job_id])
            if n in results
        }
        runner = JobRunner(workflow, job_id, run, needs)
        needs_ok = all(v["result"] == "success" for v in needs.values())
        status = {**runner.status(), "success": needs_ok, "failure": not needs_ok}
        if not condition(jobs[job_id].get("if"), runner.contexts(), status):
            results[job_id] = JobResult(job_id, "skipped")
            continue
        values = _matrix(jobs[job_id], runner)
        if values is None:
            results[job_id] = runner.execute()
            continue
        instances = []
        for key, value in values:
            instance = JobRunner(workflow, job_id, run, needs, {key: value}).execute()
            results[f"{job_id}[{to_text(value)}]"] = instance
            instances.append(instance)
        results[job_id] = _joined(job_id, instances)
    return results


def _matrix(job: dict[str, Any], runner: JobRunner) -> list[tuple[str, Any]] | None:
    """The (key, value) of each instance of a one-dimension matrix job; None: no matrix."""
    matrix = (job.get("strategy") or {}).get("matrix")
    if matrix is None:
        return None
    if not isinstance(matrix, dict) or len(matrix) != 1:
        raise UnsupportedWorkflow(f"only a one-dimension matrix is stood in, not {matrix!r}")
    ((key, values),) = matrix.items()
    if isinstance(values, str):
        whole = _TEMPLATE.fullmatch(values.strip())
        if whole is None:
            raise UnsupportedWorkflow(f"matrix {key}: {values!r} is not a list or one expression")
        values = Expression(whole.group(1)).evaluate(runner.contexts(), runner.status())
    if not isinstance(values, list) or not values:
        # GitHub fails a job whose matrix is empty.
        raise UnsupportedWorkflow(f"matrix {key} is {values!r}, not a non-empty list")
    return [(key, value) for value in values]


def _joined(job_id: str, instances: list[JobResult]) -> JobResult:
    """A matrix job as `needs` sees it: failed if any instance failed; the last one's outputs."""
    failed = any(i.result == "failure" for i in instances)
    return JobResult(
        job_id,
        "failure" if failed else "success",
        [s for i in instances for s in i.steps],
        "".join(i.summary for i in instances),
        [u for i in instances for u in i.uploads],
        [login for i in instances for login in i.aws_logins],
        instances[-1].outputs,
    )


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


def clean_env(home: Path, extra_path: list[Path]) -> dict[str, str]:
    """What every step sees besides the GitHub variables: no AWS variable at all (a step gets
    them only from the configure-aws-credentials stand-in), and no way to find real ones."""
    path = os.pathsep.join([*(str(p) for p in extra_path), "/usr/local/bin", "/usr/bin", "/bin"])
    return {
        "PATH": path,
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        # boto3 must not look for credentials anywhere but the environment: no files, and
        # never the instance metadata address.
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
