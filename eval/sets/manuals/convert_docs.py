"""Convert the six HTML source pages of the manuals set into Markdown (docs/).

Usage (the .deb files are fetched and unpacked by hand, see SOURCES.md):

    mkdir x && for p in sqlite3-doc git-doc nano; do
        apt-get download $p && dpkg-deb -x ${p}_*.deb x/$p; done
    python -m pip install html2text==2025.4.15
    python convert_docs.py x docs

Only the page-specific boilerplate (site menu, scripts, table of contents,
"last modified" footer) is cut; the article body is converted by html2text
with links and images dropped and no line wrapping. <blockquote> is turned
into <div> first, so that answers in the FAQs are not quoted with "> ".
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import html2text

SQLITE = "sqlite3-doc/usr/share/doc/sqlite3"
GIT = "git-doc/usr/share/doc/git-doc"
NANO = "nano/usr/share/doc/nano"

# output name -> (page inside the unpacked packages, kind of page)
PAGES = {
    "sqlite-when-to-use.md": (f"{SQLITE}/whentouse.html", "sqlite"),
    "sqlite-how-to-corrupt.md": (f"{SQLITE}/howtocorrupt.html", "sqlite"),
    "sqlite-wal.md": (f"{SQLITE}/wal.html", "sqlite"),
    "git-faq.md": (f"{GIT}/gitfaq.html", "git"),
    "git-tutorial.md": (f"{GIT}/gittutorial.html", "git"),
    "nano-faq.md": (f"{NANO}/faq.html", "nano"),
}


def body_sqlite(html: str) -> str:
    end = html.index('<p align="center"><small><i>This page last modified')
    if "fancy_title" in html:
        title = re.search(r'<div class="fancy_title">\s*(.*?)\s*</div>', html, re.S)
        assert title
        # The table of contents ends with its toggle script and two closing divs.
        toc_end = html.index("</script>\n</div>", html.index("fancy_toc"))
        start = toc_end + len("</script>\n</div>")
        return f"<h1>{title.group(1)}</h1>\n" + html[start:end]
    start = html.rindex("</script>", 0, html.index("<h1")) + len("</script>")
    return html[start:end]


def body_git(html: str) -> str:
    # Asciidoc manual page: keep the header (title, NAME) and content, not the footer.
    start = html.index('<div id="header">')
    end = html.index('<div id="footer">')
    return html[start:end]


def body_nano(html: str) -> str:
    # Keep the title, drop the table of contents (up to the first rule).
    title_end = html.index("</h1>") + len("</h1>")
    start = html.index('<hr width="100%">')
    end = html.index("</body>")
    return html[html.index("<h1>") : title_end] + html[start:end]


def convert(html: str, kind: str) -> str:
    body = {"sqlite": body_sqlite, "git": body_git, "nano": body_nano}[kind](html)
    body = re.sub(r"<(/?)blockquote\b[^>]*>", r"<\1div>", body)
    h = html2text.HTML2Text()
    h.body_width = 0
    h.ignore_links = True
    h.ignore_images = True
    h.unicode_snob = True
    text = h.handle(body)
    # Undo html2text's Markdown escapes that only guard against list syntax:
    # "# 1\. Overview" and "**\--enable-tiny**".
    text = re.sub(r"^(#+ +\d+)\\\.", r"\1.", text, flags=re.M)
    text = text.replace("**\\--", "**--")
    text = re.sub(r"^(#+) +", r"\1 ", text, flags=re.M)
    text = re.sub(r"^(#+ [\d.]+)  +", r"\1 ", text, flags=re.M)
    # html2text puts a space before an escaped "<" or ">": "**Meta- <**".
    text = re.sub(r"\*\*Meta- ([<>])\*\*", r"**Meta-\1**", text)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip() + "\n"


def main(root: str, out: str) -> None:
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, (page, kind) in PAGES.items():
        html = (Path(root) / page).read_text(encoding="utf-8")
        text = convert(html, kind)
        (out_dir / name).write_text(text, encoding="utf-8")
        print(f"{name}: {len(text.split())} words")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
