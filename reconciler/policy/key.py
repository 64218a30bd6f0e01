"""The KMS key-policy statements a bucket's grantees need. Pure and generic: statements for
any set of grants on one key, rendered like the bucket statements (our Sid prefix, the same
principals), so a later `kms: manage` mode can plan a key policy as one more resource policy
we co-own, with the same ownership rule and diff.

Readers need kms:Decrypt; writers kms:GenerateDataKey* and kms:Encrypt, plus kms:Decrypt for
multipart uploads (S3 decrypts the data key to assemble the parts). A level defined in
reconciler.yaml needs what its object actions do (policy/access.py, key_actions_for): reads
of object data kms:Decrypt, writes of object data the writer's three; a level that only lists,
deletes or tags needs no key actions and gets no key statement. A key policy's Resource
is always "*" (the key itself). kms:ViaService limits the grant to requests S3 makes for the
grantee in the key's region: the grantee can use the key for these objects, not to decrypt
arbitrary ciphertext with it. The region is the key ARN's (S3 only uses keys in the
bucket's own region), so no further AWS call is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.declare.model import Grant
from reconciler.live.facts import key_region
from reconciler.policy.access import KMS_READ, KMS_WRITE
from reconciler.policy.render import DesiredStatement, Statement, principal_class, render_principal

_DNS_SUFFIX = {"aws": "amazonaws.com", "aws-cn": "amazonaws.com.cn", "aws-us-gov": "amazonaws.com"}


@dataclass(frozen=True)
class _KeyShape:
    use: str
    """Read or Write: which key actions."""
    principal_class: str


def key_actions(grant: Grant) -> tuple[str, ...]:
    return grant.access.actions.key


def s3_via_service(key_arn: str, partition: str) -> str:
    return f"s3.{key_region(key_arn)}.{_DNS_SUFFIX.get(partition, 'amazonaws.com')}"


def render_key_statements(
    grants: Sequence[Grant], key_arn: str, sid_prefix: str, partition: str
) -> tuple[DesiredStatement, ...]:
    """One statement per (key use, kind of principal), Sids `<prefix>Kms<Read|Write><class>`:
    like bucket Sids they name the shape, not the grantees, so a new grant never renames one."""
    groups: dict[_KeyShape, list[Grant]] = {}
    for grant in grants:
        needed = set(key_actions(grant))
        if not needed:
            continue
        use = "Write" if needed > set(KMS_READ) else "Read"
        groups.setdefault(_KeyShape(use, principal_class(grant)), []).append(grant)
    statements = []
    for shape, members in groups.items():
        sid = f"{sid_prefix}Kms{shape.use}{shape.principal_class}"
        statement = _statement(sid, shape, members, key_arn, partition)
        statements.append(DesiredStatement(sid, statement, tuple(members)))
    statements.sort(key=lambda s: s.sid)
    return tuple(statements)


def _statement(sid: str, shape: _KeyShape, grants: list[Grant], key_arn: str, partition: str) -> Statement:
    condition: dict[str, dict[str, list[str]]] = {
        "StringEquals": {"kms:ViaService": [s3_via_service(key_arn, partition)]}
    }
    principal = render_principal(shape.principal_class, [g.grantee for g in grants], partition, condition)
    actions = KMS_WRITE if shape.use == "Write" else KMS_READ
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": principal,
        "Action": sorted(actions),
        "Resource": "*",
        "Condition": condition,
    }
