from __future__ import annotations

import pytest

from reconciler.declare.identifiers import (
    MAX_PREFIX_BYTES,
    check_account,
    check_bucket_name,
    check_iam_arn,
    check_org,
    check_ou_path,
    check_prefix,
    normalize_prefix,
)


@pytest.mark.parametrize("account", ["111111111111", "012345678901", "000000000000"])
def test_valid_accounts(account: str) -> None:
    assert check_account(account) is None


@pytest.mark.parametrize(
    "account",
    [
        pytest.param("", id="empty"),
        pytest.param("11111111111", id="11-digits"),
        pytest.param("1111111111111", id="13-digits"),
        pytest.param("11111111111a", id="letter"),
        pytest.param("1111-1111-1111", id="dashes"),
        pytest.param(" 111111111111", id="leading-space"),
        pytest.param("\uff11" * 12, id="fullwidth-digits"),
        pytest.param("111111111111\n", id="trailing-newline"),
    ],
)
def test_invalid_accounts(account: str) -> None:
    assert check_account(account) == f"account id {account!r} must be exactly 12 digits (quote it in YAML)"


@pytest.mark.parametrize("org", ["o-a1b2c3d4e5", "o-" + "a" * 32, "o-0123456789"])
def test_valid_orgs(org: str) -> None:
    assert check_org(org) is None


@pytest.mark.parametrize(
    "org",
    [
        pytest.param("o-a1b2c3d4e", id="9-chars"),
        pytest.param("o-" + "a" * 33, id="33-chars"),
        pytest.param("o-A1B2C3D4E5", id="uppercase"),
        pytest.param("a1b2c3d4e5", id="no-o-prefix"),
        pytest.param("org:o-a1b2c3d4e5", id="grant-spelling"),
        pytest.param("o-a1b2c3d4e5\n", id="trailing-newline"),
    ],
)
def test_invalid_orgs(org: str) -> None:
    message = check_org(org)
    assert message is not None
    assert message.startswith(f"organization id {org!r} must look like o-a1b2c3d4e5")


@pytest.mark.parametrize(
    "path",
    [
        "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111",
        "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ou-ab12-22222222",
        "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/",
    ],
)
def test_valid_ou_paths(path: str) -> None:
    assert check_ou_path(path) is None


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("o-a1b2c3d4e5/r-ab12", id="root-only"),
        pytest.param("o-a1b2c3d4e5/ou-ab12-11111111", id="no-root"),
        pytest.param("r-ab12/ou-ab12-11111111", id="no-org"),
        pytest.param("o-a1b2c3d4e5/r-ab1/ou-ab12-11111111", id="short-root"),
        pytest.param("o-a1b2c3d4e5/r-ab12/ou-ab12-1111111", id="short-ou"),
        pytest.param("o-a1b2c3d4e5/r-ab12/ou-AB12-11111111", id="uppercase"),
        pytest.param("o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*", id="wildcard"),
        pytest.param("o-a1b2c3d4e5/r-ab12/ou-ab12-11111111\n", id="trailing-newline"),
    ],
)
def test_invalid_ou_paths(path: str) -> None:
    message = check_ou_path(path)
    assert message is not None
    assert message.startswith(f"organizational unit path {path!r} must look like")


@pytest.mark.parametrize(
    ("arn", "partition"),
    [
        ("arn:aws:iam::222222222222:root", "aws"),
        ("arn:aws:iam::222222222222:role/inference", "aws"),
        ("arn:aws:iam::222222222222:role/inference/batch-scoring", "aws"),
        ("arn:aws:iam::222222222222:role/a/b/c/d", "aws"),
        ("arn:aws:iam::222222222222:user/ci+deploy=1,x.y@z_w-v", "aws"),
        ("arn:aws-cn:iam::222222222222:role/reader", "aws-cn"),
        ("arn:aws-us-gov:iam::222222222222:user/auditor", "aws-us-gov"),
    ],
)
def test_valid_arns(arn: str, partition: str) -> None:
    assert check_iam_arn(arn, partition) is None


@pytest.mark.parametrize(
    "arn",
    [
        pytest.param("arn:aws:iam::22222222222:root", id="short-account"),
        pytest.param("arn:aws:iam:us-east-1:222222222222:root", id="region"),
        pytest.param("arn:aws:iam::222222222222:group/readers", id="group"),
        pytest.param("arn:aws:iam::222222222222:policy/p", id="policy"),
        pytest.param("arn:aws:sts::222222222222:assumed-role/r/s", id="sts"),
        pytest.param("arn:aws:s3:::acme-data", id="s3"),
        pytest.param("arn:aws:iam::222222222222:role/", id="no-name"),
        pytest.param("arn:aws:iam::222222222222:role//reader", id="empty-path-segment"),
        pytest.param("arn:aws:iam::222222222222:role/" + "r" * 129, id="name-too-long"),
        pytest.param("arn:aws:iam::222222222222:role/read er", id="space"),
        pytest.param("arn:aws:iam::222222222222:rootx", id="root-suffix"),
        pytest.param("arn:aws:iam::222222222222:role/reader\n", id="trailing-newline"),
        pytest.param("arn:aws:iam::222222222222:role/café", id="non-ascii-name"),
        pytest.param("arn:aws:iam::222222222222:role/reader\u0663", id="non-ascii-digit"),
    ],
)
def test_invalid_arns(arn: str) -> None:
    assert check_iam_arn(arn, "aws") == (
        f"{arn!r} is not an IAM ARN; use arn:aws:iam::<12 digits>:root, "
        ":role/<path/name> or :user/<path/name>"
    )


