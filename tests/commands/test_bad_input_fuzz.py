"""Hostile YAML into the loader and `reconciler validate`: located problems or valid declarations.

CI runs 2,000 examples through the loader and 1,000 through the CLI (about 25 s); set
BUCKETSHARE_FUZZ_EXAMPLES=20000 for a long run (20,000 and 10,000). Documents start valid and
have fields swapped for hostile values (wrong types, huge numbers, control characters,
nesting), then their text is cut and spliced with YAML fragments, so both the structure
checks and the parser are reached; about one in ten stays valid.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reconciler.cli import main
from reconciler.declare.config import Config
from reconciler.declare.identifiers import check_account, check_bucket_name
from reconciler.declare.model import GranteeKind
from reconciler.declare.share_file import load_text
from reconciler.errors import Problem

EXAMPLES = int(os.environ.get("BUCKETSHARE_FUZZ_EXAMPLES", "2000"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
CLI_FUZZ = settings(FUZZ, max_examples=max(1, EXAMPLES // 2))
"""Half as many through the CLI: each writes files and runs a command."""

hostile_text = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"])
    | st.sampled_from("\x00\x07\x1b\x85\u2028\ufeff\t\r"),
    max_size=12,
)
hostile_scalar = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.dates()
    | st.datetimes()
    | hostile_text
    | st.sampled_from(
        ["", " ", "*", "~", "null", "yes", "0x1f", "1e3", ".nan", "-", "?", "!!str", "&a", "*a"]
    )
)
hostile = st.recursive(
    hostile_scalar,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(hostile_text, children, max_size=3),
    max_leaves=6,
)


def field(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the valid value, one time in ten anything at all."""
    return st.integers(0, 9).flatmap(lambda n: hostile if n == 0 else valid)


grantees = st.sampled_from(
    [
        "222222222222",
        "arn:aws:iam::222222222222:role/inference",
        "arn:aws:iam::333333333333:user/u",
        "org:o-a1b2c3d4e5",
        "ou:o-a1b2c3d4e5/r-ab12/ou-ab12-11111111",
        "arn:aws:iam::222222222222:root",
        "111111111111",
    ]
)
grant = st.fixed_dictionaries(
    {"to": field(grantees), "access": field(st.sampled_from(["read", "write", "read-write"]))},
    optional={
        "prefixes": field(
            st.lists(st.sampled_from(["models/", "a/b/", "data", "x/"]), min_size=1, max_size=3)
        ),
        "reason": field(st.text(min_size=1, max_size=10).filter(str.strip)),
        "expires": field(st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2028, 1, 1))),
        "extra": hostile,
    },
)
document = st.fixed_dictionaries(
    {
        "version": field(st.just(1)),
        "bucket": field(st.sampled_from(["acme-data", "acme-models", "x.y-z"])),
        "account": field(st.sampled_from(["111111111111", "444444444444"])),
    },
    optional={
        "owner": field(st.sampled_from(["ml-platform", "@org/team"])),
        "grants": field(st.lists(field(grant), max_size=4)),
        "Bucket": hostile,
    },
)
FRAGMENTS = [
    "\n", "\t", "  ", ": ", "- ", "---\n", "...\n", "&a ", "*a", "!!python/object:os.system ", "!!binary ",
    "<<: ", "? ", "[", "]", "{", "}", ",", "'", '"', "#", "|", ">", "%YAML 1.1\n", "\x00", "\ufeff", "\\",
    "bucket: acme-data\n", "grants:\n  - to: ", "access: read\n", "9" * 40,
]  # fmt: skip


@st.composite
def hostile_files(draw: st.DrawFn) -> str:
    """Documents dumped to YAML, then cut and spliced with fragments."""
    documents = draw(st.lists(field(document), min_size=1, max_size=3))
    try:
        text = yaml.safe_dump_all(documents, allow_unicode=True, sort_keys=draw(st.booleans()))
    except yaml.YAMLError:
        text = ""
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 3))
        splice = draw(st.sampled_from(FRAGMENTS) | hostile_text)
        text = text[:at] + splice + text[at + cut :]
    return text


def assert_located(problems: list[Problem], texts: dict[str, str]) -> None:
    for problem in problems:
        assert isinstance(problem, Problem)
        where = problem.location
        assert where.path in texts, where
        assert 1 <= where.line <= texts[where.path].count("\n") + 2, problem
        assert where.col >= 1, problem
        assert problem.message.strip(), problem
        assert "\n" not in problem.message, problem


def assert_valid(documents: list[Any]) -> None:
    for doc in documents:
        assert check_bucket_name(doc.bucket) is None
        assert doc.account is None or check_account(doc.account) is None
        for g in doc.grants:
            assert g.grantee.kind in GranteeKind
            assert g.grantee.account is None or check_account(g.grantee.account) is None
            assert all(p.endswith("/") for p in g.prefixes)


@FUZZ
@given(hostile_files())
def test_the_loader_gives_located_problems_or_valid_declarations(text: str) -> None:
    documents, problems = load_text(text, "f.yaml", Config())
    assert_located(problems, {"f.yaml": text})
    event("valid" if not problems else "problems")
    if not problems:
        assert_valid(documents)


LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>[0-9]+):(?P<col>[0-9]+): ")
TOTALS = re.compile(r"^[0-9,]+ buckets?, [0-9,]+ grants?, 0 problems(, [0-9,]+ warnings?)?$")
CONFIGS = st.sampled_from(
    ["version: 1\n", "version: 1\nguardrails: {require_reason: true, allowed_accounts: ['222222222222']}\n"]
) | st.lists(
    st.sampled_from([*FRAGMENTS, "version: 1\n", "sid_prefix: X\n", "guardrails:\n", "drift: fix\n"])
).map("".join)


@CLI_FUZZ
@given(st.lists(hostile_files(), min_size=1, max_size=3), CONFIGS)
def test_validate_exits_0_or_1_with_located_lines(texts: list[str], config_text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shares = root / "shares"
        shares.mkdir()
        for number, text in enumerate(texts):
            (shares / f"f{number}.yaml").write_text(text, encoding="utf-8")
        config = root / "reconciler.yaml"
        config.write_text(config_text, encoding="utf-8")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(["validate", "--shares", str(shares), "--config", str(config)])
    stdout, stderr = out.getvalue().splitlines(), err.getvalue().splitlines()
    event(f"exit {rc}")
    files = {str(shares / f"f{n}.yaml") for n in range(len(texts))} | {str(config)}
    if rc == 0:
        # Valid declarations: warnings, each located, then the totals.
        assert stderr == []
        assert TOTALS.match(stdout[-1]), stdout
        located = stdout[:-1]
    else:
        assert rc == 1, err.getvalue()
        assert stdout == [line for line in stdout if ": warning: " in line]
        assert stderr[-1] == problems_line(len(stderr) - 1), stderr
        located = stderr[:-1] + stdout
    for line in located:
        match = LINE.match(line)
        assert match, line
        assert match["path"] in files, line


def problems_line(count: int) -> str:
    """validate's last line: the count of problems (validate never calls AWS)."""
    return f"{count} {'problem' if count == 1 else 'problems'}"
