"""The AWS edge for S3 and KMS: one object per run that every command's AWS calls go through.

Clients are created once per account and shared by worker threads (client creation is
slow; clients are thread-safe). An account reached through a role (reconciler.yaml's
assume_role or accounts) gets its own session whose credentials come from one AssumeRole
per run and are refreshed by botocore before they expire; other accounts use the ambient
credentials (standard chain, AWS_PROFILE, AWS_ENDPOINT_URL, ...). Every bucket call passes
ExpectedBucketOwner, so a bucket name now owned by someone else is never read or written.
"""

from __future__ import annotations

from reconciler.edge.creation import BucketCreation
from reconciler.edge.discovery import Discovery
from reconciler.edge.kms import KeyPolicies
from reconciler.edge.policy_io import PolicyIO


class S3Edge(PolicyIO, Discovery, BucketCreation, KeyPolicies):
    """Every AWS call of a run."""
