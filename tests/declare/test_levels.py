"""Access levels defined in reconciler.yaml: parsed, validated against S3's action list, used by grants."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import RunCli, WriteShares

from reconciler.declare.config import load_config
from reconciler.declare.share_file import load_text

LEVELS = """\
access_levels:
  read-delete:
    actions: [s3:GetObject, s3:GetObjectVersion, s3:ListBucket, s3:DeleteObject, s3:GetBucketLocation]
  acl-writer:
    actions: [s3:PutObject, s3:PutObjectAcl]
    administration: true
"""

SHARE = """\
version: 1
bucket: acme-data
account: "111111111111"
grants:
  - to: "222222222222"
    access: read-delete
"""


def _config(tmp_path: Path, text: str) -> tuple[object, list[str]]:
    path = tmp_path / "reconciler.yaml"
    path.write_text(text, encoding="utf-8")
    config, problems = load_config(path)
    return config, [str(p).replace(str(path), "reconciler.yaml") for p in problems]


def test_defined_levels_sort_actions_as_the_built_ins_render(tmp_path: Path) -> None:
    config, problems = _config(tmp_path, LEVELS)
    assert problems == []
    level = config.access_levels["read-delete"]  # type: ignore[attr-defined]
    assert level == "read-delete" and not level.administration and not level.built_in
    assert level.actions.objects == ("s3:DeleteObject", "s3:GetObject", "s3:GetObjectVersion")
    assert level.actions.listing == ("s3:ListBucket",)
    assert level.actions.bucket == ("s3:GetBucketLocation",)
    assert level.actions.key == ("kms:Decrypt",)
    writer = config.access_levels["acl-writer"]  # type: ignore[attr-defined]
    assert writer.administration
    assert writer.actions.key == ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*")


def test_a_grant_uses_a_defined_level_like_read(tmp_path: Path) -> None:
    config, _ = _config(tmp_path, LEVELS)
    documents, problems = load_text(SHARE, "f.yaml", config)  # type: ignore[arg-type]
    assert problems == []
    assert documents[0].grants[0].access is config.access_levels["read-delete"]  # type: ignore[attr-defined]


def test_an_undefined_level_is_refused_naming_the_defined_ones(tmp_path: Path) -> None:
    config, _ = _config(tmp_path, LEVELS)
    _, problems = load_text(SHARE.replace("read-delete", "read-only"), "f.yaml", config)  # type: ignore[arg-type]
    assert [str(p) for p in problems] == [
        "f.yaml:6:13: access 'read-only' is not one of read, write, read-write, read-delete, acl-writer"
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "  r:\n    actions: [s3:Get*]\n",
            "reconciler.yaml:3:15: access level 'r': s3:Get* is a wildcard; list the S3 actions the level "
            "allows; it matches s3:GetAccelerateConfiguration, s3:GetAccessGrant, "
            "s3:GetAccessGrantsInstance, s3:GetAccessGrantsInstanceForPrefix, "
            "s3:GetAccessGrantsInstanceResourcePolicy, "
            "s3:GetAccessGrantsLocation, ...",
            id="wildcard",
        ),
        pytest.param(
            "  r:\n    actions: [s3:GetObjekt]\n",
            "reconciler.yaml:3:15: access level 'r': s3:GetObjekt is not an S3 action in AWS's service "
            "authorization reference; did you mean s3:GetObject?",
            id="misspelled",
        ),
        pytest.param(
            "  r:\n    actions: [kms:Decrypt]\n",
            "reconciler.yaml:3:15: access level 'r': kms:Decrypt is not an S3 action; access levels hold "
            "S3 actions like s3:GetObject",
            id="other-service",
        ),
        pytest.param(
            "  r:\n    actions: [s3:GetObject, s3:PutBucketPolicy]\n",
            "reconciler.yaml:3:29: access level 'r': s3:PutBucketPolicy administers the bucket's policy, "
            "ACLs or configuration; add `administration: true` to the level if that is meant",
            id="policy-administration",
        ),
        pytest.param(
            "  r:\n    actions: [s3:PutObject, s3:PutObjectAcl]\n",
            "reconciler.yaml:3:29: access level 'r': s3:PutObjectAcl administers the bucket's policy, "
            "ACLs or configuration; add `administration: true` to the level if that is meant",
            id="acl-administration",
        ),
        pytest.param(
            "  r:\n    actions: [s3:DeleteBucket]\n",
            "reconciler.yaml:3:15: access level 'r': s3:DeleteBucket administers the bucket's policy, "
            "ACLs or configuration; add `administration: true` to the level if that is meant",
            id="delete-bucket",
        ),
        pytest.param(
            "  r:\n    actions: [s3:ListAllMyBuckets]\n",
            "reconciler.yaml:3:15: access level 'r': s3:ListAllMyBuckets does not act on a bucket or its "
            "objects: a bucket policy cannot grant it",
            id="not-a-bucket-action",
        ),
        pytest.param(
            "  r:\n    actions: [s3:GetObject, s3:getobject]\n",
            "reconciler.yaml:3:29: s3:GetObject is listed twice in access level 'r'",
            id="duplicate",
        ),
        pytest.param(
            "  r:\n    actions: []\n",
            "reconciler.yaml:3:14: access_levels.r.actions must list at least one S3 action",
            id="empty",
        ),
        pytest.param(
            "  r:\n    actions: [s3:GetObject]\n    administration: true\n",
            "reconciler.yaml:4:21: access level 'r' says administration: true but none of its actions "
            "administers; remove it",
            id="administration-without-need",
        ),
        pytest.param(
            "  read:\n    actions: [s3:GetObject]\n",
            "reconciler.yaml:2:3: access level 'read' is built in; give the defined level another name",
            id="built-in-name",
        ),
        pytest.param(
            "  Read_Only:\n    actions: [s3:GetObject]\n",
            "reconciler.yaml:2:3: access level name 'Read_Only' must be lower-case letters, digits and "
            "hyphens, e.g. read-delete",
            id="bad-name",
        ),
        pytest.param(
            "  x1:\n    actions: [s3:GetObject]\n  x-1:\n    actions: [s3:GetObjectVersion]\n",
            "reconciler.yaml:4:3: access level 'x-1' would name its statements like 'x1' (Sid part X1); "
            "rename one of them",
            id="same-sid-part",
        ),
        pytest.param(
            "  r:\n    action: [s3:GetObject]\n",
            "reconciler.yaml:3:5: unknown key 'action' in access_levels.r; did you mean 'actions'?",
            id="unknown-key",
        ),
    ],
)
def test_level_errors_are_located(tmp_path: Path, body: str, expected: str) -> None:
    _, problems = _config(tmp_path, "access_levels:\n" + body)
    assert expected in problems


def test_administration_level_is_allowed_when_it_says_so(tmp_path: Path) -> None:
    config, problems = _config(
        tmp_path, "access_levels:\n  admin:\n    actions: [s3:PutBucketPolicy]\n    administration: true\n"
    )
    assert problems == []
    assert config.access_levels["admin"].actions.bucket == ("s3:PutBucketPolicy",)  # type: ignore[attr-defined]


def test_bad_level_is_one_line_and_exit_1(tmp_path: Path, write_shares: WriteShares, run_cli: RunCli) -> None:
    write_shares({"f.yaml": SHARE})
    (tmp_path / "reconciler.yaml").write_text("access_levels:\n  read-delete:\n    actions: [s3:Delete*]\n")

    rc, out, err = run_cli("validate", "--shares", "shares")

    assert rc == 1
    assert "Traceback" not in out + err
    assert err.splitlines()[0].startswith(
        "reconciler.yaml:3:15: access level 'read-delete': s3:Delete* is a wildcard; list the S3 actions"
    )


def test_a_protected_bucket_refuses_a_defined_level_that_changes_anything(
    tmp_path: Path, write_shares: WriteShares, run_cli: RunCli
) -> None:
    other = SHARE.replace("acme-data", "acme-other").replace("read-delete", "admin")
    write_shares({"f.yaml": SHARE, "g.yaml": other})
    (tmp_path / "reconciler.yaml").write_text(
        LEVELS + "  admin:\n    actions: [s3:PutBucketTagging]\n    administration: true\n"
        "guardrails:\n  protected_buckets: [acme-data, acme-other]\n"
    )
    rc, _, err = run_cli("validate", "--shares", "shares")
    assert rc == 1
    assert sum("protected" in line for line in err.splitlines()) == 2, err
