"""A PDF page as printed, with a cited passage marked on it.

``mark_page(path, page, passage, quote)`` renders the page with PDFium and tints a box over
each line's run of the passage's characters as a highlighter would: the supporting sentence
(``quote``) strongly, the rest of the passage lightly. The passage is found in PDFium's own
text of the page, compared in a normalised form (``normalized``), because the indexed text
was rebuilt from it: lines joined, words split at a line end rejoined, accents joined, line
numbers and running headers dropped, Unicode NFC. PDFium is called only under the lock the
PDF reader holds (``rag.formats._PDFIUM``): it is not thread-safe.

Nothing here raises for a page that cannot be shown: a missing or unreadable file, a page
out of range, or a passage that is not on the page (a scan has no text to find it in) give
None, and the evidence panel shows the text only.
"""

from __future__ import annotations

import base64
import difflib
import io
import unicodedata
from collections.abc import Iterator, Sequence
from ctypes import c_double, c_int
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .formats import _PDFIUM

SCALE = 1.5  # PDF points to image pixels: 918 px for a US Letter page
MAX_WIDTH = 1200  # wider pages are scaled down to this many pixels
COLOURS = 24  # of the page in the PNG: enough for text and rules, a photo is posterised
# A highlighter's colours, multiplied into the page's (white paper takes them, ink stays).
QUOTE_TINT = (253, 214, 60)  # the supporting sentence
PASSAGE_TINT = (254, 236, 150)  # the rest of the passage
# A passage is taken as found when this share of its characters is matched in order (line
# numbers and a running header between its lines are left out of the indexed text).
FOUND_SHARE = 0.9
MIN_BLOCK = 4  # shorter matching runs of characters are chance, not the passage
ANCHOR = 12  # characters of the passage that, found on the page, show where to compare

# Characters extraction may have changed or dropped: a dotless i under a joined accent,
# curly quotes, and every hyphen and dash (a hyphen at a line end is dropped when a word is
# rejoined, PDFium writes it as U+FFFE, and another reader may turn one dash into another).
_SAME = str.maketrans({"ı": "i", "ȷ": "j", "‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"'})
_DROPPED = {"\ufffe"}
# Dashes, accents (combining, or spacing as a PDF draws them beside their letter: the
# symbols ¨ ´ ¸ and the spacing modifier letters ˆ ˜ ˚ of U+02B0-U+02FF), and control and
# format characters (PDFium marks some hyphens at a line end as U+0002; a soft hyphen).
_IGNORED = {"Pd", "Mn", "Sk", "Cc", "Cf"}
_MODIFIERS = range(0x2B0, 0x300)


@dataclass(frozen=True)
class Mark:
    """A box drawn on the page image, in image pixels, and the text PDFium reads in it."""

    left: int
    top: int
    right: int
    bottom: int
    quote: bool  # over the supporting sentence (drawn strongly), else the rest of the passage
    text: str


@dataclass(frozen=True)
class MarkedPage:
    """A rendered page with the passage marked: the image file and what was drawn on it."""

    image: bytes
    mime: str
    width: int
    height: int
    marks: tuple[Mark, ...]

    @property
    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.image).decode('ascii')}"

    @property
    def text(self) -> str:
        """What PDFium reads inside the marks, line by line."""
        return "\n".join(m.text for m in self.marks)


def normalized(text: str) -> tuple[str, list[int]]:
    """``text`` as it is compared: NFKD without accents, case-folded, with neither
    whitespace nor hyphens and dashes, and for each character kept the index in ``text`` it
    came from.

    >>> normalized("Of- fice ﬁle, M¨oller")
    ('officefile,moller', [0, 1, 4, 5, 6, 7, 9, 9, 10, 11, 12, 14, 16, 17, 18, 19, 20])
    """
    out: list[str] = []
    origin: list[int] = []
    for i, char in enumerate(text):
        if char in _DROPPED or ord(char) in _MODIFIERS or unicodedata.category(char) in _IGNORED:
            continue
        for part in unicodedata.normalize("NFKD", char.translate(_SAME)).casefold():
            if part.isspace() or unicodedata.category(part) in _IGNORED:
                continue
            out.append(part)
            origin.append(i)
    return "".join(out), origin


