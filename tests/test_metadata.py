"""Title, date and author of real documents, each checked by hand against the file (its meta
tags, PDF Info dictionary, Word core properties, front matter or header lines), and the rules
behind them on small generated files: a date and an author only from the document's own
metadata, a title without a version or author run into it, accents joined."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag import metadata
from rag.cli import cli
from rag.documents import read_document
from rag.prompting import format_passage
from rag.records import Hit
from rag.settings import PROJECT_ROOT

FOLDERS = [
    PROJECT_ROOT / "tests/files",
    PROJECT_ROOT / "eval/sets/pdfs/docs",
    PROJECT_ROOT / "eval/sets/manuals/docs",
    PROJECT_ROOT / "eval/sets/whole/docs",
]
# (title, date, author) per file, as the file states them; "" where it states none.
EXPECTED: dict[str, tuple[str, str, str]] = {
    # tests/files/
    # Word core properties: no title, no author, created 2023-05-15 (the cover's "October 1,
    # 2012" is text, not metadata); no paragraph in the Title style.
    "tests/files/doj-chapter13-trustee-handbook-ch1-2.docx": ("", "2023-05-15", ""),
    # Info: Title and Author empty, CreationDate D:20200806095125Z; page 1 is all in body
    # type (no larger title), so no title.
    "tests/files/federal-register-2020-17221.pdf": ("", "2020-08-06", ""),
    # Info: Title "huck-finn-1884-p22-scan" (the file's own name, written by Pillow),
    # CreationDate D:20261205004542Z; a scan, so no typeset title either.
    "tests/files/huck-finn-1884-p22-scan.pdf": ("", "2026-12-05", ""),
    # og:title, article:published_time 2020-01-15T01:01:01+00:00; no meta author, every
    # rel="author" link names "Wikimedia Foundation".
    "tests/files/wikimedia-foundation-turkey-2020-01-15.html": (
        "Access to Wikipedia restored in Turkey after more than two and a half years",
        "2020-01-15",
        "Wikimedia Foundation",
    ),
    # eval/sets/pdfs/docs/
    "eval/sets/pdfs/docs/federal-register-2020-17221.pdf": ("", "2020-08-06", ""),
    # Info: Title and Author empty, CreationDate D:20170425160538-07'00'; page 1's title is
    # set in 12.7 pt against 8.8 pt text.
    "eval/sets/pdfs/docs/good-enough-practices-in-scientific-computing.pdf": (
        "Good Enough Practices in Scientific Computing",
        "2017-04-25",
        "",
    ),
    # Info: Title "uthash User Guide", Author "Troy D. Hanson", CreationDate 2012-10-09.
    "eval/sets/pdfs/docs/uthash-userguide.pdf": (
        "uthash User Guide",
        "2012-10-09",
        "Troy D. Hanson",
    ),
    # eval/sets/manuals/docs/: Markdown converted from HTML manuals, a "# " title and no
    # metadata (sqlite-wal.md's "3.7.0 (2010-07-21)" is in its body).
    "eval/sets/manuals/docs/git-faq.md": ("gitfaq(7) Manual Page", "", ""),
    "eval/sets/manuals/docs/git-tutorial.md": ("gittutorial(7) Manual Page", "", ""),
    "eval/sets/manuals/docs/nano-faq.md": ("The GNU nano editor FAQ", "", ""),
    "eval/sets/manuals/docs/sqlite-how-to-corrupt.md": (
        "How To Corrupt An SQLite Database File",
        "",
        "",
    ),
    "eval/sets/manuals/docs/sqlite-wal.md": ("Write-Ahead Logging", "", ""),
    "eval/sets/manuals/docs/sqlite-when-to-use.md": ("Appropriate Uses For SQLite", "", ""),
    # eval/sets/whole/docs/
    # Header lines "title: ..." and "author: Allison Kaptur"; no date.
    "eval/sets/whole/docs/500lines-interpreter.md": (
        "A Python Interpreter Written in Python",
        "",
        "Allison Kaptur",
    ),
    "eval/sets/whole/docs/curl-http-scripting.md": (
        "The Art Of Scripting HTTP Requests Using Curl",
        "",
        "",
    ),
    # <meta name="author" content="Clark Cooper, coopercc@netheaven.com">, no date meta (the
    # years are in a copyright comment); the one h1 is "The Expat XML Parser Release 2.5.0".
    "eval/sets/whole/docs/expat-reference.html": ("The Expat XML Parser", "", "Clark Cooper"),
    # Info: Title "nettle.dvi" (the file it was made from), no Author, CreationDate
    # 2013-11-06; page 1: "Nettle Manual" (18.6 pt), "For the Nettle Library version 2.7",
    # "Niels M¨oller".
    "eval/sets/whole/docs/nettle.pdf": ("Nettle Manual", "2013-11-06", ""),
    "eval/sets/whole/docs/node-addons.md": ("C++ addons", "", ""),
    # PEP header: Title, Author (three, with e-mail addresses), Created: 28-Feb-2018.
    "eval/sets/whole/docs/pep-0572.rst": (
        "Assignment Expressions",
        "2018-02-28",
        "Chris Angelico; Tim Peters; Guido van Rossum",
    ),
    # Info: empty, no dates; the cover's 58.6 pt lines (its "March 20th, 2018" is text).
    "eval/sets/whole/docs/performance-gov-discovery.pdf": (
        "Performance.gov Discovery Recommendations",
        "",
        "",
    ),
    # Sphinx pages: no date or author meta tags (the author is in the body's field list),
    # the title's pilcrow is a link to the heading.
    "eval/sets/whole/docs/python-regex-howto.html": ("Regular Expression HOWTO", "", ""),
    "eval/sets/whole/docs/sphinx-todo-tutorial.html": ("Developing a “TODO” extension", "", ""),
    # YAML front matter: title, seven authors as "- name:" items, no date.
    "eval/sets/whole/docs/ten-simple-rules-dockerfiles.md": (
        "Ten Simple Rules for Writing Dockerfiles for Reproducible Data Science",
        "",
        "Daniel Nüst; Vanessa Sochat; Ben Marwick; Stephen J. Eglen; Tim Head; Tony Hirst; "
        "Benjamin D. Evans",
    ),
}


@pytest.fixture(autouse=True)
def the_day_these_were_checked(monkeypatch):
    """Dates after "today" are refused; the table was checked on 2026-12-07."""
    monkeypatch.setattr(metadata, "_today", lambda: dt.date(2026, 12, 7))


def test_the_table_lists_every_real_file():
    present = {
        str(path.relative_to(PROJECT_ROOT))
        for folder in FOLDERS
        if folder.is_dir()
        for path in folder.iterdir()
        if path.is_file() and path.name != "SOURCES.md"
    }
    assert present <= set(EXPECTED), sorted(present - set(EXPECTED))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_file_metadata(name):
    path = PROJECT_ROOT / name
    if not path.is_file():
        pytest.skip(f"{name} is not here")
    doc = read_document(path, 10**8)
    assert not isinstance(doc, str), doc
    assert (doc.title, doc.date, doc.author) == EXPECTED[name]


def test_accents_of_a_latex_pdf_are_joined_in_its_text():
    doc = read_document(PROJECT_ROOT / "eval/sets/whole/docs/nettle.pdf", 10**8)
    assert not isinstance(doc, str)
    assert "Niels Möller" in doc.text and "Michaël" in doc.text
    assert not any(mark in doc.text for mark in "¨´ˆ˜¸˚ˇ˘˙˝¯")
    register = read_document(PROJECT_ROOT / "tests/files/federal-register-2020-17221.pdf", 10**8)
    assert not isinstance(register, str)
    assert "Agência Nacional de Aviação Civil" in register.text  # marks after their letters


# ---------------------------------------------------------------------- the rules


def write_pdf(path: Path, lines: list[tuple[str, int]], info: dict | None = None) -> Path:
    """A one-page PDF of (text, font size) lines, with the given Info entries."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(path, metadata=info or {}) as pdf:
        fig = plt.figure(figsize=(8.5, 11))
        for i, (text, size) in enumerate(lines):
            fig.text(0.1, 0.9 - i * 0.04, text, fontsize=size)
        pdf.savefig(fig)
        plt.close(fig)
    return path


