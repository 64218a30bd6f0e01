"""Markdown building blocks that keep untrusted text inert: escapes, code spans, code blocks."""

from __future__ import annotations

import re

_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
# C0 and C1 controls (ESC, BEL, CSI...): the comment is printed to CI logs too, where they
# would drive the log viewer; as spaces, they still separate what they separated.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


_BARE_LINK = re.compile(r"(?i)\b(www)(?=\.)")


_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


def escape(text: str) -> str:
    """Inline-safe text: HTML entities, Markdown punctuation escaped, mentions and links defused."""
    text = _CONTROL.sub(" ", _BIDI.sub("", text))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _SPECIAL.sub(r"\\\1", text)
    # GitHub finds @mentions and bare links (www.x, http://x) in the rendered text, after
    # entities are decoded: break them with a zero-width space, which a reader does not see.
    text = _BARE_LINK.sub("\\1\u200b", text)
    text = text.replace("://", ":\u200b//").replace("@", "@\u200b").replace(":", "&#58;")
    return " ".join(text.split())


_INVISIBLE = re.compile(
    "[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]"
)


def code_span(text: str, in_table: bool = False) -> str:
    """Inline code showing text exactly: delimited by a backtick run longer than any inside,
    on one line (control, zero-width and bidi characters become spaces or go). In a table
    cell a `|` is escaped: GFM splits cells before it reads code spans, and drops the `\\`."""
    text = " ".join(_INVISIBLE.sub(" ", text).split()) or " "
    if in_table:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    tick = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{tick}{pad}{text}{pad}{tick}"


def code_block(lines: list[str], language: str = "") -> str:
    body = "\n".join(lines)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{body}\n{fence}"
