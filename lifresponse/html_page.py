"""Self-contained HTML pages from the small Markdown subset our reports use.

Headings (``#`` to ``######``), paragraphs, pipe tables and images; every image is inlined as a data
URI so the page is one file that opens anywhere. A tiny script counts the images that loaded
(``data-images-loaded`` on ``<body>``), which the browser test reads.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

_STYLE = ("body{font-family:sans-serif;max-width:62em;margin:2em auto;padding:0 1em}"
          "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
          "padding:.2em .6em;text-align:left}img{max-width:100%}figure{margin:1em 0}")
_SCRIPT = ("window.addEventListener('load',function(){var n=0;"
           "document.querySelectorAll('img').forEach(function(i){"
           "if(i.complete&&i.naturalWidth>0){n++;}});"
           "document.body.setAttribute('data-images-loaded',String(n));});")
_IMAGE = re.compile(r"^!\[(?P<caption>[^\]]*)\]\((?P<path>[^)]+)\)\s*$")
_HEADING = re.compile(r"^(?P<level>#{1,6}) (?P<text>.*)$")


def render(markdown: str, title: str, base: Path) -> str:
    """The page for ``markdown``; image paths are relative to ``base``."""
    out, table = [], []

    def flush_table():
        if table:
            rows = [r for r in table if not set(r.replace("|", "").strip()) <= set("-: ")]
            cells = ["".join(f"<td>{_inline(c.strip())}</td>" for c in row.strip().strip(
                "|").split("|")) for row in rows]
            out.append("<table>" + "".join(f"<tr>{c}</tr>" for c in cells) + "</table>")
            table.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush_table()
        image, heading = _IMAGE.match(line), _HEADING.match(line)
        if heading:
            level = len(heading["level"])
            out.append(f"<h{level}>{_inline(heading['text'])}</h{level}>")
        elif image:
            data = base64.b64encode((base / image["path"]).read_bytes()).decode()
            caption = html.escape(image["caption"])
            out.append(f'<figure><img alt="{caption}" src="data:image/png;base64,{data}">'
                       f"<figcaption>{caption}</figcaption></figure>")
        elif line.strip():
            out.append(f"<p>{_inline(line)}</p>")
    flush_table()
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{_STYLE}</style><script>{_SCRIPT}</script></head><body>"
            f"{''.join(out)}</body></html>\n")


def _inline(text: str) -> str:
    escaped = html.escape(text)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
