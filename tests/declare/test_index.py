"""Partial loads (a shard, a pull request's plan) find exactly what a full load finds for the
buckets they cover, though they read only the files that declare those buckets."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.declare import tree
from reconciler.declare.config import Config, Guardrails
from reconciler.declare.index import Declared, scan_text
from reconciler.declare.share_file import load_text
from reconciler.declare.tree import load_shares

TODAY = dt.date(2026, 12, 7)
CONFIG = Config(
    guardrails=Guardrails(allowed_accounts=frozenset({"222222222222", "333333333333", "444444444444"}))
)
BUCKETS = ["acme-a", "acme-b", "acme-c", "acme-d"]
OWNERS = ["111111111111", "555555555555"]


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    document: dict[str, Any] = {
        "version": 1,
        "bucket": draw(st.sampled_from(BUCKETS)),
        "account": draw(st.sampled_from(OWNERS)),
    }
    grants = []
    for _ in range(draw(st.integers(0, 3))):
        # A small pool, so the same grant often lands in two files (a cross-file duplicate)
        # and some grantee is outside guardrails.allowed_accounts.
        grant: dict[str, Any] = {
            "to": draw(st.sampled_from(["222222222222", "333333333333", "666666666666", "111111111111"])),
            "access": draw(st.sampled_from(["read", "write", "bad"])),
        }
        if draw(st.booleans()):
            grant["prefixes"] = draw(st.sampled_from([["a/"], ["b/", "a/"]]))
        grants.append(grant)
    document["grants"] = grants
    for key in ("create", "versioning"):
        if draw(st.integers(0, 4)) == 0:
            document[key] = True
    if draw(st.integers(0, 6)) == 0:
        document["adopt"] = ["Legacy"]
    return document


@st.composite
def files(draw: st.DrawFn) -> str:
    docs = draw(st.lists(documents(), min_size=1, max_size=3))
    style = draw(st.sampled_from(["block", "block", "flow", "comments", "quoted", "broken"]))
    text = yaml.safe_dump_all(docs, default_flow_style=style == "flow", sort_keys=False)
    if style == "comments":
        text = "# owners: ml\n" + text.replace("\nbucket:", "\n# the bucket\nbucket:")
    elif style == "quoted":
        text = text.replace("bucket: ", 'bucket: "', 1).replace("\naccount:", '"\naccount:', 1)
    elif style == "broken":
        text = text.replace("grants:", "grants: [", 1)
    return text


def chooser(picked: Collection[str]) -> Any:
    return lambda declared: {d.bucket for d, _ in declared} & set(picked)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(files(), min_size=1, max_size=5), st.sets(st.sampled_from(BUCKETS)))
def test_a_partial_load_finds_what_a_full_load_finds_for_its_buckets(
    texts: list[str], picked: set[str]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for number, text in enumerate(texts):
            (root / f"team-{number}.yaml").write_text(text)
        full, full_problems = load_shares(root, CONFIG, TODAY)
        partial, problems = load_shares(root, CONFIG, TODAY, chooser(picked))
    assert partial.buckets == tuple(b for b in full.buckets if b.bucket in picked)
    assert set(problems) <= set(full_problems)
    for number, text in enumerate(texts):
        # A file read in full and about covered buckets only: every problem in it is found.
        indexed = scan_text(text)
        names = {d.bucket for d in (indexed or load_text(text, "f.yaml", CONFIG)[0])}
        if names <= picked and (indexed is None or names):
            path = str(root / f"team-{number}.yaml")
            assert {p for p in full_problems if p.location.path == path} <= set(problems)


@settings(max_examples=200, deadline=None)
@given(files())
def test_the_index_reads_the_buckets_the_loader_reads(text: str) -> None:
    found = scan_text(text)
    documents, problems = load_text(text, "f.yaml", Config())
    if found is None:
        return
    loaded = [Declared(d.bucket, d.account) for d in documents]
    names = [d.bucket for d in found]
    assert all(d.bucket in names for d in loaded)
    if not problems:
        assert list(found) == loaded


def test_a_bucket_declared_in_two_files_is_joined_and_checked_across_them(tmp_path: Path) -> None:
    def doc(bucket: str, *extra: str) -> str:
        return f"version: 1\nbucket: {bucket}\naccount: '111111111111'\n" + "".join(extra)

    grant = "grants:\n  - to: '222222222222'\n    access: read\n"
    (tmp_path / "a.yaml").write_text(
        doc("acme-a", grant, "versioning: true\n") + "---\n" + doc("acme-b", grant)
    )
    (tmp_path / "b.yaml").write_text(doc("acme-a", grant))  # the same grant again: a cross-file duplicate
    (tmp_path / "c.yaml").write_text(doc("acme-c", "grants:\n  - to: '999999999999'\n    access: read\n"))
    full, full_problems = load_shares(tmp_path, CONFIG, TODAY)
    partial, problems = load_shares(tmp_path, CONFIG, TODAY, chooser({"acme-a"}))
    messages = [p.message for p in problems]
    assert any("granted the whole bucket of acme-a twice" in m for m in messages)
    assert any("versioning: true applies only" in m for m in messages)
    assert not any("999999999999" in m for m in messages)  # c.yaml, not read, breaks no guardrail here
    assert set(problems) < set(full_problems)
    assert partial.buckets == tuple(b for b in full.buckets if b.bucket == "acme-a")


def test_when_the_index_misreads_a_file_the_load_is_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for bucket in ("acme-a", "acme-b"):
        (tmp_path / f"{bucket}.yaml").write_text(
            f"version: 1\nbucket: {bucket}\naccount: '111111111111'\ngrants: []\n"
        )
    monkeypatch.setattr(tree, "index_file", lambda path, display: (Declared("acme-a", "111111111111"),))
    full, full_problems = load_shares(tmp_path, CONFIG, TODAY)
    assert load_shares(tmp_path, CONFIG, TODAY, chooser({"acme-a"})) == (full, full_problems)


class OutsideChooser:
    """A pull request's kind of chooser: it knows which files lie outside the run."""

    def __init__(self, picked: set[str], outside: set[str]) -> None:
        self.picked = picked
        self.outside_names = outside

    def __call__(self, declared: list[tuple[Declared, Path]]) -> set[str]:
        return {d.bucket for d, _ in declared} & self.picked

    def outside(self, path: Path) -> bool:
        return path.name in self.outside_names


def test_a_broken_file_stops_a_partial_load_unless_the_chooser_says_it_is_outside(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("version: 1\nbucket: acme-a\naccount: '111111111111'\n")
    (tmp_path / "broken.yaml").write_text("version: 1\nbucket: [oops\n")
    _, kept = load_shares(tmp_path, CONFIG, TODAY, chooser({"acme-a"}))
    assert [Path(p.location.path).name for p in kept if "YAML syntax error" in p.message] == ["broken.yaml"]
    partial, problems = load_shares(tmp_path, CONFIG, TODAY, OutsideChooser({"acme-a"}, {"broken.yaml"}))
    assert not any("YAML syntax error" in p.message for p in problems)
    assert [b.bucket for b in partial.buckets] == ["acme-a"]
    _, inside = load_shares(tmp_path, CONFIG, TODAY, OutsideChooser({"acme-a"}, {"a.yaml"}))
    assert any("YAML syntax error" in p.message for p in inside)
