"""The fast path for share files: libyaml events straight to documents, for files with no problem.

Most share files are valid, and building a node tree for them, then walking it, cost about
100 microseconds a grant (10,000 buckets: 11 s). This reader walks the parser's events once
and builds the same Documents that share_file's node reader builds, at a fraction of that.

It knows only the valid form: at the first thing it would have to complain about (a YAML
error, an anchor, a tag, an unknown or repeated key, a value of the wrong kind, any failed
check, even a warning), it gives up on the file and returns None, and share_file reads the
file again with the node reader, which says exactly what is wrong and where. So every
message keeps its one source, and this module never has to word one.
tests/declare/test_share_events.py holds the two readers to the same result.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import yaml

from reconciler.declare.config import KMS_MODES, Config
from reconciler.declare.identifiers import ACCOUNT_RE, check_bucket_name, check_prefix, normalize_prefix
from reconciler.declare.model import (
    HASH_PREFIX,
    STATEMENT_HASH_RE,
    SUPPORTED_VERSIONS,
    Adoption,
    Document,
    Grant,
    Grantee,
    GranteeKind,
)
from reconciler.declare.yaml_source import text_problems
from reconciler.errors import Location

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER = yaml.resolver.Resolver()
_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_STR = "tag:yaml.org,2002:str"
_BOOLS = yaml.constructor.SafeConstructor.bool_values
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_DOC_KEYS = frozenset(
    ("version", "bucket", "account", "owner", "grants", "adopt", "kms", "create", "versioning")
)
_GRANT_KEYS = frozenset(("to", "access", "prefixes", "reason", "expires"))


class _GiveUp(Exception):
    """Something the node reader must judge (and word)."""


def read_documents(
    text: str, display: str, config: Config, parse_grantee: Callable[[str, str], tuple[str | None, Any]]
) -> list[Document] | None:
    """The documents of a share file with no problem at all; None when it may have one."""
    if text_problems(display, text):
        return None
    loader = _Loader(text.removeprefix("\ufeff"))
    try:
        return _Reader(loader.get_event, display, config, parse_grantee).stream()
    except (_GiveUp, yaml.YAMLError):
        return None
    finally:
        loader.dispose()


class _Reader:
    def __init__(
        self,
        next_event: Callable[[], Any],
        display: str,
        config: Config,
        parse_grantee: Callable[[str, str], tuple[str | None, Any]],
    ) -> None:
        self.next = next_event
        self.display = display
        self.config = config
        self.parse_grantee = parse_grantee

    def where(self, event: Any) -> Location:
        mark = event.start_mark
        return Location(self.display, mark.line + 1, mark.column + 1)

    def stream(self) -> list[Document]:
        self.expect(yaml.StreamStartEvent)
        documents = []
        while True:
            event = self.next()
            if isinstance(event, yaml.StreamEndEvent):
                break
            if not isinstance(event, yaml.DocumentStartEvent):
                raise _GiveUp
            documents.append(self.document())
            self.expect(yaml.DocumentEndEvent)
        if not documents:
            raise _GiveUp  # "file declares no bucket"
        return documents

    def expect(self, kind: type) -> Any:
        event = self.next()
        if type(event) is not kind or getattr(event, "anchor", None) is not None:
            raise _GiveUp
        return event

    # -- values

    def scalar(self) -> tuple[str, bool, Any]:
        """(value, plain, event) of the next scalar, with no tag or anchor."""
        event = self.next()
        if type(event) is not yaml.ScalarEvent or event.anchor is not None or event.tag is not None:
            raise _GiveUp
        return event.value, event.implicit[0], event

    def string(self) -> tuple[str, Any]:
        """A non-blank string, as YAML's core schema reads it (a plain `true` is no string)."""
        value, plain, event = self.scalar()
        if plain and _plain_tag(value) != _STR:
            raise _GiveUp
        if not value.strip():
            raise _GiveUp
        return value, event

    def boolean(self) -> tuple[bool, Any]:
        value, plain, event = self.scalar()
        if not plain or value.lower() not in _BOOLS:
            raise _GiveUp
        if _plain_tag(value) != _BOOL:
            raise _GiveUp
        return bool(_BOOLS[value.lower()]), event

    def mapping_keys(self, known: frozenset[str]) -> Any:
        """Each key of a mapping whose start was just read, once each and known, in order."""
        seen: set[str] = set()
        while True:
            event = self.next()
            if type(event) is yaml.MappingEndEvent:
                return
            if type(event) is not yaml.ScalarEvent or event.anchor is not None or event.tag is not None:
                raise _GiveUp
            key = event.value
            if key not in known or key in seen or not event.implicit[0]:
                raise _GiveUp
            seen.add(key)
            yield key

    # -- the document

    def document(self) -> Document:
        self.expect(yaml.MappingStartEvent)
        fields: dict[str, Any] = {}
        for key in self.mapping_keys(_DOC_KEYS):
            fields[key] = getattr(self, f"doc_{key}")(fields)
        if "version" not in fields or "bucket" not in fields or "account" not in fields:
            raise _GiveUp
        bucket, bucket_location = fields["bucket"]
        account, account_location = fields["account"]
        grants = tuple(self.grant(item, account) for item in fields.get("grants", ()))
        return Document(
            bucket,
            account,
            fields.get("owner"),
            grants,
            bucket_location,
            account_location,
            fields.get("adopt", ()),
            fields.get("kms"),
            fields.get("create", False),
            fields.get("versioning"),
        )

    def doc_version(self, _: dict[str, Any]) -> int:
        value, plain, _event = self.scalar()
        if not plain or not value.isdigit() or int(value) not in SUPPORTED_VERSIONS:
            raise _GiveUp
        return int(value)

    def doc_bucket(self, _: dict[str, Any]) -> tuple[str, Location]:
        value, event = self.string()
        if check_bucket_name(value):
            raise _GiveUp
        return value, self.where(event)

    def doc_account(self, _: dict[str, Any]) -> tuple[str, Location]:
        value, _plain, event = self.scalar()
        # Quoted or plain, twelve digits read as they are written (share_file's account_id).
        if not ACCOUNT_RE.match(value):
            raise _GiveUp
        return value, self.where(event)

    def doc_owner(self, _: dict[str, Any]) -> str:
        return self.string()[0]

    def doc_grants(self, _: dict[str, Any]) -> list[list[tuple[str, Any]]]:
        """Each grant's (key, value event or list of item events), read in order; checked once
        the whole document (its account) is known."""
        self.expect(yaml.SequenceStartEvent)
        grants: list[list[tuple[str, Any]]] = []
        while True:
            event = self.next()
            if type(event) is yaml.SequenceEndEvent:
                return grants
            if type(event) is not yaml.MappingStartEvent or event.anchor is not None or event.tag is not None:
                raise _GiveUp
            grants.append(self.grant_fields(event))

    def grant_fields(self, start: Any) -> list[tuple[str, Any]]:
        fields: list[tuple[str, Any]] = [("", start)]
        for key in self.mapping_keys(_GRANT_KEYS):
            if key == "prefixes":
                fields.append((key, self.scalar_list()))
            else:
                fields.append((key, self.scalar()))
        return fields

    def scalar_list(self) -> list[tuple[str, bool, Any]]:
        self.expect(yaml.SequenceStartEvent)
        values: list[tuple[str, bool, Any]] = []
        while True:
            event = self.next()
            if type(event) is yaml.SequenceEndEvent:
                return values
            if type(event) is not yaml.ScalarEvent or event.anchor is not None or event.tag is not None:
                raise _GiveUp
            values.append((event.value, event.implicit[0], event))

    def doc_adopt(self, _: dict[str, Any]) -> tuple[Adoption, ...]:
        found: dict[str, Adoption] = {}
        for value, plain, event in self.scalar_list():
            sid = _string(value, plain)
            if sid.startswith(HASH_PREFIX) and not STATEMENT_HASH_RE.match(sid):
                raise _GiveUp
            if sid.startswith(self.config.sid_prefix) or sid in found:
                raise _GiveUp
            found[sid] = Adoption(sid, self.where(event))
        return tuple(found.values())

    def doc_kms(self, _: dict[str, Any]) -> tuple[str, Location]:
        value, event = self.string()
        if value not in KMS_MODES:
            raise _GiveUp
        return value, self.where(event)

    def doc_create(self, _: dict[str, Any]) -> bool:
        return self.boolean()[0]

    def doc_versioning(self, _: dict[str, Any]) -> Location | None:
        """Where `versioning: true` is written; None when false."""
        value, event = self.boolean()
        return self.where(event) if value else None

    # -- one grant

    def grant(self, fields: list[tuple[str, Any]], bucket_account: str) -> Grant:
        start = fields[0][1]
        values = dict(fields[1:])
        if "to" not in values or "access" not in values:
            raise _GiveUp
        grantee = self.grantee(*values["to"][:2])
        if grantee.account is not None and grantee.account == bucket_account:
            raise _GiveUp  # a warning: the node reader words it
        access = self.config.access_level(_string(*values["access"][:2]))
        if access is None:
            raise _GiveUp
        prefixes = _prefixes(values["prefixes"]) if "prefixes" in values else ()
        reason = _string(*values["reason"][:2]) if "reason" in values else None
        expires = _date(*values["expires"][:2]) if "expires" in values else None
        return Grant(grantee, access, prefixes, self.where(start), reason, expires)

    def grantee(self, value: str, plain: bool) -> Grantee:
        if ACCOUNT_RE.match(value):
            # As share_file reads it, an int or a string: an account grant.
            return Grantee(GranteeKind.ACCOUNT, value, account=value)
        problem, grantee = self.parse_grantee(_string(value, plain).strip(), self.config.partition)
        if problem or grantee is None:
            raise _GiveUp
        return grantee  # type: ignore[no-any-return]


