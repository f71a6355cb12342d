"""Text out of PDF, web pages, Word and EPUB files, with pages, headings and metadata.

Each reader turns one file into ``Extracted``: plain text as it will be chunked, shown and
cited (in Unicode NFC), the character offsets where its pages and sections begin, and the
title, date, author and URL the file itself states, cleaned by ``rag.metadata`` (a date and
an author only from the file's metadata, never guessed from its text). A file that cannot
be used raises ``Unreadable`` with a one-line reason; nothing here writes anything.

- PDF (pypdfium2, PDFium's own text layer): text per page in reading order, lines of a
  paragraph joined and words split by a line-end hyphen rejoined, running headers, footers
  and page numbers removed (lines that repeat at the top or bottom of most pages), the
  spacing accents of LaTeX PDFs joined to their letters ("M¨oller" is "Möller"), the
  document outline as sections; a page without a text layer is read by OCR when Tesseract
  is installed, else skipped with that reason in ``notes``. Title and author from the
  Info dictionary, the date from its CreationDate (when the PDF was made; ModDate, a later
  save or stamp, only when that is missing); without a usable Title, the first page's
  lines in the largest type are its title.
- Web pages (trafilatura): the article's main text without navigation, adverts and comments,
  its headings as sections, the title trafilatura finds, and the date and author the page
  declares in its meta tags and JSON-LD.
- Word .docx (python-docx): paragraphs and tables in order, Heading/Title styles as sections.
- EPUB: the chapters in reading order (an EPUB is a zip of XHTML pages), headings as sections.
"""

from __future__ import annotations

import io
import re
import shutil
import statistics
import subprocess
import threading
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from .metadata import clean_author, clean_date, clean_text, clean_title, html_metadata

# PDFium is not thread-safe; files are read on several threads during ingest.
_PDFIUM = threading.Lock()
T = TypeVar("T")
OCR_DPI = 300
# A page with fewer characters of text than this is treated as scanned (an image of text).
SCANNED_CHARS = 16
# Lines at the top and bottom of pages that are checked for running headers and footers.
_EDGE_LINES = 3

# A first page's title is set in type at least this much larger than its body text.
TITLE_TYPE_RATIO = 1.25
TITLE_MAX_CHARS = 150

PageProgress = Callable[[int, int], None]  # (pages done, pages total)


class Unreadable(Exception):
    """A file that cannot be read; the message is the one-line reason shown to the user."""


class Interrupted(Exception):
    """Raised by a page-progress callback to abandon a file (the run is being stopped)."""


@dataclass
class Extracted:
    """A file's text with where its pages and sections begin (character offsets)."""

    text: str = ""
    pages: list[int] = field(default_factory=list)  # offset where page i + 1 begins
    sections: list[tuple[int, str]] = field(default_factory=list)  # (offset, heading)
    title: str = ""
    date: str = ""
    author: str = ""
    url: str = ""
    notes: list[str] = field(default_factory=list)  # parts left out, and why

    def add(self, block: str, heading: bool = False) -> None:
        """Append a paragraph (or a heading, which opens a section) to the text."""
        block = unicodedata.normalize("NFC", block.strip())
        if not block:
            return
        if self.text:
            self.text += "\n\n"
        if heading:
            self.sections.append((len(self.text), _one_line(block)))
        self.text += block

    def new_page(self) -> None:
        self.pages.append(len(self.text) + (2 if self.text else 0))


# ---------------------------------------------------------------------------------- PDF


