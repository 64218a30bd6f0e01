"""Hostile and broken input: one clear located line, exit 1, no traceback, nothing sent to AWS.

Each case runs the real CLI (`reconciler.cli.main`) on files written to a fresh directory,
with AWS pointed at a closed port: any AWS call would fail with a different message, so the
exact start of the first line also shows the refusal came before AWS. Exit 3 means a bug.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from conftest import RunCli, WriteShares

from reconciler.errors import Location, Problem

HEAD = 'version: 1\nbucket: acme-data\naccount: "111111111111"\n'
GRANTS = HEAD + "grants:\n"
TO = '  - to: "222222222222"\n'
READ = "    access: read\n"


def grant(*lines: str) -> str:
    """A share whose one grant starts at line 5: `  - to: ` values at col 9, `    key: ` at col 5."""
    return GRANTS + "".join(line + "\n" for line in lines)


def bucket(**changes: Any) -> dict[str, Any]:
    """One bucket of a saved plan, valid as far as the reader goes."""
    entry: dict[str, Any] = {
        "bucket": "acme-data",
        "account": "111111111111",
        "action": "no-op",
        "declared": True,
        "live_hash": "sha256:" + "0" * 64,
        "kept_statements": 0,
        "warnings": [],
        "errors": [],
        "new_policy": None,
        "new_size": 0,
        "size_limit": 20480,
        "changes": [],
    }
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not DROP}


DROP = object()
"""A field value meaning: leave the field out."""


def saved_plan(*buckets: dict[str, Any], **changes: Any) -> str:
    plan: dict[str, Any] = {"format_version": 1, "sid_prefix": "BucketShare", "partition": "aws"}
    plan["buckets"] = list(buckets)
    plan.update(changes)
    return json.dumps({k: v for k, v in plan.items() if v is not DROP})


def journal_line(**changes: Any) -> str:
    entry: dict[str, Any] = {
        "run": "r1",
        "time": "2026-01-15T00:00:00+00:00",
        "bucket": "acme-data",
        "account": "111111111111",
        "action": "put-policy",
        "previous_policy": None,
        "new_policy": "{}",
        "outcome": "applied",
        "message": "",
        "written_hash": None,
    }
    entry.update(changes)
    return json.dumps(entry) + "\n"


Files = dict[str, str | bytes]


def share(text: str | bytes, command: str = "validate") -> tuple[Files, list[str]]:
    return {"shares/a.yaml": text}, [command] if command != "apply" else ["apply", "--auto-approve"]


def config(text: str | bytes) -> tuple[Files, list[str]]:
    return {"shares/a.yaml": HEAD, "reconciler.yaml": text}, ["validate"]


def plan_file(text: str | bytes) -> tuple[Files, list[str]]:
    return {"plan.json": text}, ["apply", "plan.json"]


def journal(text: str | bytes, *args: str) -> tuple[Files, list[str]]:
    return {"j.jsonl": text}, ["rollback", "j.jsonl", *args]


A = "shares/a.yaml:"
DECLARATIONS = [
    # YAML itself
    ("syntax", share(HEAD + "grants: [\n"), A + "5:1: YAML syntax error: did not find expected node content"),
    ("tab-indent", share(GRANTS + "\t- to: x\n"), A + "5:1: tab character in indentation; YAML needs spaces"),
    ("anchor", share(HEAD + "owner: &o ml\n"), A + "4:8: YAML anchors and aliases are not allowed"),
    ("alias", share(HEAD + "owner: *o\n"), A + "4:8: YAML anchors and aliases are not allowed"),
    ("billion-laughs", share('a: &a ["x","x"]\nb: &b [*a,*a]\nc: [*b,*b]\n'), A + "1:4: YAML anchors"),
    (
        "merge-key",
        share(HEAD + "<<: {owner: x}\n"),
        A + "4:1: merge keys ('<<') are not allowed; write the keys out",
    ),
    (
        "duplicate-key",
        share(HEAD + "bucket: acme-other\n"),
        A + "4:1: duplicate key 'bucket' (first at line 2)",
    ),
    (
        "not-utf8",
        share(HEAD.encode() + b"owner: \xff\n"),
        A + "4:8: file is not valid UTF-8; save it as UTF-8",
    ),
    ("nul-byte", share(HEAD + "owner: a\x00b\n"), A + "4:9: character '\\x00' is not allowed in YAML"),
    ("control-char", share(HEAD + "owner: a\x07\n"), A + "4:9: character '\\x07' is not allowed in YAML"),
    (
        "too-big",
        share("#" * (1024 * 1024 + 1)),
        A + "1:1: file is 1048577 bytes, over the 1048576-byte limit",
    ),
    (
        "deep-nesting",
        share(HEAD + "grants: " + "[" * 5000 + "]" * 5000 + "\n"),
        A + "4:1008: YAML syntax error: exceeded maximum nesting depth",
    ),
    (
        "python-tag",
        share(HEAD + "owner: !!python/object:os.system x\n"),
        A + "4:8: owner: unsupported YAML tag",
    ),
    ("binary-tag", share(HEAD + "owner: !!binary aGk=\n"), A + "4:8: owner: unsupported YAML tag"),
    ("local-tag", share(HEAD + "owner: !me x\n"), A + "4:8: owner: unsupported YAML tag !me"),
    ("list-key", share(HEAD + "? [a]\n: b\n"), A + "4:3: keys must be plain strings"),
    ("null-key", share(HEAD + "~: b\n"), A + "4:1: keys must be plain strings"),
    ("int-key", share(HEAD + "1: b\n"), A + "4:1: keys must be plain strings"),
    # documents
    ("empty-file", share(""), A + "1:1: file declares no bucket; add a document or delete the file"),
    ("only-comments", share("# nothing\n"), A + "1:1: file declares no bucket"),
    (
        "empty-document",
        share(HEAD + "---\n"),
        A + "4:1: empty document; declare a bucket or remove the '---'",
    ),
    (
        "top-level-list",
        share("- bucket: acme-data\n"),
        A + "1:1: a share document must be a mapping, not a list",
    ),
    (
        "top-level-scalar",
        share("acme-data\n"),
        A + "1:1: a share document must be a mapping, not a single value",
    ),
    (
        "unknown-key",
        share(HEAD + "grant: []\n"),
        A + "4:1: unknown key 'grant' in a share document; did you mean",
    ),
    (
        "missing-account",
        share("version: 1\nbucket: acme-data\n"),
        A + "1:1: a share document is missing required key 'account'",
    ),
    (
        "version-2",
        share(HEAD.replace("version: 1", "version: 2")),
        A + "1:10: unsupported version 2; use version: 1",
    ),
    (
        "version-string",
        share(HEAD.replace("version: 1", 'version: "1"')),
        A + "1:10: unsupported version '1'",
    ),
    ("version-float", share(HEAD.replace("version: 1", "version: 1.0")), A + "1:10: unsupported version 1.0"),
    (
        "bucket-uppercase",
        share(HEAD.replace("acme-data", "Acme-Data")),
        A + "2:9: bucket name 'Acme-Data' is invalid",
    ),
    (
        "bucket-list",
        share(HEAD.replace("acme-data", "[acme-data]")),
        A + "2:9: bucket must be a single value, not a list",
    ),
    (
        "account-short-int",
        share(HEAD.replace('"111111111111"', "11111111111")),
        A + "3:10: account '11111111111' must be a quoted",
    ),
    (
        "account-octal",
        share(HEAD.replace('"111111111111"', "0111111111111")),
        A + "3:10: account '0111111111111' must be a quoted 12-digit account id",
    ),
    (
        "account-huge",
        share(HEAD.replace('"111111111111"', "9" * 5000)),
        A + "3:10: account: number is too long",
    ),
    (
        "account-letters",
        share(HEAD.replace('"111111111111"', '"11111111111a"')),
        A + "3:10: account id '11111111111a' must be exactly 12 digits",
    ),
    (
        "account-bool",
        share(HEAD.replace('"111111111111"', "yes")),
        A + "3:10: account must be a quoted 12-digit account id",
    ),
    # grants
    ("grants-mapping", share(GRANTS + "  to: x\n"), A + "5:3: grants must be a list, not a mapping"),
    # A key with nothing under it: an empty list revokes every grant, so it is asked for in full.
    (
        "grants-empty",
        share(GRANTS),
        A + "4:8: grants is empty; write `grants: []` for an empty list, or put its items under it",
    ),
    (
        "grants-items-commented-out",
        share(GRANTS + '#  - to: "222222222222"\n#    access: read\nowner: ml\n'),
        A + "4:8: grants is empty; write `grants: []` for an empty list, or put its items under it",
    ),
    (
        "prefixes-empty",
        share(grant(TO.rstrip("\n"), READ.rstrip("\n"), "    prefixes:")),
        A + "7:14: prefixes is empty; write `prefixes: []` for an empty list, or put its items under it",
    ),
    ("grant-scalar", share(GRANTS + "  - read\n"), A + "5:5: a grant must be a mapping, not a single value"),
    (
        "grant-missing-access",
        share(grant('  - to: "222222222222"')),
        A + "5:5: a grant is missing required key 'access'",
    ),
    (
        "access-bad",
        share(grant('  - to: "222222222222"', "    access: admin")),
        A + "6:13: access 'admin' is not one of read, write, read-write",
    ),
    (
        "access-empty",
        share(grant('  - to: "222222222222"', "    access:")),
        A + "6:12: access must not be empty",
    ),
    (
        "to-public",
        share(grant('  - to: "*"', "    access: read")),
        A + "5:9: grant to '*' refused: bucketshare never makes a bucket public",
    ),
    (
        "to-everyone",
        share(grant("  - to: everyone", "    access: read")),
        A + "5:9: grant to 'everyone' refused",
    ),
    (
        "to-wildcard-arn",
        share(grant("  - to: arn:aws:iam::222222222222:role/*", "    access: read")),
        A + "5:9: grant to 'arn:aws:iam::222222222222:role/*' refused",
    ),
    ("to-unknown", share(grant("  - to: bob", "    access: read")), A + "5:9: cannot tell what 'bob' is"),
    (
        "to-s3-arn",
        share(grant("  - to: arn:aws:s3:::other", "    access: read")),
        A + "5:9: 'arn:aws:s3:::other' is not an IAM ARN",
    ),
    (
        "to-bad-org",
        share(grant("  - to: org:o-x", "    access: read")),
        A + "5:9: organization id 'o-x' must look like o-a1b2c3d4e5",
    ),
    (
        "prefixes-empty",
        share(grant(TO[:-1], READ[:-1], "    prefixes: []")),
        A + "7:15: prefixes must not be empty",
    ),
    (
        "prefix-twice",
        share(grant(TO[:-1], READ[:-1], "    prefixes: [a/, a]")),
        A + "7:20: prefix 'a' is listed twice in this grant",
    ),
    (
        "prefix-wildcard",
        share(grant(TO[:-1], READ[:-1], "    prefixes: [a/*]")),
        A + "7:16: prefix 'a/*' must not contain '*' or '?'",
    ),
    (
        "expires-not-date",
        share(grant(TO[:-1], READ[:-1], "    expires: soon")),
        A + "7:14: expires 'soon' is not a date; write it as YYYY-MM-DD",
    ),
    (
        "expires-impossible",
        share(grant(TO[:-1], READ[:-1], "    expires: 2027-02-30")),
        A + "7:14: expires: day is out of range for month",
    ),
    (
        "expires-with-time",
        share(grant(TO[:-1], READ[:-1], "    expires: 2027-01-01 10:00:00")),
        A + "7:14: expires: a date with a time of day",
    ),
    (
        "reason-list",
        share(grant(TO[:-1], READ[:-1], "    reason: [a]")),
        A + "7:13: reason must be a single value, not a list",
    ),
    # across files
    (
        "two-accounts",
        (
            {"shares/a.yaml": HEAD, "shares/b.yaml": HEAD.replace("111111111111", "333333333333")},
            ["validate"],
        ),
        "shares/b.yaml:3:10: bucket acme-data is declared with account 333333333333 here but 111111111111 at",
    ),
    (
        "same-grant-twice",
        (
            {"shares/a.yaml": grant(TO[:-1], READ[:-1]), "shares/b.yaml": grant(TO[:-1], READ[:-1])},
            ["validate"],
        ),
        "shares/b.yaml:5:5: account 222222222222 is granted the whole bucket of acme-data twice",
    ),
    # the same refusals stop plan and apply before AWS
    (
        "plan-bad-share",
        share(grant("  - to: bob", "    access: read"), "plan"),
        A + "5:9: cannot tell what 'bob' is",
    ),
    (
        "apply-bad-share",
        share(grant("  - to: bob", "    access: read"), "apply"),
        A + "5:9: cannot tell what 'bob' is",
    ),
    (
        "missing-shares",
        ({}, ["validate", "--shares", "nowhere"]),
        "error: shares directory not found: looked for /",
    ),
]

C = "reconciler.yaml:"
CONFIG = [
    ("config-syntax", config("version: 1\nsid_prefix: [\n"), C + "3:1: YAML syntax error"),
    ("config-list", config("- version: 1\n"), C + "1:1: reconciler.yaml must be a mapping, not a list"),
    (
        "config-two-documents",
        config("version: 1\n---\nversion: 1\n"),
        C + "1:1: reconciler.yaml must hold exactly one document",
    ),
    (
        "config-unknown-key",
        config("version: 1\nsid_prefx: X\n"),
        C + "2:1: unknown key 'sid_prefx' in reconciler.yaml; did you mean 'sid_prefix'?",
    ),
    (
        "config-misplaced-guardrail",
        config("version: 1\nrequire_reason: true\n"),
        C + "2:1: unknown key 'require_reason' in reconciler.yaml; it belongs under 'guardrails:'",
    ),
    ("config-partition", config("version: 1\npartition: aws-mars\n"), C + "2:12: partition must be one of"),
    (
        "config-anchor",
        config("version: 1\nsid_prefix: &p X\n"),
        C + "2:13: YAML anchors and aliases are not allowed",
    ),
    ("config-drift", config("version: 1\ndrift: always\n"), C + "2:8: drift must be report or fix"),
    (
        "config-days-negative",
        config("version: 1\nexpiry_warning_days: -1\n"),
        C + "2:22: expiry_warning_days must be a positive whole number",
    ),
    (
        "config-accounts-scalar",
        config("version: 1\nguardrails:\n  allowed_accounts: 222222222222\n"),
        C + "3:21: allowed_accounts must be a list, not a single value",
    ),
    (
        "config-accounts-empty",
        config("version: 1\nguardrails:\n  allowed_accounts:\n"),
        C + "3:20: allowed_accounts is empty; write `allowed_accounts: []` for an empty list, "
        "or put its items under it",
    ),
    (
        "config-require-reason-string",
        config("version: 1\nguardrails:\n  require_reason: maybe\n"),
        C + "3:19: require_reason must be true or false",
    ),
    (
        "config-not-utf8",
        config(b"version: 1\nsid_prefix: \xfe\n"),
        "error: reconciler.yaml:2:13: file is not valid UTF-8",
    ),
]

P = "error: plan.json"
PLANS = [
    ("plan-empty", plan_file(""), P + ":1:1: not a JSON plan (Expecting value)"),
    ("plan-truncated", plan_file(saved_plan(bucket())[:-5]), P + ":1:379: not a JSON plan (Expecting value)"),
    ("plan-yaml", plan_file("format_version: 1\n"), P + ":1:1: not a JSON plan (Expecting value)"),
    ("plan-list", plan_file("[]"), P + ": unsupported plan format_version None"),
    ("plan-version-2", plan_file(saved_plan(format_version=2)), P + ": unsupported plan format_version 2"),
    (
        "plan-version-true",
        plan_file(saved_plan(format_version=True)),
        P + ": unsupported plan format_version True",
    ),
    (
        "plan-version-string",
        plan_file(saved_plan(format_version="1")),
        P + ": unsupported plan format_version '1'",
    ),
    (
        "plan-deep",
        plan_file("[" * 100_000 + "]" * 100_000),
        P + ": not a plan: its JSON is nested too deeply",
    ),
    ("plan-not-utf8", plan_file(b'{"a": "\xff"}'), P + ": not a JSON plan (not UTF-8 at byte 7)"),
    ("plan-no-buckets", plan_file(saved_plan(buckets=DROP)), P + ": malformed plan: plan.buckets is missing"),
    (
        "plan-buckets-object",
        plan_file(saved_plan(buckets={})),
        P + ": malformed plan: plan.buckets must be a list; run plan again",
    ),
    (
        "plan-bucket-string",
        plan_file(saved_plan("acme-data")),
        P + ": malformed plan: plan.buckets[0] must be an object",
    ),
    (
        "plan-action-bad",
        plan_file(saved_plan(bucket(action="nuke"))),
        P + ": malformed plan: plan.buckets[0].action must be one of",
    ),
    (
        "plan-account-number",
        plan_file(saved_plan(bucket(account=111111111111))),
        P + ": malformed plan: plan.buckets[0].account must be",
    ),
    (
        "plan-size-string",
        plan_file(saved_plan(bucket(new_size="10"))),
        P + ": malformed plan: plan.buckets[0].new_size must be",
    ),
    (
        "plan-size-bool",
        plan_file(saved_plan(bucket(kept_statements=True))),
        P + ": malformed plan: plan.buckets[0].kept_statements must be",
    ),
    (
        "plan-policy-list",
        plan_file(saved_plan(bucket(new_policy=["Statement"]))),
        P + ": malformed plan: plan.buckets[0].new_policy must be an object or null",
    ),
    (
        "plan-missing-live-hash",
        plan_file(saved_plan(bucket(live_hash=DROP))),
        P + ": malformed plan: plan.buckets[0].live_hash is missing",
    ),
    (
        "plan-sid-prefix",
        plan_file(saved_plan(sid_prefix="")),
        P + ": planned with sid_prefix '' and partition 'aws', but reconciler.yaml says",
    ),
    (
        "plan-partition",
        plan_file(saved_plan(partition="aws-cn")),
        P + ": planned with sid_prefix 'BucketShare' and partition 'aws-cn'",
    ),
    (
        "plan-directory",
        ({"plan.json/x": ""}, ["apply", "plan.json"]),
        P + ": cannot read plan (Is a directory)",
    ),
    ("plan-missing", ({}, ["apply", "plan.json"]), P + ": cannot read plan (No such file or directory)"),
]

J = "j.jsonl"
NOTHING = f"error: {J}: no applied write to roll back"
JOURNALS = [
    ("journal-missing", ({}, ["rollback", J]), f"error: {J}: journal not found"),
    (
        "journal-directory",
        ({f"{J}/x": ""}, ["rollback", J]),
        f"error: {J}: the journal must be a regular file",
    ),
    ("journal-empty", journal(""), NOTHING),
    (
        "journal-not-json",
        journal("hello\n"),
        f"warning: {J}:1:1: skipped, not a journal entry (Expecting value: line 1 column 1",
    ),
    (
        "journal-list",
        journal("[]\n"),
        f"warning: {J}:1:1: skipped, not a journal entry (not an object)\n{NOTHING}",
    ),
    (
        "journal-truncated",
        journal(journal_line()[:40]),
        f"warning: {J}:1:1: skipped, not a journal entry (Unterminated string",
    ),
    (
        "journal-not-utf8",
        journal(b'{"run": "\xff"}\n'),
        f"warning: {J}:1:1: skipped, not a journal entry ('utf-8' codec can't decode",
    ),
    (
        "journal-unknown-field",
        journal(journal_line(extra=1)),
        f"warning: {J}:1:1: skipped, not a journal entry (",
    ),
    (
        "journal-bucket-number",
        journal(journal_line(bucket=7)),
        f"warning: {J}:1:1: skipped, not a journal entry (bucket must be a string)",
    ),
    (
        "journal-policy-object",
        journal(journal_line(previous_policy={})),
        f"warning: {J}:1:1: skipped, not a journal entry (previous_policy must be a string or null)",
    ),
    ("journal-blank-lines", journal("\n\n  \n"), NOTHING),
    ("journal-other-bucket", journal(journal_line(), "--bucket", "acme-other"), NOTHING + " for acme-other"),
]

PATHS = [
    (
        "plan-out-directory",
        ({"shares/a.yaml": HEAD, "out/x": ""}, ["plan", "--out", "out"]),
        "error: out: cannot write the plan (Is a directory)",
    ),
    (
        "plan-save-directory",
        ({"shares/a.yaml": HEAD, "out/x": ""}, ["plan", "--save", "out"]),
        "error: out: cannot write the plan (Is a directory)",
    ),
    (
        "plan-summary-directory",
        ({"shares/a.yaml": HEAD, "out/x": ""}, ["plan", "--summary-out", "out"]),
        "error: out: cannot write the plan (Is a directory)",
    ),
    (
        "plan-out-missing-folder",
        ({"shares/a.yaml": HEAD}, ["plan", "--out", "no/plan.txt"]),
        "error: no/plan.txt: cannot write the plan (folder no does not exist; create it first)",
    ),
    (
        "plan-save-missing-folder",
        ({"shares/a.yaml": HEAD}, ["plan", "--save", "no/plan.json"]),
        "error: no/plan.json: cannot write the plan (folder no does not exist; create it first)",
    ),
    (
        "plan-summary-missing-folder",
        ({"shares/a.yaml": HEAD}, ["plan", "--summary-out", "no/s.md"]),
        "error: no/s.md: cannot write the plan (folder no does not exist; create it first)",
    ),
    (
        "plan-out-under-a-file",
        ({"shares/a.yaml": HEAD, "f": ""}, ["plan", "--out", "f/plan.txt"]),
        "error: f/plan.txt: cannot write the plan (folder f is not a directory; create it first)",
    ),
]

CORPUS = [
    pytest.param(files, args, expected, id=name)
    for name, (files, args), expected in [*DECLARATIONS, *CONFIG, *PLANS, *JOURNALS, *PATHS]
]


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS on a closed port with dummy credentials: any call fails, loudly and at once."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_corpus_is_large() -> None:
    assert len(CORPUS) >= 60


@pytest.mark.usefixtures("no_aws")
@pytest.mark.parametrize(("files", "args", "expected"), CORPUS)
def test_bad_input_is_refused_on_one_clear_line(
    run_cli: RunCli, tmp_path: Path, files: Files, args: list[str], expected: str
) -> None:
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    rc, out, err = run_cli(*args)

    assert "Traceback" not in out + err
    assert rc == 1, err
    assert err.startswith(expected), err
    # Nothing lost or made: every file is as it was (no journal started, no partial plan written).
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


# ---- thousands of problems in one file ----

BAD_GRANT = "  - {to: x, access: r, expires: s, reson: x}\n"
"""Four problems: an unknown key, a grantee, an access level and a date."""


def many_bad_grants(count: int) -> str:
    return 'version: 1\nbucket: acme-data\naccount: "111111111111"\ngrants:\n' + BAD_GRANT * count


def test_twenty_thousand_bad_grants_are_all_reported(run_cli: RunCli, write_shares: WriteShares) -> None:
    # Before: 5,000 such grants took 95 s to report, growing with the square of the count.
    write_shares({"a.yaml": many_bad_grants(20_000)})

    rc, out, err = run_cli("validate")

    lines = err.splitlines()
    assert (rc, out) == (1, "")
    assert lines[-1] == "80000 problems"
    assert lines[0].startswith("shares/a.yaml:5:10: cannot tell what 'x' is;")
    assert lines[-2].startswith("shares/a.yaml:20004:")


def test_reporting_problems_compares_them_n_log_n_times(
    run_cli: RunCli, write_shares: WriteShares, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bound on work, not on time: every comparison or hash of a problem or a location counts.
    # Sorting n problems takes about n log n of them; a scan of the list per problem, n squared.
    grants = 2_000
    problems = 4 * grants
    budget = 100 * problems
    calls = 0

    def counted(method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls > budget:
                raise AssertionError(f"over {budget} comparisons for {problems} problems")
            return method(*args)

        return call

    for cls in (Problem, Location):
        for name in ("__eq__", "__lt__", "__hash__"):
            monkeypatch.setattr(cls, name, counted(getattr(cls, name)))
    write_shares({"a.yaml": many_bad_grants(grants)})

    rc, _, err = run_cli("validate")

    assert calls <= budget
    assert (rc, err.splitlines()[-1]) == (1, f"{problems} problems")


# ---- FIFOs where a plan or a journal should be: refused, never opened for reading ----


@pytest.fixture
def no_hang() -> Iterator[None]:
    """A blocked open() fails the test after 5 s instead of hanging the suite."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError("the command blocked")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(5)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.usefixtures("no_aws", "no_hang")
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["rollback", "fifo"], "error: fifo: the journal must be a regular file\n"),
        (["apply", "plan.json", "--journal", "fifo"], "error: fifo: the journal must be a regular file\n"),
        (["validate", "--config", "fifo"], "error: fifo: config must be a regular file\n"),
        (["apply", "fifo"], "error: fifo: cannot read plan (not a regular file)\n"),
    ],
    ids=["journal", "apply-journal", "config", "saved-plan"],
)
def test_a_fifo_is_refused_without_blocking(
    run_cli: RunCli, tmp_path: Path, args: list[str], expected: str
) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "plan.json").write_text(saved_plan(), encoding="utf-8")
    assert run_cli(*args) == (1, "", expected)
