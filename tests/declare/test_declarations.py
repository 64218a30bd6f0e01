from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from conftest import RunCli, WriteShares

from reconciler.declare.config import Config, load_config
from reconciler.declare.model import GranteeKind
from reconciler.declare.share_file import load_text
from reconciler.declare.tree import load_shares
from reconciler.declare.yaml_source import MAX_FILE_BYTES, read_text
from reconciler.errors import Severity, errors_only
from reconciler.policy.render import render_declarations

REPO = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 1, 15)

# Lines 1-4 of most cases; a grant then starts at line 5 ("  - to: " puts its value at col 9,
# "    access: " at col 13, "    prefixes: [" the first prefix at col 16, "    expires: " at col 14).
HEAD = 'version: 1\nbucket: acme-data\naccount: "111111111111"\ngrants:\n'
TO = '  - to: "222222222222"'
READ = "    access: read"


def doc(*grant_lines: str) -> str:
    return HEAD + "".join(line + "\n" for line in grant_lines)


def bucket_doc(name: str) -> str:
    return f'version: 1\nbucket: {name}\naccount: "111111111111"\n'


def account_doc(account: str) -> str:
    return f"version: 1\nbucket: acme-data\naccount: {account}\n"


def to_doc(to: str) -> str:
    return doc(f"  - to: {to}", READ)


def prefix_doc(prefixes: str) -> str:
    return doc(TO, READ, f"    prefixes: {prefixes}")


