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

Speed and size. Creating libyaml's event objects is most of the cost that cannot be avoided
(about 1 s for 10,000 buckets and 100,000 grants); the grant loop below handles each event
inline, with no helper call or generator per event. One EventReader serves every file of a
load and keeps what repeats across grants and files (grantees, prefix lists, dates, reasons)
as one shared object each: checked once, stored once.
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
from reconciler.policy.access import Access

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER = yaml.resolver.Resolver()
_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_STR = "tag:yaml.org,2002:str"
_BOOLS = yaml.constructor.SafeConstructor.bool_values
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")

_Scalar = yaml.ScalarEvent
_MappingStart = yaml.MappingStartEvent
_MappingEnd = yaml.MappingEndEvent
_SequenceStart = yaml.SequenceStartEvent
_SequenceEnd = yaml.SequenceEndEvent

ParseGrantee = Callable[[str, str], tuple[str | None, Any]]


class _GiveUp(Exception):
    """Something the node reader must judge (and word)."""


def read_documents(
    text: str, display: str, config: Config, parse_grantee: ParseGrantee
) -> list[Document] | None:
    """The documents of a share file with no problem at all; None when it may have one."""
    return EventReader(config, parse_grantee).documents(text, display)


class EventReader:
    """Reads the share files of one load (one config), sharing what repeats across them."""

    def __init__(self, config: Config, parse_grantee: ParseGrantee) -> None:
        self.config = config
        self.parse_grantee = parse_grantee
        names = config.access_names()
        levels = {name: level for name in names if (level := config.access_level(name)) and name.strip()}
        # A plain `yes` would be a bool, not the name of a level: the same rule as every string.
        self.levels: dict[bool, dict[str, Access]] = {
            True: {name: level for name, level in levels.items() if _plain_tag(name) == _STR},
            False: levels,
        }
        # Keyed by (text, plain): whether a value was written plain can change what it means.
        self.grantees: dict[tuple[str, bool], Grantee] = {}
        self.dates: dict[tuple[str, bool], dt.date] = {}
        self.prefix_lists: dict[tuple[str | bool, ...], tuple[str, ...]] = {}
        self.texts: dict[tuple[str, bool], str] = {}

    def documents(self, text: str, display: str) -> list[Document] | None:
        """The documents of a share file with no problem at all; None when it may have one."""
        if text_problems(display, text):
            return None
        parser = _Loader(text.removeprefix("\ufeff"))
        try:
            return self._stream(parser.get_event, display)
        except (_GiveUp, yaml.YAMLError):
            return None
        finally:
            parser.dispose()

    def _stream(self, next_event: Callable[[], Any], display: str) -> list[Document]:
        _expect(next_event, yaml.StreamStartEvent)
        documents = []
        while True:
            event = next_event()
            if type(event) is yaml.StreamEndEvent:
                break
            if type(event) is not yaml.DocumentStartEvent:
                raise _GiveUp
            documents.append(self._document(next_event, display))
            _expect(next_event, yaml.DocumentEndEvent)
        if not documents:
            raise _GiveUp  # "file declares no bucket"
        return documents

    # -- the document

    def _document(self, next_event: Callable[[], Any], display: str) -> Document:
        _expect(next_event, _MappingStart)
        fields: dict[str, Any] = {}
        while (key := _key(next_event)) is not None:
            if key in fields or key not in _DOCUMENT_FIELDS:
                raise _GiveUp
            fields[key] = _DOCUMENT_FIELDS[key](self, next_event, display)
        if "version" not in fields or "bucket" not in fields or "account" not in fields:
            raise _GiveUp
        bucket, bucket_location = fields["bucket"]
        account, account_location = fields["account"]
        grants: tuple[Grant, ...] = fields.get("grants", ())
        if any(grant.grantee.account == account for grant in grants):
            raise _GiveUp  # a warning: the node reader words it
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

    def _version(self, next_event: Callable[[], Any], _: str) -> int:
        value, plain, _event = _scalar(next_event)
        if not plain or not value.isdigit() or int(value) not in SUPPORTED_VERSIONS:
            raise _GiveUp
        return int(value)

    def _bucket(self, next_event: Callable[[], Any], display: str) -> tuple[str, Location]:
        value, plain, event = _scalar(next_event)
        if check_bucket_name(_string(value, plain)):
            raise _GiveUp
        return value, _where(display, event)

    def _account(self, next_event: Callable[[], Any], display: str) -> tuple[str, Location]:
        value, _plain, event = _scalar(next_event)
        # Quoted or plain, twelve digits read as they are written (share_file's account_id).
        if not ACCOUNT_RE.match(value):
            raise _GiveUp
        return value, _where(display, event)

    def _owner(self, next_event: Callable[[], Any], _: str) -> str:
        value, plain, _event = _scalar(next_event)
        return self.texts.get((value, plain)) or self._text(value, plain)

    def _adopt(self, next_event: Callable[[], Any], display: str) -> tuple[Adoption, ...]:
        _expect(next_event, _SequenceStart)
        found: dict[str, Adoption] = {}
        while (item := _item(next_event)) is not None:
            sid = _string(item.value, item.implicit[0])
            if sid.startswith(HASH_PREFIX) and not STATEMENT_HASH_RE.match(sid):
                raise _GiveUp
            if sid.startswith(self.config.sid_prefix) or sid in found:
                raise _GiveUp
            found[sid] = Adoption(sid, _where(display, item))
        return tuple(found.values())

    def _kms(self, next_event: Callable[[], Any], display: str) -> tuple[str, Location]:
        value, plain, event = _scalar(next_event)
        if _string(value, plain) not in KMS_MODES:
            raise _GiveUp
        return value, _where(display, event)

    def _create(self, next_event: Callable[[], Any], _: str) -> bool:
        return _boolean(next_event)[0]

    def _versioning(self, next_event: Callable[[], Any], display: str) -> Location | None:
        """Where `versioning: true` is written; None when false."""
        value, event = _boolean(next_event)
        return _where(display, event) if value else None

    # -- the grants: most of every file, so each event is handled inline

    def _grants(self, next_event: Callable[[], Any], display: str) -> tuple[Grant, ...]:
        _expect(next_event, _SequenceStart)
        grants: list[Grant] = []
        while True:
            start = next_event()
            if type(start) is not _MappingStart:
                if type(start) is _SequenceEnd:
                    return tuple(grants)
                raise _GiveUp
            if start.anchor is not None or start.tag is not None:
                raise _GiveUp
            grantee: Grantee | None = None
            access: Access | None = None
            prefixes: tuple[str, ...] | None = None
            reason: str | None = None
            expires: dt.date | None = None
            while True:
                event = next_event()
                if type(event) is not _Scalar:
                    if type(event) is _MappingEnd:
                        break
                    raise _GiveUp
                if event.anchor is not None or event.tag is not None or not event.implicit[0]:
                    raise _GiveUp  # keys are plain: a quoted one goes to the node reader
                key = event.value
                if key == "prefixes":
                    if prefixes is not None:
                        raise _GiveUp
                    prefixes = self._prefixes(next_event)
                    continue
                event = next_event()
                if type(event) is not _Scalar or event.anchor is not None or event.tag is not None:
                    raise _GiveUp
                value: str = event.value
                plain: bool = event.implicit[0]
                if key == "to" and grantee is None:
                    grantee = self.grantees.get((value, plain)) or self._grantee(value, plain)
                elif key == "access" and access is None:
                    access = self.levels[plain].get(value)
                    if access is None:
                        raise _GiveUp
                elif key == "reason" and reason is None:
                    reason = self.texts.get((value, plain)) or self._text(value, plain)
                elif key == "expires" and expires is None:
                    expires = self.dates.get((value, plain)) or self._date(value, plain)
                else:
                    raise _GiveUp  # an unknown or repeated key
            if grantee is None or access is None:
                raise _GiveUp
            mark: Any = start.start_mark
            where = Location(display, mark.line + 1, mark.column + 1)
            grants.append(Grant(grantee, access, prefixes or (), where, reason, expires))

    def _grantee(self, value: str, plain: bool) -> Grantee:
        if ACCOUNT_RE.match(value):
            # As share_file reads it, an int or a string: an account grant.
            grantee = Grantee(GranteeKind.ACCOUNT, value, account=value)
        else:
            problem, grantee = self.parse_grantee(_string(value, plain).strip(), self.config.partition)
            if problem or grantee is None:
                raise _GiveUp
        self.grantees[value, plain] = grantee
        return grantee

    def _prefixes(self, next_event: Callable[[], Any]) -> tuple[str, ...]:
        event = next_event()
        if type(event) is not _SequenceStart or event.anchor is not None or event.tag is not None:
            raise _GiveUp
        written: list[str | bool] = []  # each item's value and whether it is plain, in turn
        while True:
            event = next_event()
            if type(event) is not _Scalar:
                if type(event) is _SequenceEnd:
                    break
                raise _GiveUp
            if event.anchor is not None or event.tag is not None:
                raise _GiveUp
            written += (event.value, event.implicit[0])
        key = tuple(written)
        found = self.prefix_lists.get(key)
        if found is None:
            found = self.prefix_lists[key] = _prefixes(key)
        return found

    def _date(self, value: str, plain: bool) -> dt.date:
        if not _DATE_RE.match(value) or (plain and _plain_tag(value) != _TIMESTAMP):
            raise _GiveUp
        try:
            date = dt.date.fromisoformat(value)
        except ValueError:
            raise _GiveUp from None
        self.dates[value, plain] = date
        return date

    def _text(self, value: str, plain: bool) -> str:
        """A string value, the one copy this load keeps (owners and reasons repeat)."""
        text = self.texts[value, plain] = _string(value, plain)
        return text


