from __future__ import annotations

from pathlib import Path

import pytest
from conftest import RunCli, WriteShares

from reconciler.declare.config import Config, Guardrails, load_config

SHARE = """\
version: 1
bucket: acme-data
account: "111111111111"
grants:
  - to: "222222222222"
    access: read
"""

FULL = """\
version: 1
sid_prefix: Acme2
partition: aws-cn
managed_accounts: ["111111111111", 999999999999]
journal: state/journal.jsonl
drift: fix
expiry_warning_days: 30
guardrails:
  allowed_accounts: ["222222222222", 333333333333]
  allowed_orgs: [o-a1b2c3d4e5]
  protected_buckets: [acme-secrets]
  require_reason: true
  max_expiry_days: 365
"""


def write_config(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "reconciler.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_no_config_means_defaults(tmp_path: Path) -> None:
    assert load_config(None) == (Config(), [])
    assert load_config(tmp_path / "absent.yaml") == (Config(), [])


def test_defaults() -> None:
    config = Config()
    assert (config.sid_prefix, config.partition, config.managed_accounts) == (
        "BucketShare",
        "aws",
        frozenset(),
    )
    assert config.guardrails == Guardrails(None, None, frozenset(), False, None)


def test_full_config(tmp_path: Path) -> None:
    config, problems = load_config(write_config(tmp_path, FULL))

    assert problems == []
    assert config == Config(
        sid_prefix="Acme2",
        partition="aws-cn",
        managed_accounts=frozenset({"111111111111", "999999999999"}),
        journal="state/journal.jsonl",
        drift="fix",
        expiry_warning_days=30,
        guardrails=Guardrails(
            allowed_accounts=frozenset({"222222222222", "333333333333"}),
            allowed_orgs=frozenset({"o-a1b2c3d4e5"}),
            protected_buckets=frozenset({"acme-secrets"}),
            require_reason=True,
            max_expiry_days=365,
        ),
    )


def test_empty_allow_list_allows_nothing(tmp_path: Path) -> None:
    config, problems = load_config(write_config(tmp_path, "guardrails:\n  allowed_accounts: []\n"))

    assert problems == []
    assert config.guardrails.allowed_accounts == frozenset()


BAD_CONFIGS = [
    pytest.param("version: 2\n", "1:10", "unsupported version; use version: 1", id="version-2"),
    pytest.param("version: [1]\n", "1:10", "version must be a single value, not a list", id="version-list"),
    pytest.param(
        "partition: aws-xx\n", "1:12", "partition must be one of aws, aws-cn, aws-us-gov", id="partition"
    ),
    pytest.param(
        "sid_prefix: 1abc\n", "1:13", "sid_prefix must be letters and digits", id="sid-prefix-digit"
    ),
    pytest.param("sid_prefix: Bucket-Share\n", "1:13", "starting with a letter", id="sid-prefix-hyphen"),
    pytest.param("journal: ''\n", "1:10", "journal must not be empty", id="journal-empty"),
    pytest.param(
        "sid_prefx: Acme\n",
        "1:1",
        "unknown key 'sid_prefx' in reconciler.yaml; did you mean 'sid_prefix'?",
        id="typo",
    ),
    pytest.param("guardrail: {}\n", "1:1", "did you mean 'guardrails'?", id="guardrails-typo"),
    pytest.param(
        "guardrails:\n  max_expiry_day: 3\n",
        "2:3",
        "unknown key 'max_expiry_day' in guardrails; did you mean 'max_expiry_days'?",
        id="guardrail-key-typo",
    ),
    pytest.param(
        "guardrails: [a]\n", "1:13", "guardrails must be a mapping, not a list", id="guardrails-list"
    ),
    pytest.param(
        "guardrails:\n", "1:12", "guardrails must be a mapping, not a single value", id="guardrails-null"
    ),
    pytest.param(
        'managed_accounts: "111111111111"\n', "1:19", "managed_accounts must be a list", id="managed-not-list"
    ),
    pytest.param(
        'managed_accounts: ["1234"]\n',
        "1:20",
        "account id '1234' must be exactly 12 digits",
        id="managed-short",
    ),
    pytest.param(
        'guardrails:\n  allowed_accounts: ["1234"]\n',
        "2:22",
        "account id '1234' must be exactly 12 digits (quote it in YAML)",
        id="allowed-account-short",
    ),
    pytest.param(
        "guardrails:\n  allowed_accounts: [1234]\n",
        "2:22",
        "allowed_accounts entry '1234' must be a quoted 12-digit account id",
        id="allowed-account-unquoted",
    ),
    pytest.param(
        "guardrails:\n  allowed_accounts: [true]\n",
        "2:22",
        "allowed_accounts entry must be a quoted 12-digit account id",
        id="allowed-account-bool",
    ),
    pytest.param(
        "guardrails:\n  allowed_orgs: [o-x]\n", "2:18", "organization id 'o-x' must look like", id="org-short"
    ),
    pytest.param(
        'guardrails:\n  allowed_orgs: ["org:o-a1b2c3d4e5"]\n',
        "2:18",
        "organization id 'org:o-a1b2c3d4e5' must look like o-a1b2c3d4e5",
        id="org-with-grant-prefix",
    ),
    pytest.param(
        "guardrails:\n  protected_buckets: [Acme_Secrets]\n",
        "2:23",
        "bucket name 'Acme_Secrets' is invalid",
        id="protected-bucket-name",
    ),
    pytest.param(
        "guardrails:\n  protected_buckets: acme-secrets\n",
        "2:22",
        "protected_buckets must be a list, not a single value",
        id="protected-not-list",
    ),
    pytest.param(
        'guardrails:\n  require_reason: "yes"\n',
        "2:19",
        "require_reason must be true or false",
        id="reason-string",
    ),
    pytest.param(
        "guardrails:\n  require_reason: [true]\n",
        "2:19",
        "require_reason must be a single value, not a list",
        id="reason-list",
    ),
    pytest.param(
        "guardrails:\n  max_expiry_days: 0\n",
        "2:20",
        "max_expiry_days must be a positive whole number",
        id="days-0",
    ),
    pytest.param("guardrails:\n  max_expiry_days: -5\n", "2:20", "positive whole number", id="days-negative"),
    pytest.param("guardrails:\n  max_expiry_days: 1.5\n", "2:20", "positive whole number", id="days-float"),
    pytest.param("guardrails:\n  max_expiry_days: true\n", "2:20", "positive whole number", id="days-bool"),
    pytest.param("guardrails:\n  max_expiry_days: ninety\n", "2:20", "positive whole number", id="days-word"),
    pytest.param("drift: always\n", "1:8", "drift must be report or fix", id="drift-word"),
    pytest.param("drift: [fix]\n", "1:8", "drift must be", id="drift-list"),
    pytest.param(
        "expiry_warning_days: 0\n", "1:22", "expiry_warning_days must be a positive whole number", id="warn-0"
    ),
    pytest.param("expiry_warning_days: 99999\n", "1:22", "must be at most 36500", id="warn-huge"),
    pytest.param(
        "guardrails:\n  drift: fix\n", "2:3", "unknown key 'drift' in guardrails", id="drift-nested"
    ),
    pytest.param("- version: 1\n", "1:1", "reconciler.yaml must be a mapping, not a list", id="not-mapping"),
    pytest.param("", "1:1", "reconciler.yaml must hold exactly one document", id="empty-file"),
    pytest.param(
        "version: 1\n---\nversion: 1\n", "1:1", "must hold exactly one document", id="two-documents"
    ),
    pytest.param(
        "version: 1\nversion: 1\n", "2:1", "duplicate key 'version' (first at line 1)", id="duplicate-key"
    ),
    pytest.param("version: [\n", "2:1", "YAML syntax error", id="syntax"),
    pytest.param("sid_prefix: &p Acme\n", "1:13", "YAML anchors and aliases are not allowed", id="anchor"),
    pytest.param("guardrails:\n\tmax_expiry_days: 3\n", "2:1", "tab character in indentation", id="tab"),
    # YAML breaks lines at NEL, LS, PS and a lone CR; editors do not, so locations would drift.
    pytest.param("version: 1\x85journal: x\n", "1:11", "NEL (U+0085) breaks the line", id="nel"),
    pytest.param("version: 1\rjournal: x\n", "1:11", "CR (U+000D) breaks the line", id="lone-cr"),
    pytest.param(b"version: 1\njournal: \xff\n", "2:10", "file is not valid UTF-8", id="not-utf8"),
]


@pytest.mark.parametrize(("text", "where", "message"), BAD_CONFIGS)
def test_bad_config(tmp_path: Path, text: str | bytes, where: str, message: str) -> None:
    path = write_config(tmp_path, text)

    _, problems = load_config(path)

    lines = [str(p) for p in problems]
    assert any(line.startswith(f"{path}:{where}: ") and message in line for line in lines), lines


def test_bad_config_reports_every_problem(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "partition: mars\nguardrails:\n  allowed_accounts: ['1', '2']\n  require_reason: maybe\n",
    )

    _, problems = load_config(path)

    assert sorted(str(p) for p in problems) == [
        f"{path}:1:12: partition must be one of aws, aws-cn, aws-us-gov",
        f"{path}:3:22: account id '1' must be exactly 12 digits (quote it in YAML)",
        f"{path}:3:27: account id '2' must be exactly 12 digits (quote it in YAML)",
        f"{path}:4:19: require_reason must be true or false",
    ]


def test_oversized_config_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, "version: 1\n" + "#" * (1024 * 1024))

    _, problems = load_config(path)

    assert [str(p) for p in problems] == [
        f"{path}:1:1: file is 1048587 bytes, over the 1048576-byte limit; split it"
    ]