BODY = [(f"Line {n} of the body of this manual, in the body's type.", 10) for n in range(8)]


def test_pdf_title_without_version_and_author_and_date_from_creation(tmp_path):
    path = write_pdf(
        tmp_path / "widget.pdf",
        [("Written by Niels M¨oller and Fran¸cois Roe.", 10), *BODY],
        {
            "Title": "Widget Manual, version 1.2 Jane Roe",
            "Author": "Jane Roe <jane@example.org>",
            "CreationDate": dt.datetime(2021, 3, 4, 9, 0, tzinfo=dt.UTC),
            "ModDate": dt.datetime(2023, 5, 6, 9, 0, tzinfo=dt.UTC),
        },
    )
    doc = read_document(path, 10**7)
    assert not isinstance(doc, str), doc
    assert (doc.title, doc.date, doc.author) == ("Widget Manual", "2021-03-04", "Jane Roe")
    assert "Written by Niels Möller and François Roe." in doc.text


def test_pdf_without_info_takes_its_title_from_the_largest_type(tmp_path):
    path = write_pdf(
        tmp_path / "untitled.pdf", [("Widget Manual", 24), ("For Widget 1.2", 10), *BODY]
    )
    doc = read_document(path, 10**7)
    assert not isinstance(doc, str), doc
    assert doc.title == "Widget Manual"
    same_size = write_pdf(tmp_path / "plain.pdf", BODY)  # nothing set larger: no title
    assert read_document(same_size, 10**7).title == ""