def read_pdf(path: Path, progress: PageProgress | None = None) -> Extracted:
    """A PDF's text page by page; see the module docstring."""
    import pypdfium2 as pdfium

    with _PDFIUM:
        try:
            pdf = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError:
            # PDFium's own error code can be left over from an earlier file: the reason is
            # read from the file instead.
            if b"/Encrypt" in path.read_bytes():
                raise Unreadable(
                    "the PDF is encrypted: save a copy without a password, then ingest that"
                ) from None
            raise Unreadable("not a readable PDF: the file is damaged or has no pages") from None
    try:
        with _PDFIUM:
            count = len(pdf)
            meta = _pdf_metadata(pdf)
            outline = _outline(pdf)
            typeset_title = _closed(pdf, 0, _title_by_type) if count else ""
        if count == 0:
            raise Unreadable("the PDF has no pages")
        pages: list[list[str]] = []
        scanned: list[int] = []
        for i in range(count):
            with _PDFIUM:
                text = _closed(pdf, i, lambda textpage: textpage.get_text_range())
            if len(text.strip()) < SCANNED_CHARS:
                scanned.append(i)
                text = ""
            pages.append(_lines(text))
            if progress:
                progress(i + 1, count)
        author = clean_author(meta.get("Author", ""))
        out = Extracted(
            title=clean_title(meta.get("Title", ""), author, path.stem)
            or clean_title(typeset_title, author),
            author=author,
            date=_pdf_date(meta.get("CreationDate", "")) or _pdf_date(meta.get("ModDate", "")),
        )
        ocr = ocr_available()
        for i in scanned:
            if ocr:
                pages[i] = _lines(_ocr_page(pdf, i))
                if not pages[i]:
                    out.notes.append(f"page {i + 1}: no text found by OCR")
            else:
                out.notes.append(
                    f"page {i + 1}: no text layer (a scan); install tesseract-ocr to read it"
                )
        pages = [_without_line_numbers(lines) for lines in pages]
        running = _running_lines(pages)
        if all(_is_running(ln, j, len(p), running) for p in pages for j, ln in enumerate(p) if ln):
            running = set()  # every page the same (a form, a slide master): nothing is a header
        for i, lines in enumerate(pages):
            out.new_page()
            for title in outline.get(i, []):
                out.sections.append((out.pages[-1], title))
            kept = [
                line
                for j, line in enumerate(lines)
                if not _is_running(line, j, len(lines), running)
            ]
            for paragraph in _paragraphs(kept):
                out.add(paragraph)
    finally:
        with _PDFIUM:
            pdf.close()
    if not out.text.strip():
        raise Unreadable(
            "no text in the PDF"
            + ("" if ocr_available() else " (scanned pages: install tesseract-ocr to read them)")
        )
    return out


def _closed(pdf: Any, index: int, read: Callable[[Any], T]) -> T:
    """``read`` of page ``index``'s text page, both closed before returning. PDFium is not
    thread-safe: every call into it, freeing included, happens under ``_PDFIUM`` (the
    caller holds it), never later from a garbage collector on another thread."""
    page = pdf[index]
    textpage = page.get_textpage()
    try:
        return read(textpage)
    finally:
        textpage.close()
        page.close()


def _pdf_metadata(pdf: Any) -> dict[str, str]:
    try:
        return {k: str(v).strip() for k, v in pdf.get_metadata_dict(skip_empty=True).items()}
    except Exception:  # a broken Info dictionary is not worth losing the text for
        return {}


def _outline(pdf: Any) -> dict[int, list[str]]:
    """Page index -> headings of the document outline (bookmarks) that start on it."""
    found: dict[int, list[str]] = {}
    try:
        for item in pdf.get_toc():
            if item.page_index is not None and item.title.strip():
                found.setdefault(item.page_index, []).append(_one_line(item.title))
    except Exception:  # an outline that does not parse: no sections, the text still counts
        return {}
    return found


def _pdf_date(value: str) -> str:
    """ISO date from a PDF date string.

    >>> _pdf_date("D:20220118093000+01'00'"), _pdf_date("garbage"), _pdf_date("D:20221340")
    ('2022-01-18', '', '')
    """
    return clean_date(value) if re.match(r"(?:D:)?\d{8}", value.strip()) else ""


def _title_by_type(textpage: Any) -> str:
    """The title a first page shows: its first lines in the largest type, when that type is
    at least ``TITLE_TYPE_RATIO`` times the size of most of the page's other letters (so a
    page all in one size, or a scan, has none). Sizes are the heights of the characters'
    boxes, which include any scaling of the text."""
    import pypdfium2.raw as pdfium_c

    lines: list[tuple[str, Counter[float]]] = []  # a line and the sizes of its letters
    text: list[str] = []
    sizes: Counter[float] = Counter()
    count = textpage.count_chars()
    for i in range(count + 1):
        code = pdfium_c.FPDFText_GetUnicode(textpage.raw, i) if i < count else 10
        char = chr(code) if code else " "
        if char == "\n":  # a line ends (PDFium gives "\r\n"), or the page does
            if sizes:
                lines.append((" ".join("".join(text).split()), sizes))
            text, sizes = [], Counter()
        elif char != "\r":
            text.append(char)
            if char.isalpha():
                _, bottom, _, top = textpage.get_charbox(i, loose=True)
                sizes[round(top - bottom, 1)] += 1
    typed = [(line, sizes.most_common(1)[0][0]) for line, sizes in lines]
    worded = [i for i, (line, _) in enumerate(typed) if sum(c.isalpha() for c in line) >= 3]
    if not worded:
        return ""
    largest = max(typed[i][1] for i in worded)
    start = next(i for i in worded if typed[i][1] == largest)
    end = start
    while end < len(typed) and abs(typed[end][1] - largest) <= 0.05 * largest:
        end += 1
    others: Counter[float] = Counter()
    for _, sizes in lines[:start] + lines[end:]:
        others.update(sizes)
    if not others or largest < TITLE_TYPE_RATIO * others.most_common(1)[0][0]:
        return ""
    title = clean_text(" ".join(line for line, _ in typed[start:end]))
    return title if len(title) <= TITLE_MAX_CHARS else ""


