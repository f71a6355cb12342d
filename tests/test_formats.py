"""Reading PDF, web pages, Word and EPUB: text, pages, sections, metadata and bad files.

The files here are generated (matplotlib writes the PDFs, python-docx the Word file); the
real files under tests/files/ are read in test_real_files.py.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from rag import formats
from rag.documents import read_document
from rag.ingest import make_chunks

PAGE_FACTS = [
    "The bridge over the Elm river was closed for repairs in March.",
    "Repairs to the bridge cost 4.2 million dollars in total.",
    "The new bridge deck opened to traffic in the autumn.",
]


def write_pdf(path: Path, pages: list[list[str]], header: str = "Riverside Works Report") -> Path:
    """A PDF with a running header, a page-number footer and the given lines on each page."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(path) as pdf:
        for number, lines in enumerate(pages, 1):
            fig = plt.figure(figsize=(8.5, 11))
            fig.text(0.1, 0.95, header, fontsize=10)
            for i, line in enumerate(lines):
                fig.text(0.1, 0.85 - i * 0.03, line, fontsize=11)
            fig.text(0.5, 0.04, f"Page {number} of {len(pages)}", fontsize=9)
            pdf.savefig(fig)
            plt.close(fig)
    return path


def fact_pages(tmp_path: Path) -> Path:
    return write_pdf(
        tmp_path / "report.pdf",
        [[fact, "", f"Section {i} ends here."] for i, fact in enumerate(PAGE_FACTS, 1)],
    )


def test_pdf_text_by_page_without_running_header_and_page_numbers(tmp_path):
    doc = read_document(fact_pages(tmp_path), 10**7)
    assert not isinstance(doc, str), doc
    assert "Riverside Works Report" not in doc.text
    assert "Page 1 of 3" not in doc.text and "Page 3" not in doc.text
    assert len(doc.pages) == 3
    for number, fact in enumerate(PAGE_FACTS, 1):
        assert doc.page_at(doc.text.index(fact)) == number
    assert doc.sha256 and doc.notes == ()


def test_pdf_chunks_carry_their_page(tmp_path):
    doc = read_document(fact_pages(tmp_path), 10**7)
    chunks = make_chunks(doc, 160, 32)
    assert [c.page for c in chunks] == [1, 2, 3]  # page breaks end chunks
    assert all(doc.text[c.start : c.end] == c.text for c in chunks)


def test_pdf_lines_of_a_paragraph_are_joined_and_hyphenation_undone():
    lines = [
        "The committee met on Tuesday to review the plans for the new",
        "bridge and agreed that the work would start in the early spr-",
        "ing of next year.",
        "",
        "A second paragraph.",
    ]
    assert formats._paragraphs(lines) == [
        "The committee met on Tuesday to review the plans for the new bridge and agreed "
        "that the work would start in the early spring of next year.",
        "A second paragraph.",
    ]


def test_repeated_lines_in_the_body_are_kept_only_edges_are_running():
    words = "river bridge deck crane steel road lamp sign tree rail bolt pier arch span beam"
    w = words.split()
    pages = [
        ["Works Report", *w[i : i + 2], "Same words.", "Same words.", *w[i + 2 : i + 5], f"{i}"]
        for i in (0, 5, 10)
    ]
    running = formats._running_lines(pages)
    assert running == {"works report", "#"}
    first = pages[0]
    kept = [ln for j, ln in enumerate(first) if not formats._is_running(ln, j, len(first), running)]
    assert kept == ["river", "bridge", "Same words.", "Same words.", "deck", "crane", "steel"]


def test_a_scanned_page_is_read_by_ocr(tmp_path):
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1700, 2200), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=48)
    draw.text((150, 300), "The harbour wall was rebuilt in 1998.", fill=0, font=font)
    path = tmp_path / "scan.pdf"
    image.save(path, resolution=200)
    doc = read_document(path, 10**7)
    assert not isinstance(doc, str), doc
    assert "harbour wall was rebuilt in 1998" in doc.text
    assert doc.page_at(0) == 1


def test_a_scanned_page_without_ocr_is_skipped_with_the_reason(tmp_path, monkeypatch):
    from PIL import Image

    path = tmp_path / "scan.pdf"
    Image.new("L", (400, 400), 255).save(path)
    monkeypatch.setattr(formats, "ocr_available", lambda: False)
    reason = read_document(path, 10**7)
    assert reason == "no text in the PDF (scanned pages: install tesseract-ocr to read them)"


def test_a_scanned_page_among_text_pages_is_noted_and_the_rest_read(tmp_path, monkeypatch):
    from pypdf import PdfReader, PdfWriter

    text = fact_pages(tmp_path)
    from PIL import Image

    scan = tmp_path / "blank.pdf"
    Image.new("L", (400, 400), 255).save(scan)
    writer = PdfWriter()
    for page in [*PdfReader(text).pages, *PdfReader(scan).pages]:
        writer.add_page(page)
    both = tmp_path / "both.pdf"
    writer.write(both)
    monkeypatch.setattr(formats, "ocr_available", lambda: False)
    doc = read_document(both, 10**7)
    assert not isinstance(doc, str)
    assert doc.notes == ("page 4: no text layer (a scan); install tesseract-ocr to read it",)
    assert PAGE_FACTS[2] in doc.text