BAD_INPUTS = [
    # YAML syntax and encoding
    pytest.param(
        "version: 1\nbucket: [acme\n",
        "3:1",
        "YAML syntax error: did not find expected ','",
        id="syntax-unclosed-flow",
    ),
    pytest.param(
        "version: 1\nbucket: a: b\n",
        "2:10",
        "YAML syntax error: mapping values are not allowed",
        id="syntax-colon-in-plain",
    ),
    pytest.param(
        doc(TO, "     access: read"),
        "6:6",
        "YAML syntax error: did not find expected key",
        id="syntax-bad-indent",
    ),
    pytest.param(
        HEAD + '\t- to: "222222222222"\n',
        "5:1",
        "tab character in indentation; YAML needs spaces",
        id="tab-at-line-start",
    ),
    pytest.param(doc(TO, "  \taccess: read"), "6:3", "tab character in indentation", id="tab-after-spaces"),
    pytest.param(
        b"version: 1\nbucket: acme-data\nowner: ml\xff\n",
        "3:10",
        "file is not valid UTF-8; save it as UTF-8",
        id="not-utf8",
    ),
    pytest.param(
        'version: 1\nbucket: acme-data\naccount: "111111111111"\n---\n---\n' + bucket_doc("acme-other"),
        "4:1",
        "empty document; declare a bucket or remove the '---'",
        id="empty-document",
    ),
    pytest.param(
        "- acme-data\n- acme-other\n",
        "1:1",
        "a share document must be a mapping, not a list",
        id="document-is-list",
    ),
    pytest.param(
        "acme-data\n",
        "1:1",
        "a share document must be a mapping, not a single value",
        id="document-is-scalar",
    ),
    pytest.param("", "1:1", "file declares no bucket; add a document or delete the file", id="no-documents"),
    pytest.param("# grants moved to fraud-team.yaml\n", "1:1", "file declares no bucket", id="only-comments"),
    # duplicate keys
    pytest.param(
        'version: 1\nbucket: acme-data\nbucket: acme-other\naccount: "111111111111"\n',
        "3:1",
        "duplicate key 'bucket' (first at line 2); keep one",
        id="duplicate-document-key",
    ),
    pytest.param(
        doc(TO, READ, "    access: write"),
        "7:5",
        "duplicate key 'access' (first at line 6); keep one",
        id="duplicate-grant-key",
    ),
    # anchors and aliases
    pytest.param(
        doc('  - &reader\n    to: "222222222222"', READ, "  - *reader"),
        "5:5",
        "YAML anchors and aliases are not allowed",
        id="anchor-and-alias",
    ),
    pytest.param(
        'version: 1\nbucket: &b acme-data\naccount: "111111111111"\n',
        "2:9",
        "anchors and aliases are not allowed",
        id="anchor-only",
    ),
    pytest.param(
        'version: 1\nbucket: *b\naccount: "111111111111"\n',
        "2:9",
        "anchors and aliases are not allowed",
        id="alias-only",
    ),
    # unknown keys, wrong types, missing keys, version
    pytest.param(
        doc(TO, "    acess: read"),
        "6:5",
        "unknown key 'acess' in a grant; did you mean 'access'?",
        id="unknown-grant-key-suggestion",
    ),
    pytest.param(
        'version: 1\nbukcet: acme-data\naccount: "111111111111"\n',
        "2:1",
        "unknown key 'bukcet' in a share document; did you mean 'bucket'?",
        id="unknown-document-key-suggestion",
    ),
    pytest.param(
        bucket_doc("acme-data") + "zzz: 1\n",
        "4:1",
        "unknown key 'zzz' in a share document; expected one of: "
        "version, bucket, account, owner, grants, adopt, kms, create, versioning",
        id="unknown-key-no-match",
    ),
    pytest.param(
        bucket_doc("acme-data") + "1: x\n", "4:1", "keys must be plain strings", id="non-string-key"
    ),
    pytest.param(
        bucket_doc("acme-data") + "grants: yes\n",
        "4:9",
        "grants must be a list, not a single value",
        id="grants-not-list",
    ),
    pytest.param(
        'version: 1\nbucket: [acme-data]\naccount: "111111111111"\n',
        "2:9",
        "bucket must be a single value, not a list",
        id="bucket-is-list",
    ),
    pytest.param(bucket_doc("123"), "2:9", "bucket must be a string, not int 123", id="bucket-is-int"),
    pytest.param(
        HEAD + "  - 222222222222\n",
        "5:5",
        "a grant must be a mapping, not a single value",
        id="grant-not-mapping",
    ),
    pytest.param(
        doc(TO, READ, "    reason: [audit]"),
        "7:13",
        "reason must be a single value, not a list",
        id="reason-is-list",
    ),
    pytest.param(
        'version: 1\nbucket: !!binary YWNtZQ==\naccount: "111111111111"\n',
        "2:9",
        "unsupported YAML tag",
        id="binary-tag",
    ),
    pytest.param(
        'bucket: acme-data\naccount: "111111111111"\n',
        "1:1",
        "a share document is missing required key 'version'",
        id="missing-version",
    ),
    pytest.param(
        'version: 1\naccount: "111111111111"\n', "1:1", "missing required key 'bucket'", id="missing-bucket"
    ),
    pytest.param(
        "version: 1\nbucket: acme-data\n", "1:1", "missing required key 'account'", id="missing-account"
    ),
    pytest.param(
        doc(READ.replace("    ", "  - ")), "5:5", "a grant is missing required key 'to'", id="missing-to"
    ),
    pytest.param(doc(TO), "5:5", "a grant is missing required key 'access'", id="missing-access"),
    pytest.param(
        'version: 2\nbucket: acme-data\naccount: "111111111111"\n',
        "1:10",
        "unsupported version 2; use version: 1",
        id="version-2",
    ),
    pytest.param(
        'version: "1"\nbucket: acme-data\naccount: "111111111111"\n',
        "1:10",
        "unsupported version '1'",
        id="version-string",
    ),
    pytest.param(
        'version: true\nbucket: acme-data\naccount: "111111111111"\n',
        "1:10",
        "unsupported version True",
        id="version-bool",
    ),
    # account ids
    pytest.param(
        account_doc('"11111111111"'),
        "3:10",
        "account id '11111111111' must be exactly 12 digits",
        id="account-11-digits",
    ),
    pytest.param(account_doc('"1111111111111"'), "3:10", "must be exactly 12 digits", id="account-13-digits"),
    pytest.param(account_doc('"11111111111a"'), "3:10", "must be exactly 12 digits", id="account-letter"),
    pytest.param(
        account_doc("11111111111"),
        "3:10",
        "account '11111111111' must be a quoted 12-digit account id",
        id="account-unquoted-11-digits",
    ),
    pytest.param(
        account_doc("111_111_111_111"),
        "3:10",
        "must be a quoted 12-digit account id",
        id="account-unquoted-underscores",
    ),
    pytest.param(
        account_doc("0x1A2B3C4D5E"), "3:10", "must be a quoted 12-digit account id", id="account-unquoted-hex"
    ),
    pytest.param(
        account_doc("[111111111111]"), "3:10", "account must be a single value, not a list", id="account-list"
    ),
    pytest.param(
        to_doc("22222222222"),
        "5:9",
        "to '22222222222' must be a quoted 12-digit account id",
        id="to-unquoted-11-digits",
    ),
    pytest.param(
        to_doc('"2222222222222"'),
        "5:9",
        "account id '2222222222222' must be exactly 12 digits",
        id="to-13-digits",
    ),
    # principals
    pytest.param(
        to_doc("arn:aws-cn:iam::222222222222:root"),
        "5:9",
        "ARN partition 'aws-cn' does not match the configured partition 'aws'",
        id="arn-wrong-partition",
    ),
    pytest.param(
        to_doc("arn:aws:iam::22222222222:role/x"),
        "5:9",
        "is not an IAM ARN; use arn:aws:iam::<12 digits>:root",
        id="arn-short-account",
    ),
    pytest.param(
        to_doc("arn:aws:iam::222222222222:group/readers"), "5:9", "is not an IAM ARN", id="arn-group"
    ),
    pytest.param(
        to_doc("arn:aws:sts::222222222222:assumed-role/r/s"), "5:9", "is not an IAM ARN", id="arn-sts"
    ),
    pytest.param(
        to_doc("arn:aws:iam::222222222222:role/"), "5:9", "is not an IAM ARN", id="arn-role-without-name"
    ),
    pytest.param(
        to_doc("org:o-abc"), "5:9", "organization id 'o-abc' must look like o-a1b2c3d4e5", id="org-too-short"
    ),
    pytest.param(
        to_doc("org:o-A1B2C3D4E5"), "5:9", "organization id 'o-A1B2C3D4E5' must look like", id="org-uppercase"
    ),
    pytest.param(
        to_doc("ou:o-a1b2c3d4e5/ou-ab12-11111111"),
        "5:9",
        "organizational unit path 'o-a1b2c3d4e5/ou-ab12-11111111' must look like",
        id="ou-without-root",
    ),
    pytest.param(to_doc("ou:o-a1b2c3d4e5/r-ab12"), "5:9", "organizational unit path", id="ou-root-only"),
    pytest.param(
        to_doc("'*'"), "5:9", "grant to '*' refused: bucketshare never makes a bucket public", id="to-star"
    ),
    pytest.param(to_doc("everyone"), "5:9", "grant to 'everyone' refused", id="to-everyone"),
    pytest.param(to_doc("Everyone"), "5:9", "grant to 'Everyone' refused", id="to-everyone-capitalised"),
    pytest.param(
        to_doc("'arn:aws:iam::*:root'"),
        "5:9",
        "refused: bucketshare never makes a bucket public or uses wildcards",
        id="to-any-account-arn",
    ),
    pytest.param(to_doc("arn:aws:iam::222222222222:role/*"), "5:9", "uses wildcards", id="to-role-wildcard"),
    pytest.param(
        to_doc("fraud-team"),
        "5:9",
        "cannot tell what 'fraud-team' is; use a 12-digit account id",
        id="to-unrecognised",
    ),
    pytest.param(to_doc("yes"), "5:9", "to must be a string, not bool True", id="to-bool"),
    pytest.param(doc("  - to:", READ), "5:8", "to must not be empty", id="to-empty"),
    # access and expires
    pytest.param(
        doc(TO, "    access: admin"),
        "6:13",
        "access 'admin' is not one of read, write, read-write",
        id="access-unknown",
    ),
    pytest.param(doc(TO, "    access: READ"), "6:13", "access 'READ' is not one of", id="access-uppercase"),
    pytest.param(
        doc(TO, "    access: [read]"), "6:13", "access must be a single value, not a list", id="access-list"
    ),
    pytest.param(
        doc(TO, READ, "    expires: next week"),
        "7:14",
        "expires 'next week' is not a date; write it as YYYY-MM-DD",
        id="expires-words",
    ),
    pytest.param(
        doc(TO, READ, "    expires: 20270331"), "7:14", "expires 20270331 is not a date", id="expires-int"
    ),
    pytest.param(
        doc(TO, READ, "    expires: 31/03/2027"),
        "7:14",
        "is not a date; write it as YYYY-MM-DD",
        id="expires-dmy",
    ),
    # bucket names
    pytest.param(
        bucket_doc("ab"),
        "2:9",
        "bucket name 'ab' is invalid: it must be 3 to 63 characters long",
        id="bucket-too-short",
    ),
    pytest.param(bucket_doc("a" * 64), "2:9", "it must be 3 to 63 characters long", id="bucket-too-long"),
    pytest.param(
        bucket_doc("Acme-Data"),
        "2:9",
        "use lowercase letters, digits, dots and hyphens",
        id="bucket-uppercase",
    ),
    pytest.param(
        bucket_doc("acme_data"),
        "2:9",
        "use lowercase letters, digits, dots and hyphens",
        id="bucket-underscore",
    ),
    pytest.param(
        bucket_doc("acme-data-"),
        "2:9",
        "starting and ending with a letter or digit",
        id="bucket-trailing-hyphen",
    ),
    pytest.param(
        bucket_doc(".acme-data"), "2:9", "starting and ending with a letter or digit", id="bucket-leading-dot"
    ),
    pytest.param(
        bucket_doc("acme..data"), "2:9", "it must not contain two adjacent dots", id="bucket-double-dot"
    ),
    pytest.param(
        bucket_doc("192.168.5.4"), "2:9", "it must not be formatted as an IP address", id="bucket-ip"
    ),
    pytest.param(
        bucket_doc("xn--acme-data"), "2:9", "it must not start with a reserved prefix", id="bucket-xn-prefix"
    ),
    pytest.param(bucket_doc("sthree-acme"), "2:9", "reserved prefix", id="bucket-sthree-prefix"),
    pytest.param(
        bucket_doc("acme-data-s3alias"),
        "2:9",
        "it must not end with a reserved suffix",
        id="bucket-s3alias-suffix",
    ),
    pytest.param(bucket_doc("acme-data--ol-s3"), "2:9", "reserved suffix", id="bucket-ol-s3-suffix"),
    # prefixes
    pytest.param(
        prefix_doc("[/models/fraud/]"),
        "7:16",
        "prefix '/models/fraud/' must not start with '/'",
        id="prefix-leading-slash",
    ),
    pytest.param(prefix_doc("['models/*']"), "7:16", "must not contain '*' or '?'", id="prefix-star"),
    pytest.param(
        prefix_doc("['models/v?/']"), "7:16", "must not contain '*' or '?'", id="prefix-question-mark"
    ),
    pytest.param(
        prefix_doc("[models/../secrets/]"),
        "7:16",
        "must not contain '.' or '..' segments",
        id="prefix-dotdot",
    ),
    pytest.param(prefix_doc("[./models/]"), "7:16", "'.' or '..' segments", id="prefix-dot"),
    pytest.param(
        prefix_doc('["models/\\x01"]'),
        "7:16",
        "must not contain control characters",
        id="prefix-control-char",
    ),
    pytest.param(
        prefix_doc('["models/\\x7f"]'), "7:16", "must not contain control characters", id="prefix-delete-char"
    ),
    pytest.param(
        prefix_doc(f"[{'a' * 1025}]"), "7:16", "prefix is longer than 1024 bytes", id="prefix-1025-bytes"
    ),
    pytest.param(
        prefix_doc(f"[{'é' * 513}]"), "7:16", "prefix is longer than 1024 bytes", id="prefix-1026-utf8-bytes"
    ),
    pytest.param(
        prefix_doc("[]"),
        "7:15",
        "prefixes must not be empty; leave it out to share the whole bucket",
        id="prefixes-empty-list",
    ),
    pytest.param(prefix_doc("['']"), "7:16", "prefix must not be empty", id="prefix-empty-string"),
    pytest.param(
        prefix_doc("[models//fraud/]"), "7:16", "must not contain an empty segment", id="prefix-double-slash"
    ),
    pytest.param(
        prefix_doc("models/fraud/"),
        "7:15",
        "prefixes must be a list, not a single value",
        id="prefixes-not-list",
    ),
    pytest.param(
        prefix_doc("[models/fraud, models/fraud/]"),
        "7:30",
        "prefix 'models/fraud/' is listed twice in this grant",
        id="prefix-twice-in-grant",
    ),
]


