"""Find and read documents: walk paths, decode text safely, pull out title, date and URL.

Text files (.txt, .md, .rst) are decoded here; PDF, web pages, Word and EPUB files are read
by ``rag.formats``. Every file either becomes a ``Document`` or gets a one-line reason why it
was skipped (too large, empty, binary, undecodable, encrypted, damaged, unreadable,
unsupported type). Nothing here raises for a bad file; only a path that does not exist at
all is an ``InputError``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

from . import formats
from .errors import InputError
from .records import Document

TEXT = (".txt", ".md", ".markdown", ".text", ".rst")
# Read from their bytes by ``rag.formats``; identified by the hash of those bytes, so an
# unchanged file is recognised on re-ingest without extracting its text again.
BINARY = (".pdf", ".docx", ".epub")
WEB = (".html", ".htm", ".xhtml")
SUPPORTED = TEXT + WEB + BINARY

_DATE_COMPACT = re.compile(
    r"^\s*(?:date\s*[:=]?\s*)?((?:19|20)\d{2})(\d{2})(\d{2})\s*$", re.I | re.M
)
_DATE_ISO = re.compile(r"\bdate\s*[:=]?\s*((?:19|20)\d{2})-(\d{2})-(\d{2})\b", re.I)
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
    title, date, url = extract_metadata(text, suffix)
    return Document(
        path=str(path.resolve()),
        source=path.name,
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        title=title,
        date=date,
        url=url,
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


def extract_metadata(text: str, suffix: str = ".txt") -> tuple[str, str, str]:
    """``(title, date, url)`` stated near the top of the text; "" for what is not there.

    >>> extract_metadata("Blinken to meet Lavrov\\n20220118\\nhttps://x.org/a\\nBody.")
    ('Blinken to meet Lavrov', '2022-01-18', 'https://x.org/a')
    >>> extract_metadata(" date 2022-02-18 United States Secretary of State said.")[1]
    '2022-02-18'
    >>> [extract_metadata(t)[0] for t in ("Diet and obesity in mice.\\nWe fed.", "Hi. Read this.\\nOk.", "One line.")]
    ['Diet and obesity in mice.', '', '']
    """
    head = text[:3000]
    date = ""
    if m := _DATE_COMPACT.search(head) or _DATE_ISO.search(head):
        y, mo, d = m.groups()
        if 1 <= int(mo) <= 12 and 1 <= int(d) <= 31:
            date = f"{y}-{mo}-{d}"
    url = m.group(1) if (m := _URL_LINE.search(head)) else ""
    return _title(text, suffix), date, url


def _title(text: str, suffix: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()][:4]
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
            and not _DATE_COMPACT.match(line)
        ):
            return line
    return ""
