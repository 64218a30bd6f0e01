"""The declarations as data: grantees, grants, adoptions, one bucket's share, all of them."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from reconciler.errors import Location
from reconciler.policy.access import Access

SUPPORTED_VERSIONS = (1,)
HASH_PREFIX = "sha256:"
HASH_LENGTH = 16
STATEMENT_HASH_RE = re.compile(rf"^{HASH_PREFIX}[0-9a-f]{{{HASH_LENGTH}}}\Z")
"""How `adopt:` names a statement that has no Sid: by a hash of its canonical content."""


class GranteeKind(StrEnum):
    ACCOUNT = "account"
    ROLE = "role"
    USER = "user"
    ORG = "org"
    OU = "ou"


GRANTEE_KIND_NAMES = {
    GranteeKind.ACCOUNT: "account",
    GranteeKind.ROLE: "role",
    GranteeKind.USER: "user",
    GranteeKind.ORG: "organization",
    GranteeKind.OU: "organizational unit",
}
"""How plans, comments and errors name each kind of grantee."""


@dataclass(frozen=True, slots=True)
class Grantee:
    kind: GranteeKind
    id: str
    """Account id, IAM ARN, org id or OU path."""
    account: str | None = None
    """Follows from kind and id (as does org), which name the grantee on their own."""
    org: str | None = None

    def describe(self) -> str:
        return f"{GRANTEE_KIND_NAMES[self.kind]} {self.id}"


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class Adoption:
    """A hand-written statement that the next apply replaces by the managed ones, named by its
    Sid, or, when it has none, by a hash of its content (which must still match at plan time).

    ```yaml
    adopt: [InferenceRead, InferenceList, "sha256:3f2a9c0d1e2b4a5f"]
    ```
    """

    sid: str
    """The Sid, or `sha256:` and the statement's content hash."""
    location: Location

    @property
    def digest(self) -> str | None:
        """The content hash this adoption names; None when it names a Sid."""
        return self.sid.removeprefix(HASH_PREFIX) if STATEMENT_HASH_RE.match(self.sid) else None


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class Declarations:
    buckets: tuple[BucketShare, ...]

    def owner_accounts(self) -> frozenset[str]:
        return frozenset(share.account for share in self.buckets)

    def grant_count(self) -> int:
        return sum(len(share.grants) for share in self.buckets)


@dataclass(frozen=True, slots=True)
class Document:
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