@pytest.mark.parametrize(("text", "where", "message"), BAD_INPUTS)
def test_validate_reports_bad_input(
    write_shares: WriteShares, run_cli: RunCli, text: str | bytes, where: str, message: str
) -> None:
    write_shares({"f.yaml": text})

    rc, out, err = run_cli("validate", "--shares", "shares")

    prefix = f"shares/f.yaml:{where}: "
    lines = err.splitlines()
    assert rc == 1, (out, err)
    assert "Traceback" not in err
    assert any(line.startswith(prefix) and message in line for line in lines), err
    assert re.fullmatch(r"[0-9,]+ problems?", lines[-1]), lines[-1]


def test_bad_input_table_is_large_enough() -> None:
    assert len(BAD_INPUTS) >= 40


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            doc(TO, "    acess: read"),
            [
                "f.yaml:5:5: a grant is missing required key 'access'",
                "f.yaml:6:5: unknown key 'acess' in a grant; did you mean 'access'?",
            ],
            id="misspelt-key",
        ),
        pytest.param(
            account_doc("12345"),
            ["f.yaml:3:10: account '12345' must be a quoted 12-digit account id, e.g. \"012345678901\""],
            id="unquoted-short-account",
        ),
        pytest.param(
            doc(TO, "    access: admin", '    prefixes: ["/x", "y*"]'),
            [
                "f.yaml:6:13: access 'admin' is not one of read, write, read-write",
                "f.yaml:7:16: prefix '/x' must not start with '/'; S3 keys have no leading slash",
                "f.yaml:7:22: prefix 'y*' must not contain '*' or '?'; a prefix already covers everything "
                "below it",
            ],
            id="every-problem-of-a-grant",
        ),
    ],
)
def test_load_text_exact_messages(text: str, expected: list[str]) -> None:
    _, problems = load_text(text, "f.yaml", Config())
    assert sorted(str(p) for p in problems) == expected


