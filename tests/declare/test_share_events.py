"""The fast reader (libyaml events straight to documents) and the node reader agree.

The fast reader gives up on anything it would have to judge; whatever it returns must be
exactly what the node reader returns for that text, with no problem found. And for the
plain valid files people write, it must not give up (or the speed is lost in silence).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.declare.config import Config
from reconciler.declare.share_events import read_documents
from reconciler.declare.share_file import load_text, load_text_nodes, parse_grantee
from reconciler.declare.tree import load_shares

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CONFIG = Config()

GOOD_GRANTEES = [
    "222222222222",
    333333333333,
    "arn:aws:iam::222222222222:role/ml/job-1",
    "arn:aws:iam::444444444444:user/ci/bot",
    "arn:aws:iam::555555555555:root",
    "org:o-a1b2c3d4e5",
    "ou:o-a1b2c3d4e5/r-ab12/ou-ab12-11111111",
]
BAD_GRANTEES = ["111111111111", "arn:aws:iam::*:root", "everyone", "12345", True]
"""111111111111 is the owner's own account: a warning, which only the node reader words."""


def either(draw: st.DrawFn, good: list[Any], bad: list[Any]) -> Any:
    """Mostly a valid value, so that whole files without a problem are common too."""
    return draw(st.sampled_from(good if draw(st.integers(0, 9)) else good + bad))


@st.composite
def grants(draw: st.DrawFn) -> dict[str, Any]:
    grant: dict[str, Any] = {
        "to": either(draw, GOOD_GRANTEES, BAD_GRANTEES),
        "access": either(draw, ["read", "write", "read-write"], ["admin", "yes", ""]),
    }
    if draw(st.booleans()):
        grant["prefixes"] = either(
            draw, [["models/"], ["data/x/", "eval"], ["é/"]], [[], ["/bad"], ["a", "a/"]]
        )
    if draw(st.booleans()):
        grant["reason"] = either(draw, ["fraud scoring", "x y"], ["", " ", "null", "1"])
    if draw(st.booleans()):
        grant["expires"] = either(
            draw, [dt.date(2027, 3, 31), "2027-03-31", dt.date(2020, 1, 1)], ["2027-02-30", "soon", 5]
        )
    if draw(st.integers(0, 19)) == 0:
        grant["acess"] = "read"
    return grant


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    document: dict[str, Any] = {
        "version": either(draw, [1], [2, "1"]),
        "bucket": either(draw, ["acme-data", "acme-models"], ["Bad_Name", "xn--x", "12"]),
        "account": either(draw, ["111111111111", 111111111111], ["11111111111", True]),
    }
    if draw(st.booleans()):
        document["owner"] = either(draw, ["ml-platform"], ["", 1])
    document["grants"] = draw(st.lists(grants(), max_size=4))
    if draw(st.integers(0, 3)) == 0:
        document["adopt"] = either(
            draw,
            [["InferenceRead"], ["sha256:0123456789abcdef", "X"]],
            [["BucketShareX"], ["sha256:zz"], ["A", "A"]],
        )
    if draw(st.integers(0, 3)) == 0:
        document["kms"] = either(draw, ["warn", "manage"], ["maybe"])
    for key in ("create", "versioning"):
        if draw(st.integers(0, 3)) == 0:
            document[key] = either(draw, [True, False], ["yes", 1])
    for key in list(document):
        if draw(st.integers(0, 30)) == 0:
            del document[key]
    return document


@st.composite
def files(draw: st.DrawFn) -> str:
    docs = draw(st.lists(documents(), min_size=1, max_size=3))
    flow = draw(st.sampled_from([False, None, True]))
    text = yaml.safe_dump_all(docs, default_flow_style=flow, sort_keys=draw(st.booleans()))
    if draw(st.integers(0, 5)) == 0:
        # A raw edit: a tab, an anchor, a tag, a stray key, a cut.
        edit = draw(
            st.sampled_from(
                [
                    "\t",
                    "&a ",
                    "*a",
                    "!!str ",
                    "x: 1\n",
                    "- ",
                    "\n---\n",
                    "'",
                    "bucket: acme-x\n",
                    "  access: read\n",
                ]
            )
        )
        at = draw(st.integers(0, len(text)))
        text = text[:at] + edit + text[at:]
    return text


@SETTINGS
@given(files())
def test_the_fast_reader_returns_what_the_node_reader_finds_or_gives_up(text: str) -> None:
    fast = read_documents(text, "f.yaml", CONFIG, parse_grantee)
    slow, problems = load_text_nodes(text, "f.yaml", CONFIG)
    if fast is not None:
        assert problems == []
        assert fast == slow
    assert load_text(text, "f.yaml", CONFIG) == (slow, problems)


