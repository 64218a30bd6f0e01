"""Facts about whole bucket-policy documents: size, Version, the JSON AWS would receive."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

POLICY_VERSION = "2012-10-17"
POLICY_SIZE_LIMIT = 20 * 1024
"""S3 counts the policy with whitespace removed (AWS-BEHAVIOUR.md)."""


def policy_document(statements: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": POLICY_VERSION, "Statement": list(statements)}


def minified(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def policy_size(document: dict[str, Any]) -> int:
    return len(minified(document).encode("utf-8"))
