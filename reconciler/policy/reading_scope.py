"""Read what a statement allows where: its S3 actions, the resources they act on, listed prefixes.

Each action read is paired with its scope: OBJECTS (an object action on the statement's object
prefixes), LIST (listing, which an s3:prefix condition can narrow) or BUCKET (the bucket itself).
"""

from __future__ import annotations

from typing import Any

from reconciler.declare.identifiers import check_prefix
from reconciler.policy.access import LISTING_ACTIONS, expand, lookup
from reconciler.policy.not_modelled import NotModelled

OBJECTS = "objects"
LIST = "list"
BUCKET = "bucket"


def read_actions(
    values: list[str], on_objects: bool, on_bucket: bool, written: Any = ()
) -> list[tuple[str, str]]:
    """(action, scope) of every S3 action allowed on a resource the statement names.

    An action that applies to none of the statement's resources allows nothing (AWS matches
    actions to resources); so do the actions a wildcard matches that act on neither the
    bucket nor its objects (access points, jobs, the account). written: the statement's Action
    as written, to name an unknown action as its author spelled it."""
    if not values:
        raise NotModelled("has no Action")
    found = set()
    for value in values:
        matches = expand(value) if "*" in value or "?" in value else (value,)
        if not matches:
            raise NotModelled(f"action {value} matches no S3 action")
        for name in matches:
            action = lookup(name)
            if action is None:
                raise NotModelled(_unknown_action(name, written))
            lowered = action.name.lower()
            if action.on_objects and on_objects:
                found.add((lowered, OBJECTS))
            elif action.on_bucket and on_bucket:
                found.add((lowered, LIST if lowered in LISTING_ACTIONS else BUCKET))
    if not found:
        raise NotModelled("none of its actions applies to its resources")
    return sorted(found)


def _unknown_action(name: str, written: Any) -> str:
    """Why an action no S3 reference lists keeps its statement, and what to do: as written, it
    may be a typo (which allows nothing) or an action newer than bucketshare's copy of the
    reference (which does allow something, so import must not drop it)."""
    spellings = written if isinstance(written, list) else [written]
    shown = next((str(s) for s in spellings if str(s).lower() == name.lower()), name)
    if not name.startswith("s3:"):
        return f"grants {shown}, which is not an S3 action"
    return (
        f"grants {shown}, which is not an S3 action in bucketshare's copy of AWS's service "
        "authorization reference: if it is a typo (it allows nothing), remove it from the statement; "
        "if AWS added it since, refresh reconciler/policy/data/s3_actions.json (its README says how)"
    )


def read_resources(values: list[str], bucket: str, partition: str) -> tuple[tuple[str, ...], bool]:
    """(object prefixes, whether the bucket ARN itself is a resource)."""
    bucket_arn = f"arn:{partition}:s3:::{bucket}"
    prefixes = set()
    on_bucket = False
    for value in values:
        if value == bucket_arn:
            on_bucket = True
            continue
        path = value.removeprefix(bucket_arn + "/")
        if path == value:
            raise NotModelled(f"resource {value} is not this bucket or an object in it")
        if not path.endswith("*") or "*" in path[:-1] or "?" in path:
            raise NotModelled(f"resource {value} is not a whole prefix (bucket/prefix/*)")
        prefixes.add(_prefix(path[:-1], value))
    if not values:
        raise NotModelled("has no Resource")
    return tuple(sorted(prefixes)), on_bucket


def _prefix(text: str, context: str) -> str:
    """A prefix as grants hold it: "" (whole bucket) or a valid folder ending in '/'."""
    if text == "":
        return text
    # `models*` also matches `models-old/`: only a folder is one of our prefixes.
    if not text.endswith("/") or check_prefix(text) is not None:
        raise NotModelled(f"{context} does not end in a folder (prefix/*), so no grant prefix matches it")
    return text


def listed_prefixes(conditions: dict[str, list[str]], notes: list[str]) -> tuple[str, ...]:
    """The folders listing is scoped to. Rendering writes StringLike [p, p*]; `p*` alone means
    the same (`*` matches the empty string); `p` alone (StringLike or StringEquals) lists only
    p itself, so reading it as p and below is broader (noted)."""
    exact = "prefix-exact" in conditions
    values = conditions.get("prefix-exact") or conditions.get("prefix") or []
    starred = {v[:-1] for v in values if v.endswith("*") and not exact}
    prefixes = set()
    for value in values:
        folder = value[:-1] if value.endswith("*") else value
        if exact and value.endswith("*"):
            notes.append(f"StringEquals matches s3:prefix {value!r} literally, star included")
        if folder == "" or "*" in folder or "?" in folder:
            raise NotModelled(f"s3:prefix {value!r} is not a folder (prefix/ or prefix/*)")
        prefixes.add(_prefix(folder, f"s3:prefix {value}"))
    only_exact = sorted(prefixes - starred)
    if only_exact:
        notes.append(f"it lists only exactly {', '.join(only_exact)}, not below")
    return tuple(sorted(prefixes))
