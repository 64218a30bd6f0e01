"""The shares/ declaration format: load YAML documents into validated, located grants.

```yaml
version: 1
bucket: acme-model-artifacts
account: "111111111111"
owner: ml-platform
grants:
  - to: "222222222222"            # account id, IAM role/user ARN, org:o-..., ou:o-.../r-.../ou-...
    access: read                  # read | write | read-write | a level reconciler.yaml defines
    prefixes: [models/fraud/]     # optional; whole bucket when absent
    reason: fraud scoring         # optional unless guardrails.require_reason
    expires: 2027-03-31           # optional; from that date (UTC) on the grant is not rendered
adopt: [InferenceRead]            # optional; hand-written statements (by Sid, or sha256:... for one
                                  # without a Sid) the grants replace
kms: manage                       # optional; warn | manage (reconciler.yaml's kms by default)
create: true                      # optional; apply creates the bucket if it does not exist
versioning: true                  # optional, with create: versioning on for the bucket it creates
```

Every `*.yaml`/`*.yml` below shares/ is read, and nothing there is skipped in silence (a grant
in a file left unread would be planned as a revocation). Each entry must be a regular file, a
directory, or a symlink that resolves to one of those inside shares/: a symlink to a YAML file
or a directory inside shares/ is loaded once, at its real path. Anything else is a located
error: a symlink out of shares/, a broken or looping symlink, a `*.yaml` symlink to a file not
named `*.yaml`/`*.yml`, a FIFO, socket or device (whatever its name), a directory named
`*.yaml`, a file named like YAML that would not be read (`x.YAML`, `.yaml`), a folder or file
that cannot be read. Files are opened without blocking and read only
once they are known to be regular files, so a FIFO can never hang a run.
"""

from __future__ import annotations

import datetime as dt
import re

import yaml

from reconciler.declare.config import KMS_MODES, Config
from reconciler.declare.identifiers import (
    IAM_ARN_RE,
    check_account,
    check_bucket_name,
    check_iam_arn,
    check_org,
    check_ou_path,
    check_prefix,
    normalize_prefix,
)
from reconciler.declare.model import (
    HASH_LENGTH,
    HASH_PREFIX,
    STATEMENT_HASH_RE,
    SUPPORTED_VERSIONS,
    Adoption,
    Document,
    Grant,
    Grantee,
    GranteeKind,
)
from reconciler.declare.nodes import NodeReader
from reconciler.declare.share_events import EventReader
from reconciler.declare.yaml_source import compose_documents
from reconciler.errors import Location, Problem, Severity
from reconciler.policy.access import Access

_DOC_KEYS = ("version", "bucket", "account", "owner", "grants", "adopt", "kms", "create", "versioning")


_GRANT_KEYS = ("to", "access", "prefixes", "reason", "expires")


_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


_PUBLIC_WORDS = {"*", "everyone", "public", "anonymous", "all", "anyone", "arn:aws:iam::*:root"}


def load_text(
    text: str, display: str, config: Config, reader: EventReader | None = None
) -> tuple[list[Document], list[Problem]]:
    """The documents of a share file and its problems; `reader`, made by event_reader for the
    same config, shares what repeats across the files of one load."""
    # A file with no problem is read straight from its events; any other file is read through
    # its node tree below, which finds and words every problem (share_events.py says why).
    documents = (reader or event_reader(config)).documents(text, display)
    if documents is not None:
        return documents, []
    return load_text_nodes(text, display, config)


def event_reader(config: Config) -> EventReader:
    """A fast reader for the files of one load with this config."""
    return EventReader(config, parse_grantee)


def load_text_nodes(text: str, display: str, config: Config) -> tuple[list[Document], list[Problem]]:
    """load_text through the node tree: slower, and the one place every problem is found."""
    nodes, problems = compose_documents(text, display)
    if problems:
        return [], problems
    if not nodes:
        return [], [Problem(Location(display), "file declares no bucket; add a document or delete the file")]
    reader = NodeReader(display)
    documents = []
    for node in nodes:
        document = _read_document(reader, node, config)
        if document is not None:
            documents.append(document)
    return documents, reader.problems


