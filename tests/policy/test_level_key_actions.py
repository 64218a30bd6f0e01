"""The KMS actions a defined level needs on the bucket's key: every action that returns object
data S3 decrypts needs kms:Decrypt, or the grantee's requests fail with AccessDenied from KMS."""

from __future__ import annotations

from reconciler.declare.levels import level_actions


def test_a_replication_source_level_needs_kms_decrypt() -> None:
    # S3 replication reads the source object's data (SSE-KMS objects included) with this action.
    level = level_actions(["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl"])
    assert level.key == ("kms:Decrypt",)
