"""Find and read documents: walk paths, decode text safely, pull out title, date and URL.

Text files (.txt, .md, .rst) are decoded here (to Unicode NFC); PDF, web pages, Word and
EPUB files are read by ``rag.formats``. A text file's title, date and author are what its
front matter states, else its first heading or line and a dateline at the top of the
article (``extract_metadata``). Every file either becomes a ``Document`` or gets a one-line reason why it
was skipped (too large, empty, binary, undecodable, encrypted, damaged, unreadable,
unsupported type). Nothing here raises for a bad file; only a path that does not exist at
all is an ``InputError``.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from . import formats
from .errors import InputError
from .metadata import clean_author, clean_date, clean_title
from .records import Document

TEXT = (".txt", ".md", ".markdown", ".text", ".rst")
# Read from their bytes by ``rag.formats``; identified by the hash of those bytes, so an
# unchanged file is recognised on re-ingest without extracting its text again.
BINARY = (".pdf", ".docx", ".epub")
WEB = (".html", ".htm", ".xhtml")
SUPPORTED = TEXT + WEB + BINARY

# A dateline is one of the first lines of an article: a date alone on its line, or labelled
# ("Date: 2022-02-18", "Published January 18, 2022") and followed by the text.
DATELINE_LINES = 5
_DATE_LABEL = re.compile(
    r"^(?:date|dated|published(?:\s+on)?|posted(?:\s+on)?)\b\s*[:=]?\s*(?=\w)", re.I
)
_DATE_ALONE = re.compile(r"[\w ,./:+-]{6,40}")
_NOT_A_DATELINE = re.compile(r"©|\(c\)|copyright|version|release|\bv\d", re.I)
_FRONT_MATTER = re.compile(r"\A(?:\ufeff)?---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*\s")
_URL_LINE = re.compile(r"^\s*(https?://\S+)\s*$", re.M)


def find_files(paths: Iterable[Path]) -> tuple[list[Path], dict[str, str]]:
    """Files under ``paths`` (recursively, symlinked folders not followed), and skip reasons.

    Returns the supported files sorted by path, and ``{name: reason}`` for files of other
    types found while walking.
    """
    files: list[Path] = []
    skipped: dict[str, str] = {}
    for path in require(paths):
        if path.is_file():
            candidates = [path]
        else:
            candidates = []
            for root, dirs, names in os.walk(path, followlinks=False, onerror=None):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                candidates.extend(Path(root) / n for n in sorted(names) if not n.startswith("."))
        for file in candidates:
            if file.suffix.lower() in SUPPORTED:
                files.append(file)
            elif path.is_dir():
                skipped[str(file)] = f"unsupported type {file.suffix or '(none)'}; " + (
                    f"supported: {', '.join(SUPPORTED)}"
                )
            else:
                skipped[str(file)] = f"unsupported type; supported: {', '.join(SUPPORTED)}"
    return sorted(set(files)), skipped


def require(paths: Iterable[Path | str]) -> list[Path]:
    """``paths`` as ``Path``s, after checking that each exists (InputError if one does not)."""
    out = [Path(p).expanduser() for p in paths]
    for path in out:
        if not path.exists():
            raise InputError(f"{path} does not exist: give a file or folder to ingest.")
    return out


def read_document(
    path: Path, max_bytes: int, progress: formats.PageProgress | None = None
) -> Document | str:
    """The decoded document, or a one-line reason it cannot be used (``progress`` hears of
    each page of a PDF)."""
    raw = _read_bytes(path, max_bytes)
    if isinstance(raw, str):
        return raw
    suffix = path.suffix.lower()
    if suffix in BINARY or suffix in WEB:
        return _read_formatted(path, raw, suffix, progress)
    text = decode(raw)
    if text is None:
        return "binary or undecodable content (not UTF-8, UTF-16 or Windows-1252 text)"
    if not text.strip():
        return "empty file"
    text = unicodedata.normalize("NFC", text)
    title, date, url, author = extract_metadata(text, suffix)
    return Document(
        path=str(path.resolve()),
        source=path.name,
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        title=title,
        date=date,
        url=url,
        author=author,
        sections=tuple(formats.text_sections(text, suffix)),
    )


def file_sha256(path: Path) -> str | None:
    """The hash a PDF, Word or EPUB file is known by (of its bytes), or None for other types
    and unreadable files; lets an unchanged file be passed over without extracting it."""
    if path.suffix.lower() not in BINARY:
        return None
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _read_formatted(
    path: Path, raw: bytes, suffix: str, progress: formats.PageProgress | None
) -> Document | str:
    try:
        if suffix == ".pdf":
            found = formats.read_pdf(path, progress)
        elif suffix == ".docx":
            found = formats.read_docx(path)
        elif suffix == ".epub":
            found = formats.read_epub(path)
        else:
            found = formats.read_html(raw)
    except formats.Unreadable as exc:
        return str(exc)
    except formats.Interrupted:
        raise
    except Exception as exc:  # a parser's own failure on a malformed file: skip it, say why
        return f"cannot read this {suffix} file ({type(exc).__name__}: {str(exc)[:120]})"
    hashed = raw if suffix in BINARY else found.text.encode("utf-8")
    return Document(
        path=str(path.resolve()),
        source=path.name,
        text=found.text,
        sha256=hashlib.sha256(hashed).hexdigest(),
        title=found.title,
        date=found.date,
        url=found.url,
        author=found.author,
        pages=tuple(found.pages),
        sections=tuple(found.sections),
        notes=tuple(found.notes),
    )


def _read_bytes(path: Path, max_bytes: int) -> bytes | str:
    """The file's bytes, or a one-line reason they cannot be read."""
    try:
        if path.is_symlink() and not path.exists():
            return "broken symbolic link"
        if not path.is_file():
            return "not a regular file (a folder, pipe or device)"
        size = path.stat().st_size
        if size > max_bytes:
            return (
                f"{size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit "
                "(raise RAG_MAX_FILE_MB to allow it)"
            )
        raw = path.read_bytes()
    except PermissionError:
        return "permission denied: cannot read the file"
    except OSError as exc:
        return f"cannot read the file ({exc.strerror or exc})"
    return raw if raw else "empty file"


