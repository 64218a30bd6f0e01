"""`create:` and `versioning:` in declarations: read, located errors, merged across files."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import RunCli, WriteShares

from reconciler.declare.config import Config
from reconciler.declare.tree import load_shares

TODAY = dt.date(2026, 1, 15)
HEAD = 'version: 1\nbucket: acme-data\naccount: "111111111111"\n'


@pytest.mark.parametrize(
    ("extra", "create", "versioning"),
    [
        pytest.param("", False, False, id="absent"),
        pytest.param("create: true\n", True, False, id="create"),
        pytest.param("create: false\n", False, False, id="create-false"),
        pytest.param("create: true\nversioning: true\n", True, True, id="create-versioning"),
        pytest.param("create: true\nversioning: false\n", True, False, id="versioning-false"),
    ],
)
def test_create_and_versioning_are_read(
    write_shares: WriteShares, extra: str, create: bool, versioning: bool
) -> None:
    shares = write_shares({"a.yaml": HEAD + extra})
    declarations, problems = load_shares(shares, Config(), TODAY)
    assert problems == []
    (share,) = declarations.buckets
    assert (share.create, share.versioning) == (create, versioning)


@pytest.mark.parametrize(
    ("extra", "where", "message"),
    [
        pytest.param('create: "yes"\n', "4:9", "create must be true or false", id="create-string"),
        pytest.param("create: 1\n", "4:9", "create must be true or false", id="create-number"),
        pytest.param(
            "create: [true]\n", "4:9", "create must be a single value, not a list", id="create-list"
        ),
        pytest.param(
            "create: true\nversioning: on-demand\n",
            "5:13",
            "versioning must be true or false",
            id="versioning",
        ),
        pytest.param(
            "versioning: true\n",
            "4:13",
            "versioning: true applies only to a bucket bucketshare creates; add create: true for acme-data",
            id="versioning-without-create",
        ),
        pytest.param(
            "creat: true\n",
            "4:1",
            "unknown key 'creat' in a share document; did you mean 'create'?",
            id="typo",
        ),
    ],
)
def test_bad_create_fields_are_located_errors(
    write_shares: WriteShares, run_cli: RunCli, extra: str, where: str, message: str
) -> None:
    write_shares({"f.yaml": HEAD + extra})
    rc, out, err = run_cli("validate", "--shares", "shares")
    assert rc == 1, (out, err)
    assert any(line.startswith(f"shares/f.yaml:{where}: {message}") for line in err.splitlines()), err


def test_any_file_saying_true_makes_it_so(write_shares: WriteShares) -> None:
    shares = write_shares(
        {
            "a.yaml": HEAD + "versioning: true\n",
            "b.yaml": HEAD + "create: true\n",
            "c.yaml": HEAD + "create: false\n",
        }
    )
    declarations, problems = load_shares(shares, Config(), TODAY)
    assert problems == []
    (share,) = declarations.buckets
    assert share.create and share.versioning


def test_versioning_without_create_in_any_file_is_an_error(write_shares: WriteShares) -> None:
    shares = write_shares({"a.yaml": HEAD + "create: false\n", "b.yaml": HEAD + "versioning: true\n"})
    declarations, problems = load_shares(shares, Config(), TODAY)
    assert declarations.buckets == ()
    assert [str(p) for p in problems] == [
        f"{shares}/b.yaml:4:13: versioning: true applies only to a bucket bucketshare creates; add "
        "create: true for acme-data, or enable versioning on the existing bucket by hand and remove this"
    ]
