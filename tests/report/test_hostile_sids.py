"""A Sid someone wrote in a live policy reaches the pull request comment through the new
"already granted by Sid X" and "blocked by Sid X" rows and their warnings: control characters
in it (an ANSI escape, BEL) must not reach the comment, which the workflows also print to
the CI log, where an escape sequence is interpreted."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plan"))

from test_plan import READER, desired, plan, policy, rendered
from test_plan_effective import ETL, deny

from reconciler.plan.model import Plan
from reconciler.report.markdown import render_markdown
from reconciler.report.markdown_text import escape

HOSTILE = "Keep\x1b]0;pwned\x07\x1b[2J\x9b31m\x00it"
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def test_escape_drops_control_characters() -> None:
    assert _CONTROL.search(escape(HOSTILE)) is None
    assert "Keep" in escape(HOSTILE) and "it" in escape(HOSTILE)


def test_a_hostile_sid_on_an_already_granted_row_leaves_no_control_character_in_the_comment() -> None:
    copies = [{**statement, "Sid": f"{HOSTILE}{n}"} for n, statement in enumerate(rendered(READER))]
    comment = render_markdown(Plan((plan(desired(READER), policy(*copies)),), "BucketShare", "aws"))
    assert "already granted" in comment
    assert _CONTROL.search(comment) is None


def test_a_hostile_sid_on_a_blocking_deny_leaves_no_control_character_in_the_comment() -> None:
    blocking = deny(HOSTILE, {"StringNotEquals": {"aws:PrincipalArn": ETL}})
    comment = render_markdown(Plan((plan(desired(READER), policy(blocking)),), "BucketShare", "aws"))
    assert "blocked by" in comment
    assert _CONTROL.search(comment) is None