def test_encrypted_corrupt_and_empty_pdfs_are_skipped_with_one_reason(tmp_path):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(fact_pages(tmp_path)).pages:
        writer.add_page(page)
    writer.encrypt("secret")
    locked = tmp_path / "locked.pdf"
    writer.write(locked)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\nthis is not really a PDF\n")
    empty = tmp_path / "empty.pdf"
    PdfWriter().write(empty)

    assert read_document(locked, 10**7) == (
        "the PDF is encrypted: save a copy without a password, then ingest that"
    )
    damaged = "not a readable PDF: the file is damaged or has no pages"
    assert read_document(broken, 10**7) == damaged
    assert read_document(empty, 10**7) == damaged


ARTICLE = """<!doctype html><html><head><title>Bridge reopens | Riverside Gazette</title>
<meta name="author" content="Jane Roe">
<meta property="article:published_time" content="2021-03-04T09:00:00Z">
<link rel="canonical" href="https://gazette.example.org/2021/03/bridge-reopens">
</head><body>
<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<div class="ad">Buy one get one free at Mega Mart!</div>
<article><h1>Bridge reopens after eight months</h1>
<p>The bridge over the Elm river reopened on Tuesday after eight months of repairs, the
council said, with a ceremony attended by the mayor and several hundred residents.</p>
<h2>What it cost</h2>
<p>The repairs cost 4.2 million dollars, shared by the state and the city, and came in under
the budget agreed two years ago, according to the council's own figures.</p>
</article>
<section class="comments"><h3>Comments</h3><p>Great news, finally!! - Bob</p></section>
<footer>Copyright 2021 Riverside Gazette. Subscribe for 1 dollar a week.</footer>
</body></html>"""


def test_a_web_page_gives_its_article_headings_and_metadata(tmp_path):
    page = tmp_path / "bridge.html"
    page.write_text(ARTICLE)
    doc = read_document(page, 10**7)
    assert not isinstance(doc, str), doc
    assert "reopened on Tuesday after eight months" in doc.text
    for boilerplate in ("Mega Mart", "Subscribe", "Sport", "Great news"):
        assert boilerplate not in doc.text
    assert (doc.title, doc.date, doc.author) == (
        "Bridge reopens after eight months",
        "2021-03-04",
        "Jane Roe",
    )
    assert doc.url == "https://gazette.example.org/2021/03/bridge-reopens"
    assert doc.section_at(doc.text.index("4.2 million")) == "What it cost"


def test_a_web_page_without_text_is_skipped(tmp_path):
    page = tmp_path / "menu.html"
    page.write_text("<html><body><nav><a href='/'>Home</a></nav></body></html>")
    assert read_document(page, 10**7) == "no article text found in the web page"


