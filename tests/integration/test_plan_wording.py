"""How plan words a declaration's warning: one `warning:` per line, then where, then what."""

from __future__ import annotations

import datetime as dt

from reconciler.declare.expiry import utc_today

from .conftest import Workspace


def test_a_declaration_warning_says_warning_once(ws: Workspace) -> None:
    bucket = ws.bucket("expired")
    ended = utc_today() - dt.timedelta(days=1)
    path = ws.declare(
        bucket,
        '  - to: "222222222222"\n    access: read\n'
        f'  - to: "333333333333"\n    access: read\n    expires: {ended}\n',
    )
    result = ws.plan()
    said = [line for line in result.out.splitlines() if "grant expired" in line]
    assert said == [f"warning: {path}:8:5: grant expired on {ended} and is no longer rendered; delete it"]
