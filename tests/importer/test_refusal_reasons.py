"""A statement import keeps says why in words its reader recognises."""

from __future__ import annotations

from reconciler.importer.grants import import_policy

BUCKET = "acme-site"
ARN = f"arn:aws:s3:::{BUCKET}"
OAI = "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity EH1HDMB1FH2TC"


def test_a_cloudfront_origin_access_identity_is_named_as_one() -> None:
    # The S3 user guide's OAI policy: the principal is CloudFront's, not an account's.
    statement = {"Effect": "Allow", "Principal": {"AWS": OAI}, "Action": "s3:GetObject"}
    statement["Resource"] = f"{ARN}/*"
    result = import_policy([statement], BUCKET, "111111111111", "aws", "BucketShare")
    assert result.grants == () and result.proposals == ()
    [kept] = result.unmanaged
    assert kept.label == "statement 1 (no Sid)"
    assert kept.reason == (
        f"principal {OAI} is a CloudFront origin access identity, CloudFront's own principal: "
        "bucketshare grants only to AWS accounts, roles, users and organizations"
    )