def test_boolean_version_is_refused(tmp_path: Path) -> None:
    """Share documents refuse `version: true` (True == 1 in Python); reconciler.yaml must too."""
    path = write_config(tmp_path, "version: true\n")

    _, problems = load_config(path)

    assert [str(p.location) for p in problems] == [f"{path}:1:10"]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        pytest.param('guardrails:\n  allowed_accounts: ["222222222222\\n"]\n', "2:22", id="allowed-account"),
        pytest.param('guardrails:\n  allowed_orgs: ["o-a1b2c3d4e5\\n"]\n', "2:18", id="allowed-org"),
        pytest.param(
            'guardrails:\n  protected_buckets: ["acme-secrets\\n"]\n', "2:23", id="protected-bucket"
        ),
    ],
)
def test_trailing_newline_in_guardrail_is_refused(tmp_path: Path, text: str, where: str) -> None:
    """A value with a trailing newline never matches a declaration, so the guardrail would not apply."""
    path = write_config(tmp_path, text)

    _, problems = load_config(path)

    assert [str(p.location) for p in problems] == [f"{path}:{where}"]


# ---- through the CLI ----


def test_config_flag_is_used(tmp_path: Path, write_shares: WriteShares, run_cli: RunCli) -> None:
    write_shares({"f.yaml": SHARE})
    (tmp_path / "strict.yaml").write_text("guardrails:\n  require_reason: true\n")

    rc, _, err = run_cli("validate", "--shares", "shares", "--config", "strict.yaml")

    assert rc == 1
    assert err.splitlines() == [
        "shares/f.yaml:5:5: this grant needs a 'reason' (guardrails.require_reason)",
        "1 problem",
    ]


