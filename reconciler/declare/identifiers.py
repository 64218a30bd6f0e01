"""Syntax of the names people write in declarations: accounts, ARNs, orgs, buckets, prefixes.

Each check returns None when the text is valid, otherwise a message saying what to do.
"""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple

ACCOUNT_RE = re.compile(r"^[0-9]{12}\Z")
ORG_RE = re.compile(r"^o-[a-z0-9]{10,32}\Z")
OU_PATH_RE = re.compile(r"^(o-[a-z0-9]{10,32})/(r-[a-z0-9]{4,32})(/ou-[a-z0-9]{4,32}-[a-z0-9]{8,32})+/?\Z")
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
_IAM_NAME = r"[\w+=,.@-]{1,128}"
# A deleted role or user shows in a stored policy as its bare unique id (AWS-BEHAVIOUR.md).
ORPHANED_ID_RE = re.compile(r"^(AROA|AIDA)[A-Z0-9]{8,}$")
IAM_ARN_RE = re.compile(
    r"^arn:(?P<partition>[a-z-]+):iam::(?P<account>[0-9]{12}):"
    rf"(?:(?P<root>root)|(?P<kind>role|user)(?P<path>/(?:{_IAM_NAME}/)*)(?P<name>{_IAM_NAME}))\Z",
    re.ASCII,
)
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
_IP_LIKE = re.compile(r"^[0-9.]+\Z")
"""Only digits and dots can spell an IPv4 address: most names need no further look."""
MAX_PREFIX_BYTES = 1024


def check_account(text: str) -> str | None:
    if ACCOUNT_RE.match(text):
        return None
    return f"account id {text!r} must be exactly 12 digits (quote it in YAML)"


def check_org(text: str) -> str | None:
    if ORG_RE.match(text):
        return None
    return f"organization id {text!r} must look like o-a1b2c3d4e5 (o- then 10-32 lowercase letters/digits)"


def check_ou_path(text: str) -> str | None:
    if OU_PATH_RE.match(text):
        return None
    return (
        f"organizational unit path {text!r} must look like o-a1b2c3d4e5/r-ab12/ou-ab12-11111111"
        " (org id, root id, then one or more OU ids)"
    )


def check_iam_arn(text: str, partition: str) -> str | None:
    match = IAM_ARN_RE.match(text)
    if not match:
        return (
            f"{text!r} is not an IAM ARN; use arn:{partition}:iam::<12 digits>:root, "
            ":role/<path/name> or :user/<path/name>"
        )
    if match["partition"] != partition:
        return f"ARN partition {match['partition']!r} does not match the configured partition {partition!r}"
    return None


def check_bucket_name(name: str) -> str | None:
    problem = _bucket_name_problem(name)
    return None if problem is None else f"bucket name {name!r} is invalid: {problem}"


def _bucket_name_problem(name: str) -> str | None:
    if not 3 <= len(name) <= 63:
        return "it must be 3 to 63 characters long"
    if not _BUCKET_RE.match(name):
        return "use lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit"
    if ".." in name:
        return "it must not contain two adjacent dots"
    if _IP_LIKE.match(name):
        try:
            ipaddress.IPv4Address(name)
            return "it must not be formatted as an IP address"
        except ValueError:
            pass
    if name.startswith(("xn--", "sthree-", "amzn-s3-demo-")):
        return "it must not start with a reserved prefix (xn--, sthree-, amzn-s3-demo-)"
    if name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")):
        return "it must not end with a reserved suffix (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3)"
    return None


class PrefixRule(NamedTuple):
    """One thing a prefix must not hold. The table is the one source of these constraints:
    check_prefix applies it, and schema/shares.schema.json holds it as `prefix.not.anyOf`
    (tests/test_schema.py fails, printing the JSON to paste, when the two differ)."""

    what: str
    """The schema's description of what is refused."""
    pattern: str
    """Searched anywhere in the prefix; the same in Python and ECMA-262 (JSON Schema) regex.
    (`$` differs on a trailing newline, which the control-character rule refuses first.)"""
    why: str
    """The loader's message, after `prefix '...'`."""


PREFIX_RULES = (
    PrefixRule("a leading slash", "^/", "must not start with '/'; S3 keys have no leading slash"),
    PrefixRule(
        "a wildcard", "[*?]", "must not contain '*' or '?'; a prefix already covers everything below it"
    ),
    # Unicode's Cc category: C0, DEL and C1 (U+0080-U+009F, e.g. NEL and the 8-bit CSI).
    PrefixRule("a control character", "[\\x00-\\x1f\\x7f-\\x9f]", "must not contain control characters"),
    PrefixRule(
        "a policy variable", "\\$\\{", "must not contain '${': IAM would read it as a policy variable"
    ),
    PrefixRule("a '.' or '..' segment", "(^|/)\\.\\.?(/|$)", "must not contain '.' or '..' segments"),
    PrefixRule("an empty segment", "//", "must not contain an empty segment ('//')"),
)
_PREFIX_CHECKS = tuple((re.compile(rule.pattern), rule.why) for rule in PREFIX_RULES)
_ANY_REFUSED = re.compile("|".join(f"(?:{rule.pattern})" for rule in PREFIX_RULES))
"""One search for the usual case, a valid prefix; the rules one by one only to say which failed."""


def prefix_schema_rules() -> list[dict[str, str]]:
    """PREFIX_RULES as shares.schema.json writes them, under `$defs.prefix.not.anyOf`."""
    return [{"description": rule.what, "pattern": rule.pattern} for rule in PREFIX_RULES]


def check_prefix(prefix: str) -> str | None:
    if prefix == "":
        return "prefix must not be empty; leave out 'prefixes' to share the whole bucket"
    if _ANY_REFUSED.search(prefix) is None and len(prefix) <= MAX_PREFIX_BYTES // 4:
        return None  # at most 4 UTF-8 bytes a character
    for refused, why in _PREFIX_CHECKS:
        if refused.search(prefix):
            return f"prefix {prefix!r} {why}"
    if len(prefix.encode("utf-8")) > MAX_PREFIX_BYTES:
        return f"prefix is longer than {MAX_PREFIX_BYTES} bytes"
    return None


def normalize_prefix(prefix: str) -> str:
    """`models/fraud` and `models/fraud/` mean the same folder."""
    return prefix if prefix.endswith("/") else prefix + "/"