def locate(page: str, passage: str) -> list[int | None] | None:
    """Where each character of ``passage`` is in ``page``, both ``normalized``: an index
    into ``page`` or None for a character not found there; None when the passage is not on
    the page (fewer than ``FOUND_SHARE`` of its characters match in order).

    Where the passage is not on the page as it is, the comparison is made near where one
    of its pieces (``ANCHOR`` characters or an eighth of it) is, within a passage's length
    either side, so that it takes time in proportion to the passage, not the page.

    >>> locate("abcdef", "cde"), locate("abcdef", "xyz")
    ([2, 3, 4], None)
    >>> where = locate("intro:thebridge12wasclosedonmonday.next", "thebridgewasclosedonmonday.")
    >>> where[:3], where[8:11]  # "12", a line number, is passed over
    ([6, 7, 8], [14, 17, 18])
    """
    if not passage:
        return None
    at = page.find(passage)
    if at >= 0:
        return list(range(at, at + len(passage)))
    size = max(ANCHOR, len(passage) // 8)
    pieces = ((page.find(passage[i : i + size]), i) for i in range(0, len(passage), size))
    start = next((at - i for at, i in pieces if at >= 0), None)
    if start is None:
        return None
    low = max(0, start - len(passage))  # room for as much again left out of the passage
    window = page[low : start + 2 * len(passage)]
    matcher = difflib.SequenceMatcher(None, window, passage, autojunk=False)
    where: list[int | None] = [None] * len(passage)
    for a, b, n in matcher.get_matching_blocks():
        if n >= MIN_BLOCK:
            where[b : b + n] = range(low + a, low + a + n)
    found = sum(i is not None for i in where)
    return where if found >= FOUND_SHARE * len(passage) else None


def mark_page(
    path: str | Path, page_number: int, passage: str, quote: str = ""
) -> MarkedPage | None:
    """Page ``page_number`` (from 1) of the PDF at ``path`` with ``passage`` marked, and
    ``quote``, a sentence of it, marked strongly; None when that cannot be shown."""
    path = Path(path)
    if path.suffix.lower() != ".pdf" or not path.is_file() or page_number < 1:
        return None
    try:
        return _mark(path, page_number, passage, quote)
    except Exception:  # a damaged file or a PDFium failure: the panel shows the text only
        return None


def _mark(path: Path, page_number: int, passage: str, quote: str) -> MarkedPage | None:
    import pypdfium2 as pdfium

    with _PDFIUM:  # PDFium is not thread-safe: every call, closing included, under the lock
        pdf = pdfium.PdfDocument(str(path))
        try:
            if page_number > len(pdf):
                return None
            page = pdf[page_number - 1]
            textpage = page.get_textpage()
            try:
                chars = page_chars(textpage)
                found = find_chars(chars, passage, quote)
                if found is None:
                    return None
                scale = min(SCALE, MAX_WIDTH / page.get_width())
                bitmap = page.render(scale=scale)
                try:
                    image = bitmap.to_pil().convert("RGB")
                finally:
                    bitmap.close()
                marks = [
                    _mark_of(textpage, page, image.size, box, strong)
                    for box, strong in _line_boxes(textpage, chars, found)
                ]
            finally:
                textpage.close()
                page.close()
        finally:
            pdf.close()
    return _drawn(image, marks)


def page_chars(textpage: Any) -> str:
    """PDFium's text of a page, one character per character index (so that ``chars[i]`` is
    character ``i``, which ``get_text_range`` does not promise)."""
    import pypdfium2.raw as pdfium_c

    count = textpage.count_chars()
    return "".join(chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, i) or 32) for i in range(count))


def find_chars(chars: str, passage: str, quote: str = "") -> dict[int, bool] | None:
    """The characters of ``chars`` (a page's, ``page_chars``) that make up ``passage``,
    each True when it is part of ``quote``; None when the passage is not there.

    >>> page = "Costs: it costs $7,-\\r\\n650. Done."
    >>> found = find_chars(page, "it costs $7,650.", "$7,650.")
    >>> "".join(page[i] for i in found), "".join(page[i] for i in found if found[i])
    ('it costs $7,-\\r\\n650.', '$7,-\\r\\n650.')
    """
    page, origin = normalized(chars)
    wanted, _ = normalized(passage)
    where = locate(page, wanted)
    if where is None:
        return None
    sentence, _ = normalized(quote)
    start = wanted.find(sentence) if sentence else -1
    strong = range(start, start + len(sentence)) if start >= 0 else range(0)
    found: dict[int, bool] = {}
    for i, at in enumerate(where):
        if at is not None:
            index = origin[at]
            found[index] = found.get(index, False) or i in strong
    # What the comparison passes over between two found characters (a hyphen, an accent,
    # a space, a line break) is part of the passage too.
    indices = sorted(found)
    for a, b in zip(indices, indices[1:]):
        if b > a + 1 and not normalized(chars[a + 1 : b])[0]:
            found.update(dict.fromkeys(range(a + 1, b), found[a] and found[b]))
    return dict(sorted(found.items()))


Box = tuple[float, float, float, float]  # left, bottom, right, top in PDF points