def decode(raw: bytes) -> str | None:
    """Text from bytes: UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252.

    Returns None for binary content (NUL bytes or mostly control characters).

    >>> decode("café".encode("cp1252"))
    'café'
    >>> decode(b"\\x00\\x01\\x02") is None
    True
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if b"\x00" in raw[:8192]:
        return None
    for codec in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        control = sum(1 for c in text[:8192] if ord(c) < 32 and c not in "\n\r\t\f")
        return None if control > 0.05 * min(len(text), 8192) else text
    return None


def extract_metadata(text: str, suffix: str = ".txt") -> tuple[str, str, str, str]:
    """``(title, date, url, author)`` stated at the top of the text; "" for what is not there.

    The front matter's title, date and author when it has them; else the first heading (or
    first line) as title and a dateline among the first lines as date; the first line that
    is a URL. A year in a copyright line, a version or a date in the body is no date.

    >>> extract_metadata("Blinken to meet Lavrov\\n20220118\\nhttps://x.org/a\\nBody.")
    ('Blinken to meet Lavrov', '2022-01-18', 'https://x.org/a', '')
    >>> extract_metadata(" date 2022-02-18 United States Secretary of State said.")[1]
    '2022-02-18'
    >>> extract_metadata("---\\ntitle: Notes\\ndate: 2021-03-04\\nauthor: Jane Roe\\n---\\nText.", ".md")
    ('Notes', '2021-03-04', '', 'Jane Roe')
    >>> [extract_metadata(t)[1] for t in ("Guide\\nCopyright 2000-2004\\nText.", "Guide\\nVersion 2.5.0\\n2020", "Guide\\n\\n" + "Text.\\n" * 9 + "2020-01-01")]
    ['', '', '']
    >>> [extract_metadata(t)[0] for t in ("Diet and obesity in mice.\\nWe fed.", "Hi. Read this.\\nOk.", "One line.")]
    ['Diet and obesity in mice.', '', '']
    """
    front, body = _front_matter(text)
    head = body[:3000]
    lines = [line.strip() for line in head.splitlines() if line.strip()]
    author = clean_author(front.get("author", []) + front.get("authors", []))
    dates = front.get("date", []) + front.get("created", []) + front.get("published", [])
    date = next((d for v in dates if (d := clean_date(v))), "")
    if not date:
        date = next((d for line in lines[:DATELINE_LINES] if (d := _dateline(line))), "")
    title = clean_title(next(iter(front.get("title", [])), ""), author)
    if not title:
        title = clean_title(_title(lines, suffix), author)
    url = m.group(1) if (m := _URL_LINE.search(head)) else ""
    return title, date, url, author


def _dateline(line: str) -> str:
    """The ISO date a dateline states ("" when ``line`` is none).

    >>> [_dateline(t) for t in ("20220118", "Tuesday, January 18, 2022", "Date: 2022-02-18 Text")]
    ['2022-01-18', '2022-01-18', '2022-02-18']
    >>> [_dateline(t) for t in ("2022-01-18 Blinken met Lavrov in Geneva", "Copyright 2000-01-01")]
    ['', '']
    """
    if _NOT_A_DATELINE.search(line):
        return ""
    if labelled := _DATE_LABEL.match(line):
        return clean_date(line[labelled.end() :])
    return clean_date(line) if _DATE_ALONE.fullmatch(line) and len(line.split()) <= 5 else ""


def _front_matter(text: str) -> tuple[dict[str, list[str]], str]:
    """The fields of the header a text file opens with, lower-cased, and the text after it:
    YAML front matter between ``---`` lines (lists as ``- item`` or ``- name: item`` lines,
    or ``[a, b]``), or a block of ``Key: value`` lines as PEPs, e-mail and MultiMarkdown
    write them (at least two, one of them a title, author or date; an indented line goes
    on with the line before).

    >>> _front_matter("---\\nauthor:\\n  - name: Jane Roe\\n    email: j@x.org\\n  - John Doe\\n---\\nText.")
    ({'author': ['Jane Roe', 'John Doe']}, 'Text.')
    >>> _front_matter("PEP: 572\\nAuthor: A Person <a@x.org>,\\n        B Person\\nCreated: 28-Feb-2018\\n\\nText.")[0]
    {'pep': ['572'], 'author': ['A Person <a@x.org>, B Person'], 'created': ['28-Feb-2018']}
    >>> _front_matter("Note: read this first.\\nWarning: it is long.\\n\\nText.")[0]
    {}
    """
    found: dict[str, list[str]] = {}
    key = ""
    if m := _FRONT_MATTER.match(text):
        for line in m.group(1).splitlines():
            if item := re.match(r"^\s*-\s+(?:name\s*:\s*)?(.+)$", line):
                if key and not re.match(r"^[A-Za-z_][\w-]*\s*:", item.group(1)):
                    found.setdefault(key, []).append(_unquote(item.group(1)))
            elif pair := re.match(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$", line):
                key, value = pair.group(1).lower(), pair.group(2).strip()
                if value.startswith("[") and value.endswith("]"):
                    found[key] = [_unquote(v) for v in value[1:-1].split(",") if v.strip()]
                elif value and value not in ("|", ">"):
                    found[key] = [_unquote(value)]
        return found, text[m.end() :]
    end = 0
    for line in text.splitlines(keepends=True):
        if pair := re.match(r"^([A-Za-z][\w-]*)[ \t]*:[ \t]*(\S.*)$", line.rstrip()):
            key = pair.group(1).lower()
            found[key] = [pair.group(2).strip()]
        elif key and line[:1] in " \t" and line.strip():
            found[key][-1] += " " + line.strip()
        else:
            break
        end += len(line)
    if len(found) < 2 or not found.keys() & {"title", "author", "authors", "date", "created"}:
        return {}, text
    return found, text[end:]


def _unquote(value: str) -> str:
    value = value.strip()
    return value[1:-1] if len(value) > 1 and value[0] == value[-1] and value[0] in "\"'" else value


def _title(lines: list[str], suffix: str) -> str:
    lines = [line for line in lines if not line.startswith("<!--")][:4]
    if suffix in (".md", ".markdown"):
        for line in lines:
            if line.startswith("#"):
                return line.lstrip("#").strip()
    for i, line in enumerate(lines[:3]):
        # A first line may end with a period (papers' titles often do) when more text follows
        # and it is one sentence: "Diet and obesity in mice." but not "Hi. Read this."
        period_title = i == 0 and len(lines) > 1 and not _SENTENCE_END.search(line[:-1])
        if (
            len(line) <= 150
            and not line.endswith(("…", "..", ":"))
            and (not line.endswith(".") or period_title)
            and not _URL_LINE.match(line)
            and not _dateline(line)
        ):
            return line
    return ""