@pytest.mark.parametrize(
    "account",
    [
        pytest.param("111111111111", id="plain"),
        pytest.param("011111111111", id="leading-zero-read-as-octal"),
        pytest.param("012345678901", id="leading-zero-read-as-string"),
    ],
)
def test_unquoted_twelve_digit_account_keeps_its_digits(account: str) -> None:
    documents, problems = load_text(account_doc(account), "f.yaml", Config())

    assert problems == []
    assert documents[0].account == account


def test_unquoted_twelve_digit_grantee_is_an_account() -> None:
    documents, problems = load_text(to_doc("222222222222"), "f.yaml", Config())

    assert problems == []
    (grant,) = documents[0].grants
    assert (grant.grantee.kind, grant.grantee.id) == (GranteeKind.ACCOUNT, "222222222222")


@pytest.mark.parametrize(
    ("to", "kind", "grantee_id"),
    [
        ('"222222222222"', GranteeKind.ACCOUNT, "222222222222"),
        ("arn:aws:iam::222222222222:root", GranteeKind.ACCOUNT, "222222222222"),
        (
            "arn:aws:iam::222222222222:role/inference",
            GranteeKind.ROLE,
            "arn:aws:iam::222222222222:role/inference",
        ),
        (
            "arn:aws:iam::222222222222:role/inference/batch-scoring",
            GranteeKind.ROLE,
            "arn:aws:iam::222222222222:role/inference/batch-scoring",
        ),
        (
            "arn:aws:iam::222222222222:user/ci/deployer",
            GranteeKind.USER,
            "arn:aws:iam::222222222222:user/ci/deployer",
        ),
        ("org:o-a1b2c3d4e5", GranteeKind.ORG, "o-a1b2c3d4e5"),
        ("ou:o-a1b2c3d4e5/r-ab12/ou-ab12-11111111", GranteeKind.OU, "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111"),
        ("ou:o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/", GranteeKind.OU, "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111"),
    ],
)
def test_valid_grantees(to: str, kind: GranteeKind, grantee_id: str) -> None:
    documents, problems = load_text(to_doc(to), "f.yaml", Config())

    assert problems == []
    (grant,) = documents[0].grants
    assert (grant.grantee.kind, grant.grantee.id) == (kind, grantee_id)