def _is_empty(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")


def _read_document(reader: NodeReader, node: yaml.Node, config: Config) -> Document | None:
    if _is_empty(node):
        reader.fail(node, "empty document; declare a bucket or remove the '---'")
        return None
    entries = reader.mapping(node, "a share document", _DOC_KEYS, ("version", "bucket", "account"))
    if entries is None:
        return None
    if "version" in entries:
        value_node = entries["version"][1]
        version = reader.scalar(value_node, "version")
        if not reader.had_error(value_node) and (
            type(version) is not int or version not in SUPPORTED_VERSIONS
        ):
            reader.fail(value_node, f"unsupported version {version!r}; use version: 1")
    bucket = None
    if "bucket" in entries:
        bucket_node = entries["bucket"][1]
        bucket = reader.string(bucket_node, "bucket")
        if bucket is not None and (problem := check_bucket_name(bucket)):
            reader.fail(bucket_node, problem)
            bucket = None
    account = account_location = None
    if "account" in entries:
        account_node = entries["account"][1]
        account_location = reader.where(account_node)
        account = reader.account_id(account_node, "account")
        if account is not None and (problem := check_account(account)):
            reader.fail(account_node, problem)
            account = None
    owner = reader.string(entries["owner"][1], "owner") if "owner" in entries else None
    grants: list[Grant] = []
    if "grants" in entries:
        for item in reader.sequence(entries["grants"][1], "grants") or []:
            grant = _read_grant(reader, item, config, account)
            if grant is not None:
                grants.append(grant)
    adopted = _read_adopt(reader, entries["adopt"][1], config) if "adopt" in entries else ()
    kms = _read_kms(reader, entries["kms"][1]) if "kms" in entries else None
    create = bool(reader.boolean(entries["create"][1], "create")) if "create" in entries else False
    versioning = None
    if "versioning" in entries and reader.boolean(entries["versioning"][1], "versioning"):
        versioning = reader.where(entries["versioning"][1])
    if bucket is None:
        return None
    return Document(
        bucket,
        account,
        owner,
        tuple(grants),
        reader.where(entries["bucket"][1]),
        account_location,
        adopted,
        kms,
        create,
        versioning,
    )


def _read_kms(reader: NodeReader, node: yaml.Node) -> tuple[str, Location] | None:
    value = reader.string(node, "kms")
    if value is not None and value not in KMS_MODES:
        reader.fail(node, "kms must be warn (show the key-policy statements) or manage (reconcile them)")
        return None
    return None if value is None else (value, reader.where(node))


def _read_adopt(reader: NodeReader, node: yaml.Node, config: Config) -> tuple[Adoption, ...]:
    found: dict[str, Adoption] = {}
    for item in reader.sequence(node, "adopt") or []:
        sid = reader.string(item, "adopt entry")
        if sid is None:
            continue
        if sid.startswith(HASH_PREFIX) and not STATEMENT_HASH_RE.match(sid):
            reader.fail(
                item,
                f"adopt: {sid!r} is not a statement hash ({HASH_PREFIX} and {HASH_LENGTH} hex digits); "
                "copy it from what reconciler import wrote",
            )
        elif sid.startswith(config.sid_prefix):
            reader.fail(
                item,
                f"adopt: {sid!r} starts with sid_prefix {config.sid_prefix}, so it is bucketshare's "
                "statement already; list only hand-written statements",
            )
        elif sid in found:
            reader.fail(item, f"adopt: {sid!r} is listed twice (first at {found[sid].location}); keep one")
        else:
            found[sid] = Adoption(sid, reader.where(item))
    return tuple(found.values())


def _read_grant(
    reader: NodeReader, node: yaml.Node, config: Config, bucket_account: str | None
) -> Grant | None:
    entries = reader.mapping(node, "a grant", _GRANT_KEYS, ("to", "access"))
    if entries is None:
        return None
    grantee = _read_grantee(reader, entries["to"][1], config) if "to" in entries else None
    access = _read_access(reader, entries["access"][1], config) if "access" in entries else None
    prefixes = _read_prefixes(reader, entries["prefixes"][1]) if "prefixes" in entries else ()
    reason = reader.string(entries["reason"][1], "reason") if "reason" in entries else None
    expires = _read_date(reader, entries["expires"][1]) if "expires" in entries else None
    if grantee is None or access is None or prefixes is None:
        return None
    location = reader.where(node)
    if grantee.account is not None and grantee.account == bucket_account:
        reader.problems.append(
            Problem(
                reader.where(entries["to"][1]),
                f"{grantee.describe()} is in the bucket's own account; its IAM policies already "
                "suffice, so this grant is not needed",
                Severity.WARNING,
            )
        )
    return Grant(grantee, access, prefixes, location, reason, expires)


def _read_grantee(reader: NodeReader, node: yaml.Node, config: Config) -> Grantee | None:
    if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":int"):
        account = reader.account_id(node, "to")
        return None if account is None else Grantee(GranteeKind.ACCOUNT, account, account=account)
    text = reader.string(node, "to")
    if text is None:
        return None
    problem, grantee = parse_grantee(text.strip(), config.partition)
    if problem:
        reader.fail(node, problem)
    return grantee


