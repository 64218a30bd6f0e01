"""Access levels and import over HTTP against a moto server: a defined level applied end to
end, and the seed policy imported, widened, proposed a level, and converted exactly."""

from __future__ import annotations

import json

import yaml
from policy_evaluator import Request, is_allowed

from .conftest import Workspace

READER = "222222222222"
CALLER = f"arn:aws:iam::{READER}:role/app"
LEVELS = """\
version: 1
access_levels:
  read-delete:
    actions: [s3:GetObject, s3:ListBucket, s3:DeleteObject]
"""


def test_a_defined_level_is_planned_applied_and_enforced(ws: Workspace) -> None:
    ws.set_config(LEVELS)
    bucket = ws.bucket("levels")
    ws.declare(bucket, f'  - to: "{READER}"\n    access: read-delete\n    prefixes: [scratch/]\n')

    shown = ws.plan()
    assert shown.rc == 0, shown.text
    assert f"account {READER} gains read-delete on scratch/" in shown.out
    applied = ws.apply()
    assert applied.rc == 0, applied.text

    policy = ws.policy(bucket) or {}
    actions = sorted(a for s in policy["Statement"] for a in s["Action"])
    assert actions == ["s3:DeleteObject", "s3:GetObject", "s3:ListBucket"]
    arn = f"arn:aws:s3:::{bucket}"
    assert is_allowed(policy, Request(CALLER, "s3:DeleteObject", f"{arn}/scratch/a.bin"))
    assert not is_allowed(policy, Request(CALLER, "s3:DeleteObject", f"{arn}/other/a.bin"))
    assert is_allowed(policy, Request(CALLER, "s3:ListBucket", arn, s3_prefix="scratch/x"))
    assert not is_allowed(policy, Request(CALLER, "s3:PutObject", f"{arn}/scratch/a.bin"))

    again = ws.plan()
    assert again.rc == 0 and "0 buckets to change" in again.out and "1 no-op" in again.out


def test_a_misspelled_level_fails_with_its_location_and_writes_nothing(ws: Workspace) -> None:
    ws.set_config(LEVELS)
    bucket = ws.bucket("levels")
    where = ws.declare(bucket, f'  - to: "{READER}"\n    access: read-delte\n')
    result = ws.apply()
    assert result.rc == 1 and "Traceback" not in result.text
    expected = f"{where}:7:13: access 'read-delte' is not one of read, write, read-write, read-delete"
    assert expected in result.err
    assert ws.policy(bucket) is None


def test_the_seed_policy_imports_widened_then_exactly_with_the_proposed_level(ws: Workspace) -> None:
    bucket = ws.bucket("seed")
    seed = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{READER}:root"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    ws.put_policy(bucket, seed)
    source = ("--shares", "shares", "--config", str(ws.config), "--bucket", bucket)

    first = ws.run("import", *source)
    assert first.rc == 0, first.text
    assert "1 grants (1 widened, said beside each)" in first.out
    path = ws.shares / f"{bucket}.yaml"
    text = path.read_text(encoding="utf-8")
    assert "# widens: adds s3:GetObjectVersion on the whole bucket, s3:ListBucket on the whole bucket" in text
    assert [(g["to"], g["access"]) for g in yaml.safe_load(text)["grants"]] == [(READER, "read")]
    snippet = first.out.split("add these access levels to reconciler.yaml and import again:\n", 1)[1]
    assert snippet == "access_levels:\n  getobject:\n    actions: [s3:GetObject]\n"

    ws.set_config("version: 1\n" + snippet)
    second = ws.run("import", *source, "--adopt", "--force")
    assert second.rc == 0, second.text
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert [(g["to"], g["access"]) for g in document["grants"]] == [(READER, "getobject")]
    assert "widens" not in path.read_text(encoding="utf-8")
    [entry] = document["adopt"]
    assert entry.startswith("sha256:")

    applied = ws.apply()
    assert applied.rc == 0, applied.text
    after = ws.policy(bucket) or {}
    assert all(s["Sid"].startswith("BucketShare") for s in after["Statement"])
    request = Request(CALLER, "s3:GetObject", f"arn:aws:s3:::{bucket}/any/key")
    assert is_allowed(seed, request) and is_allowed(after, request)
    assert not is_allowed(after, Request(CALLER, "s3:ListBucket", f"arn:aws:s3:::{bucket}"))
    assert json.loads(json.dumps(after)) == after
    again = ws.plan()
    assert again.rc == 0 and "0 buckets to change" in again.out