PAGE = """<!doctype html><html><head><title>Widget reference</title>
<!-- Copyright (c) 2000-2017 Widget authors <dev@widget.example> -->
{head}</head><body><article><h1>Widget reference</h1>
<div class="byline"><span class="author">V. Aug</span> 2019-05-01</div>
<p>Version 2.5.0 of the widget library was released on 2017-01-01 and its reference was
updated for it; this page lists every function of the library with what it does.</p>
<p>Each function takes a widget and returns zero on success, or an error code that the
error function turns into a message a person can read.</p>
<p>Copyright 2000 the widget authors. All rights reserved.</p>
</article></body></html>"""


@pytest.mark.parametrize(
    ("head", "date", "author"),
    [
        ("", "", ""),  # no metadata: no date from the text, the comment or the byline
        ('<meta name="author" content="Clark Cooper, coopercc@netheaven.com">', "", "Clark Cooper"),
        ('<meta name="author" content="(V; Aug)">', "", ""),
        (
            '<meta name="dc.date" content="2019-05-01"><meta name="date" content="2017">',
            "2019-05-01",
            "",
        ),
        (
            '<script type="application/ld+json">{"@type": "TechArticle", "dateCreated": '
            '"2018-02-03", "author": {"@type": "Person", "name": "Jane Roe"}}</script>',
            "2018-02-03",
            "Jane Roe",
        ),
        (
            '<meta property="article:modified_time" content="2020-06-07T10:00:00Z">',
            "2020-06-07",
            "",
        ),
    ],
)
def test_web_page_date_and_author_only_from_its_metadata(tmp_path, head, date, author):
    path = tmp_path / "widget.html"
    path.write_text(PAGE.format(head=head))
    doc = read_document(path, 10**7)
    assert not isinstance(doc, str), doc
    assert (doc.title, doc.date, doc.author) == ("Widget reference", date, author)