def test_trailing_slash_is_normalised() -> None:
    documents, problems = load_text(prefix_doc("[models/fraud, features/]"), "f.yaml", Config())

    assert problems == []
    assert documents[0].grants[0].prefixes == ("features/", "models/fraud/")


def test_prefix_of_exactly_1024_bytes_is_accepted() -> None:
    _, problems = load_text(prefix_doc(f"[{'é' * 512}]"), "f.yaml", Config())
    assert problems == []


def test_grant_location_is_the_grant_item() -> None:
    documents, _ = load_text(doc(TO, READ), "f.yaml", Config())
    assert str(documents[0].grants[0].location) == "f.yaml:5:5"


# ---- whole-directory checks: files, merging, warnings ----


def test_shipped_examples_validate(run_cli: RunCli) -> None:
    rc, out, err = run_cli("validate", "--shares", REPO / "shares")

    assert (rc, err) == (0, "")
    assert out.splitlines()[-1].startswith("2 buckets, 8 grants, 0 problems")


def test_clean_run_prints_one_summary_line(write_shares: WriteShares, run_cli: RunCli) -> None:
    write_shares(
        {
            "a.yaml": doc(TO, READ, '  - to: "333333333333"', "    access: write"),
            "b.yaml": bucket_doc("acme-other") + "---\n" + bucket_doc("acme-third"),
        }
    )

    rc, out, err = run_cli("validate", "--shares", "shares")

    assert (rc, out, err) == (0, "3 buckets, 2 grants, 0 problems\n", "")


def test_errors_from_several_files_come_out_sorted_in_one_run(
    write_shares: WriteShares, run_cli: RunCli
) -> None:
    write_shares(
        {
            "z.yaml": bucket_doc("Bad_Bucket"),
            "a.yaml": doc(
                TO,
                READ,
                "    acess: x",
                "  - to: everyone",
                READ,
                "  - to: org:o-1",
                READ,
                '  - to: "1"',
                READ,
            ),
            "sub/m.yaml": "version: 1\nbucket: [\n",
        }
    )

    rc, _, err = run_cli("validate", "--shares", "shares")

    assert rc == 1
    assert err.splitlines() == [
        "shares/a.yaml:7:5: unknown key 'acess' in a grant; did you mean 'access'?",
        "shares/a.yaml:8:9: grant to 'everyone' refused: bucketshare never makes a bucket public or uses "
        "wildcards",
        "shares/a.yaml:10:9: organization id 'o-1' must look like o-a1b2c3d4e5 (o- then 10-32 lowercase "
        "letters/digits)",
        "shares/a.yaml:12:9: account id '1' must be exactly 12 digits (quote it in YAML)",
        "shares/sub/m.yaml:3:1: YAML syntax error: did not find expected node content",
        "shares/z.yaml:2:9: bucket name 'Bad_Bucket' is invalid: use lowercase letters, digits, dots and "
        "hyphens, starting and ending with a letter or digit",
        "6 problems",
    ]


def test_grant_to_own_account_is_a_warning(write_shares: WriteShares, run_cli: RunCli) -> None:
    write_shares({"f.yaml": to_doc('"111111111111"')})

    rc, out, err = run_cli("validate", "--shares", "shares")

    assert (rc, err) == (0, "")
    assert out.splitlines() == [
        "shares/f.yaml:5:9: warning: account 111111111111 is in the bucket's own account; its IAM "
        "policies already suffice, so this grant is not needed",
        "1 bucket, 1 grant, 0 problems, 1 warning",
    ]


def test_role_in_own_account_is_a_warning() -> None:
    _, problems = load_text(to_doc("arn:aws:iam::111111111111:role/x"), "f.yaml", Config())

    assert [(str(p.location), p.severity) for p in problems] == [("f.yaml:5:9", Severity.WARNING)]
    assert "is in the bucket's own account" in problems[0].message


def test_two_accounts_for_one_bucket(write_shares: WriteShares) -> None:
    shares = write_shares({"a.yaml": bucket_doc("acme-data"), "b.yaml": account_doc('"999999999999"')})

    _, problems = load_shares(shares, Config(), TODAY)

    assert [str(p) for p in problems] == [
        f"{shares}/b.yaml:3:10: bucket acme-data is declared with account 999999999999 here but "
        f"111111111111 at {shares}/a.yaml:3:10; one bucket has one owner"
    ]


@pytest.mark.parametrize(
    ("first", "second", "scope"),
    [
        pytest.param("[models/fraud/]", "[models/fraud/]", "models/fraud/", id="same-prefix"),
        pytest.param("[models/fraud]", "[models/fraud/]", "models/fraud/", id="with-and-without-slash"),
        pytest.param("[features/, models/fraud]", "[models/fraud/]", "models/fraud/", id="overlapping-lists"),
    ],
)
def test_same_grantee_and_prefix_in_two_files(
    write_shares: WriteShares, first: str, second: str, scope: str
) -> None:
    shares = write_shares({"a.yaml": prefix_doc(first), "b.yaml": prefix_doc(second)})

    _, problems = load_shares(shares, Config(), TODAY)

    assert [str(p) for p in problems] == [
        f"{shares}/b.yaml:5:5: account 222222222222 is granted {scope} of acme-data twice: "
        f"here and at {shares}/a.yaml:5:5; merge them into one grant"
    ]


