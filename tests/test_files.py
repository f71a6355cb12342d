"""Real documents (tests/files/, sources and licences in tests/files/SOURCES.md) read as a user's
files would be: a 15-page three-column PDF with running headers, a scanned book page, a saved
web page with its site's boilerplate, a Word file with heading styles."""

from __future__ import annotations

from pathlib import Path

from rag.documents import read_document
from rag.ingest import make_chunks

FILES = Path(__file__).parent / "files"
PDF = FILES / "federal-register-2020-17221.pdf"
SCAN = FILES / "huck-finn-1884-p22-scan.pdf"
PAGE = FILES / "wikimedia-foundation-turkey-2020-01-15.html"
WORD = FILES / "doj-chapter13-trustee-handbook-ch1-2.docx"


def read(path: Path):
    doc = read_document(path, 10**8)
    assert not isinstance(doc, str), doc
    return doc


def test_every_real_file_named_in_sources_is_here():
    sources = (FILES / "SOURCES.md").read_text()
    for path in (PDF, SCAN, PAGE, WORD):
        assert path.is_file() and f"`{path.name}`" in sources


def test_pdf_facts_are_on_their_pages_and_running_headers_are_gone():
    doc = read(PDF)
    assert len(doc.pages) == 15
    assert "Federal Register / Vol. 85" not in doc.text  # the header of pages 2-15
    assert doc.date == "2020-08-06"  # the PDF's creation date
    for fact, page in (
        ("Docket No. FAA–2020–0686", 1),
        ("resulting in 157 fatalities", 2),
        ("$7,650", 6),
        ("Lance T. Gant", 15),
    ):
        assert doc.page_at(doc.text.index(fact)) == page, fact


def test_pdf_lines_are_joined_into_sentences_and_chunks_keep_one_page():
    doc = read(PDF)
    assert "the FAA estimates the average total cost per operator to be $7,650" in " ".join(
        doc.text.split()
    )
    assert "\ufffe" not in doc.text
    chunks = make_chunks(doc, 160, 32)
    for chunk in chunks:
        assert doc.page_at(chunk.start) == doc.page_at(chunk.end - 1) == chunk.page
    assert {c.page for c in chunks} >= {1, 2, 3, 4, 5, 6, 14, 15}


def test_a_real_scanned_page_is_read_by_ocr():
    doc = read(SCAN)
    text = " ".join(doc.text.split())
    assert "the branches wouldn’t scrape our heads" in text
    assert "I fell over a root and made a noise." in text
    assert doc.pages == (0,) and doc.notes == ()


def test_a_saved_news_page_gives_its_article_and_metadata_without_boilerplate():
    doc = read(PAGE)
    assert (
        doc.title == "Access to Wikipedia restored in Turkey after more than two and a half years"
    )
    assert (doc.date, doc.author) == ("2020-01-15", "Wikimedia Foundation")
    assert doc.url.startswith("https://wikimediafoundation.org/news/2020/01/15/")
    assert "26 December 2019" in doc.text and "335,000" in doc.text
    for boilerplate in ("Skip to content", "Terms of use", "powered primarily through donations"):
        assert boilerplate not in doc.text


def test_a_word_file_keeps_its_headings_as_sections():
    doc = read(WORD)
    headings = [h for _, h in doc.sections]
    assert headings[:2] == ["CHAPTER 1 – INTRODUCTION", "A. PURPOSE"]
    assert len(headings) == 11
    fee = doc.text.index("five percent of all payments")
    assert doc.section_at(fee) == "C. STANDING TRUSTEE COMPENSATION AND BENEFITS"
    chunks = make_chunks(doc, 160, 32)
    assert all(c.section for c in chunks if c.start >= doc.sections[0][0])
