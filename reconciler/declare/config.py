"""The optional repository config, reconciler.yaml."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from reconciler.declare.identifiers import IAM_ARN_RE, PARTITIONS, check_account, check_bucket_name, check_org
from reconciler.declare.levels import read_access_levels
from reconciler.declare.nodes import NodeReader
from reconciler.declare.roles import AccountRoles, fill, template_problem
from reconciler.declare.yaml_source import compose_documents, read_text
from reconciler.errors import Location, Problem
from reconciler.policy.access import BUILT_IN, Access

DEFAULT_SID_PREFIX = "BucketShare"
DEFAULT_JOURNAL = ".bucketshare/journal.jsonl"
MAX_EXPIRY_DAYS = 36_500
DEFAULT_EXPIRY_WARNING_DAYS = 14
DRIFT_MODES = ("report", "fix")
KMS_MODES = ("warn", "manage")
"""For a bucket encrypted with a customer managed key: show the key-policy statements the
grantees need (warn), or reconcile them into the key's policy (manage)."""


@dataclass(frozen=True)
class Guardrails:
    """Policy limits on what declarations may ask for.

    ```yaml
    guardrails:
      allowed_accounts: ["222222222222"]
      allowed_orgs: [o-a1b2c3d4e5]
      protected_buckets: [acme-prod-secrets]
      require_reason: true
      max_expiry_days: 365
    ```
    """

    allowed_accounts: frozenset[str] | None = None
    allowed_orgs: frozenset[str] | None = None
    protected_buckets: frozenset[str] = frozenset()
    require_reason: bool = False
    max_expiry_days: int | None = None


@dataclass(frozen=True)
class Config:
    """Repository-wide settings.

    ```yaml
    version: 1
    sid_prefix: BucketShare        # statements whose Sid starts with this are ours
    partition: aws                 # aws | aws-cn | aws-us-gov
    managed_accounts: ["111111111111"]   # also searched for buckets we left statements on
    journal: .bucketshare/journal.jsonl
    drift: report                  # the scheduled run: report drift, or fix it
    expiry_warning_days: 14        # plans warn about grants expiring this soon
    kms: warn                      # or manage: reconcile customer managed keys' policies too
    assume_role: "arn:{partition}:iam::{account}:role/bucketshare-{mode}"   # per owner account
    accounts:                      # per-account overrides of assume_role
      "111111111111": {role: "arn:aws:iam::111111111111:role/legacy-bucketshare-{mode}"}
    access_levels:                 # levels grants may use beside read, write, read-write
      read-delete: {actions: [s3:GetObject, s3:ListBucket, s3:DeleteObject]}
    ```
    """

    sid_prefix: str = DEFAULT_SID_PREFIX
    partition: str = "aws"
    managed_accounts: frozenset[str] = frozenset()
    journal: str = DEFAULT_JOURNAL
    drift: str = "report"
    """`fix` lets the scheduled run apply all drift; `report` applies only expired-grant removals."""
    expiry_warning_days: int = DEFAULT_EXPIRY_WARNING_DAYS
    kms: str = "warn"
    """The default for buckets whose declarations do not say `kms:`."""
    guardrails: Guardrails = field(default_factory=Guardrails)
    roles: AccountRoles = field(default_factory=AccountRoles)
    """Without assume_role or accounts, every account is reached with the ambient credentials."""
    access_levels: dict[str, Access] = field(default_factory=dict)
    """Defined access levels by name (declare/levels.py); the built-ins are not in it."""

    def access_level(self, name: str) -> Access | None:
        """The built-in or defined level of that name."""
        return BUILT_IN.get(name) or self.access_levels.get(name)

    def access_names(self) -> list[str]:
        return [*BUILT_IN, *self.access_levels]

    def all_access_levels(self) -> list[Access]:
        return [*BUILT_IN.values(), *self.access_levels.values()]

    @property
    def all_managed_accounts(self) -> frozenset[str]:
        """Accounts searched by discovery besides the declared owners: an account with its own
        role is managed too."""
        return self.managed_accounts | frozenset(self.roles.overrides)