def test_same_grantee_spelt_two_ways_is_a_duplicate(write_shares: WriteShares) -> None:
    shares = write_shares({"f.yaml": doc(TO, READ, "  - to: arn:aws:iam::222222222222:root", READ)})

    _, problems = load_shares(shares, Config(), TODAY)

    assert [str(p) for p in problems] == [
        f"{shares}/f.yaml:7:5: account 222222222222 is granted the whole bucket of acme-data twice: "
        f"here and at {shares}/f.yaml:5:5; merge them into one grant"
    ]


def test_different_grantees_or_prefixes_are_not_duplicates(write_shares: WriteShares) -> None:
    shares = write_shares(
        {
            "a.yaml": prefix_doc("[models/fraud/]"),
            "b.yaml": doc('  - to: "333333333333"', READ, "    prefixes: [models/fraud/]", TO, READ),
        }
    )

    declarations, problems = load_shares(shares, Config(), TODAY)

    assert problems == []
    assert declarations.grant_count() == 3


def test_prefix_twice_in_one_grant_names_both_places() -> None:
    text = doc(TO, READ, "    prefixes:", "      - models/fraud", "      - models/fraud/")

    _, problems = load_text(text, "f.yaml", Config())

    assert len(problems) == 1
    assert str(problems[0]).startswith("f.yaml:9:9: ")
    # The first spelling is on line 8: say so, as the duplicate-key and cross-grant messages do.
    assert "line 8" in problems[0].message or "f.yaml:8:9" in problems[0].message, problems[0].message


def test_oversized_file_is_refused(write_shares: WriteShares, run_cli: RunCli) -> None:
    text = bucket_doc("acme-data")
    write_shares({"big.yaml": text + "#" * (MAX_FILE_BYTES + 1 - len(text) - 1) + "\n"})

    rc, _, err = run_cli("validate", "--shares", "shares")

    assert rc == 1
    assert (
        err.splitlines()[0]
        == "shares/big.yaml:1:1: file is 1048577 bytes, over the 1048576-byte limit; split it"
    )


def test_file_of_exactly_one_mebibyte_is_accepted(write_shares: WriteShares, run_cli: RunCli) -> None:
    text = bucket_doc("acme-data")
    write_shares({"big.yaml": text + "#" * (MAX_FILE_BYTES - len(text) - 1) + "\n"})

    rc, out, err = run_cli("validate", "--shares", "shares")

    assert (rc, out, err) == (0, "1 bucket, 0 grants, 0 problems\n", "")


def test_non_utf8_column_counts_characters(tmp_path: Path) -> None:
    """The column of a bad byte counts characters, like every other column (é is one)."""
    path = tmp_path / "f.yaml"
    # "owner: café " is 12 characters but 13 bytes, so the bad byte is character 13.
    path.write_bytes("version: 1\nowner: café ".encode() + b"\xff\n")

    _, problems = read_text(path, "f.yaml")

    assert [str(p) for p in problems] == ["f.yaml:2:13: file is not valid UTF-8; save it as UTF-8"]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        pytest.param('version: 1\nbucket: acme\x07data\naccount: "111111111111"\n', "2:13", id="bell"),
        pytest.param(
            'version: 1\nbucket: acme-data\nowner: a\x00b\naccount: "111111111111"\n', "3:9", id="nul"
        ),
    ],
)
def test_control_character_in_file_is_located_on_one_line(text: str, where: str) -> None:
    _, problems = load_text(text, "f.yaml", Config())

    assert len(problems) == 1
    assert str(problems[0]).startswith(f"f.yaml:{where}: ")
    assert "\n" not in str(problems[0])


@pytest.mark.parametrize(
    ("text", "where"),
    [
        pytest.param(account_doc('"111111111111\\n"'), "3:10", id="account-trailing-newline"),
        pytest.param(account_doc("|\n  111111111111"), "3:10", id="account-block-scalar"),
        pytest.param(
            'version: 1\nbucket: "acme-data\\n"\naccount: "111111111111"\n',
            "2:9",
            id="bucket-trailing-newline",
        ),
    ],
)
def test_trailing_newline_is_not_part_of_a_valid_name(text: str, where: str) -> None:
    _, problems = load_text(text, "f.yaml", Config())

    assert [str(p.location) for p in problems] == [f"f.yaml:{where}"]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        pytest.param(doc(TO, READ, "    expires: 2027-02-30"), "7:14", id="impossible-date"),
        pytest.param('version: [1]\nbucket: acme-data\naccount: "111111111111"\n', "1:10", id="version-list"),
        pytest.param(to_doc("1" + "0" * 5000), "5:9", id="huge-unquoted-grantee"),
    ],
)
def test_each_problem_is_reported_once(text: str, where: str) -> None:
    _, problems = load_text(text, "f.yaml", Config())

    assert [str(p.location) for p in problems] == [f"f.yaml:{where}"], [str(p) for p in problems]


def test_trailing_empty_document_points_at_its_separator() -> None:
    text = bucket_doc("acme-data") + "---\n"

    _, problems = load_text(text, "f.yaml", Config())

    assert [str(p) for p in problems] == ["f.yaml:4:1: empty document; declare a bucket or remove the '---'"]


# ---- symlinks ----


