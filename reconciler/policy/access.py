"""The one table from access levels to S3 and KMS actions (rendered into the README).

Three levels are built in; a platform team may define more in reconciler.yaml
(`access_levels:`). Both are the same data, `Access`, and render the same way: object actions
on `arn:aws:s3:::BUCKET/PREFIX*`, listing actions on the bucket with the `s3:prefix`
condition, other bucket actions on the bucket.

Which actions exist, and what each acts on, comes from a vendored copy of AWS's Service
Authorization Reference for S3 (data/README.md): defined levels are checked against it and
import expands the wildcards people write (`s3:Get*`, `s3:*`, CDK's `s3:GetObject*`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, ClassVar


@dataclass(frozen=True)
class Actions:
    objects: tuple[str, ...]
    """Actions on `arn:aws:s3:::BUCKET/PREFIX*`."""
    listing: tuple[str, ...]
    """Bucket-level actions that honour the `s3:prefix` condition key."""
    bucket: tuple[str, ...]
    """Bucket-level actions that cannot be scoped to a prefix."""
    key: tuple[str, ...]
    """KMS actions on a customer managed key encrypting the bucket (its key policy). Writers
    need kms:Decrypt too: S3 decrypts the data key to assemble a multipart upload."""

    def s3(self) -> tuple[str, ...]:
        return self.objects + self.listing + self.bucket


class Access(str):
    """An access level: its name (what a grant, a plan and its JSON say) carrying its actions.

    A str, so every report and file that shows or stores a level keeps showing its name;
    `Access("read")` is the built-in level of that name.
    """

    actions: Actions
    administration: bool
    """The level grants policy, ACL or bucket-configuration administration; only a defined
    level that says `administration: true` may, and plans mark it."""

    READ: ClassVar[Access]
    WRITE: ClassVar[Access]
    READ_WRITE: ClassVar[Access]

    def __new__(cls, name: str, actions: Actions | None = None, administration: bool = False) -> Access:
        built_in = BUILT_IN.get(name)
        if built_in is not None and actions in (None, built_in.actions):
            # One object per built-in level (an unpickled or copied one too): code compares by identity.
            return built_in
        if actions is None:
            raise ValueError(f"{name!r} is not a built-in access level")
        level = super().__new__(cls, name)
        level.actions = actions
        level.administration = administration
        return level

    @property
    def value(self) -> str:
        return str(self)

    @property
    def built_in(self) -> bool:
        return BUILT_IN.get(str(self)) is self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Access, (str(self), self.actions, self.administration))

    def __setattr__(self, name: str, value: object) -> None:
        if name in self.__dict__:
            raise AttributeError(f"access level {self!s} is immutable")
        super().__setattr__(name, value)


_READ = Actions(
    objects=("s3:GetObject", "s3:GetObjectVersion"),
    listing=("s3:ListBucket",),
    bucket=("s3:GetBucketLocation",),
    key=("kms:Decrypt",),
)
_WRITE = Actions(
    objects=("s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"),
    listing=(),
    bucket=("s3:ListBucketMultipartUploads",),
    key=("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"),
)
_READ_WRITE = Actions(
    objects=_READ.objects + _WRITE.objects,
    listing=_READ.listing + _WRITE.listing,
    bucket=_READ.bucket + _WRITE.bucket,
    key=_WRITE.key,
)

BUILT_IN: dict[str, Access] = {}
for _name, _actions in (("read", _READ), ("write", _WRITE), ("read-write", _READ_WRITE)):
    BUILT_IN[_name] = str.__new__(Access, _name)
    BUILT_IN[_name].actions = _actions
    BUILT_IN[_name].administration = False
Access.READ = BUILT_IN["read"]
Access.WRITE = BUILT_IN["write"]
Access.READ_WRITE = BUILT_IN["read-write"]

ACCESS_ACTIONS: dict[Access, Actions] = {level: level.actions for level in BUILT_IN.values()}
"""The built-in levels (the README's table)."""

LISTING_ACTIONS = frozenset({"s3:listbucket", "s3:listbucketversions"})
"""Bucket actions whose requests carry `s3:prefix` (the service authorization reference lists
the key for these two only), so they can be scoped to a grant's prefixes."""

BUCKET_LEVEL_ACTIONS = (
    frozenset(
        action.lower() for actions in ACCESS_ACTIONS.values() for action in actions.listing + actions.bucket
    )
    | LISTING_ACTIONS
)

KMS_DECRYPT_ACTIONS = frozenset(
    {
        "s3:getobject",
        "s3:getobjectversion",
        "s3:getobjecttorrent",
        "s3:getobjectversiontorrent",
        "s3:getobjectversionforreplication",
    }
)
"""Object reads that return data S3 must decrypt with the bucket's key."""
KMS_ENCRYPT_ACTIONS = frozenset({"s3:putobject", "s3:replicateobject"})
"""Object writes that store data S3 must encrypt with a data key of the bucket's key."""
KMS_READ = ("kms:Decrypt",)
KMS_WRITE = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*")

UPLOAD_ACTIONS = frozenset({"s3:putobject", "s3:putobjectacl", "s3:putobjectversionacl"})
"""Object actions whose requests can carry the `x-amz-acl` header (and so the
bucket-owner-full-control condition under BucketOwnerPreferred)."""


def key_actions_for(objects: tuple[str, ...]) -> tuple[str, ...]:
    """The KMS actions a defined level needs, from its object actions: reads of object data
    need kms:Decrypt; writes of object data need kms:Encrypt, kms:GenerateDataKey* and
    kms:Decrypt (as the built-in write); anything else touches no encrypted data."""
    lowered = {a.lower() for a in objects}
    if lowered & KMS_ENCRYPT_ACTIONS:
        return KMS_WRITE
    if lowered & KMS_DECRYPT_ACTIONS:
        return KMS_READ
    return ()


def level_sid_name(level: str) -> str:
    """A level's part of a Sid: read-write -> ReadWrite, read-delete -> ReadDelete."""
    return "".join(word.capitalize() for word in level.split("-"))


def writes(access: Access) -> bool:
    """The level may change the bucket or its objects, not only read them: a protected bucket
    refuses it, and its uploads need the owner's ACL under BucketOwnerPreferred."""
    return any(access_kind(a) not in ("Read", "List") for a in access.actions.s3())


def uploads(access: Access) -> tuple[str, ...]:
    """The level's object actions whose requests can carry the x-amz-acl header."""
    return tuple(a for a in access.actions.objects if a.lower() in UPLOAD_ACTIONS)


@dataclass(frozen=True)
class S3Action:
    name: str
    """As the reference spells it, with the `s3:` prefix: `s3:GetObject`."""
    access_level: str
    """Read, List, Write, Tagging or Permissions management."""
    resources: tuple[str, ...]
    """Resource types the action applies to: `object`, `bucket`, `accesspoint`, ..."""

    @property
    def on_objects(self) -> bool:
        return "object" in self.resources

    @property
    def on_bucket(self) -> bool:
        return "bucket" in self.resources

    @property
    def administration(self) -> bool:
        """Policy, ACL or bucket-configuration administration: permissions management, or a
        change to the bucket itself (its configuration, tags, or the bucket's existence)."""
        if self.access_level == "Permissions management":
            return True
        return self.on_bucket and not self.on_objects and self.access_level in ("Write", "Tagging")


@cache
def s3_actions() -> dict[str, S3Action]:
    """Every S3 action, keyed by its lower-cased name with the `s3:` prefix."""
    text = resources.files("reconciler.policy").joinpath("data/s3_actions.json").read_text("utf-8")
    table: dict[str, tuple[str, list[str]]] = json.loads(text)
    actions = (S3Action(f"s3:{name}", level, tuple(kinds)) for name, (level, kinds) in table.items())
    return {action.name.lower(): action for action in actions}


def lookup(action: str) -> S3Action | None:
    return s3_actions().get(action.lower())


def access_kind(action: str) -> str:
    """The reference's access level of an action; `Unknown` for one it does not list."""
    found = lookup(action)
    return found.access_level if found else "Unknown"


def expand(pattern: str) -> tuple[str, ...]:
    """The S3 actions an IAM action pattern matches (`*` any run, `?` one character, case
    insensitive, as IAM matches them); empty for a pattern of another service."""
    service, _, rest = pattern.partition(":")
    if service.lower() != "s3" and service != "*":
        return ()
    if service == "*" and not rest:
        rest = "*"
    regex = re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in f"s3:{rest}"), re.IGNORECASE
    )
    return tuple(sorted(a.name for a in s3_actions().values() if regex.fullmatch(a.name)))