def test_default_config_in_cwd_is_used(tmp_path: Path, write_shares: WriteShares, run_cli: RunCli) -> None:
    write_shares({"f.yaml": SHARE})
    (tmp_path / "reconciler.yaml").write_text("guardrails:\n  allowed_accounts: ['333333333333']\n")

    rc, _, err = run_cli("validate", "--shares", "shares")

    assert rc == 1
    assert err.splitlines()[0] == (
        "shares/f.yaml:5:5: account 222222222222 is not in guardrails.allowed_accounts; ask to have it added"
    )


def test_no_config_in_cwd_means_no_guardrails(write_shares: WriteShares, run_cli: RunCli) -> None:
    write_shares({"f.yaml": SHARE})

    rc, out, err = run_cli("validate", "--shares", "shares")

    assert (rc, out, err) == (0, "1 bucket, 1 grant, 0 problems\n", "")


def test_missing_config_file(write_shares: WriteShares, run_cli: RunCli) -> None:
    write_shares({"f.yaml": SHARE})

    rc, out, err = run_cli("validate", "--shares", "shares", "--config", "nope.yaml")

    assert (rc, out, err) == (1, "", "error: nope.yaml: config file not found\n")


def test_bad_config_is_located(tmp_path: Path, write_shares: WriteShares, run_cli: RunCli) -> None:
    write_shares({"f.yaml": SHARE})
    (tmp_path / "rails.yaml").write_text("guardrails:\n  max_expiry_days: soon\n")

    rc, _, err = run_cli("validate", "--shares", "shares", "--config", "rails.yaml")

    assert rc == 1
    assert "Traceback" not in err
    assert err.splitlines() == [
        "rails.yaml:2:20: max_expiry_days must be a positive whole number",
        "1 problem",
    ]