@pytest.mark.parametrize(
    ("arn", "partition", "found"),
    [
        ("arn:aws-cn:iam::222222222222:root", "aws", "aws-cn"),
        ("arn:aws:iam::222222222222:role/r", "aws-us-gov", "aws"),
        ("arn:aws-iso:iam::222222222222:role/r", "aws", "aws-iso"),
    ],
)
def test_arn_partition_must_match(arn: str, partition: str, found: str) -> None:
    assert check_iam_arn(arn, partition) == (
        f"ARN partition {found!r} does not match the configured partition {partition!r}"
    )


@pytest.mark.parametrize(
    "name",
    [
        "abc",
        "a" * 63,
        "acme-model-artifacts",
        "acme.model.artifacts",
        "1acme",
        "acme-1",
        "192.168.5.4x",
        "acme-xn--data",
        "acme-s3alias-data",
    ],
)
def test_valid_bucket_names(name: str) -> None:
    assert check_bucket_name(name) is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "it must be 3 to 63 characters long"),
        ("ab", "it must be 3 to 63 characters long"),
        ("a" * 64, "it must be 3 to 63 characters long"),
        ("Acme", "use lowercase letters, digits, dots and hyphens"),
        ("acme_data", "use lowercase letters"),
        ("acme data", "use lowercase letters"),
        ("-acme", "starting and ending with a letter or digit"),
        ("acme-", "starting and ending with a letter or digit"),
        (".acme", "starting and ending with a letter or digit"),
        ("acme.", "starting and ending with a letter or digit"),
        ("acme..data", "it must not contain two adjacent dots"),
        ("192.168.5.4", "it must not be formatted as an IP address"),
        ("10.0.0.1", "it must not be formatted as an IP address"),
        ("xn--acme", "it must not start with a reserved prefix"),
        ("sthree-acme", "reserved prefix"),
        ("amzn-s3-demo-acme", "reserved prefix"),
        ("acme-s3alias", "it must not end with a reserved suffix"),
        ("acme--ol-s3", "reserved suffix"),
        ("acme.mrap", "reserved suffix"),
        ("acme--x-s3", "reserved suffix"),
        ("acme--table-s3", "reserved suffix"),
        ("acme-data\n", "use lowercase letters"),
    ],
)
def test_invalid_bucket_names(name: str, problem: str) -> None:
    message = check_bucket_name(name)
    assert message is not None
    assert message.startswith(f"bucket name {name!r} is invalid: ")
    assert problem in message


@pytest.mark.parametrize(
    "prefix",
    [
        "models/",
        "models/fraud",
        "models/fraud/",
        "models/.hidden/",
        "models/v1.2/",
        "models/..v2/",
        "a" * MAX_PREFIX_BYTES,
        "é" * (MAX_PREFIX_BYTES // 2),
        "données/",
    ],
)
def test_valid_prefixes(prefix: str) -> None:
    assert check_prefix(prefix) is None


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("", "prefix must not be empty; leave out 'prefixes' to share the whole bucket"),
        ("/models/", "prefix '/models/' must not start with '/'; S3 keys have no leading slash"),
        ("/", "must not start with '/'"),
        (
            "models/*",
            "prefix 'models/*' must not contain '*' or '?'; a prefix already covers everything below it",
        ),
        ("models/v?/", "must not contain '*' or '?'"),
        ("*", "must not contain '*' or '?'"),
        ("models/../secrets/", "prefix 'models/../secrets/' must not contain '.' or '..' segments"),
        ("../secrets/", "'.' or '..' segments"),
        ("models/..", "'.' or '..' segments"),
        ("./models/", "'.' or '..' segments"),
        ("models/./fraud/", "'.' or '..' segments"),
        ("models\x00/", "must not contain control characters"),
        ("models\n", "must not contain control characters"),
        ("models\t/", "must not contain control characters"),
        ("models\x1f/", "must not contain control characters"),
        ("models\x7f/", "must not contain control characters"),
        ("models\x85/", "must not contain control characters"),
        ("models\x9f/", "must not contain control characters"),
        ("models//fraud/", "prefix 'models//fraud/' must not contain an empty segment ('//')"),
        ("a" * (MAX_PREFIX_BYTES + 1), "prefix is longer than 1024 bytes"),
        ("é" * (MAX_PREFIX_BYTES // 2 + 1), "prefix is longer than 1024 bytes"),
    ],
)
def test_invalid_prefixes(prefix: str, message: str) -> None:
    found = check_prefix(prefix)
    assert found is not None
    assert message in found


@pytest.mark.parametrize(
    ("prefix", "normal"),
    [
        ("models/fraud", "models/fraud/"),
        ("models/fraud/", "models/fraud/"),
        ("a", "a/"),
    ],
)
def test_normalize_prefix(prefix: str, normal: str) -> None:
    assert normalize_prefix(prefix) == normal
    assert normalize_prefix(normalize_prefix(prefix)) == normal