def test_authors_linked_with_rel_author_count_only_when_they_agree():
    links = '<a rel="author" href="/a">Jane Roe</a> <a rel="author" href="/b">John Doe</a>'
    assert metadata.html_metadata(f"<html><body>{links}</body></html>") == ("", "")
    same = '<a rel="author" href="/a">Jane Roe</a> <a rel="author" href="/a">Jane Roe</a>'
    assert metadata.html_metadata(f"<html><body>{same}</body></html>") == ("", "Jane Roe")


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("Widget Guide\nCopyright 2000-2017 the widget authors\n\nText.", ""),
        ("Widget Guide\nVersion 2.5.0\n\nReleased 2017-01-01 to everyone.", ""),
        ("Widget Guide\n\n" + "A line of text.\n" * 8 + "2020-01-01\n", ""),  # not at the top
        ("Widget Guide\nPublished: March 4, 2021\n\nText.", "2021-03-04"),
        ("Widget Guide\n2021-03-04\n\nText.", "2021-03-04"),
    ],
)
def test_text_date_only_from_a_dateline_at_the_top(tmp_path, text, date):
    path = tmp_path / "guide.txt"
    path.write_text(text)
    doc = read_document(path, 10**7)
    assert not isinstance(doc, str)
    assert (doc.title, doc.date) == ("Widget Guide", date)


def test_text_is_unicode_nfc(tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("Niels Mo\u0308ller wrote it.")
    doc = read_document(path, 10**7)
    assert not isinstance(doc, str)
    assert doc.text == "Niels Möller wrote it."


def test_word_placeholder_author_is_dropped_and_created_is_the_date(tmp_path):
    import docx

    document = docx.Document()  # python-docx's template names "python-docx" as author
    document.core_properties.created = dt.datetime(2022, 1, 18, 9, 0)
    document.core_properties.modified = dt.datetime(2024, 2, 3, 9, 0)
    document.add_paragraph("The bridge closed in March for repairs to its deck.")
    document.save(tmp_path / "works.docx")
    doc = read_document(tmp_path / "works.docx", 10**7)
    assert not isinstance(doc, str), doc
    assert (doc.title, doc.date, doc.author) == ("", "2022-01-18", "")


def test_epub_year_alone_is_no_date(tmp_path):
    book = tmp_path / "book.epub"
    with zipfile.ZipFile(book, "w") as z:
        z.writestr(
            "META-INF/container.xml",
            '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            '<rootfile full-path="content.opf"/></rootfiles></container>',
        )
        z.writestr(
            "content.opf",
            '<package xmlns="http://www.idpf.org/2007/opf" xmlns:dc="http://purl.org/dc/elements/'
            '1.1/"><metadata><dc:title>River Tales, Release 2.0</dc:title><dc:creator>A. '
            "Writer</dc:creator><dc:creator>B. Writer</dc:creator><dc:date>1911</dc:date>"
            '</metadata><manifest><item id="a" href="one.xhtml"/></manifest><spine>'
            '<itemref idref="a"/></spine></package>',
        )
        z.writestr("one.xhtml", "<html><body><p>Once upon a time by the river.</p></body></html>")
    doc = read_document(book, 10**7)
    assert not isinstance(doc, str), doc
    assert (doc.title, doc.date, doc.author) == ("River Tales", "", "A. Writer; B. Writer")


def test_unknown_date_is_empty_in_records_and_json_and_shown_as_unknown(
    monkeypatch, tmp_path, embedder
):
    import rag.retrieval

    monkeypatch.setattr(rag.retrieval, "embedder_for", lambda *a, **k: embedder)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "dated.txt").write_text("Bridge reopens\n20220118\n\nThe bridge reopened today.")
    (folder / "undated.txt").write_text("Bridge manual\nCopyright 2000\n\nOpen the bridge.")
    assert CliRunner().invoke(cli, ["ingest", str(folder)]).exit_code == 0
    listed = {
        d["source"]: d for d in json.loads(CliRunner().invoke(cli, ["docs", "--json"]).output)
    }
    assert (listed["dated.txt"]["date"], listed["undated.txt"]["date"]) == ("2022-01-18", "")
    lines = CliRunner().invoke(cli, ["docs"]).output.splitlines()
    assert any("2022-01-18  Bridge reopens" in line for line in lines)
    assert any("unknown     Bridge manual" in line for line in lines)
    undated = Hit("undated.txt", "c", 1.0, "Open the bridge.", 0, 16)
    assert format_passage("[$n]$dated: $text", 1, undated) == "[1]: Open the bridge."