@SETTINGS
@given(st.lists(documents(), min_size=1, max_size=3), st.sampled_from([False, None, True]))
def test_a_file_with_no_problem_takes_the_fast_path(docs: list[dict[str, Any]], flow: bool | None) -> None:
    text = yaml.safe_dump_all(docs, default_flow_style=flow)
    slow, problems = load_text_nodes(text, "f.yaml", CONFIG)
    if not problems:
        assert read_documents(text, "f.yaml", CONFIG, parse_grantee) == slow


def test_the_locations_are_the_node_readers() -> None:
    text = (
        "# a comment\nversion: 1\nbucket: acme-data\naccount: '111111111111'\n"
        "versioning: true\ncreate: true\n"
        "kms: manage\nadopt: [Legacy]\ngrants:\n  - to: org:o-a1b2c3d4e5\n    access: read\n"
        "    prefixes: [a/, b]\n  - {to: '222222222222', access: write, expires: 2027-03-31}\n"
        "---\nversion: 1\nbucket: acme-two\naccount: 111111111111\ngrants: []\n"
    )
    fast = read_documents(text, "f.yaml", CONFIG, parse_grantee)
    assert fast is not None
    assert fast == load_text_nodes(text, "f.yaml", CONFIG)[0]
    assert [str(g.location) for g in fast[0].grants] == ["f.yaml:10:5", "f.yaml:13:5"]


VALID = (
    "version: 1\nbucket: acme-data\naccount: '111111111111'\n"
    "grants:\n  - to: '222222222222'\n    access: read\n"
)


@pytest.mark.parametrize(
    "text",
    [
        VALID + "    access: write\n",  # a repeated key
        VALID + "bucket: acme-other\n",
        VALID.replace("access: read", "access: &a read"),
        VALID.replace("access: read", "access: !!str read"),
        VALID.replace("grants:", '"grants":'),  # quoted keys are fine, through the node reader
        VALID + "versioning: yes\ncreate: on\n",
        VALID + "kms: warn\n",
        VALID.replace("version: 1", "version: 01"),
        VALID.replace("'222222222222'", "222222222222"),
        VALID.replace("'222222222222'", "'111111111111'"),  # a warning
        "\ufeff" + VALID,
        VALID + "---\n",
        VALID + "...\n---\n" + VALID.replace("acme-data", "acme-two"),
    ],
)
def test_what_load_text_returns_is_the_node_readers(text: str) -> None:
    assert load_text(text, "f.yaml", CONFIG) == load_text_nodes(text, "f.yaml", CONFIG)


def test_a_load_keeps_one_copy_of_what_repeats(tmp_path: Path) -> None:
    """100,000 grants name far fewer grantees, prefix lists, reasons and dates than that: a load
    checks each once and keeps one copy, across its files, not one per grant."""
    grant = (
        "  - to: {to}\n    access: read\n    prefixes: [models/, data]\n"
        "    reason: fraud scoring\n    expires: 2027-03-31\n"
    )
    grantees = ["'222222222222'", "arn:aws:iam::222222222222:role/ml/job-1", "org:o-a1b2c3d4e5"]
    for name in ("a", "b"):
        grants = "".join(grant.format(to=to) for to in grantees)
        (tmp_path / f"{name}.yaml").write_text(
            f"version: 1\nbucket: acme-{name}\naccount: '111111111111'\nowner: ml\ngrants:\n{grants}"
        )
    declarations, problems = load_shares(tmp_path, CONFIG, dt.date(2026, 1, 1))
    assert problems == []
    first, second = declarations.buckets
    assert len(first.grants) == len(grantees) and first.owners == ("ml",)
    for one, other in zip(first.grants, second.grants, strict=True):
        assert one.location != other.location
        assert one.grantee is other.grantee
        assert one.prefixes is other.prefixes
        assert one.reason is other.reason
        assert one.expires is other.expires
    assert first.owners[0] is second.owners[0]


@pytest.mark.parametrize(
    ("quoted", "plain"),
    [
        ("    reason: 'true'\n", "    reason: true\n"),  # a string, then a bool
        ("owner: 'null'\n", "owner: null\n"),
        ("    prefixes: ['1', a/]\n", "    prefixes: [1, a/]\n"),
    ],
)
def test_a_value_quoted_in_one_file_and_plain_in_the_next_is_read_as_written(
    tmp_path: Path, quoted: str, plain: str
) -> None:
    """One reader serves every file of a load and keeps what it has checked: what it kept for
    a quoted value must not stand for the same text written plain, which YAML reads otherwise."""
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(VALID + quoted)
    second.write_text(VALID.replace("acme-data", "acme-b") + plain)
    declarations, problems = load_shares(tmp_path, CONFIG, dt.date(2026, 1, 1))
    expected = load_text_nodes(second.read_text(), str(second), CONFIG)[1]
    assert expected and problems == expected
    assert len(declarations.buckets) == 2
