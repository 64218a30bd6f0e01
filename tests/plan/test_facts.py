"""Object Ownership and default encryption in the plan (reconciler.facts, keypolicy, plan)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from reconciler.declare.config import Config
from reconciler.declare.model import BucketShare, Grant
from reconciler.declare.share_file import parse_grantee
from reconciler.errors import Location
from reconciler.live.facts import BucketFacts, Encryption, KeyKind, Ownership, key_kind
from reconciler.live.policy import LivePolicy
from reconciler.plan.bucket import plan_bucket
from reconciler.plan.model import BucketAction, BucketPlan, ChangeKind
from reconciler.policy.access import Access
from reconciler.policy.documents import is_public_statement
from reconciler.policy.key import render_key_statements
from reconciler.policy.render import DesiredBucket, render_bucket

TODAY = dt.date(2026, 1, 15)
BUCKET = "acme-model-artifacts"
OWNER = "111111111111"
KEY = "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def grant(to: str, access: str = "read", prefixes: tuple[str, ...] = ()) -> Grant:
    problem, grantee = parse_grantee(to, "aws")
    assert problem is None and grantee is not None, problem
    return Grant(grantee, Access(access), prefixes, Location("shares/x.yaml", 6, 5))


def desired(*grants: Grant) -> DesiredBucket:
    share = BucketShare(BUCKET, OWNER, grants, (Location("shares/x.yaml", 2, 9),))
    return render_bucket(share, Config(), TODAY)


def plan(want: DesiredBucket, facts: BucketFacts | None, text: str | None = None) -> BucketPlan:
    return plan_bucket(want, LivePolicy(BUCKET, OWNER, text, facts=facts), "BucketShare", "aws")


def statements(result: BucketPlan) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in (result.new_policy or {}).get("Statement", [])}


def acl_of(statement: dict[str, Any]) -> list[str] | None:
    found: list[str] | None = statement.get("Condition", {}).get("StringEquals", {}).get("s3:x-amz-acl")
    return found


WRITER = "222222222222"


# --- Object Ownership -----------------------------------------------------------------------


def test_enforced_ownership_renders_the_plain_write_statement() -> None:
    result = plan(desired(grant(WRITER, "write")), BucketFacts(ownership=Ownership.ENFORCED))
    assert result.action is BucketAction.PUT and result.errors == ()
    assert all(acl_of(s) is None for s in statements(result).values())


def test_preferred_ownership_requires_the_owner_acl_on_uploads() -> None:
    result = plan(desired(grant(WRITER, "write", ("models/",))), BucketFacts(ownership=Ownership.PREFERRED))
    assert result.errors == ()
    (objects,) = [s for sid, s in statements(result).items() if sid.startswith("BucketShareObjectsWrite")]
    assert "s3:PutObject" in objects["Action"]
    assert acl_of(objects) == ["bucket-owner-full-control"]
    assert not any(is_public_statement(s) for s in statements(result).values())


def test_preferred_ownership_on_live_plain_statement_is_a_normal_change() -> None:
    want = desired(grant(WRITER, "write"))
    before = plan(want, BucketFacts(ownership=Ownership.ENFORCED))
    result = plan(want, BucketFacts(ownership=Ownership.PREFERRED), before.new_policy_text)
    assert [(c.sid, c.kind) for c in result.changes] == [
        ("BucketShareObjectsWriteAccountAll", ChangeKind.CHANGE)
    ]
    (change,) = result.changes
    assert any("x-amz-acl" in line for line in change.field_diff)
    assert "bucket-owner-full-control ACL" in change.sentences[0]
    assert result.access == ()  # nobody gains or loses access


def test_preferred_ownership_splits_read_write_so_reads_need_no_acl() -> None:
    want = desired(grant(WRITER, "read-write"), grant("333333333333", "read"))
    before = plan(want, BucketFacts(ownership=Ownership.ENFORCED))
    result = plan(want, BucketFacts(ownership=Ownership.PREFERRED), before.new_policy_text)
    found = statements(result)
    reads, writes = found["BucketShareObjectsReadAccountAll"], found["BucketShareObjectsWriteAccountAll"]
    assert reads["Action"] == ["s3:GetObject", "s3:GetObjectVersion"] and acl_of(reads) is None
    assert set(reads["Principal"]["AWS"]) == {f"arn:aws:iam::{WRITER}:root", "arn:aws:iam::333333333333:root"}
    assert "s3:PutObject" in writes["Action"] and acl_of(writes) == ["bucket-owner-full-control"]
    assert "BucketShareObjectsReadWriteAccountAll" not in found
    kinds = {c.sid: c.kind for c in result.changes}
    assert kinds["BucketShareObjectsReadWriteAccountAll"] is ChangeKind.REMOVE
    assert result.access == (), "the grantee keeps read-write: no gain or loss to show"
    again = plan(want, BucketFacts(ownership=Ownership.PREFERRED), result.new_policy_text)
    assert again.action is BucketAction.NOOP


@pytest.mark.parametrize("ownership", [Ownership.WRITER, Ownership.NONE])
def test_object_writer_or_no_controls_is_an_error_with_the_fix(ownership: Ownership) -> None:
    result = plan(desired(grant(WRITER, "write")), BucketFacts(ownership=ownership))
    assert result.action is BucketAction.ERROR
    (error,) = result.errors
    assert "objects another account writes stay that account's" in error
    assert (
        f"aws s3api put-bucket-ownership-controls --bucket {BUCKET} --expected-bucket-owner {OWNER} "
        "--ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'"
    ) in error


def test_readers_only_never_depend_on_ownership() -> None:
    result = plan(desired(grant(WRITER)), BucketFacts(ownership=Ownership.WRITER))
    assert result.action is BucketAction.PUT and result.errors == ()


def test_a_failed_fact_read_is_an_error_for_that_bucket() -> None:
    facts = BucketFacts(errors=("cannot read the bucket's Object Ownership: access denied",))
    result = plan(desired(grant(WRITER, "write")), facts)
    assert result.action is BucketAction.ERROR
    assert result.errors == facts.errors


# --- SSE-KMS --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encryption", "kind"),
    [
        (Encryption(None), KeyKind.NONE),
        (Encryption("AES256"), KeyKind.NONE),
        (Encryption("aws:kms"), KeyKind.AWS_MANAGED),
        (Encryption("aws:kms", "alias/aws/s3"), KeyKind.AWS_MANAGED),
        (Encryption("aws:kms", "arn:aws:kms:eu-west-1:111111111111:alias/aws/s3"), KeyKind.AWS_MANAGED),
        (Encryption("aws:kms", "alias/models"), KeyKind.BY_NAME),
        (Encryption("aws:kms", "arn:aws:kms:eu-west-1:111111111111:alias/models"), KeyKind.BY_NAME),
        (Encryption("aws:kms", "1234abcd-12ab-34cd-56ef-1234567890ab"), KeyKind.BY_NAME),
        (Encryption("aws:kms", KEY), KeyKind.CUSTOMER),
        (Encryption("aws:kms:dsse", KEY), KeyKind.CUSTOMER),
    ],
)
def test_key_kind(encryption: Encryption, kind: KeyKind) -> None:
    assert key_kind(encryption) is kind


def test_customer_key_warns_with_the_key_policy_statements() -> None:
    role = "arn:aws:iam::333333333333:role/trainer"
    want = desired(grant(WRITER), grant(role, "write"), grant("org:o-a1b2c3d4e5"))
    facts = BucketFacts(ownership=Ownership.ENFORCED, encryption=Encryption("aws:kms", KEY))
    result = plan(want, facts)
    assert result.errors == () and result.kms_key == KEY
    assert any(KEY in w and "key policy" in w for w in result.warnings)
    by_sid = {s["Sid"]: s for s in result.key_statements}
    assert set(by_sid) == {"BucketShareKmsReadAccount", "BucketShareKmsWriteArn", "BucketShareKmsReadOrg"}
    via = {"kms:ViaService": ["s3.eu-west-1.amazonaws.com"]}
    read = by_sid["BucketShareKmsReadAccount"]
    assert read == {
        "Sid": "BucketShareKmsReadAccount",
        "Effect": "Allow",
        "Principal": {"AWS": [f"arn:aws:iam::{WRITER}:root"]},
        "Action": ["kms:Decrypt"],
        "Resource": "*",
        "Condition": {"StringEquals": via},
    }
    write = by_sid["BucketShareKmsWriteArn"]
    assert write["Action"] == ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"]
    assert write["Condition"]["ArnEquals"] == {"aws:PrincipalArn": [role]}
    org = by_sid["BucketShareKmsReadOrg"]
    assert org["Principal"] == "*"
    assert org["Condition"]["StringEquals"] == {**via, "aws:PrincipalOrgID": ["o-a1b2c3d4e5"]}
    assert not any(is_public_statement(s) for s in result.key_statements)


def test_key_statements_are_generic_over_grants_of_several_buckets() -> None:
    # What a later `kms: manage` mode needs: one key, grants from any buckets, our Sids.
    grants = [grant(WRITER), grant("333333333333", "read-write"), grant("444444444444")]
    (read, write) = render_key_statements(grants, KEY, "Acme", "aws-cn")
    assert (read.sid, write.sid) == ("AcmeKmsReadAccount", "AcmeKmsWriteAccount")
    assert read.statement["Principal"] == {
        "AWS": ["arn:aws-cn:iam::222222222222:root", "arn:aws-cn:iam::444444444444:root"]
    }
    assert read.statement["Condition"]["StringEquals"]["kms:ViaService"] == ["s3.eu-west-1.amazonaws.com.cn"]
    assert read.grants == (grants[0], grants[2])


@pytest.mark.parametrize(
    ("key", "says"),
    [
        (None, "AWS managed key aws/s3"),
        ("alias/aws/s3", "AWS managed key aws/s3"),
        ("alias/models", "not by full key ARN"),
        ("arn:aws:kms:eu-west-1:111111111111:alias/models", "not by full key ARN"),
        ("1234abcd-12ab-34cd-56ef-1234567890ab", "not by full key ARN"),
    ],
)
def test_unshareable_key_is_an_error_for_cross_account_grants(key: str | None, says: str) -> None:
    result = plan(desired(grant(WRITER)), BucketFacts(encryption=Encryption("aws:kms", key)))
    assert result.action is BucketAction.ERROR
    (error,) = result.errors
    assert says in error and ("customer managed KMS key" in error or "by its ARN" in error)
    assert result.key_statements == ()


def test_aws_managed_key_is_fine_for_the_owners_own_account() -> None:
    result = plan(
        desired(grant(f"arn:aws:iam::{OWNER}:role/etl")), BucketFacts(encryption=Encryption("aws:kms"))
    )
    assert result.errors == ()


def test_sse_s3_needs_nothing_more() -> None:
    result = plan(desired(grant(WRITER)), BucketFacts(encryption=Encryption("AES256")))
    assert result.errors == () and result.warnings == () and result.key_statements == ()


# --- The consumer's side --------------------------------------------------------------------


def test_plan_shows_the_identity_policy_of_each_grantee_that_gains() -> None:
    want = desired(grant(WRITER, "read", ("models/",)))
    result = plan(want, BucketFacts(encryption=Encryption("aws:kms", KEY)))
    (consumer,) = result.consumer_policies
    assert consumer.grantee == f"account {WRITER}"
    document = consumer.document
    assert document["Version"] == "2012-10-17"
    actions = {a: s["Resource"] for s in document["Statement"] for a in s["Action"]}
    assert actions["s3:GetObject"] == [f"arn:aws:s3:::{BUCKET}/models/*"]
    assert actions["s3:ListBucket"] == [f"arn:aws:s3:::{BUCKET}"]
    assert actions["kms:Decrypt"] == KEY
    assert all("Principal" not in s for s in document["Statement"])
    sids = [s["Sid"] for s in document["Statement"]]
    assert len(set(sids)) == len(sids) and all(s.isalnum() for s in sids)
    # Once the grant is live nothing gains: no snippet to repeat on every plan.
    assert plan(want, BucketFacts(), result.new_policy_text).consumer_policies == ()


def test_facts_round_trip_through_the_json_plan() -> None:
    from reconciler.plan.file_read import loads
    from reconciler.plan.file_write import dumps
    from reconciler.plan.model import Plan

    facts = BucketFacts(Ownership.PREFERRED, Encryption("aws:kms", KEY), ("x",))
    result = plan(desired(grant(WRITER, "write")), facts)
    whole = Plan((result,), "BucketShare", "aws")
    assert loads(dumps(whole), "plan.json") == whole
    assert json.loads(dumps(whole))["buckets"][0]["facts"] == {
        "ownership": "BucketOwnerPreferred",
        "encryption": {"algorithm": "aws:kms", "kms_key_id": KEY},
        "errors": ["x"],
    }


def test_back_to_enforced_restores_read_write_and_nobody_gains_or_loses() -> None:
    want = desired(grant(WRITER, "read-write"))
    preferred = plan(want, BucketFacts(ownership=Ownership.PREFERRED))
    result = plan(want, BucketFacts(ownership=Ownership.ENFORCED), preferred.new_policy_text)
    assert "BucketShareObjectsReadWriteAccountAll" in statements(result)
    assert result.access == () and result.changes
    assert all("no longer need the bucket-owner-full-control ACL" in c.sentences[0] for c in result.changes)


def test_separate_read_and_write_grants_are_not_taken_for_changes() -> None:
    # One grantee with a read and a write grant on the same scope, one of them new.
    want = desired(grant(WRITER, "read"), grant(WRITER, "write"))
    before = plan(desired(grant(WRITER, "read")), BucketFacts(ownership=Ownership.ENFORCED))
    result = plan(want, BucketFacts(ownership=Ownership.ENFORCED), before.new_policy_text)
    assert [(r.direction.value, r.access) for r in result.access] == [("gains", "write")]


def test_expired_writer_under_preferred_is_an_expiry_only_change() -> None:
    lapsed = Grant(
        grant("444444444444", "write").grantee, Access.WRITE, (), Location("shares/x.yaml", 9, 5), None, TODAY
    )
    facts = BucketFacts(ownership=Ownership.PREFERRED)
    share = BucketShare(BUCKET, OWNER, (grant(WRITER, "write"), lapsed), (Location("shares/x.yaml", 2, 9),))
    yesterday = render_bucket(share, Config(), TODAY - dt.timedelta(days=1))
    live = plan(yesterday, facts).new_policy_text
    result = plan(render_bucket(share, Config(), TODAY), facts, live)
    assert result.action is BucketAction.PUT and result.expiry_only
