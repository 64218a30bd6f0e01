"""The loader turns any text into (documents, located problems); it never raises."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.declare.config import Config, Guardrails
from reconciler.declare.guardrails import check_guardrails
from reconciler.declare.share_file import load_text
from reconciler.declare.tree import load_shares
from reconciler.errors import Problem
from reconciler.policy.render import render_declarations

FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FRAGMENTS = [
    "version:", "version: 1", "bucket:", "bucket: acme-data", "account:", 'account: "111111111111"',
    "account: 111111111111", "owner:", "grants:", "- to:", "  - to: ", "to:", "access:", "access: read",
    "prefixes:", "prefixes: [", "reason:", "expires:", "expires: 2027-03-31", "org:o-a1b2c3d4e5",
    "ou:o-a1b2c3d4e5/r-ab12/ou-ab12-11111111", "arn:aws:iam::222222222222:role/r", "&a", "*a", "!!str",
    "!!binary", "<<:", "? ", "\t", "---", "...", "'", '"', ":", ": ", "-", "- ", "[", "]", "{", "}", ",",
    "#", "|", ">", "%YAML 1.1", "0", "12", "222222222222", "1e3", "0x1f", "0o17", "1_000", ".inf", "~",
    "null", "yes", "no", "2027-02-30", "\\x01", "\\ud800", "é", "\u2028", "\x85", "\r", "\n", "  ", "    ",
]  # fmt: skip


def assert_well_formed(result: tuple[list[Any], list[Problem]]) -> None:
    documents, problems = result
    assert isinstance(documents, list)
    assert isinstance(problems, list)
    for problem in problems:
        assert isinstance(problem, Problem)
        assert problem.location.line >= 1
        assert problem.location.col >= 1
        assert problem.message.strip()


yamlish = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=8), max_size=40).map("".join)


@FUZZ
@given(st.text(max_size=300) | yamlish)
def test_any_text_gives_located_problems(text: str) -> None:
    assert_well_formed(load_text(text, "f.yaml", Config()))


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**15), max_value=10**15)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.dates()
    | st.datetimes()
    | st.text(max_size=20)
    | st.sampled_from(["111111111111", "read", "write", "read-write", "models/", "org:o-a1b2c3d4e5", "*"])
)
keys = st.sampled_from(
    ["version", "bucket", "account", "owner", "grants", "to", "access", "prefixes"]
) | st.text(max_size=10)
structures = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(keys | st.integers(), children, max_size=5)
    ),
    max_leaves=20,
)


@FUZZ
@given(structures)
def test_any_dumped_structure_gives_located_problems(value: object) -> None:
    text = yaml.safe_dump(value, allow_unicode=True)
    assert_well_formed(load_text(text, "f.yaml", Config()))


VALID: dict[str, Any] = {
    "version": 1,
    "bucket": "acme-data",
    "account": "111111111111",
    "owner": "ml-platform",
    "grants": [
        {"to": "222222222222", "access": "read", "prefixes": ["models/fraud/"], "reason": "scoring"},
        {
            "to": "arn:aws:iam::333333333333:role/inference",
            "access": "write",
            "expires": dt.date(2027, 3, 31),
        },
        {"to": "org:o-a1b2c3d4e5", "access": "read-write"},
        {"to": "ou:o-a1b2c3d4e5/r-ab12/ou-ab12-11111111", "access": "read", "prefixes": ["datasets"]},
    ],
}


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*path, index))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: (_replace(v, rest, new) if k == head else v) for k, v in value.items()}
    return [(_replace(v, rest, new) if i == head else v) for i, v in enumerate(value)]


def _delete(value: Any, path: tuple[Any, ...]) -> Any:
    head, rest = path[0], path[1:]
    if rest:
        child = value[head]
        return _replace(value, (head,), _delete(child, rest))
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k != head}
    return [v for i, v in enumerate(value) if i != head]


@st.composite
def near_valid(draw: st.DrawFn) -> Any:
    document: Any = VALID
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = _paths(document)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "delete", "rename"]))
        if action == "delete" and path:
            document = _delete(document, path)
        elif action == "rename" and path and isinstance(path[-1], str):
            parent = path[:-1]
            old = _get(document, parent)
            new_key = draw(keys)
            renamed = {(new_key if k == path[-1] else k): v for k, v in old.items()}
            document = _replace(document, parent, renamed)
        else:
            document = _replace(document, path, draw(structures))
    return document


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


@FUZZ
@given(near_valid())
def test_mutated_valid_document_gives_located_problems(document: Any) -> None:
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    assert_well_formed(load_text(text, "f.yaml", Config()))


def test_unmutated_document_is_valid() -> None:
    documents, problems = load_text(yaml.safe_dump(VALID, sort_keys=False), "f.yaml", Config())
    assert problems == []
    assert len(documents[0].grants) == 4


RAILS = Config(
    guardrails=Guardrails(
        allowed_accounts=frozenset({"222222222222"}),
        allowed_orgs=frozenset({"o-a1b2c3d4e5"}),
        protected_buckets=frozenset({"acme-data"}),
        require_reason=True,
        max_expiry_days=365,
    )
)


@settings(max_examples=100, deadline=None)
@given(near_valid(), near_valid(), st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)))
def test_merging_and_guardrails_never_raise(first: Any, second: Any, today: dt.date) -> None:
    with tempfile.TemporaryDirectory() as directory:
        shares = Path(directory)
        (shares / "a.yaml").write_text(yaml.safe_dump(first, allow_unicode=True), encoding="utf-8")
        (shares / "b.yaml").write_text(yaml.safe_dump(second, allow_unicode=True), encoding="utf-8")

        declarations, problems = load_shares(shares, RAILS, today)
        _, render_problems = render_declarations(declarations, RAILS, today)

    assert_well_formed(([], [*problems, *render_problems, *check_guardrails(declarations, RAILS, today)]))
