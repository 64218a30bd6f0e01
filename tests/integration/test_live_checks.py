"""What the live policy tells plan: orphaned principals, and merged policies S3 would refuse."""

from __future__ import annotations

import json

from .conftest import Workspace, bucket_plan, read_grant, statement

ORPHAN = "AROAEXAMPLEID1234567"


def test_orphaned_principal_in_an_unmanaged_statement_stops_the_write_at_plan_time(ws: Workspace) -> None:
    # S3 refuses every PutBucketPolicy naming a deleted principal's bare id ("Invalid principal
    # in policy"), and apply re-sends kept statements unchanged; moto would accept it.
    bucket, other = ws.bucket("orphan"), ws.bucket("fine")
    orphaned = {
        "Sid": "LegacyReader",
        "Effect": "Allow",
        "Principal": {"AWS": ORPHAN},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    original = ws.put_policy(bucket, {"Version": "2012-10-17", "Statement": [orphaned]})
    ws.declare(bucket, read_grant("222222222222"))
    ws.declare(other, read_grant("222222222222"))

    result, plan = ws.plan_json()
    assert result.rc == 1, result.text
    planned = bucket_plan(plan, bucket)
    assert planned["action"] == "error"
    assert planned["errors"] == [
        f"statement LegacyReader (not bucketshare's) names orphaned principal {ORPHAN}; S3 refuses every "
        "PutBucketPolicy that holds it (Invalid principal in policy), so nothing can be written here: "
        "remove that principal or the statement by hand, then plan again"
    ]
    assert bucket_plan(plan, other)["action"] == "put-policy"
    applied = ws.apply()
    assert applied.rc == 1
    assert ws.policy_text(bucket) == original
    assert ws.policy(other) is not None

    # Once in sync (nothing to write), the orphan is only a warning.
    ws.put_policy(bucket, {"Version": "2012-10-17", "Statement": []})
    assert ws.apply().rc == 0
    live = ws.policy(bucket)
    assert live is not None
    live["Statement"].append(orphaned)
    ws.put_policy(bucket, live)
    again = ws.plan("--detailed-exitcode")
    assert again.rc == 0, again.text
    assert f"statement LegacyReader names orphaned principal {ORPHAN}" in again.out


def test_merged_policy_over_the_size_limit_is_refused_at_plan_time(ws: Workspace) -> None:
    big, small = ws.bucket("big"), ws.bucket("small")
    filler = statement(
        "DenyOldPaths",
        big,
        Resource=[f"arn:aws:s3:::{big}/archive/{n:04d}/*" for n in range(160)],
    )
    original = ws.put_policy(big, {"Version": "2012-10-17", "Statement": [filler]})
    grants = "".join(read_grant("222222222222", [f"models/team-{n:03d}/"]) for n in range(25))
    ws.declare(big, grants)
    ws.declare(small, read_grant("333333333333"))

    rendered = ws.render()[big]
    rendered_size = len(json.dumps(rendered, separators=(",", ":")).encode())
    filler_size = len(json.dumps(filler, separators=(",", ":")).encode())
    assert rendered_size < 20_480 < rendered_size + filler_size, "the test needs only the merge to be too big"

    result, plan = ws.plan_json("--detailed-exitcode")
    assert result.rc == 1, result.text
    planned = bucket_plan(plan, big)
    assert planned["action"] == "error"
    assert any("over the 20480-byte S3 limit" in e for e in planned["errors"]), planned["errors"]
    assert bucket_plan(plan, small)["action"] == "put-policy"

    text = ws.plan()
    assert ws.shown_action(text.out, big) == "error"
    assert "over the 20480-byte S3 limit" in text.out

    applied = ws.apply()
    assert applied.rc == 1
    assert f"{big}: FAILED" in applied.out
    assert f"{small}: ok: wrote the policy" in applied.out
    assert ws.policy_text(big) == original


def test_live_public_statement_blocks_the_bucket(ws: Workspace) -> None:
    public, fine = ws.bucket("public"), ws.bucket("fine")
    website = {
        "Sid": "PublicRead",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{public}/*",
    }
    original = ws.put_policy(public, {"Version": "2012-10-17", "Statement": [website]})
    ws.declare(public, read_grant("222222222222"))
    ws.declare(fine, read_grant("222222222222"))

    result, plan = ws.plan_json("--detailed-exitcode")
    assert result.rc == 1, result.text
    planned = bucket_plan(plan, public)
    assert planned["action"] == "error"
    assert any("PublicRead" in e and "public" in e for e in planned["errors"]), planned["errors"]
    assert bucket_plan(plan, fine)["action"] == "put-policy"

    applied = ws.apply()
    assert applied.rc == 1
    assert f"{public}: FAILED" in applied.out
    assert ws.policy_text(public) == original
    assert ws.policy(fine) is not None


def test_public_statement_added_after_apply_is_warned_about(ws: Workspace) -> None:
    bucket = ws.bucket("later")
    ws.declare(bucket, read_grant("222222222222"))
    assert ws.apply().rc == 0
    live = ws.policy(bucket)
    assert live is not None
    live["Statement"].append(
        {
            "Sid": "Oops",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
        }
    )
    ws.put_policy(bucket, live)
    result = ws.plan("--detailed-exitcode")
    assert result.rc == 0, result.text
    assert "statement Oops is public" in result.out


def test_duplicated_statement_of_ours_is_removed_without_a_false_loss(ws: Workspace) -> None:
    bucket = ws.bucket("dup")
    ws.declare(bucket, read_grant("222222222222"))
    assert ws.apply().rc == 0
    live = ws.policy(bucket)
    assert live is not None
    copy = next(s for s in live["Statement"] if s["Sid"] == "BucketShareObjectsReadAccountAll")
    live["Statement"].append(dict(copy))
    ws.put_policy(bucket, live)

    result, plan = ws.plan_json("--detailed-exitcode")
    assert result.rc == 2
    changes = bucket_plan(plan, bucket)["changes"]
    assert [(c["sid"], c["kind"]) for c in changes] == [("BucketShareObjectsReadAccountAll", "remove")]
    assert not any("loses" in s for c in changes for s in c["sentences"]), changes
    assert ws.apply().rc == 0
    sids = [s["Sid"] for s in ws.policy(bucket)["Statement"]]  # type: ignore[index]
    assert sids.count("BucketShareObjectsReadAccountAll") == 1
    assert ws.plan("--detailed-exitcode").rc == 0


def test_live_policy_that_is_not_json_is_a_bucket_error(ws: Workspace) -> None:
    broken, fine = ws.bucket("broken"), ws.bucket("fine")
    ws.put_policy(broken, "{not json")
    ws.declare(broken, read_grant("222222222222"))
    ws.declare(fine, read_grant("222222222222"))
    result = ws.plan("--format", "json")
    assert result.rc == 1
    plan = json.loads(result.out)  # stdout holds only the JSON plan
    assert "live policy is not valid JSON" in bucket_plan(plan, broken)["errors"][0]
    assert bucket_plan(plan, fine)["action"] == "put-policy"
    applied = ws.apply()
    assert applied.rc == 1
    assert ws.policy_text(broken) == "{not json"
    assert ws.policy(fine) is not None