@pytest.mark.parametrize(
    ("partition", "to", "ok"),
    [
        ("aws-cn", "arn:aws-cn:iam::222222222222:role/reader", True),
        ("aws-cn", "arn:aws:iam::222222222222:role/reader", False),
        ("aws-us-gov", "arn:aws-us-gov:iam::222222222222:user/auditor", True),
    ],
)
def test_partition_decides_which_arns_are_valid(
    tmp_path: Path, write_shares: WriteShares, run_cli: RunCli, partition: str, to: str, ok: bool
) -> None:
    write_shares({"f.yaml": SHARE.replace('"222222222222"', to)})
    (tmp_path / "reconciler.yaml").write_text(f"partition: {partition}\n")

    rc, _, err = run_cli("validate", "--shares", "shares")

    if ok:
        assert (rc, err) == (0, "")
    else:
        assert rc == 1
        assert err.splitlines()[0] == (
            f"shares/f.yaml:5:9: ARN partition 'aws' does not match the configured partition '{partition}'"
        )


def test_huge_max_expiry_days_does_not_crash(
    tmp_path: Path, write_shares: WriteShares, run_cli: RunCli
) -> None:
    """today + 10 million days overflows datetime.date; that must be a user error, not a bug."""
    write_shares({"f.yaml": SHARE})
    (tmp_path / "reconciler.yaml").write_text("guardrails:\n  max_expiry_days: 10000000\n")

    rc, _, err = run_cli("validate", "--shares", "shares")

    assert "Traceback" not in err
    assert rc in (0, 1)


ROLES = """\
version: 1
partition: aws-us-gov
assume_role: "arn:{partition}:iam::{account}:role/bucketshare-{mode}"
accounts:
  444444444444: {role: "arn:aws-us-gov:iam::444444444444:role/legacy-{mode}"}
"""


def test_roles_per_account(tmp_path: Path) -> None:
    config, problems = load_config(write_config(tmp_path, ROLES))
    assert problems == []
    roles = config.roles
    gov = "arn:aws-us-gov:iam::111111111111:role"
    assert roles.role_for("111111111111", "plan") == f"{gov}/bucketshare-plan"
    assert roles.role_for("111111111111", "apply") == f"{gov}/bucketshare-apply"
    assert roles.role_for("444444444444", "apply") == "arn:aws-us-gov:iam::444444444444:role/legacy-apply"
    # An account with its own role is searched by discovery, as managed_accounts are.
    assert config.all_managed_accounts == {"444444444444"}


def test_no_roles_means_ambient_credentials(tmp_path: Path) -> None:
    config, _ = load_config(write_config(tmp_path, "version: 1\n"))
    assert config.roles.role_for("111111111111", "plan") is None
    only_override = 'accounts:\n  "444444444444": {role: "arn:aws:iam::444444444444:role/x"}\n'
    config, problems = load_config(write_config(tmp_path, only_override))
    assert problems == []
    assert config.roles.role_for("111111111111", "plan") is None
    assert config.roles.role_for("444444444444", "plan") == "arn:aws:iam::444444444444:role/x"


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            'assume_role: "arn:aws:iam::111111111111:role/x"\n',
            "1:14",
            "must name the account as {account}",
        ),
        ('assume_role: "arn:aws:iam::{account}:role/{region}"\n', "1:14", "unknown placeholder {region}"),
        ('assume_role: "arn:aws:iam::{account}:role/{"\n', "1:14", "is not a role template"),
        ('assume_role: "arn:aws-cn:iam::{account}:role/x"\n', "1:14", "not the configured 'aws'"),
        ('assume_role: "arn:aws:iam::{account}:user/x"\n', "1:14", "does not give a role ARN"),
        ("accounts: [111111111111]\n", "1:11", "accounts must be a mapping of account id"),
        ('accounts:\n  "12": {role: x}\n', "2:3", "account id '12' must be exactly 12 digits"),
        ('accounts:\n  "111111111111": {}\n', "2:19", "missing required key 'role'"),
        (
            'accounts:\n  "111111111111": {role: "arn:aws:iam::222222222222:role/x"}\n',
            "2:26",
            "the role is in account 222222222222, not 111111111111",
        ),
        (
            'accounts:\n  "111111111111": {role: "arn:aws:iam::{account}:role/x"}\n'
            '  111111111111: {role: "arn:aws:iam::{account}:role/y"}\n',
            "3:3",
            "account 111111111111 is listed twice",
        ),
    ],
)
def test_bad_roles(tmp_path: Path, text: str, where: str, message: str) -> None:
    _, problems = load_config(write_config(tmp_path, text))
    assert [f"{p.location.line}:{p.location.col}" for p in problems] == [where], problems
    assert message in problems[0].message
