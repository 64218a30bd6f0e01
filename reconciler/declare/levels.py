"""Access levels a platform team defines in reconciler.yaml, beside read, write and read-write.

```yaml
access_levels:
  read-delete:
    actions: [s3:GetObject, s3:GetObjectVersion, s3:ListBucket, s3:DeleteObject]
  acl-writer:
    actions: [s3:PutObject, s3:PutObjectAcl]
    administration: true    # required for ACL, policy or bucket-configuration actions
```

Each action must be one S3 action on a bucket or its objects, spelled out (no wildcards), as
AWS's service authorization reference lists it; it renders like the built-ins' actions do.
"""

from __future__ import annotations

import difflib
import re

import yaml

from reconciler.declare.nodes import NodeReader
from reconciler.policy.access import (
    BUILT_IN,
    LISTING_ACTIONS,
    Access,
    Actions,
    S3Action,
    expand,
    key_actions_for,
    level_sid_name,
    lookup,
    s3_actions,
)

LEVEL_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*\Z")
_LEVEL_KEYS = ("actions", "administration", "description")


def read_access_levels(reader: NodeReader, node: yaml.Node) -> dict[str, Access]:
    if not isinstance(node, yaml.MappingNode):
        reader.fail(node, "access_levels must be a mapping of level name to {actions: [...]}")
        return {}
    levels: dict[str, Access] = {}
    for key_node, value_node in node.value:
        name = reader.string(key_node, "access level name")
        if name is None:
            continue
        if name in BUILT_IN:
            reader.fail(key_node, f"access level {name!r} is built in; give the defined level another name")
        elif not LEVEL_NAME_RE.match(name):
            reader.fail(
                key_node,
                f"access level name {name!r} must be lower-case letters, digits and hyphens, "
                "e.g. read-delete",
            )
        elif name in levels:
            reader.fail(key_node, f"access level {name!r} is defined twice; keep one")
        elif same_sids := [other for other in levels if level_sid_name(other) == level_sid_name(name)]:
            # x1 and x-1 both render Sids ...X1...: their statements would share Sids, and a
            # policy holding both could never plan as unchanged.
            reader.fail(
                key_node,
                f"access level {name!r} would name its statements like {same_sids[0]!r} "
                f"(Sid part {level_sid_name(name)}); rename one of them",
            )
        else:
            level = _read_level(reader, name, value_node)
            if level is not None:
                levels[name] = level
    return levels


def _read_level(reader: NodeReader, name: str, node: yaml.Node) -> Access | None:
    what = f"access_levels.{name}"
    entries = reader.mapping(node, what, _LEVEL_KEYS, required=("actions",))
    if entries is None or "actions" not in entries:
        return None
    administration = False
    if "administration" in entries:
        administration = bool(reader.boolean(entries["administration"][1], f"{what}.administration"))
    if "description" in entries:
        reader.string(entries["description"][1], f"{what}.description")
    actions_node = entries["actions"][1]
    items = reader.sequence(actions_node, f"{what}.actions")
    if items is None:
        return None
    if not items:
        reader.fail(actions_node, f"{what}.actions must list at least one S3 action")
        return None
    found: dict[str, S3Action] = {}
    ok = True
    for item in items:
        action = _read_action(reader, item, name, administration)
        if action is None:
            ok = False
        elif action.name in found:
            reader.fail(item, f"{action.name} is listed twice in access level {name!r}")
            ok = False
        else:
            found[action.name] = action
    if not ok:
        return None
    if administration and not any(a.administration for a in found.values()):
        reader.fail(
            entries["administration"][1],
            f"access level {name!r} says administration: true but none of its actions administers; remove it",
        )
        return None
    return Access(name, level_actions(list(found)), administration)


def level_actions(names: list[str]) -> Actions:
    """Sort concrete S3 actions into how they render, as the built-ins' do."""
    known = [a for a in (lookup(n) for n in names) if a is not None]
    objects = tuple(sorted(a.name for a in known if a.on_objects))
    listing = tuple(sorted(a.name for a in known if a.name.lower() in LISTING_ACTIONS))
    bucket = tuple(sorted(a.name for a in known if a.on_bucket and a.name.lower() not in LISTING_ACTIONS))
    return Actions(objects=objects, listing=listing, bucket=bucket, key=key_actions_for(objects))


def _read_action(reader: NodeReader, node: yaml.Node, level: str, administration: bool) -> S3Action | None:
    text = reader.string(node, f"access level {level!r} action")
    if text is None:
        return None
    problem, action = check_level_action(text.strip(), administration)
    if problem:
        reader.fail(node, f"access level {level!r}: {problem}")
    return action


def check_level_action(text: str, administration: bool) -> tuple[str | None, S3Action | None]:
    if "*" in text or "?" in text:
        matches = expand(text)
        spelled = ", ".join(matches[:6]) + (", ..." if len(matches) > 6 else "")
        hint = f"; it matches {spelled}" if matches else ""
        return f"{text} is a wildcard; list the S3 actions the level allows{hint}", None
    if not text.lower().startswith("s3:"):
        return f"{text} is not an S3 action; access levels hold S3 actions like s3:GetObject", None
    action = lookup(text)
    if action is None:
        close = difflib.get_close_matches(text.lower(), list(s3_actions()), n=1, cutoff=0.8)
        hint = f"; did you mean {s3_actions()[close[0]].name}?" if close else ""
        return f"{text} is not an S3 action in AWS's service authorization reference{hint}", None
    if not (action.on_objects or action.on_bucket):
        return f"{action.name} does not act on a bucket or its objects: a bucket policy cannot grant it", None
    if action.administration and not administration:
        return (
            f"{action.name} administers the bucket's policy, ACLs or configuration; "
            "add `administration: true` to the level if that is meant",
            None,
        )
    return None, action
