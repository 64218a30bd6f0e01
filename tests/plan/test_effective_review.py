"""Effective access where a wrong "not blocked" or "already granted" would mislead a reviewer.

- A NotPrincipal Deny that names a role but not its account: AWS checks the account as well
  as the role (IAM User Guide, NotPrincipal: "you must also specify the account ARN ...
  otherwise, the policy might deny access to the entire account"), so it may deny the role.
- A gain the kept hand-written statements already give, beside a kept Deny that denies it:
  the grantee does not hold it, and the plan must say the Deny blocks it.
"""

from __future__ import annotations

from test_effective import BUCKET, ROLE, access, deny, grant

from reconciler.policy.evaluate import Request, Verdict, decide

ACCOUNT_ROOT = "arn:aws:iam::222222222222:root"
OBJECT = f"arn:aws:s3:::{BUCKET}/k"


def test_a_notprincipal_deny_naming_the_role_but_not_its_account_is_not_decided_as_sparing_it() -> None:
    deny_all_but = deny("OnlyInference", NotPrincipal={"AWS": [ROLE]})
    policy = {"Version": "2012-10-17", "Statement": [deny_all_but]}
    verdict = decide(policy, Request.of(ROLE, "s3:GetObject", OBJECT)).verdict
    assert verdict is Verdict.CANT_TELL


def test_a_notprincipal_deny_naming_the_role_and_its_account_spares_it() -> None:
    deny_all_but = deny("OnlyInference", NotPrincipal={"AWS": [ROLE, ACCOUNT_ROOT]})
    policy = {"Version": "2012-10-17", "Statement": [deny_all_but]}
    assert decide(policy, Request.of(ROLE, "s3:GetObject", OBJECT)).verdict is Verdict.IMPLICIT_DENY


def test_the_plan_warns_that_such_a_deny_may_block_the_role_and_says_why() -> None:
    result = access(deny("OnlyInference", NotPrincipal={"AWS": [ROLE]}), grants=(grant(ROLE),))
    warnings = result.warnings()
    assert len(warnings) == 1
    assert "kept Sid OnlyInference may deny it" in warnings[0]
    assert "account" in warnings[0].split("may deny it", 1)[1]
    assert "depending on  of" not in warnings[0]


def test_a_gain_the_kept_statements_give_beside_a_kept_deny_is_not_said_already_granted() -> None:
    # The hand-written copy grants it, but the kept Deny takes it away: the grantee holds
    # nothing, so "already granted; adopt it" would hide that the new grant is blocked too.
    from test_plan import READER, desired, plan, policy, rendered
    from test_plan_effective import ONLY_ETL

    copies = [{**statement, "Sid": f"Hand{n}"} for n, statement in enumerate(rendered(READER))]
    result = plan(desired(READER), policy(ONLY_ETL, *copies))
    [row] = result.access
    assert row.held_by == ""
    assert row.blocked_text == "blocked by Sid OnlyEtl"
    assert any("kept Sid OnlyEtl denies it" in w for w in result.warnings)


def test_an_encryption_deny_on_every_action_blocks_reads_which_never_send_the_header() -> None:
    # A classic mistake: "deny unless SSE" on s3:* also denies GetObject and ListBucket, whose
    # requests carry no x-amz-server-side-encryption header (IAM sends the key for PutObject
    # and ReplicateObject only), so the key is absent and StringNotEquals holds.
    sse_everywhere = deny("RequireSse", {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}})
    result = access(sse_everywhere, grants=(grant(ROLE),))
    certain = {b.statement.label: list(b.actions) for b in result.blocks if b.certain}
    assert certain == {
        "RequireSse": ["s3:GetBucketLocation", "s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"]
    }


def test_an_owner_acl_deny_on_every_action_blocks_reads_but_not_the_compliant_upload() -> None:
    acl_everywhere = deny("OwnerAcl", {"StringNotEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}})
    result = access(acl_everywhere, grants=(grant(ROLE, "read-write"),))
    blocked = {a for b in result.blocks if b.certain for a in b.actions}
    assert "s3:GetObject" in blocked
    assert "s3:PutObject" not in blocked


def test_a_deny_on_listing_the_second_prefix_blocks_the_grants_listing() -> None:
    # The grant lists both prefixes; a kept Deny refuses listing under one of them.
    no_b = deny(
        "NoListB",
        {"StringLike": {"s3:prefix": "b/*"}},
        Action="s3:ListBucket",
        Resource=f"arn:aws:s3:::{BUCKET}",
    )
    result = access(no_b, grants=(grant(ROLE, prefixes=("a/", "b/")),))
    assert {b.statement.label: list(b.actions) for b in result.blocks if b.certain} == {
        "NoListB": ["s3:ListBucket"]
    }


def test_two_denies_a_client_can_meet_one_at_a_time_but_not_both_block_the_upload() -> None:
    # One Deny wants SSE-S3, another SSE-KMS: each alone a compliant client meets, together
    # no upload gets through (one request carries one encryption header value).
    wants_aes = deny(
        "WantsAes", {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}}, Action="s3:PutObject"
    )
    wants_kms = deny(
        "WantsKms", {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}, Action="s3:PutObject"
    )
    result = access(wants_aes, wants_kms, grants=(grant(ROLE, "write"),))
    certain = {b.statement.label: list(b.actions) for b in result.blocks if b.certain}
    assert certain == {"WantsAes": ["s3:PutObject"], "WantsKms": ["s3:PutObject"]}


def test_two_denies_a_client_meets_together_block_nothing() -> None:
    sse_present = deny(
        "SseHeader", {"Null": {"s3:x-amz-server-side-encryption": "true"}}, Action="s3:PutObject"
    )
    wants_kms = deny(
        "WantsKms", {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}, Action="s3:PutObject"
    )
    tls = deny("TlsOnly", {"Bool": {"aws:SecureTransport": "false"}})
    result = access(sse_present, wants_kms, tls, grants=(grant(ROLE, "write"),))
    assert result.blocks == ()