_DOCUMENT_FIELDS: dict[str, Callable[[EventReader, Callable[[], Any], str], Any]] = {
    "version": EventReader._version,
    "bucket": EventReader._bucket,
    "account": EventReader._account,
    "owner": EventReader._owner,
    "grants": EventReader._grants,
    "adopt": EventReader._adopt,
    "kms": EventReader._kms,
    "create": EventReader._create,
    "versioning": EventReader._versioning,
}


# -- events


def _expect(next_event: Callable[[], Any], kind: type) -> Any:
    event = next_event()
    if type(event) is not kind or getattr(event, "anchor", None) is not None or getattr(event, "tag", None):
        raise _GiveUp
    return event


def _key(next_event: Callable[[], Any]) -> str | None:
    """The next key of a mapping, plain and untagged; None at the mapping's end."""
    event = next_event()
    if type(event) is not _Scalar:
        if type(event) is _MappingEnd:
            return None
        raise _GiveUp
    if event.anchor is not None or event.tag is not None or not event.implicit[0]:
        raise _GiveUp
    return event.value


def _item(next_event: Callable[[], Any]) -> Any:
    """The next item of a list, a scalar with no tag or anchor; None at the list's end."""
    event = next_event()
    if type(event) is not _Scalar:
        if type(event) is _SequenceEnd:
            return None
        raise _GiveUp
    if event.anchor is not None or event.tag is not None:
        raise _GiveUp
    return event


