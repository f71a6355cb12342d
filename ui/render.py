"""Pure functions that turn the library's records into what the page shows.

Answers become chat markdown whose citation markers link to their passages (``#cite-n``);
an ``Answer`` becomes the evidence panel's HTML. Every piece of document or model text is
HTML-escaped here: the passages come from arbitrary files and must never inject markup.
Nothing in this module imports gradio.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Mapping, Sequence

from rag.metadata import UNKNOWN_DATE
from rag.records import Answer, Citation, DocumentInfo, Hit

MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
LINK = re.compile(r"\[\\\[(\d+)\\\]\]\(#cite-\d+\)")
FIRST_WORDS = 18

EVIDENCE_EMPTY = (
    '<div class="evidence empty"><p>Ask a question: the passages its answer cites appear '
    "here, with the supporting sentence highlighted.</p></div>"
)
EVIDENCE_SEARCHING = '<div class="evidence empty"><p>Searching the documents…</p></div>'
EVIDENCE_LOADING = (
    '<div class="evidence empty loading"><p>Loading the models before the first answer…</p></div>'
)


def link_markers(text: str, cited: Collection[int]) -> str:
    """Chat markdown in which each marker of a cited passage links to ``#cite-n``.

    >>> link_markers("It lasted 90 minutes [1]. See [2, 3].", {1, 3})
    'It lasted 90 minutes [\\\\[1\\\\]](#cite-1). See [2][\\\\[3\\\\]](#cite-3).'
    """

    def one(n: int) -> str:
        return f"[\\[{n}\\]](#cite-{n})" if n in cited else f"[{n}]"

    def replace(match: re.Match[str]) -> str:
        return "".join(one(int(n)) for n in re.split(r"\s*[,;]\s*", match.group(1)))

    return MARKER.sub(replace, text)


def unlink_markers(text: str) -> str:
    """The chat text with its marker links back to plain ``[n]``: only the latest answer
    links to the evidence panel, which shows only the latest answer's passages.

    >>> unlink_markers(link_markers("About 90 minutes [1].", {1}))
    'About 90 minutes [1].'
    """
    return LINK.sub(r"[\1]", text)


def highlight(text: str, quote: str) -> str:
    """``text`` as HTML with ``quote`` wrapped in ``<mark>``; both are escaped.

    >>> highlight("A <b> lasted. It was 90 minutes.", "It was 90 minutes.")
    'A &lt;b&gt; lasted. <mark>It was 90 minutes.</mark>'
    """
    quote = quote.strip()
    if quote:
        at = text.find(quote)
        if at >= 0:
            return (
                html.escape(text[:at])
                + f"<mark>{html.escape(quote)}</mark>"
                + html.escape(text[at + len(quote) :])
            )
        # The same sentence with different spacing (line breaks inside the passage).
        pattern = r"\s+".join(re.escape(word) for word in quote.split())
        found = re.search(pattern, text)
        if found:
            return (
                html.escape(text[: found.start()])
                + f"<mark>{html.escape(found.group(0))}</mark>"
                + html.escape(text[found.end() :])
            )
    return html.escape(text)


def first_words(text: str, n: int = FIRST_WORDS) -> str:
    """The first ``n`` words of ``text``, with an ellipsis when there were more.

    >>> first_words("one two three four", 2)
    'one two…'
    """
    words = text.split()
    return " ".join(words[:n]) + ("…" if len(words) > n else "")


def evidence_html(
    answer: Answer,
    show_scores: bool = False,
    pages: Mapping[int, Sequence[Hit]] | None = None,
    images: Mapping[int, str] | None = None,
) -> str:
    """The evidence panel for one answer: only the cited passages, or, when the assistant
    abstained, that plain fact and the passages it looked at. ``pages``: for a citation of a
    PDF, its page's text (as chunks), shown folded under the passage with the passage marked.
    ``images``: for a citation of a PDF, its page as printed with the passage marked (a
    ``data:image/...`` URI), shown folded under the page's text."""
    scores = {h.chunk_id: h.score for h in answer.passages}
    if answer.abstained or not answer.citations:
        parts = [
            '<div class="evidence abstained">',
            f'<p class="verdict">{html.escape(answer.answer)}</p>',
        ]
        if answer.passages:
            parts.append('<p class="looked">Looked at:</p><ul class="looked-at">')
            parts.extend(_looked_at(h, show_scores) for h in answer.passages)
            parts.append("</ul>")
        else:
            parts.append(
                '<p class="looked">No passage in the index came close to the question.</p>'
            )
    else:
        parts = ['<div class="evidence">']
        parts.extend(
            _card(
                c,
                scores.get(c.chunk_id),
                show_scores,
                (pages or {}).get(c.n, ()),
                (images or {}).get(c.n, ""),
            )
            for c in answer.citations
        )
        if show_scores:
            parts.append(_retrieved(answer.passages))
    parts.append(_footer(answer))
    parts.append("</div>")
    return "".join(parts)


def _card(
    citation: Citation,
    score: float | None,
    show_scores: bool,
    page: Sequence[Hit] = (),
    image: str = "",
) -> str:
    meta = [f'<span class="source">{html.escape(citation.source)}</span>']
    if citation.page is not None:
        meta.append(f'<span class="page">page {citation.page}</span>')
    date = html.escape(citation.date) if citation.date else "undated"
    meta.append(f'<span class="date">{date}</span>')
    if show_scores and score is not None:
        meta.append(f'<span class="score">score {score:.3f}</span>')
    title = f'<div class="title">{html.escape(citation.title)}</div>' if citation.title else ""
    if citation.section:
        title += f'<div class="section">{html.escape(citation.section)}</div>'
    return (
        f'<article class="cite" id="cite-{citation.n}">'
        f'<header><span class="n">[{citation.n}]</span>{"".join(meta)}</header>{title}'
        f'<p class="passage">{highlight(citation.text, citation.quote)}</p>'
        f"{page_text(citation, page)}{page_image(citation, image)}</article>"
    )


