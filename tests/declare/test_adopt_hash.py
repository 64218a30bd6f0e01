"""`adopt:` names a statement without a Sid by its content hash."""

from __future__ import annotations

from reconciler.declare.config import Config
from reconciler.declare.share_file import load_text

DOC = """\
version: 1
bucket: acme-data
account: "111111111111"
grants:
  - to: "222222222222"
    access: read
adopt: [{entry}]
"""


def test_a_statement_hash_is_an_adoption() -> None:
    documents, problems = load_text(DOC.format(entry='Legacy, "sha256:0123456789abcdef"'), "f.yaml", Config())
    assert problems == []
    assert [(a.sid, a.digest) for a in documents[0].adopted] == [
        ("Legacy", None),
        ("sha256:0123456789abcdef", "0123456789abcdef"),
    ]


def test_a_malformed_hash_is_refused_at_its_line() -> None:
    _, problems = load_text(DOC.format(entry='"sha256:0123"'), "f.yaml", Config())
    assert [str(p) for p in problems] == [
        "f.yaml:7:9: adopt: 'sha256:0123' is not a statement hash (sha256: and 16 hex digits); "
        "copy it from what reconciler import wrote"
    ]