def test_symlink_to_a_file_outside_is_refused(tmp_path: Path, write_shares: WriteShares) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text(bucket_doc("acme-secret"))
    shares = write_shares({"a.yaml": bucket_doc("acme-data")})
    os.symlink(outside, shares / "link.yaml")

    declarations, problems = load_shares(shares, Config(), TODAY)

    assert [str(p) for p in problems] == [
        f"{shares}/link.yaml:1:1: symlink leads outside the shares directory; refused"
    ]
    assert [b.bucket for b in declarations.buckets] == ["acme-data"]


def test_symlink_to_a_directory_outside_is_refused(tmp_path: Path, write_shares: WriteShares) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.yaml").write_text(bucket_doc("acme-secret"))
    shares = write_shares({"a.yaml": bucket_doc("acme-data")})
    os.symlink(outside, shares / "more")

    declarations, problems = load_shares(shares, Config(), TODAY)

    assert [str(p) for p in problems] == [
        f"{shares}/more:1:1: symlink leads outside the shares directory; refused"
    ]
    assert [b.bucket for b in declarations.buckets] == ["acme-data"]


def test_symlink_inside_is_loaded_once(write_shares: WriteShares) -> None:
    shares = write_shares({"a.yaml": doc(TO, READ)})
    os.symlink(shares / "a.yaml", shares / "alias.yaml")

    declarations, problems = load_shares(shares, Config(), TODAY)

    assert problems == []
    assert declarations.grant_count() == 1


def test_symlink_loop_is_a_problem_not_a_crash(write_shares: WriteShares, run_cli: RunCli) -> None:
    shares = write_shares({"a.yaml": bucket_doc("acme-data")})
    os.symlink("loop.yaml", shares / "loop.yaml")

    rc, _, err = run_cli("validate", "--shares", "shares")

    assert rc == 1
    assert "Traceback" not in err
    assert err.startswith("shares/loop.yaml:1:1: ")


@pytest.mark.parametrize("args", [(), ("--shares", "nowhere")])
@pytest.mark.parametrize("command", ["validate", "render", "codeowners"])
def test_missing_shares_dir_says_where_it_looked_and_the_way_out(
    run_cli: RunCli, tmp_path: Path, command: str, args: tuple[str, ...]
) -> None:
    # As run from a folder that is not the repository: one line, the absolute path, the fix.
    rc, out, err = run_cli(command, *args)

    looked = tmp_path / (args[1] if args else "shares")
    assert (rc, out) == (1, "")
    assert err == (
        f"error: shares directory not found: looked for {looked}; run reconciler from the "
        "repository root, or pass --shares DIR\n"
    )


# ---- expiry ----


@pytest.mark.parametrize(
    ("today", "expired"),
    [
        (dt.date(2026, 3, 30), False),
        (dt.date(2026, 3, 31), True),
        (dt.date(2027, 1, 1), True),
    ],
)
def test_expired_grant_warns_and_is_not_rendered(
    write_shares: WriteShares, today: dt.date, expired: bool
) -> None:
    shares = write_shares(
        {"f.yaml": doc(TO, READ, "    expires: 2026-03-31", '  - to: "333333333333"', READ)}
    )

    declarations, problems = load_shares(shares, Config(), today)
    buckets, _ = render_declarations(declarations, Config(), today)

    warning = (
        f"{shares}/f.yaml:5:5: warning: grant expired on 2026-03-31 and is no longer rendered; delete it"
    )
    assert [str(p) for p in problems] == ([warning] if expired else [])
    principals = {
        arn for statement in buckets[0].statements for arn in statement.statement["Principal"]["AWS"]
    }
    expected = {"arn:aws:iam::333333333333:root"} | (set() if expired else {"arn:aws:iam::222222222222:root"})
    assert principals == expected


def test_expired_grant_keeps_exit_zero(write_shares: WriteShares, run_cli: RunCli) -> None:
    write_shares({"f.yaml": doc(TO, READ, "    expires: 2001-01-01")})

    rc, out, err = run_cli("validate", "--shares", "shares")

    assert (rc, err) == (0, "")
    assert out.splitlines() == [
        "shares/f.yaml:5:5: warning: grant expired on 2001-01-01 and is no longer rendered; delete it",
        "1 bucket, 1 grant, 0 problems, 1 warning",
    ]


# ---- guardrails ----

GUARDED = """\
version: 1
guardrails:
  allowed_accounts: ["222222222222", "111111111111"]
  allowed_orgs: [o-a1b2c3d4e5]
  protected_buckets: [acme-data]
  require_reason: true
  max_expiry_days: 30
"""
OK_GRANT = ("    reason: audit", "    expires: 2026-02-01")


def guarded_config(tmp_path: Path, text: str = GUARDED) -> Config:
    path = tmp_path / "reconciler.yaml"
    path.write_text(text)
    config, problems = load_config(path)
    assert problems == []
    return config