_MAYBE_NOT_STR = frozenset(_RESOLVER.yaml_implicit_resolvers)
"""The first characters of the plain scalars YAML may read as something other than a string."""


def _plain_tag(value: str) -> str:
    """The tag YAML's core schema gives a plain (unquoted) scalar: `true` is a bool, `1` an int."""
    if value[:1] not in _MAYBE_NOT_STR and None not in _MAYBE_NOT_STR:
        return _STR  # most values: `read`, `arn:...`, `models/`: no resolver starts with their letter
    return str(_RESOLVER.resolve(yaml.ScalarNode, value, (True, False)))  # type: ignore[no-untyped-call]


def _string(value: str, plain: bool) -> str:
    if plain and _plain_tag(value) != _STR:
        raise _GiveUp
    if not value.strip():
        raise _GiveUp
    return value


def _prefixes(items: list[tuple[str, bool, Any]]) -> tuple[str, ...]:
    if not items:
        raise _GiveUp
    found: set[str] = set()
    for value, plain, _ in items:
        prefix = _string(value, plain)
        if check_prefix(prefix):
            raise _GiveUp
        normal = normalize_prefix(prefix)
        if normal in found:
            raise _GiveUp
        found.add(normal)
    return tuple(sorted(found))


def _date(value: str, plain: bool) -> dt.date:
    if not _DATE_RE.match(value):
        raise _GiveUp
    if plain and _plain_tag(value) != _TIMESTAMP:
        raise _GiveUp
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _GiveUp from None
