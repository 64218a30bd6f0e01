"""The shares/ declaration format: load YAML documents into validated, located grants.

```yaml
version: 1
bucket: acme-model-artifacts
account: "111111111111"
owner: ml-platform
grants:
  - to: "222222222222"            # account id, IAM role/user ARN, org:o-..., ou:o-.../r-.../ou-...
    access: read                  # read | write | read-write
    prefixes: [models/fraud/]     # optional; whole bucket when absent
    reason: fraud scoring         # optional unless guardrails.require_reason
    expires: 2027-03-31           # optional; from that date (UTC) on the grant is not rendered
adopt: [InferenceRead]            # optional; hand-written statements (by Sid) the grants replace
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
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import yaml

from reconciler.access import Access, writes
from reconciler.config import KMS_MODES, Config
from reconciler.errors import Location, Problem, Severity
from reconciler.identifiers import (
    IAM_ARN_RE,
    check_account,
    check_bucket_name,
    check_iam_arn,
    check_org,
    check_ou_path,
    check_prefix,
    normalize_prefix,
)
from reconciler.shape import NodeReader
from reconciler.yamlsource import compose_documents, read_text

SUPPORTED_VERSIONS = (1,)
_DOC_KEYS = ("version", "bucket", "account", "owner", "grants", "adopt", "kms", "create", "versioning")
_GRANT_KEYS = ("to", "access", "prefixes", "reason", "expires")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_PUBLIC_WORDS = {"*", "everyone", "public", "anonymous", "all", "anyone", "arn:aws:iam::*:root"}


class GranteeKind(StrEnum):
    ACCOUNT = "account"
    ROLE = "role"
    USER = "user"
    ORG = "org"
    OU = "ou"


@dataclass(frozen=True)
class Grantee:
    kind: GranteeKind
    id: str
    """Account id, IAM ARN, org id or OU path."""
    account: str | None = None
    org: str | None = None

    def describe(self) -> str:
        names = {
            GranteeKind.ACCOUNT: "account",
            GranteeKind.ROLE: "role",
            GranteeKind.USER: "user",
            GranteeKind.ORG: "organization",
            GranteeKind.OU: "organizational unit",
        }
        return f"{names[self.kind]} {self.id}"


@dataclass(frozen=True)
class Grant:
    grantee: Grantee
    access: Access
    prefixes: tuple[str, ...]
    """Normalised (trailing slash), sorted; empty means the whole bucket."""
    location: Location
    reason: str | None = None
    expires: dt.date | None = None

    def active(self, today: dt.date) -> bool:
        return self.expires is None or today < self.expires

    def scope(self) -> str:
        return ", ".join(self.prefixes) if self.prefixes else "the whole bucket"


@dataclass(frozen=True)
class Adoption:
    """A hand-written statement (by Sid) that the next apply replaces by the managed ones.

    ```yaml
    adopt: [InferenceRead, InferenceList]
    ```
    """

    sid: str
    location: Location


@dataclass(frozen=True)
class BucketShare:
    bucket: str
    account: str
    grants: tuple[Grant, ...]
    locations: tuple[Location, ...]
    """Where each document declaring this bucket names it."""
    owners: tuple[str, ...] = ()
    adopted: tuple[Adoption, ...] = ()
    create: bool = False
    """Apply creates the bucket, with safe defaults, when it does not exist.

    ```yaml
    create: true
    versioning: true     # only with create: the bucket is created with versioning on
    ```

    Any document of the bucket saying `create: true` (or `versioning: true`) makes it so: a
    creation is additive, and the file that asks for it is the one a reviewer reads. Both act
    only when the bucket is missing; an existing bucket's settings are never changed.
    """
    versioning: bool = False
    kms: str | None = None
    """`warn` or `manage` when a declaration of the bucket says so; None: the config's."""


@dataclass(frozen=True)
class Declarations:
    buckets: tuple[BucketShare, ...]

    def owner_accounts(self) -> frozenset[str]:
        return frozenset(share.account for share in self.buckets)

    def grant_count(self) -> int:
        return sum(len(share.grants) for share in self.buckets)


@dataclass(frozen=True)
class _Document:
    bucket: str
    account: str | None
    owner: str | None
    grants: tuple[Grant, ...]
    bucket_location: Location
    account_location: Location | None
    adopted: tuple[Adoption, ...] = ()
    kms: tuple[str, Location] | None = None
    create: bool = False
    versioning: Location | None = None
    """Where `versioning: true` is written; None when it is absent or false."""


def missing_shares(shares_dir: Path) -> str:
    """What to say when there is no shares directory: most often, run from somewhere else."""
    return (
        f"shares directory not found: looked for {shares_dir.absolute()}; run reconciler from "
        "the repository root, or pass --shares DIR"
    )