@pytest.mark.parametrize(
    ("grant_lines", "message"),
    [
        pytest.param(
            ('  - to: "333333333333"', READ, *OK_GRANT),
            "account 333333333333 is not in guardrails.allowed_accounts; ask to have it added",
            id="account-not-allowed",
        ),
        pytest.param(
            ("  - to: arn:aws:iam::333333333333:role/reader", READ, *OK_GRANT),
            "role arn:aws:iam::333333333333:role/reader is not in guardrails.allowed_accounts; "
            "ask to have it added",
            id="role-of-account-not-allowed",
        ),
        pytest.param(
            ("  - to: org:o-zzzzzzzzzz", READ, *OK_GRANT),
            "organization o-zzzzzzzzzz is not in guardrails.allowed_orgs; ask to have it added",
            id="org-not-allowed",
        ),
        pytest.param(
            ("  - to: ou:o-zzzzzzzzzz/r-ab12/ou-ab12-11111111", READ, *OK_GRANT),
            "organization o-zzzzzzzzzz is not in guardrails.allowed_orgs; ask to have it added",
            id="ou-of-org-not-allowed",
        ),
        pytest.param(
            (TO, "    access: write", *OK_GRANT),
            "bucket acme-data is protected: only read grants are allowed",
            id="write-to-protected",
        ),
        pytest.param(
            (TO, "    access: read-write", *OK_GRANT),
            "bucket acme-data is protected: only read grants are allowed",
            id="read-write-to-protected",
        ),
        pytest.param(
            (TO, READ, OK_GRANT[1]),
            "this grant needs a 'reason' (guardrails.require_reason)",
            id="reason-missing",
        ),
        pytest.param(
            (TO, READ, OK_GRANT[0]),
            "this grant needs 'expires' no later than 2026-02-14 (guardrails.max_expiry_days)",
            id="expires-missing",
        ),
        pytest.param(
            (TO, READ, OK_GRANT[0], "    expires: 2026-02-15"),
            "expires 2026-02-15 is more than 30 days away; use 2026-02-14 or earlier",
            id="expires-too-far",
        ),
    ],
)
def test_guardrails(
    tmp_path: Path, write_shares: WriteShares, grant_lines: tuple[str, ...], message: str
) -> None:
    shares = write_shares({"f.yaml": doc(*grant_lines)})

    _, problems = load_shares(shares, guarded_config(tmp_path), TODAY)

    assert [str(p) for p in errors_only(problems)] == [f"{shares}/f.yaml:5:5: {message}"]


@pytest.mark.parametrize(
    "grant_lines",
    [
        pytest.param((TO, READ, *OK_GRANT), id="allowed-account"),
        pytest.param(("  - to: arn:aws:iam::222222222222:role/r", READ, *OK_GRANT), id="allowed-role"),
        pytest.param(("  - to: org:o-a1b2c3d4e5", READ, *OK_GRANT), id="allowed-org"),
        pytest.param(("  - to: ou:o-a1b2c3d4e5/r-ab12/ou-ab12-11111111", READ, *OK_GRANT), id="allowed-ou"),
        pytest.param((TO, READ, OK_GRANT[0], "    expires: 2026-02-14"), id="expires-on-the-limit"),
    ],
)
def test_guardrails_allow(tmp_path: Path, write_shares: WriteShares, grant_lines: tuple[str, ...]) -> None:
    shares = write_shares({"f.yaml": doc(*grant_lines)})

    _, problems = load_shares(shares, guarded_config(tmp_path), TODAY)

    assert problems == []


def test_guardrails_off_by_default(write_shares: WriteShares) -> None:
    shares = write_shares({"f.yaml": doc('  - to: "333333333333"', "    access: write")})

    _, problems = load_shares(shares, Config(), TODAY)

    assert problems == []


def test_guardrails_through_cli_config(tmp_path: Path, write_shares: WriteShares, run_cli: RunCli) -> None:
    write_shares({"f.yaml": doc('  - to: "333333333333"', "    access: write")})
    (tmp_path / "rails.yaml").write_text(
        "version: 1\nguardrails:\n  allowed_accounts: ['222222222222']\n  protected_buckets: [acme-data]\n"
    )

    rc, _, err = run_cli("validate", "--shares", "shares", "--config", "rails.yaml")

    assert rc == 1
    assert "Traceback" not in err
    assert err.splitlines() == [
        "shares/f.yaml:5:5: account 333333333333 is not in guardrails.allowed_accounts; ask to have it added",
        "shares/f.yaml:5:5: bucket acme-data is protected: only read grants are allowed",
        "2 problems",
    ]


@pytest.mark.parametrize(
    "files",
    [
        pytest.param({"f.yaml": b"\xff\xfe"}, id="binary"),
        pytest.param({"f.yaml": "version: 1\nbucket: [\n"}, id="syntax"),
        pytest.param({"f.yaml": "- - - -\n"}, id="nested-lists"),
        pytest.param({"f.yaml": "version: 1\n? [a, b]\n: c\n"}, id="complex-key"),
        pytest.param({"f.yaml": "version: 1\n<<: {bucket: acme-data}\n"}, id="merge-key"),
        pytest.param({"f.yaml": "version: !!python/object:os.system x\n"}, id="python-tag"),
        pytest.param({"f.yaml": doc(TO, READ, "    expires: 2027-13-45")}, id="impossible-date"),
        pytest.param({"a.yaml": bucket_doc("acme-data"), "b.yaml": account_doc("null")}, id="null-account"),
    ],
)
def test_no_traceback_for_bad_input(
    write_shares: WriteShares, run_cli: RunCli, files: dict[str, str | bytes]
) -> None:
    write_shares(files)

    rc, _, err = run_cli("validate", "--shares", "shares")

    assert rc == 1
    assert "Traceback" not in err
    assert all(line.startswith("shares/") for line in err.splitlines()[:-1]), err