def _line_boxes(textpage: Any, chars: str, found: dict[int, bool]) -> Iterator[tuple[Box, bool]]:
    """One box per run of found characters on one line, of one strength: a run ends at a
    line break, at a character of the page that is not in the passage, or where the next
    character is not beside the last one. Spaces only join the letters around them."""
    run: list[Box] = []
    strong = False
    last = -1
    for index in sorted(found):
        box = textpage.get_charbox(index, loose=True)
        if chars[index].isspace() or box[2] <= box[0] or box[3] <= box[1]:
            continue
        joined = (
            run
            and found[index] == strong
            and all(c.isspace() and c not in "\r\n" for c in chars[last + 1 : index])
            and _beside(run[-1], box)
        )
        if run and not joined:
            yield _union(run), strong
            run = []
        run.append(box)
        strong = found[index]
        last = index
    if run:
        yield _union(run), strong


def _beside(before: Box, after: Box) -> bool:
    """Whether ``after`` continues the line of ``before``: it overlaps it in height by half
    and does not start left of it."""
    overlap = min(before[3], after[3]) - max(before[1], after[1])
    height = min(before[3] - before[1], after[3] - after[1])
    return overlap >= 0.5 * height and after[0] >= before[0] - 0.5 * height


def _union(boxes: Sequence[Box]) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _mark_of(textpage: Any, page: Any, size: tuple[int, int], box: Box, strong: bool) -> Mark:
    """``box`` in image pixels (``to_pixels``) with the text PDFium reads ``inside`` it."""
    left, top, right, bottom = to_pixels(page, size, box)
    return Mark(left, top, right, bottom, strong, textpage.get_text_bounded(*inside(box)))


def inside(box: Box) -> Box:
    """A line's box less a tenth of its height at the top and bottom and a little at the
    ends: asked for the text in it, PDFium reads the line's characters (commas, full stops
    and underscores reach into it) and none of the lines above and below or the letters just
    before and after, whose boxes may touch the line's.

    >>> inside((10.0, 100.0, 50.0, 120.0))
    (11.0, 102.0, 49.0, 118.0)
    """
    left, bottom, right, top = box
    height = top - bottom
    return left + height / 20, bottom + height / 10, right - height / 20, top - height / 10


def to_pixels(page: Any, size: tuple[int, int], box: Box) -> tuple[int, int, int, int]:
    """``box`` (PDF points) as (left, top, right, bottom) pixels of the page rendered at
    ``size``, the page's rotation and crop box included, kept within the image."""
    import pypdfium2.raw as pdfium_c

    corners = []
    for x, y in ((box[0], box[1]), (box[2], box[3])):
        dx, dy = c_int(), c_int()
        pdfium_c.FPDF_PageToDevice(page.raw, 0, 0, size[0], size[1], 0, x, y, dx, dy)
        corners.append((dx.value, dy.value))
    (x0, y0), (x1, y1) = corners
    width, height = size
    return (
        max(0, min(x0, x1)),
        max(0, min(y0, y1)),
        min(width, max(x0, x1)),
        min(height, max(y0, y1)),
    )


def to_points(page: Any, size: tuple[int, int], pixels: tuple[int, int, int, int]) -> Box:
    """``pixels`` (left, top, right, bottom of the page rendered at ``size``) as a box in
    PDF points; the inverse of ``to_pixels``."""
    import pypdfium2.raw as pdfium_c

    xs, ys = [], []
    for dx, dy in ((pixels[0], pixels[1]), (pixels[2], pixels[3])):
        x, y = c_double(), c_double()
        pdfium_c.FPDF_DeviceToPage(page.raw, 0, 0, size[0], size[1], 0, dx, dy, x, y)
        xs.append(x.value)
        ys.append(y.value)
    return min(xs), min(ys), max(xs), max(ys)


def _drawn(image: Any, marks: list[Mark]) -> MarkedPage:
    """The image with its marks drawn as a highlighter would: the page in ``COLOURS``
    colours, each colour under a mark multiplied by the mark's tint, as a PNG whose palette
    holds the page's colours, then them tinted lightly, then strongly."""
    from PIL import Image, ImageChops, ImageDraw

    page = image.quantize(COLOURS, method=Image.Quantize.FASTOCTREE)
    colours = (page.getpalette() or [])[: 3 * COLOURS]
    colours += [255] * (3 * COLOURS - len(colours))
    shift = Image.new("L", image.size, 0)  # which third of the palette each pixel takes
    draw = ImageDraw.Draw(shift)
    for m in sorted(marks, key=lambda m: m.quote):  # a strong mark over a light one
        draw.rectangle(
            (m.left, m.top, m.right - 1, m.bottom - 1), fill=(2 if m.quote else 1) * COLOURS
        )
    indices = ImageChops.add(Image.frombytes("L", image.size, page.tobytes()), shift)
    marked = Image.frombytes("P", image.size, indices.tobytes())
    marked.putpalette(
        colours
        + [v * PASSAGE_TINT[i % 3] // 255 for i, v in enumerate(colours)]
        + [v * QUOTE_TINT[i % 3] // 255 for i, v in enumerate(colours)]
    )
    png = io.BytesIO()
    marked.save(png, "PNG")
    width, height = image.size
    return MarkedPage(png.getvalue(), "image/png", width, height, tuple(marks))