def _scalar(next_event: Callable[[], Any]) -> tuple[str, bool, Any]:
    """(value, plain, event) of the next scalar, with no tag or anchor."""
    event = next_event()
    if type(event) is not _Scalar or event.anchor is not None or event.tag is not None:
        raise _GiveUp
    return event.value, event.implicit[0], event


def _boolean(next_event: Callable[[], Any]) -> tuple[bool, Any]:
    value, plain, event = _scalar(next_event)
    if not plain or value.lower() not in _BOOLS or _plain_tag(value) != _BOOL:
        raise _GiveUp
    return bool(_BOOLS[value.lower()]), event


def _where(display: str, event: Any) -> Location:
    mark = event.start_mark
    return Location(display, mark.line + 1, mark.column + 1)


# -- values

_MAYBE_NOT_STR = frozenset(_RESOLVER.yaml_implicit_resolvers)
"""The first characters of the plain scalars YAML may read as something other than a string."""


def _plain_tag(value: str) -> str:
    """The tag YAML's core schema gives a plain (unquoted) scalar: `true` is a bool, `1` an int."""
    if value[:1] not in _MAYBE_NOT_STR and None not in _MAYBE_NOT_STR:
        return _STR  # most values: `read`, `arn:...`, `models/`: no resolver starts with their letter
    return str(_RESOLVER.resolve(yaml.ScalarNode, value, (True, False)))  # type: ignore[no-untyped-call]


def _string(value: str, plain: bool) -> str:
    """A non-blank string, as YAML's core schema reads it (a plain `true` is no string)."""
    if (plain and _plain_tag(value) != _STR) or not value.strip():
        raise _GiveUp
    return value


def _prefixes(written: tuple[str | bool, ...]) -> tuple[str, ...]:
    """The normalised, sorted prefixes of a list written as (value, plain, value, plain...)."""
    if not written:
        raise _GiveUp
    found: set[str] = set()
    for value, plain in zip(written[::2], written[1::2], strict=True):
        prefix = _string(str(value), bool(plain))
        if check_prefix(prefix):
            raise _GiveUp
        normal = normalize_prefix(prefix)
        if normal in found:
            raise _GiveUp
        found.add(normal)
    return tuple(sorted(found))