def load_shares(shares_dir: Path, config: Config, today: dt.date) -> tuple[Declarations, list[Problem]]:
    """Every bucket declared under shares_dir, merged across files, with all problems found."""
    documents: list[_Document] = []
    problems: list[Problem] = []
    if not shares_dir.is_dir():
        problem = missing_shares(shares_dir) if not shares_dir.exists() else "not a directory; refused"
        return Declarations(()), [Problem(Location(str(shares_dir)), problem)]
    for path, display, refusal in _share_files(shares_dir):
        if refusal:
            problems.append(Problem(Location(display), refusal))
            continue
        file_documents, file_problems = load_file(path, display, config)
        documents.extend(file_documents)
        problems.extend(file_problems)
    declarations, merge_problems = _merge(documents)
    problems.extend(merge_problems)
    problems.extend(check_guardrails(declarations, config, today))
    return declarations, sorted(problems)


_YAML_SUFFIXES = (".yaml", ".yml")
_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)
_ONLY_FILES = "bucketshare reads only regular *.yaml/*.yml files under the shares directory"


def _share_files(root: Path) -> Iterator[tuple[Path, str, str | None]]:
    """(path, display, refusal) for every YAML file below root, sorted; see _refusal for the rule.

    Nothing under root is skipped in silence: a grant in a file that is not read would be
    planned as a revocation.
    """
    real_root = root.resolve()
    unreadable: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable.append, followlinks=False):
        dirnames.sort()
        for name in sorted([*dirnames, *filenames]):
            path = Path(dirpath, name)
            refusal = _refusal(path, real_root)
            if refusal:
                yield path, str(path), refusal
            elif name in filenames and path.suffix in _YAML_SUFFIXES and not path.is_symlink():
                yield path, str(path), None
    for exc in unreadable:
        where = exc.filename if exc.filename is not None else root
        yield Path(where), str(where), f"cannot read directory: {exc.strerror}; nothing in it was loaded"


def _refusal(path: Path, real_root: Path) -> str | None:
    """Why path cannot stand in the shares tree, or None.

    The rule: every entry is a regular file, a directory, or a symlink that resolves to one
    of those inside the shares directory. A symlink to a YAML file or a directory inside is
    loaded once, where its target really is; anything else — a symlink out of the tree, a
    broken or looping one, a *.yaml link to something that is not a YAML file, a FIFO, socket
    or device (whatever its name), a directory named *.yaml — is a located error.
    """
    try:
        mode = path.lstat().st_mode
    except OSError as exc:
        return f"cannot read file: {exc.strerror}"
    if stat.S_ISLNK(mode):
        try:
            target = path.resolve(strict=True)
            target_mode = target.stat().st_mode
        except (OSError, RuntimeError):
            return "symlink cannot be resolved (broken or a loop); remove it"
        if not target.is_relative_to(real_root):
            return "symlink leads outside the shares directory; refused"
        if stat.S_ISDIR(target_mode):
            return _directory_refusal(path)
        if not stat.S_ISREG(target_mode):
            return f"symlink leads to {_kind(target_mode)}, not a regular file; {_ONLY_FILES}"
        if path.suffix in _YAML_SUFFIXES and target.suffix not in _YAML_SUFFIXES:
            return (
                f"symlink leads to {target.relative_to(real_root)}, which is not a *.yaml/*.yml file, "
                "so it would not be loaded; rename the target or remove the link"
            )
        return None
    if stat.S_ISDIR(mode):
        return _directory_refusal(path)
    if not stat.S_ISREG(mode):
        return f"{_kind(mode)} is not a regular file; {_ONLY_FILES}: remove it"
    if path.name.lower().endswith(_YAML_SUFFIXES) and path.suffix not in _YAML_SUFFIXES:
        # x.YAML, .yaml: a person would take it for a declaration that is read.
        return "named like a YAML file but not read: only names ending in .yaml or .yml are; rename it"
    return None


def _directory_refusal(path: Path) -> str | None:
    if path.name.lower().endswith(_YAML_SUFFIXES):
        return f"a directory named like a YAML file; {_ONLY_FILES}: rename it"
    return None


def _kind(mode: int) -> str:
    return next((name for test, name in _SPECIAL_KINDS if test(mode)), "a special file")


def load_file(path: Path, display: str, config: Config) -> tuple[list[_Document], list[Problem]]:
    text, problems = read_text(path, display)
    if text is None:
        return [], problems
    return load_text(text, display, config)


def load_text(text: str, display: str, config: Config) -> tuple[list[_Document], list[Problem]]:
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