_TOP_KEYS = (
    "version",
    "sid_prefix",
    "partition",
    "managed_accounts",
    "journal",
    "drift",
    "expiry_warning_days",
    "kms",
    "assume_role",
    "accounts",
    "guardrails",
    "access_levels",
)
_GUARDRAIL_KEYS = (
    "allowed_accounts",
    "allowed_orgs",
    "protected_buckets",
    "require_reason",
    "max_expiry_days",
)


def load_config(path: Path | None) -> tuple[Config, list[Problem]]:
    """The config at path (default settings when path is None or absent)."""
    if path is None or not path.exists():
        return Config(), []
    display = str(path)
    text, problems = read_text(path, display)
    if text is None:
        return Config(), problems
    documents, problems = compose_documents(text, display)
    if problems:
        return Config(), problems
    if len(documents) != 1:
        return Config(), [Problem(Location(display), "reconciler.yaml must hold exactly one document")]
    reader = NodeReader(display)
    config = _read_config(reader, documents[0])
    return config, reader.problems


def _read_config(reader: NodeReader, node: yaml.Node) -> Config:
    misplaced = {key: "; it belongs under 'guardrails:'" for key in _GUARDRAIL_KEYS}
    entries = reader.mapping(node, "reconciler.yaml", _TOP_KEYS, hints=misplaced)
    if entries is None:
        return Config()
    settings: dict[str, object] = {}
    if "version" in entries:
        _, value_node = entries["version"]
        version = reader.scalar(value_node, "version")
        if type(version) is not int or version != 1:
            reader.fail(value_node, "unsupported version; use version: 1")
    if "sid_prefix" in entries:
        value = reader.string(entries["sid_prefix"][1], "sid_prefix")
        if value is not None and not (value.isascii() and value.isalnum() and value[0].isalpha()):
            reader.fail(
                entries["sid_prefix"][1], "sid_prefix must be letters and digits, starting with a letter"
            )
        elif value is not None:
            settings["sid_prefix"] = value
    if "partition" in entries:
        value = reader.string(entries["partition"][1], "partition")
        if value is not None and value not in PARTITIONS:
            reader.fail(entries["partition"][1], f"partition must be one of {', '.join(PARTITIONS)}")
        elif value is not None:
            settings["partition"] = value
    if "journal" in entries:
        value = reader.string(entries["journal"][1], "journal")
        if value is not None:
            settings["journal"] = value
    if "drift" in entries:
        value = reader.string(entries["drift"][1], "drift")
        if value is not None and value not in DRIFT_MODES:
            reader.fail(entries["drift"][1], "drift must be report or fix")
        elif value is not None:
            settings["drift"] = value
    if "kms" in entries:
        value = reader.string(entries["kms"][1], "kms")
        if value is not None and value not in KMS_MODES:
            reader.fail(entries["kms"][1], "kms must be warn or manage")
        elif value is not None:
            settings["kms"] = value
    if "expiry_warning_days" in entries:
        days = reader.positive_int(entries["expiry_warning_days"][1], "expiry_warning_days")
        if days is not None and days > MAX_EXPIRY_DAYS:
            reader.fail(
                entries["expiry_warning_days"][1], f"expiry_warning_days must be at most {MAX_EXPIRY_DAYS}"
            )
        elif days is not None:
            settings["expiry_warning_days"] = days
    if "managed_accounts" in entries:
        settings["managed_accounts"] = _accounts(reader, entries["managed_accounts"][1], "managed_accounts")
    guardrails = Guardrails()
    if "guardrails" in entries:
        guardrails = _read_guardrails(reader, entries["guardrails"][1])
    if "access_levels" in entries:
        settings["access_levels"] = read_access_levels(reader, entries["access_levels"][1])
    partition = str(settings.get("partition", "aws"))
    roles = _read_roles(reader, entries, partition)
    return Config(guardrails=guardrails, roles=roles, **settings)  # type: ignore[arg-type]