def test_a_word_document_keeps_headings_as_sections_and_tables(tmp_path):
    import docx

    document = docx.Document()
    document.core_properties.title = "Bridge works"
    document.core_properties.author = "Works Department"
    document.add_heading("Closure", level=1)
    document.add_paragraph("The bridge closed in March for repairs to its deck.")
    document.add_heading("Costs", level=2)
    document.add_paragraph("Repairs cost 4.2 million dollars.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Item", "Dollars"
    table.cell(1, 0).text, table.cell(1, 1).text = "Deck", "3.1 million"
    path = tmp_path / "works.docx"
    document.save(path)

    doc = read_document(path, 10**7)
    assert not isinstance(doc, str), doc
    assert (doc.title, doc.author) == ("Bridge works", "Works Department")
    assert [heading for _, heading in doc.sections] == ["Closure", "Costs"]
    assert doc.section_at(doc.text.index("4.2 million")) == "Costs"
    assert "Deck | 3.1 million" in doc.text
    chunks = make_chunks(doc, 160, 32)
    assert {c.section for c in chunks} <= {"Closure", "Costs"}


def test_a_docx_that_is_not_a_word_file_is_skipped(tmp_path):
    fake = tmp_path / "fake.docx"
    with zipfile.ZipFile(fake, "w") as z:
        z.writestr("hello.txt", "not a word document")
    reason = read_document(fake, 10**7)
    assert isinstance(reason, str) and reason.startswith("not a Word .docx document")
    (tmp_path / "text.docx").write_text("plain text pretending")
    assert read_document(tmp_path / "text.docx", 10**7).startswith("not a Word .docx document")


def test_an_epub_reads_its_chapters_in_spine_order(tmp_path):
    book = tmp_path / "book.epub"
    chapter = "<html><body><h1>{0}</h1><p>{1}</p></body></html>"
    body = "This chapter has enough words in it to count as the main text of a page, {0}."
    with zipfile.ZipFile(book, "w") as z:
        z.writestr("mimetype", "application/epub+zip")
        z.writestr(
            "META-INF/container.xml",
            '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            '<rootfile full-path="OEBPS/content.opf"/></rootfiles></container>',
        )
        z.writestr(
            "OEBPS/content.opf",
            '<package xmlns="http://www.idpf.org/2007/opf" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><metadata><dc:title>River Tales'
            "</dc:title><dc:creator>A. Writer</dc:creator><dc:date>1911-05-02</dc:date>"
            '</metadata><manifest><item id="b" href="two.xhtml"/><item id="a" href="one.xhtml"/>'
            '</manifest><spine><itemref idref="a"/><itemref idref="b"/></spine></package>',
        )
        z.writestr("OEBPS/one.xhtml", chapter.format("First Chapter", body.format("the first")))
        z.writestr("OEBPS/two.xhtml", chapter.format("Second Chapter", body.format("the second")))
    doc = read_document(book, 10**7)
    assert not isinstance(doc, str), doc
    assert (doc.title, doc.author, doc.date) == ("River Tales", "A. Writer", "1911-05-02")
    assert doc.text.index("the first") < doc.text.index("the second")
    assert doc.section_at(doc.text.index("the second")) == "Second Chapter"


def test_markdown_headings_become_sections_and_chunk_boundaries(tmp_path):
    text = "# Install\n\n" + "Run the installer and wait. " * 20 + "\n\n## Upgrade\n\nRun it again."
    path = tmp_path / "guide.md"
    path.write_text(text)
    doc = read_document(path, 10**7)
    chunks = make_chunks(doc, 160, 32)
    assert chunks[-1].section == "Upgrade" and chunks[-1].text.startswith("## Upgrade")
    assert all(c.section == "Install" for c in chunks[:-1])


def test_a_cited_pdf_passage_comes_with_its_page_number_and_page_text(settings, embedder, tmp_path):
    from rag.assistant import Assistant
    from rag.generation import ScriptedGenerator

    folder = tmp_path / "docs"
    folder.mkdir()
    fact_pages(folder)
    assistant = Assistant(
        settings.with_(retrieval="bm25", min_relevance=0.0),
        embedder=embedder,
        generator=ScriptedGenerator("Repairs to the bridge cost 4.2 million dollars in total [1]."),
    )
    assistant.ingest([folder])
    answer = assistant.ask("How much did the repairs to the bridge cost?")
    assert not answer.abstained, answer.answer
    citation = answer.citations[0]
    assert (citation.source, citation.page) == ("report.pdf", 2)
    page = assistant.page_of(citation)
    assert [h.page for h in page] == [2] and PAGE_FACTS[1] in page[0].text


def test_a_long_pdf_reports_its_pages_and_an_interrupted_ingest_leaves_nothing_half_written(
    settings, embedder, tmp_path
):
    from rag.assistant import Assistant

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "note.txt").write_text("The harbour opened in 1902.")
    words = ["north", "south", "east", "west", "upper", "lower", "inner", "outer"]
    pages = [[f"The {words[p % 8]} gauge read {p} metres on day {p * 3}."] for p in range(24)]
    write_pdf(folder / "long.pdf", pages)
    assistant = Assistant(settings, embedder=embedder)
    assistant.ingest([folder / "note.txt"])
    heard: list[str] = []

    def progress(done: int, total: int, name: str) -> None:
        heard.append(name)
        if name == "long.pdf, page 12 of 24":
            raise KeyboardInterrupt  # what Ctrl-C does in the middle of the PDF

    with pytest.raises(KeyboardInterrupt):
        assistant.ingest([folder], progress=progress)
    assert "long.pdf, page 1 of 24" in heard
    assert [d.source for d in assistant.documents()] == ["note.txt"]  # nothing half-written
    report = assistant.ingest([folder])
    assert report.added == ["long.pdf"] and report.unchanged == ["note.txt"], report
    assert {d.source: d.pages for d in assistant.documents()}["long.pdf"] == 24


def test_margin_line_numbers_of_a_real_manuscript_are_not_read_into_its_text():
    """The paper's text layer numbers every line (PDFium reads "... for creating 183" then
    "functions ..."); read as text those numbers are taken for figures. Other PDFs, whose
    numbers are their content, read as before."""
    paper = Path(__file__).parent.parent / "eval/sets/pdfs/docs/good-enough-practices-in-scientific-computing.pdf"
    text = formats.read_pdf(paper).text
    assert "The syntax for creating functions depends on programming language" in text
    assert "such as Zotero, and should also obtain" in text
    assert not re.search(r"\b(?:creating 183|183 functions)\b", text)
    register = formats.read_pdf(Path(__file__).parent / "files/federal-register-2020-17221.pdf").text
    assert "resulting in 157 fatalities" in register and "2020–17221" in register