def page_text(citation: Citation, page: Sequence[Hit]) -> str:
    """The whole page a passage is on, folded, with the passage marked.

    >>> c = Citation(1, "r.pdf", "b", 10, 16, "Costs.", page=3)
    >>> page_text(c, [Hit("r.pdf", "a", 0, "Intro.", 0, 6), Hit("r.pdf", "b", 0, "Costs.", 10, 16)])
    '<details class="page-text"><summary>Page 3 of r.pdf</summary><p>Intro. <mark class="on-page">Costs.</mark></p></details>'
    """
    if not page:
        return ""
    body = " ".join(
        f'<mark class="on-page">{html.escape(h.text)}</mark>'
        if h.chunk_id == citation.chunk_id
        else html.escape(h.text)
        for h in page
    )
    return (
        f'<details class="page-text"><summary>Page {citation.page} of '
        f"{html.escape(citation.source)}</summary><p>{body}</p></details>"
    )


def page_image(citation: Citation, image: str) -> str:
    """The page a passage is on as printed (``image``, a ``data:image/...`` URI), folded;
    clicking the picture shows it larger, clicking again puts it back (a checkbox the
    picture is the label of, styled in style.css: no script). Any other URI shows nothing.

    >>> c = Citation(2, "r<1>.pdf", "b", 10, 16, "Costs.", page=3)
    >>> page_image(c, "data:image/png;base64,iVBO")
    '<details class="page-image"><summary>Page 3 of r&lt;1&gt;.pdf as printed, the passage marked</summary><input type="checkbox" class="zoom" id="page-zoom-2"><label for="page-zoom-2" class="pdf-zoom" title="Click to enlarge or shrink"><img class="pdf-page" src="data:image/png;base64,iVBO" alt="Page 3 of r&lt;1&gt;.pdf with the cited passage marked"></label></details>'
    >>> page_image(c, "https://example.com/x.png")
    ''
    """
    if not image.startswith("data:image/"):
        return ""
    name = f"Page {citation.page} of {html.escape(citation.source)}"
    zoom = f"page-zoom-{citation.n}"
    return (
        f'<details class="page-image"><summary>{name} as printed, the passage marked</summary>'
        f'<input type="checkbox" class="zoom" id="{zoom}">'
        f'<label for="{zoom}" class="pdf-zoom" title="Click to enlarge or shrink">'
        f'<img class="pdf-page" src="{html.escape(image)}" '
        f'alt="{name} with the cited passage marked"></label></details>'
    )


def _looked_at(hit: Hit, show_scores: bool) -> str:
    score = f' <span class="score">score {hit.score:.3f}</span>' if show_scores else ""
    return (
        f'<li><span class="source">{html.escape(hit.source)}{_page(hit.page)}</span>{score}'
        f'<span class="words">{html.escape(first_words(hit.text))}</span></li>'
    )


def _page(page: int | None) -> str:
    return f", page {page}" if page is not None else ""


def _retrieved(passages: Sequence[Hit]) -> str:
    rows = "".join(
        f"<tr><td>{i}</td><td>{html.escape(h.source)}</td><td>{h.score:.3f}</td></tr>"
        for i, h in enumerate(passages, 1)
    )
    return (
        '<details class="retrieved" open><summary>All passages shown to the model</summary>'
        f"<table><tr><th>#</th><th>file</th><th>score</th></tr>{rows}</table></details>"
    )


def _footer(answer: Answer) -> str:
    t = answer.timings_ms
    bits = [
        f"{label} {_seconds(t[key])}"
        for key, label in (
            ("retrieve", "search"),
            ("first_token", "first word"),
            ("total", "total"),
        )
        if key in t
    ]
    if answer.model:
        bits.append(html.escape(answer.model))
    sure = confidence_text(answer.confidence)
    if sure:
        bits.insert(0, sure)
    return f'<p class="timings">{" · ".join(bits)}</p>' if bits else ""


def confidence_text(confidence: float | None) -> str:
    """The model's confidence as a reader takes it in.

    >>> confidence_text(0.8149), confidence_text(None)
    ('model confidence 81 %', '')
    """
    return "" if confidence is None else f"model confidence {round(confidence * 100)} %"


def _seconds(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def error_html(message: str) -> str:
    return f'<div class="evidence error"><p>{html.escape(message)}</p></div>'


def documents_rows(docs: Sequence[DocumentInfo]) -> list[list[object]]:
    """Rows for the documents table, sorted by file name; a document that states no date
    shows "unknown".

    >>> documents_rows([DocumentInfo("b.pdf", "/b.pdf", 3), DocumentInfo("a.md", "/a.md", 1, date="2020-01-15")])
    [['a.md', '', 1, '2020-01-15', '', ''], ['b.pdf', '', 3, 'unknown', '', '']]
    """
    return [
        [d.source, d.pages or "", d.chunks, d.date or UNKNOWN_DATE, d.title, d.author]
        for d in sorted(docs, key=lambda d: d.source)
    ]