def _read_roles(
    reader: NodeReader, entries: dict[str, tuple[yaml.Node, yaml.Node]], partition: str
) -> AccountRoles:
    template = None
    if "assume_role" in entries:
        node = entries["assume_role"][1]
        value = reader.string(node, "assume_role")
        problem = template_problem(value, partition, account_required=True) if value else None
        if problem:
            reader.fail(node, f"assume_role: {problem}")
        elif value is not None:
            template = value
    overrides: dict[str, str] = {}
    if "accounts" in entries:
        overrides = _read_account_overrides(reader, entries["accounts"][1], partition)
    if template is None and not overrides:
        return AccountRoles()
    return AccountRoles(partition, template, overrides)


def _read_account_overrides(reader: NodeReader, node: yaml.Node, partition: str) -> dict[str, str]:
    if not isinstance(node, yaml.MappingNode):
        reader.fail(node, 'accounts must be a mapping of account id to {role: ARN}, e.g. "111111111111": ...')
        return {}
    overrides: dict[str, str] = {}
    for key_node, value_node in node.value:
        account = reader.account_id(key_node, "accounts key")
        if account is None:
            continue
        if (problem := check_account(account)) is not None:
            reader.fail(key_node, problem)
            continue
        if account in overrides:
            reader.fail(key_node, f"account {account} is listed twice under accounts; keep one")
            continue
        role = _read_override(reader, value_node, account, partition)
        if role is not None:
            overrides[account] = role
    return overrides


def _read_override(reader: NodeReader, node: yaml.Node, account: str, partition: str) -> str | None:
    entries = reader.mapping(node, f"accounts.{account}", ("role",), required=("role",))
    if entries is None or "role" not in entries:
        return None
    role_node = entries["role"][1]
    role = reader.string(role_node, f"accounts.{account}.role")
    if role is None:
        return None
    problem = template_problem(role, partition, account_required=False)
    if problem is None:
        match = IAM_ARN_RE.match(fill(role, partition, account, "plan"))
        if match is not None and match["account"] != account:
            problem = (
                f"the role is in account {match['account']}, not {account}; a role acts in its own account"
            )
    if problem:
        reader.fail(role_node, f"accounts.{account}.role: {problem}")
        return None
    return role


def _read_guardrails(reader: NodeReader, node: yaml.Node) -> Guardrails:
    entries = reader.mapping(node, "guardrails", _GUARDRAIL_KEYS)
    if entries is None:
        return Guardrails()
    allowed_accounts = allowed_orgs = None
    protected: frozenset[str] = frozenset()
    require_reason = False
    max_days = None
    if "allowed_accounts" in entries:
        allowed_accounts = _accounts(reader, entries["allowed_accounts"][1], "allowed_accounts")
    if "allowed_orgs" in entries:
        allowed_orgs = _strings(reader, entries["allowed_orgs"][1], "allowed_orgs", check_org)
    if "protected_buckets" in entries:
        protected = _strings(reader, entries["protected_buckets"][1], "protected_buckets", check_bucket_name)
    if "require_reason" in entries:
        require_reason = bool(reader.boolean(entries["require_reason"][1], "require_reason"))
    if "max_expiry_days" in entries:
        max_days = reader.positive_int(entries["max_expiry_days"][1], "max_expiry_days")
        if max_days is not None and max_days > MAX_EXPIRY_DAYS:
            reader.fail(entries["max_expiry_days"][1], f"max_expiry_days must be at most {MAX_EXPIRY_DAYS}")
            max_days = None
    return Guardrails(allowed_accounts, allowed_orgs, protected, require_reason, max_days)


def _accounts(reader: NodeReader, node: yaml.Node, what: str) -> frozenset[str]:
    # Account ids may arrive as unquoted 12-digit numbers, so they are read with account_id.
    return _strings(reader, node, what, check_account, read=reader.account_id)


def _strings(
    reader: NodeReader,
    node: yaml.Node,
    what: str,
    check: Callable[[str], str | None],
    read: Callable[[yaml.Node, str], str | None] | None = None,
) -> frozenset[str]:
    read_item = read or reader.string
    found = set()
    for item in reader.sequence(node, what) or []:
        value = read_item(item, f"{what} entry")
        if value is None:
            continue
        problem = check(value)
        if problem:
            reader.fail(item, problem)
        else:
            found.add(value)
    return frozenset(found)
