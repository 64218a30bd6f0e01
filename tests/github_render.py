"""A plan comment as a reviewer sees it on GitHub, approximated with the tools GitHub's side
uses: cmark-gfm (GitHub's own Markdown engine) with the GFM extensions and the hard line
breaks of comments, an allowlist sanitiser (nh3) in place of GitHub's, GitHub's stylesheet
(github-markdown-css, vendored in tests/vendor/) and a headless Chromium laying the page out
in a 746 px comment body, the width of a pull request's conversation column."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cmarkgfm
import nh3
from cmarkgfm.cmark import Options

VENDOR = Path(__file__).resolve().parent / "vendor" / "github-markdown-css"
COMMENT_WIDTH = 746
"""The comment body's width in a pull request's conversation column, in CSS pixels."""
INSTALL_HINT = (
    "headless Chromium is needed to lay the plan comment out as GitHub does; install it with "
    "`apt-get install -y chromium` (Debian's package; .ci/run installs it)"
)
_MEASURE = """
for (const d of document.querySelectorAll('details')) d.open = true;
const body = document.querySelector('.markdown-body');
const tables = [...body.querySelectorAll('table')].map(t => ({
  scroll: t.scrollWidth, client: t.clientWidth, text: t.innerText.slice(0, 80)}));
const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
const prose = [];
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  if (!n.parentElement.closest('pre')) prose.push(n.nodeValue);
}
const spans = [...body.querySelectorAll('code')].filter(c => !c.closest('pre')).map(c => c.textContent);
const out = document.createElement('pre');
out.id = 'measurements';
out.textContent = JSON.stringify({
  body: body.clientWidth, tables, prose: prose.join(''), spans,
  blocks: [...body.querySelectorAll('pre')].map(p => ({scroll: p.scrollWidth, client: p.clientWidth}))});
document.body.appendChild(out);
"""


def comment_html(markdown: str) -> str:
    """The HTML GitHub would serve for a comment body: cmark-gfm, then the sanitiser."""
    options = Options.CMARK_OPT_HARDBREAKS | Options.CMARK_OPT_UNSAFE
    raw = cmarkgfm.github_flavored_markdown_to_html(markdown, options=options)
    # GitHub keeps a code block's language as a class on <pre lang> (dropped here) and strips
    # HTML comments, style and script; nh3's defaults are the same allowlist in spirit.
    return nh3.clean(raw)


def page(markdown: str, script: str = "") -> str:
    css = (VENDOR / "github-markdown-light.css").read_text(encoding="utf-8")
    return (
        "<!doctype html><html><head><meta charset='utf-8'><style>"
        f"{css}\nbody {{ margin: 0; background: #fff; }}"
        f"\n.markdown-body {{ box-sizing: border-box; width: {COMMENT_WIDTH}px; padding: 16px; }}"
        "</style></head><body><div class='markdown-body' style='box-sizing: content-box; "
        f"width: {COMMENT_WIDTH - 32}px'>"
        f"{comment_html(markdown)}</div>"
        f"<script>{script}</script></body></html>"
    )


def chromium() -> str:
    # Debian's package, or the names GitHub's Ubuntu runners give their preinstalled browsers.
    names = ("chromium", "chromium-browser", "google-chrome")
    found = next((path for name in names if (path := shutil.which(name)) is not None), None)
    if found is None:
        raise RuntimeError(INSTALL_HINT)
    return found


def _run(args: list[str], html_text: str) -> str:
    with tempfile.TemporaryDirectory() as folder:
        page_path = Path(folder) / "comment.html"
        page_path.write_text(html_text, encoding="utf-8")
        command = [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={folder}/profile",
            *args,
            page_path.as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"chromium exited {done.returncode}: {done.stderr[-2000:]}")
        return done.stdout


@dataclass(frozen=True)
class Layout:
    body: int
    """The comment body's inner width, px."""
    tables: list[dict[str, object]]
    """Each table's scrollWidth and clientWidth: wider scroll means a horizontal scrollbar."""
    prose: str
    """Every visible text outside code blocks, as a reader sees it (details opened)."""
    spans: list[str]
    """The text of every inline code span."""

    @property
    def widest_table(self) -> int:
        return max((int(str(t["scroll"])) for t in self.tables), default=0)


def layout(markdown: str) -> Layout:
    """Lay the comment out in Chromium and read back what a reviewer would see."""
    dom = _run(["--dump-dom", "--virtual-time-budget=5000"], page(markdown, _MEASURE))
    found = re.search(r'<pre id="measurements">(.*?)</pre>', dom, re.S)
    if found is None:
        raise RuntimeError("the page script wrote no measurements")
    data = json.loads(found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    return Layout(data["body"], data["tables"], data["prose"], data["spans"])


def screenshot(markdown: str, out: Path, height: int) -> None:
    """A PNG of the comment as it first shows, details closed."""
    html_text = page(markdown)
    _run([f"--screenshot={out}", f"--window-size={COMMENT_WIDTH},{height}"], html_text)