def _lines(text: str) -> list[str]:
    """A page's lines, spaces collapsed, accents joined (``rag.metadata.clean_text``, which
    reads the whole page to tell which side of its letter a mark is on); PDFium's mark for a hyphen at a line end (U+FFFE) becomes a hyphen again.

    >>> _lines("Niels M\\u00a8oller\\r\\nwrote  it")
    ['Niels Möller', 'wrote it']
    """
    text = text.replace("\ufffe", "-").replace("\r\n", "\n").replace("\r", "\n")
    return [" ".join(line.split()) for line in clean_text(text).split("\n")]


# A number opening or closing a line: a line number in the margin of a manuscript, a
# legal text or a numbered listing, which PDFium reads into the line.
_LEADING_NUMBER = re.compile(r"^(\d{1,5})(?:\s+|$)")
_TRAILING_NUMBER = re.compile(r"(?:^|\s+)(\d{1,5})$")
LINE_NUMBERED_MIN = 8  # numbered lines a page needs before its numbers count as line numbers


def _without_line_numbers(lines: list[str]) -> list[str]:
    """A page's lines without the line numbers printed in its margin: numbers that open (or
    close) most of the page's lines and count up one by one. Read into the text they would
    be taken for figures ("a function should be at most 727 lines long").

    >>> _without_line_numbers([f"{n} line {n} of the text" for n in range(40, 50)])[:2]
    ['line 40 of the text', 'line 41 of the text']
    >>> _without_line_numbers([f"Pump {n} runs {n * 7} hours" for n in range(1, 10)])[:1]
    ['Pump 1 runs 7 hours']
    """
    for pattern in (_LEADING_NUMBER, _TRAILING_NUMBER):
        found = [
            (i, int(m.group(1))) for i, line in enumerate(lines) if (m := pattern.search(line))
        ]
        filled = sum(1 for line in lines if line)
        if len(found) < max(LINE_NUMBERED_MIN, 0.6 * filled):
            continue
        steps = sum(1 for (_, a), (_, b) in zip(found, found[1:]) if b == a + 1)
        if steps >= 0.8 * (len(found) - 1):
            numbered = {i for i, _ in found}
            lines = [
                pattern.sub("", line, count=1).strip() if i in numbered else line
                for i, line in enumerate(lines)
            ]
    return lines


def _shape(line: str) -> str:
    """A line with its numbers blanked, so "Page 3 of 9" and "Page 4 of 9" repeat, and a
    page number at either end dropped, as books print it on the outer edge.

    >>> _shape("Page 3 of 12"), _shape("Annual Report 2021 | 7"), _shape("48 Annual Report 2021")
    ('page # of', 'annual report # |', 'annual report')
    """
    shape = re.sub(r"\d+", "#", line.lower()).strip()
    return re.sub(r"^#\s+|\s+#$", "", shape) if shape != "#" else shape