def _read_document(reader: NodeReader, node: yaml.Node, config: Config) -> _Document | None:
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
    return _Document(
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
        if sid.startswith(config.sid_prefix):
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
    access = _read_access(reader, entries["access"][1]) if "access" in entries else None
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
        problem = check_iam_arn(text, partition)
        match = IAM_ARN_RE.match(text)
        if problem or match is None:
            return problem, None
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


def _read_access(reader: NodeReader, node: yaml.Node) -> Access | None:
    value = reader.string(node, "access")
    if value is None:
        return None
    try:
        return Access(value)
    except ValueError:
        choices = ", ".join(a.value for a in Access)
        reader.fail(node, f"access {value!r} is not one of {choices}")
        return None


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


def _merge(documents: list[_Document]) -> tuple[Declarations, list[Problem]]:
    """Merge the documents that declare one bucket, refusing conflicting accounts and repeats."""
    by_bucket: dict[str, list[_Document]] = {}
    for document in documents:
        by_bucket.setdefault(document.bucket, []).append(document)
    problems: list[Problem] = []
    shares = []
    for bucket in sorted(by_bucket):
        share, share_problems = _merge_bucket(bucket, by_bucket[bucket])
        problems.extend(share_problems)
        if share is not None:
            shares.append(share)
    return Declarations(tuple(shares)), problems


def _merge_bucket(bucket: str, documents: list[_Document]) -> tuple[BucketShare | None, list[Problem]]:
    problems: list[Problem] = []
    first = documents[0]
    for other in documents[1:]:
        if other.account and first.account and other.account != first.account:
            problems.append(
                Problem(
                    other.account_location or other.bucket_location,
                    f"bucket {bucket} is declared with account {other.account} here but "
                    f"{first.account} at {first.account_location}; one bucket has one owner",
                )
            )
    seen: dict[tuple[Grantee, str], Grant] = {}
    grants = []
    for document in documents:
        for grant in document.grants:
            for prefix in grant.prefixes or ("",):
                earlier = seen.get((grant.grantee, prefix))
                if earlier is not None:
                    scope = prefix or "the whole bucket"
                    problems.append(
                        Problem(
                            grant.location,
                            f"{grant.grantee.describe()} is granted {scope} of {bucket} twice: "
                            f"here and at {earlier.location}; merge them into one grant",
                        )
                    )
                    break
                seen[(grant.grantee, prefix)] = grant
            else:
                grants.append(grant)
    adopted: dict[str, Adoption] = {}
    for adoption in (a for d in documents for a in d.adopted):
        if adoption.sid in adopted:
            problems.append(
                Problem(
                    adoption.location,
                    f"statement {adoption.sid!r} of {bucket} is adopted twice: here and at "
                    f"{adopted[adoption.sid].location}; keep one",
                )
            )
        adopted.setdefault(adoption.sid, adoption)
    create = any(d.create for d in documents)
    versioning = [d.versioning for d in documents if d.versioning is not None]
    if versioning and not create:
        # Versioning is a setting of the bucket apply creates; bucketshare never changes an
        # existing bucket's settings, so alone it would silently do nothing.
        problems.append(
            Problem(
                versioning[0],
                f"versioning: true applies only to a bucket bucketshare creates; add create: true "
                f"for {bucket}, or enable versioning on the existing bucket by hand and remove this",
            )
        )
    account = first.account
    if account is None or problems:
        return None, problems
    owners = tuple(sorted({d.owner for d in documents if d.owner}))
    locations = tuple(d.bucket_location for d in documents)
    modes = [d.kms for d in documents if d.kms is not None]
    for mode, where in modes[1:]:
        if mode != modes[0][0]:
            problems.append(
                Problem(where, f"kms: {mode} here, but kms: {modes[0][0]} at {modes[0][1]}; say it once")
            )
    if problems:
        return None, problems
    kms = modes[0][0] if modes else None
    share = BucketShare(
        bucket,
        account,
        tuple(grants),
        locations,
        owners,
        tuple(adopted.values()),
        create=create,
        versioning=bool(versioning),
        kms=kms,
    )
    return share, problems


def check_guardrails(declarations: Declarations, config: Config, today: dt.date) -> list[Problem]:
    return [
        Problem(grant.location, message, severity)
        for share in declarations.buckets
        for grant in share.grants
        for message, severity in _grant_findings(share, grant, config, today)
    ]


def _grant_findings(
    share: BucketShare, grant: Grant, config: Config, today: dt.date
) -> Iterator[tuple[str, Severity]]:
    rails = config.guardrails
    who = grant.grantee
    if rails.allowed_accounts is not None and who.account and who.account not in rails.allowed_accounts:
        yield f"{who.describe()} is not in guardrails.allowed_accounts; ask to have it added", Severity.ERROR
    if rails.allowed_orgs is not None and who.org and who.org not in rails.allowed_orgs:
        yield (
            f"organization {who.org} is not in guardrails.allowed_orgs; ask to have it added",
            Severity.ERROR,
        )
    if share.bucket in rails.protected_buckets and writes(grant.access):
        yield f"bucket {share.bucket} is protected: only read grants are allowed", Severity.ERROR
    if rails.require_reason and not grant.reason:
        yield "this grant needs a 'reason' (guardrails.require_reason)", Severity.ERROR
    if grant.expires is not None and not grant.active(today):
        yield f"grant expired on {grant.expires} and is no longer rendered; delete it", Severity.WARNING
    if rails.max_expiry_days is not None:
        limit = today + dt.timedelta(days=rails.max_expiry_days)
        if grant.expires is None:
            yield (
                f"this grant needs 'expires' no later than {limit} (guardrails.max_expiry_days)",
                Severity.ERROR,
            )
        elif grant.expires > limit:
            yield (
                f"expires {grant.expires} is more than {rails.max_expiry_days} days away; "
                f"use {limit} or earlier",
                Severity.ERROR,
            )