def parse_grantee(text: str, partition: str) -> tuple[str | None, Grantee | None]:
    if text.lower() in _PUBLIC_WORDS or "*" in text or "?" in text:
        return f"grant to {text!r} refused: bucketshare never makes a bucket public or uses wildcards", None
    if text.startswith("org:"):
        org = text.removeprefix("org:")
        problem = check_org(org)
        return problem, None if problem else Grantee(GranteeKind.ORG, org, org=org)
    if text.startswith("ou:"):
        path = text.removeprefix("ou:").rstrip("/")
        problem = check_ou_path(path)
        return problem, None if problem else Grantee(GranteeKind.OU, path, org=path.split("/")[0])
    if text.startswith("arn:"):
        match = IAM_ARN_RE.match(text)
        if match is None or match["partition"] != partition:
            return check_iam_arn(text, partition), None
        if match["root"]:
            return None, Grantee(GranteeKind.ACCOUNT, match["account"], account=match["account"])
        kind = GranteeKind.ROLE if match["kind"] == "role" else GranteeKind.USER
        return None, Grantee(kind, text, account=match["account"])
    if text.isdigit():
        problem = check_account(text)
        return problem, None if problem else Grantee(GranteeKind.ACCOUNT, text, account=text)
    return (
        f"cannot tell what {text!r} is; use a 12-digit account id, an IAM role/user ARN, "
        "org:o-... or ou:o-.../r-.../ou-...",
        None,
    )


def _read_access(reader: NodeReader, node: yaml.Node, config: Config) -> Access | None:
    value = reader.string(node, "access")
    if value is None:
        return None
    level = config.access_level(value)
    if level is None:
        choices = ", ".join(config.access_names())
        reader.fail(node, f"access {value!r} is not one of {choices}")
    return level


def _read_prefixes(reader: NodeReader, node: yaml.Node) -> tuple[str, ...] | None:
    items = reader.sequence(node, "prefixes")
    if items is None:
        return None
    if not items:
        reader.fail(node, "prefixes must not be empty; leave it out to share the whole bucket")
        return None
    prefixes: dict[str, yaml.Node] = {}
    ok = True
    for item in items:
        value = reader.string(item, "prefix")
        if value is None:
            ok = False
            continue
        if problem := check_prefix(value):
            reader.fail(item, problem)
            ok = False
            continue
        normal = normalize_prefix(value)
        if normal in prefixes:
            first = reader.where(prefixes[normal])
            reader.fail(item, f"prefix {value!r} is listed twice in this grant (first at {first})")
            ok = False
            continue
        prefixes[normal] = item
    return tuple(sorted(prefixes)) if ok else None


def _read_date(reader: NodeReader, node: yaml.Node) -> dt.date | None:
    value = reader.scalar(node, "expires")
    if reader.had_error(node):
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DATE_RE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    reader.fail(node, f"expires {value!r} is not a date; write it as YYYY-MM-DD")
    return None