def _running_lines(pages: list[list[str]]) -> set[str]:
    """Shapes of lines that open or close at least half of the pages (and two or more):
    running headers and footers, whatever words they use."""
    texts = [[line for line in lines if line] for lines in pages]
    texts = [t for t in texts if t]
    if len(texts) < 2:
        return set()
    counts: Counter[str] = Counter()
    for lines in texts:
        edges = lines[:_EDGE_LINES] + lines[-_EDGE_LINES:]
        counts.update({_shape(line) for line in edges})
    need = max(2, (len(texts) + 1) // 2)
    return {shape for shape, n in counts.items() if n >= need and shape}


def _is_running(line: str, index: int, total: int, running: set[str]) -> bool:
    """A header, footer or bare page number (``running`` from ``_running_lines``)."""
    if index >= _EDGE_LINES and index < total - _EDGE_LINES:
        return False
    shape = _shape(line)
    return shape in running or bool(re.fullmatch(r"[-–— ]*(?:page )?#[-–— ]*|[ivxlc]+", shape))


def _paragraphs(lines: list[str]) -> list[str]:
    """Lines of a page joined into paragraphs: a blank line, or a short line that ends a
    sentence, ends one; a word split by a hyphen at a line end is rejoined.

    >>> _paragraphs(["The bridge was clo-", "sed on Monday.", "", "New part here."])
    ['The bridge was closed on Monday.', 'New part here.']
    """
    widths = [len(line) for line in lines if line]
    if not widths:
        return []
    full = statistics.median(widths)
    out: list[str] = []
    current = ""
    for line in lines:
        if not line:
            if current:
                out.append(current)
            current = ""
            continue
        if (
            current.endswith("-")
            and len(current) > 1
            and current[-2].isalpha()
            and line[:1].islower()
        ):
            current = current[:-1] + line
        else:
            current = f"{current} {line}" if current else line
        if len(line) < 0.75 * full and line.endswith((".", "!", "?", ":", '"', "”")):
            out.append(current)
            current = ""
    if current:
        out.append(current)
    return out


def ocr_available() -> bool:
    return shutil.which("tesseract") is not None


def _ocr_page(pdf: Any, index: int) -> str:
    """The text of a scanned page, rendered at ``OCR_DPI`` and read by Tesseract."""
    with _PDFIUM:  # rendered, copied out of PDFium's buffer and every object closed
        page = pdf[index]
        bitmap = page.render(scale=OCR_DPI / 72, grayscale=True)
        image = bitmap.to_pil().copy()
        bitmap.close()
        page.close()
    png = io.BytesIO()
    image.save(png, format="PNG")
    try:
        done = subprocess.run(
            ["tesseract", "-", "-", "-l", "eng", "--dpi", str(OCR_DPI)],
            input=png.getvalue(),
            capture_output=True,
            timeout=300,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else ""


# ---------------------------------------------------------------------------- web pages


def read_html(raw: bytes | str, url: str = "") -> Extracted:
    """A saved web page's main text, headings and metadata (trafilatura)."""
    import trafilatura
    from lxml import etree

    def extract(recall: bool) -> str | None:
        return trafilatura.extract(
            raw,
            url=url or None,
            output_format="xml",
            with_metadata=True,
            include_comments=False,
            favor_recall=recall,
            # The date is read from the page's own metadata (``html_metadata``), not by
            # htmldate's search of the page's text; its quick mode costs least.
            date_extraction_params={"extensive_search": False, "original_date": True},
        )

    # Not shaped like an article: keep more of the page rather than nothing.
    xml = extract(recall=False) or extract(recall=True)
    if xml is None:
        raise Unreadable("no article text found in the web page")
    root = etree.fromstring(xml.encode("utf-8"))
    try:
        date, author = html_metadata(raw)
    except Exception:  # metadata that does not parse is not worth losing the page's text for
        date, author = "", ""
    out = Extracted(
        title=clean_title(root.get("title") or "", author),
        date=date,
        author=author,
        url=root.get("url") or url,
    )
    main = root.find("main")
    for element in main if main is not None else []:
        _add_xml_block(out, element)
    if not out.text.strip():
        raise Unreadable("no article text found in the web page")
    return out


def _add_xml_block(out: Extracted, element: Any) -> None:
    """One block of trafilatura's XML: a heading, paragraph, list, table or quote."""
    tag = element.tag
    if tag == "head":
        out.add(_text_of(element), heading=True)
    elif tag == "list":
        out.add("\n".join(f"- {_text_of(item)}" for item in element if item.tag == "item"))
    elif tag == "table":
        rows = [" | ".join(_text_of(cell) for cell in row) for row in element if row.tag == "row"]
        out.add("\n".join(rows))
    elif tag in ("div", "quote") and len(element):
        for child in element:
            _add_xml_block(out, child)
    else:
        out.add(_text_of(element))


def _text_of(element: Any) -> str:
    return " ".join("".join(element.itertext()).split())


# ---------------------------------------------------------------------------------- Word


def read_docx(path: Path) -> Extracted:
    """A .docx's paragraphs and tables in document order; Heading and Title styles open
    sections."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise Unreadable(
            f"not a Word .docx document ({_one_line(str(exc)) or 'no document part'})"
        ) from None
    props = document.core_properties
    author = clean_author(props.author or "")
    out = Extracted(title=clean_title(props.title or "", author, path.stem), author=author)
    # When it was written; when it was last saved only if that is not recorded.
    dates = (clean_date(w.date().isoformat()) for w in (props.created, props.modified) if w)
    out.date = next((d for d in dates if d), "")
    for block in document.iter_inner_content():
        if isinstance(block, docx.table.Table):
            rows = [" | ".join(_one_line(cell.text) for cell in row.cells) for row in block.rows]
            out.add("\n".join(rows))
            continue
        style = (block.style.name if block.style is not None else "") or ""
        heading = style.startswith(("Heading", "Title"))
        out.add(block.text, heading=heading)
        if style == "Title" and not out.title:
            out.title = clean_title(block.text, author)
    if not out.text.strip():
        raise Unreadable("the Word document has no text")
    return out


# ---------------------------------------------------------------------------------- EPUB


def read_epub(path: Path) -> Extracted:
    """An EPUB's chapters in reading order (its spine)."""
    from lxml import etree, html

    try:
        with zipfile.ZipFile(path) as book:
            container = etree.fromstring(book.read("META-INF/container.xml"))
            opf_path = container.find(".//{*}rootfile").get("full-path")
            opf = etree.fromstring(book.read(opf_path))
            base = PurePosixPath(opf_path).parent
            items = {i.get("id"): i.get("href") for i in opf.iterfind(".//{*}manifest/{*}item")}
            spine = [items[r.get("idref")] for r in opf.iterfind(".//{*}spine/{*}itemref")]
            author = clean_author(_dc(opf, "creator"))
            out = Extracted(
                title=clean_title(next(iter(_dc(opf, "title")), ""), author),
                author=author,
                date=next((d for v in _dc(opf, "date") if (d := clean_date(v))), ""),
            )
            for href in spine:
                try:
                    chapter = html.fromstring(book.read(str(base / href)))
                except (KeyError, etree.ParserError):
                    continue  # a missing or empty file: nothing to read
                for tag, text in _xhtml_blocks(chapter):
                    out.add(text, heading=tag in _HEADINGS)
    except (zipfile.BadZipFile, KeyError, AttributeError, etree.XMLSyntaxError):
        raise Unreadable("not a readable EPUB (its zip or package file is damaged)") from None
    if not out.text.strip():
        raise Unreadable("the EPUB has no text")
    return out


_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCKS = _HEADINGS | {"p", "li", "pre", "blockquote", "dt", "dd", "tr", "figcaption"}


def _xhtml_blocks(root: Any) -> list[tuple[str, str]]:
    """(tag, text) of the innermost headings, paragraphs, list items and table rows of a
    book's page, in order. A book's pages are all text, so nothing is dropped as boilerplate."""
    out = []
    for element in root.iter(*_BLOCKS):
        if any(child.tag in _BLOCKS for child in element.iterdescendants()):
            continue  # its own blocks are read instead
        if element.tag == "tr":
            text = " | ".join(_text_of(cell) for cell in element if cell.tag in ("td", "th"))
        else:
            text = _text_of(element)
        out.append((element.tag, text))
    return out


def _dc(opf: Any, name: str) -> list[str]:
    """The values of a Dublin Core element of an EPUB's package file."""
    found = opf.iterfind(f".//{{http://purl.org/dc/elements/1.1/}}{name}")
    return [text for element in found if (text := _one_line(element.text or ""))]


# ------------------------------------------------------------------------ plain text


_MD_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)
_FENCE = re.compile(r"^(```|~~~)", re.M)
_RST_UNDERLINE = re.compile(r"^([^\n]*\S[^\n]*)\n([=\-~^\"'`#*+:.])\2{2,}[ \t]*$", re.M)


def text_sections(text: str, suffix: str) -> list[tuple[int, str]]:
    """Headings of a Markdown or reStructuredText file, as (offset, heading).

    >>> text_sections("# Intro\\nHi.\\n```\\n# not a heading\\n```\\n## Use\\nRun it.", ".md")
    [(0, 'Intro'), (36, 'Use')]
    >>> text_sections("Setup\\n=====\\nSteps.\\n\\nNotes\\n-----\\n", ".rst")
    [(0, 'Setup'), (20, 'Notes')]
    """
    if suffix in (".md", ".markdown"):
        fenced = _fenced_ranges(text)
        return [
            (m.start(), m.group(2).strip())
            for m in _MD_HEADING.finditer(text)
            if not any(a <= m.start() < b for a, b in fenced)
        ]
    if suffix == ".rst":
        return [
            (m.start(1), m.group(1).strip())
            for m in _RST_UNDERLINE.finditer(text)
            if len(m.group(0).splitlines()[1].rstrip()) >= len(m.group(1).strip())
        ]
    return []


def _fenced_ranges(text: str) -> list[tuple[int, int]]:
    marks = [m.start() for m in _FENCE.finditer(text)]
    return list(zip(marks[::2], marks[1::2]))


def _one_line(text: str) -> str:
    return " ".join(text.split())
