"""A PDF citation's page as printed, the passage marked (rag.pdfpage), on the real PDF of
tests/files: the passages are the index's own chunks of it, and what the marks cover is
read back from the page by PDFium, independently of how they were drawn."""

from __future__ import annotations

import base64
import io
import re
import shutil
import unicodedata
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from rag.documents import read_document
from rag.ingest import make_chunks
from rag.pdfpage import (
    MAX_WIDTH,
    PASSAGE_TINT,
    QUOTE_TINT,
    MarkedPage,
    inside,
    mark_page,
    normalized,
    to_points,
)
from rag.records import Answer, Citation
from tests.test_files import PAGE, PDF, SCAN
from ui.render import evidence_html

COST = (
    "Therefore, the FAA estimates the average total cost per operator to be $7,650 "
    "(90 work-hours × $85 per work-hour)."
)


@pytest.fixture(scope="module")
def chunks():
    doc = read_document(PDF, 10**8)
    assert not isinstance(doc, str), doc
    return make_chunks(doc, 160, 32)


def on_page(chunks, page: int):
    return [c for c in chunks if c.page == page]


def read_back(path: Path, page_number: int, marked: MarkedPage) -> tuple[str, str]:
    """What PDFium reads inside the drawn marks of ``marked`` (all, and the strong ones),
    each mark taken from image pixels back to the page's points."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[page_number - 1]
        textpage = page.get_textpage()
        size = (marked.width, marked.height)
        texts = [
            (m.quote, textpage.get_text_bounded(*inside(to_points(page, size, m_box(m)))))
            for m in marked.marks
        ]
        textpage.close()
        page.close()
    finally:
        pdf.close()
    return (
        normalized("\n".join(t for _, t in texts))[0],
        normalized("\n".join(t for strong, t in texts if strong))[0],
    )


def m_box(mark) -> tuple[int, int, int, int]:
    return mark.left, mark.top, mark.right, mark.bottom


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s) > 30]


def test_the_cost_sentence_is_marked_strongly_and_its_passage_lightly_on_page_6(chunks):
    passage = next(c for c in on_page(chunks, 6) if COST in " ".join(c.text.split()))
    marked = mark_page(PDF, 6, passage.text, COST)
    assert marked is not None
    image = Image.open(io.BytesIO(marked.image))
    assert image.format == "PNG" and marked.mime == "image/png"
    assert image.size == (marked.width, marked.height) == (918, 1188)  # US Letter at 1.5x
    assert marked.data_uri.startswith("data:image/png;base64,")
    assert base64.b64decode(marked.data_uri.split(",", 1)[1]) == marked.image
    assert len(marked.image) < 250_000

    everything, strong = read_back(PDF, 6, marked)
    assert normalized(passage.text)[0] in everything
    assert normalized(COST)[0] in strong
    assert "accordingtothemanufacturer" not in strong  # the passage's next sentence: light
    assert any(not m.quote for m in marked.marks) and any(m.quote for m in marked.marks)
    # One mark per line: the sentence is set on four lines of one column.
    assert sum(m.quote for m in marked.marks) == 4
    quoted = [m for m in marked.marks if m.quote]
    assert all(a.bottom <= b.top + 1 for a, b in zip(quoted, quoted[1:]))

    # The marks are tinted like a highlighter: the paper under them takes the tint.
    rgb = image.convert("RGB")
    for m in marked.marks:
        colours = rgb.crop(m_box(m)).getcolors(maxcolors=10**6)
        paper = max(colours)[1]
        tint = QUOTE_TINT if m.quote else PASSAGE_TINT
        assert all(abs(a - b) <= 3 for a, b in zip(paper, tint)), (m, paper)
    assert min(rgb.getpixel((5, 5))) >= 250  # white paper outside them


@pytest.mark.parametrize("page", [1, 2, 6, 15])
def test_every_passage_of_a_page_is_found_and_its_marks_read_back_as_the_passage(chunks, page):
    for chunk in on_page(chunks, page):
        quote = max(sentences(chunk.text) or [""], key=len)
        marked = mark_page(PDF, page, chunk.text, quote)
        assert marked is not None, chunk.text[:80]
        assert marked.width <= MAX_WIDTH
        for m in marked.marks:
            assert 0 <= m.left < m.right <= marked.width and 0 <= m.top < m.bottom <= marked.height
        everything, strong = read_back(PDF, page, marked)
        assert normalized(chunk.text)[0] in everything, chunk.text[:80]
        assert normalized(quote)[0] in strong, quote
        assert normalized(chunk.text)[0] in normalized(marked.text)[0]


def test_a_passage_as_another_reader_extracted_it_is_found_all_the_same(chunks):
    passage = next(c for c in on_page(chunks, 6) if COST in " ".join(c.text.split())).text
    other = unicodedata.normalize("NFD", passage)  # decomposed accents
    other = other.replace("fi", "\ufb01").replace("’", "'")  # a ligature, straight quotes
    other = other.replace("work-hours", "work- hours").replace("–", "-")  # a line-end hyphen
    other = "\n".join(other.split())  # every word on a line of its own
    words = other.split("\n")
    other = "\n".join(words[:40] + ["12"] + words[40:])  # a line number read into the text
    marked = mark_page(PDF, 6, other, COST)
    assert marked is not None
    everything, strong = read_back(PDF, 6, marked)
    assert normalized(passage)[0] in everything and normalized(COST)[0] in strong


def test_a_turned_page_and_a_wide_page_are_marked_where_their_text_is(chunks, tmp_path):
    pdf = pdfium.PdfDocument(str(PDF))
    pdf[5].set_rotation(90)  # shown in landscape, its text read in that orientation
    pdf[1].set_mediabox(0, 0, 1224, 792)  # twice as wide: scaled down to MAX_WIDTH
    pdf[1].set_cropbox(0, 0, 1224, 792)
    changed = tmp_path / "changed.pdf"
    pdf.save(str(changed))
    pdf.close()
    turned = read_document(changed, 10**8)
    assert not isinstance(turned, str)
    passage = next(c for c in make_chunks(turned, 160, 32) if "$7,650" in c.text)
    marked = mark_page(changed, 6, passage.text)
    assert marked is not None and (marked.width, marked.height) == (1188, 918)
    assert max(m.bottom - m.top for m in marked.marks) > 100  # lines run down the image
    assert normalized(passage.text)[0] in read_back(changed, 6, marked)[0]

    passage = on_page(chunks, 2)[1]
    marked = mark_page(changed, 2, passage.text)
    assert marked is not None and (marked.width, marked.height) == (MAX_WIDTH, 777)
    assert normalized(passage.text)[0] in read_back(changed, 2, marked)[0]


def test_pages_are_marked_on_several_threads_while_a_pdf_is_read(chunks):
    from concurrent.futures import ThreadPoolExecutor

    wanted = [(c.page, c.text) for c in (on_page(chunks, 3)[0], on_page(chunks, 14)[0])] * 3
    alone = [mark_page(PDF, page, text) for page, text in wanted[:2]] * 3
    with ThreadPoolExecutor(4) as pool:
        reading = pool.submit(read_document, PDF, 10**8)
        together = list(pool.map(lambda job: mark_page(PDF, *job), wanted))
        assert not isinstance(reading.result(), str)
    assert together == alone and None not in together


def test_without_a_quote_the_whole_passage_is_marked_lightly(chunks):
    chunk = on_page(chunks, 2)[1]
    marked = mark_page(PDF, 2, chunk.text)
    assert marked is not None and marked.marks
    assert not any(m.quote for m in marked.marks)
    assert normalized(chunk.text)[0] in read_back(PDF, 2, marked)[0]


def test_nothing_is_shown_when_the_page_cannot_show_the_passage(chunks, tmp_path):
    on_2 = on_page(chunks, 2)[0].text
    assert mark_page(tmp_path / "gone.pdf", 2, on_2) is None  # no such file
    assert mark_page(PDF, 99, on_2) is None  # no such page
    assert mark_page(PDF, 0, on_2) is None
    assert mark_page(PDF, 6, on_2) is None  # the passage is on another page
    assert mark_page(PDF, 2, "") is None
    assert mark_page(PAGE, 1, on_2) is None  # not a PDF
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\nnot really a PDF")
    assert mark_page(broken, 1, on_2) is None
    # Words of the scanned page (as OCR reads them): the page has no text layer to mark.
    assert mark_page(SCAN, 1, "I fell over a root and made a noise.") is None


def test_an_answer_citing_the_pdf_shows_its_page_as_printed_in_the_evidence(
    settings, embedder, tmp_path
):
    from rag.assistant import Assistant
    from rag.generation import ScriptedGenerator
    from ui.chat import respond

    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(PDF, folder / PDF.name)
    assistant = Assistant(
        settings.with_(retrieval="bm25", min_relevance=0.0),
        embedder=embedder,
        generator=ScriptedGenerator(f"{COST} [1]"),
    )
    assistant.ingest([folder])
    *_, last = respond(
        assistant, "What did the FAA estimate as the average total cost per operator?"
    )
    answer = last.answer
    assert answer is not None and not answer.abstained, last.evidence
    citation = answer.citations[0]
    assert (citation.source, citation.page) == (PDF.name, 6)

    marked = assistant.page_image(citation)
    assert marked is not None
    assert normalized(COST)[0] in read_back(PDF, 6, marked)[1]
    card = last.evidence.split('<article class="cite" id="cite-1">', 1)[1].split("</article>")[0]
    assert '<details class="page-text">' in card and '<details class="page-image">' in card
    assert f'<img class="pdf-page" src="{marked.data_uri}"' in card

    (folder / PDF.name).unlink()  # the file is gone: the page is no longer shown
    assert assistant.page_image(citation) is None
    other = Citation(2, "notes.txt", "c", 0, 5, "Notes.")
    assert assistant.page_image(other) is None


def test_the_page_image_in_a_card_is_escaped_and_only_a_data_uri():
    source = 'r"<script>alert(1)</script>.pdf'
    citation = Citation(1, source, "c", 0, 6, "Costs.", quote="Costs.", page=3)
    answer = Answer("Costs [1].", False, [citation])
    uri = "data:image/png;base64,iVBORw0KGgo="
    html = evidence_html(answer, images={1: uri})
    assert "<script>" not in html and 'r"<' not in html
    assert "Page 3 of r&quot;&lt;script&gt;alert(1)&lt;/script&gt;.pdf as printed" in html
    assert f'<img class="pdf-page" src="{uri}" alt="Page 3 of r&quot;&lt;script&gt;' in html
    assert '<input type="checkbox" class="zoom" id="page-zoom-1">' in html
    assert '<label for="page-zoom-1" class="pdf-zoom"' in html

    sneaky = 'data:image/png;base64,AAAA" onerror="alert(1)'
    html = evidence_html(answer, images={1: sneaky})
    assert 'onerror="alert' not in html and "AAAA&quot; onerror=&quot;alert(1)" in html
    for other in ("https://example.com/page.png", "javascript:alert(1)", ""):
        assert "page-image" not in evidence_html(answer, images={1: other})
    assert "page-image" not in evidence_html(answer)
