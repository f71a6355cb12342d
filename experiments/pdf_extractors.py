"""Speed, reading order and running headers/footers of the permissively licensed PDF text
extractors (pypdfium2, pypdf, pdfplumber), measured on the same files in one run.

    .venv/bin/python experiments/pdf_extractors.py PDF [PDF ...] [--runs N]
        [--order PDF PAGE "phrase|phrase|..."]

For example, on the test PDF and its three-column page 2:

    .venv/bin/python experiments/pdf_extractors.py tests/files/federal-register-2020-17221.pdf \\
        --order tests/files/federal-register-2020-17221.pdf 2 "Hatta International Airport|These effects include stall|On November 7, 2018, the FAA|Bureau of Enquiry and Analysis|Authority (ECAA)|In addition to these four design"

Each extractor reads every page of every file, in rounds that alternate the extractors, so
a machine that slows down part-way through affects all of them alike; "s/page" is the
median over the rounds of (seconds for the whole file) / pages, opening the file included.
"order" is the --order check: the phrases (one line of the page each, in reading order)
must all be found in the page's text, in that order, spaces ignored (so that words run
together do not count as disorder); "k/n" counts how many consecutive pairs come in order.
"glued" counts runs of 20 or more letters with no space, words the extractor ran together.
"running lines" counts the line shapes (digits blanked, a page number at either end
dropped) among the first and last three lines of a page that repeat on at least half of
the pages: running headers, footers and page numbers, which every extractor returns as
ordinary text; they are listed under the table. Single-threaded; nothing is written.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pdfplumber
import pypdf
import pypdfium2 as pdfium

EDGE = 3  # lines at the top and at the bottom of a page looked at for running lines
GLUED = re.compile(r"[^\W\d_]{20,}")  # 20+ letters without a space: words run together


def pypdfium2_text(path: Path) -> list[str]:
    pdf = pdfium.PdfDocument(str(path))
    try:
        pages = []
        for page in pdf:
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return pages
    finally:
        pdf.close()


def pypdf_text(path: Path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(path).pages]


def pdfplumber_text(path: Path, **options: object) -> list[str]:
    with pdfplumber.open(path) as pdf:
        pages = []
        for page in pdf.pages:
            pages.append(page.extract_text(**options))
            page.close()
        return pages


EXTRACTORS: dict[str, Callable[[Path], list[str]]] = {
    "pypdfium2": pypdfium2_text,
    "pypdf": pypdf_text,
    "pdfplumber": pdfplumber_text,
    "pdfplumber flow": lambda path: pdfplumber_text(path, use_text_flow=True),
}


def versions() -> str:
    from importlib.metadata import version

    return ", ".join(f"{name} {version(name)}" for name in ("pypdfium2", "pypdf", "pdfplumber"))


def squash(text: str) -> str:
    return " ".join(text.split())


def spaceless(text: str) -> str:
    return "".join(text.split())


def order(page_text: str, phrases: list[str]) -> str:
    """Whether the phrases come in this order in the page's text, spaces ignored.

    >>> order("a b c", ["a", "c"]), order("c a", ["a", "b", "c"]), order("ab c", ["a b", "c"])
    ('yes', 'no: 2/3 found, 0/2 in order', 'yes')
    """
    text = spaceless(page_text)
    at = [text.find(spaceless(p)) for p in phrases]
    pairs = sum(0 <= a < b for a, b in zip(at, at[1:]))
    if pairs == len(phrases) - 1:
        return "yes"
    return f"no: {sum(a >= 0 for a in at)}/{len(at)} found, {pairs}/{len(at) - 1} in order"


def shape(line: str) -> str:
    """A line with its numbers blanked and a page number at either end dropped.

    >>> shape("47700 Federal Register / Vol. 85"), shape("Federal Register / Vol. 85 47699")
    ('federal register / vol. #', 'federal register / vol. #')
    """
    blanked = re.sub(r"\d+", "#", squash(line).lower())
    return re.sub(r"^# | #$", "", blanked, count=1) or "#"


def running_lines(pages: list[str]) -> list[tuple[str, str, int]]:
    """(top or bottom, line shape, pages) for lines at a page's edge that repeat."""
    seen: Counter[tuple[str, str]] = Counter()
    for text in pages:
        lines = [line for line in text.splitlines() if line.strip()]
        edges = {("top", shape(line)) for line in lines[:EDGE]}
        edges |= {("bottom", shape(line)) for line in lines[-EDGE:]}
        seen.update(edges)
    least = max(2, (len(pages) + 1) // 2)
    return [(where, line, n) for (where, line), n in seen.most_common() if n >= least]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pdfs", nargs="+", type=Path, metavar="PDF")
    parser.add_argument("--runs", type=int, default=3, help="rounds (default 3)")
    parser.add_argument(
        "--order",
        nargs=3,
        action="append",
        default=[],
        metavar=("PDF", "PAGE", "PHRASES"),
        help='phrases of page PAGE (1-based) in reading order, separated by "|"',
    )
    args = parser.parse_args(argv)
    checks: dict[Path, list[tuple[int, list[str]]]] = {}
    for pdf, page, phrases in args.order:
        checks.setdefault(Path(pdf).resolve(), []).append((int(page), phrases.split("|")))

    print(f"{versions()}; Python {sys.version.split()[0]}; median of {args.runs} rounds\n")
    rows, notes = [], []
    for path in args.pdfs:
        seconds: dict[str, list[float]] = {name: [] for name in EXTRACTORS}
        texts: dict[str, list[str]] = {}
        for _ in range(args.runs):
            for name, extract in EXTRACTORS.items():
                start = time.perf_counter()
                texts[name] = extract(path)
                seconds[name].append(time.perf_counter() - start)
        for name, pages in texts.items():
            per_page = statistics.median(seconds[name]) / len(pages)
            checked = [
                f"p{page}: {order(pages[page - 1], phrases)}"
                for page, phrases in checks.get(path.resolve(), [])
            ]
            running = running_lines(pages)
            rows.append(
                (
                    path.name,
                    name,
                    str(len(pages)),
                    f"{per_page:.4f}",
                    str(sum(len(p) for p in pages)),
                    str(sum(len(GLUED.findall(p)) for p in pages)),
                    "; ".join(checked) or "-",
                    f"{sum(w == 'top' for w, _, _ in running)} top, "
                    f"{sum(w == 'bottom' for w, _, _ in running)} bottom",
                )
            )
            for where, line, n in running:
                notes.append(f"{path.name} | {name} | {where} on {n}/{len(pages)}: {line[:80]}")

    head = ("file", "extractor", "pages", "s/page", "chars", "glued", "order", "running lines")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for row in [head, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    print("\nRunning lines (line shapes with digits as #):")
    print("\n".join(notes) or "none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
