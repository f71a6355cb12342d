"""Files people add through the browser or the HTTP API: checked, copied, indexed.

An upload is copied into the collection's uploads folder (``Settings.uploads``) under a
sanitised name, and that folder is ingested, so the index follows the folder: a deleted
upload leaves the index too. Only the file types ``rag ingest`` reads are taken, up to
``MAX_UPLOAD_BYTES`` each; a copy that cannot be read is not kept.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .documents import SUPPORTED
from .errors import InputError
from .records import IngestReport

if TYPE_CHECKING:
    from .ingest import Progress

ALLOWED = SUPPORTED
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A file name safe to create in the uploads folder: the base name only, characters
    outside ``[A-Za-z0-9._-]`` replaced by ``_``, no leading dots; InputError for a name
    with nothing left or of a type that cannot be ingested.

    >>> safe_name("../../etc/My notes (v2).md")
    'My_notes_v2_.md'
    >>> safe_name("C:\\\\Users\\\\me\\\\..\\\\report.TXT")
    'report.TXT'
    """
    base = re.split(r"[/\\]", name)[-1]
    cleaned = _UNSAFE.sub("_", base).lstrip(".")
    stem, dot, ext = cleaned.rpartition(".")
    if not dot or f".{ext.lower()}" not in ALLOWED:
        kind = f"not .{ext} files" if dot else "and this one has no extension"
        raise InputError(
            f"{base or name}: only {', '.join(ALLOWED)} files can be uploaded, {kind}."
        )
    if not stem.strip("._-"):
        raise InputError(f"{name!r} has no usable file name: rename it and upload it again.")
    return cleaned


class TooLarge(InputError):
    """A file past the upload size limit."""


def too_large(name: str, size: int) -> TooLarge:
    return TooLarge(
        f"{name} is {size / 1024 / 1024:.1f} MB; uploads are limited to "
        f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB."
    )


def save_upload(source: Path, name: str, uploads: Path) -> Path:
    """Copy the uploaded file ``source`` (originally called ``name``) into ``uploads``."""
    target_name = safe_name(name)
    size = source.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise too_large(target_name, size)
    uploads.mkdir(parents=True, exist_ok=True)
    target = uploads / target_name
    shutil.copyfile(source, target)
    return target


@dataclass
class Added:
    """What adding uploads did: the files kept, those refused (with the reason) and the
    ingest report (None when nothing was saved)."""

    saved: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    report: IngestReport | None = None


def add_uploads(
    assistant: Any, files: Iterable[tuple[Path, str]], progress: Progress | None = None
) -> Added:
    """Save each ``(temporary file, original name)`` into the assistant's collection's
    uploads folder and index the folder. Refusals are collected, not raised; an error of the
    index (RagError) propagates after the files are saved. ``progress`` follows the ingest
    (``rag.ingest.Progress``)."""
    added = Added()
    uploads = assistant.settings.uploads
    for path, name in files:
        try:
            added.saved.append(save_upload(path, name, uploads).name)
        except InputError as exc:
            added.refused[name] = str(exc)
    if not added.saved:
        return added
    added.report = assistant.ingest([uploads], progress)
    for name in added.saved:  # a copy that could not be read is not kept
        if name in added.report.skipped:
            (uploads / name).unlink(missing_ok=True)
    return added


def remove_upload(uploads: Path, paths: Iterable[str | Path]) -> list[str]:
    """Delete those of ``paths`` that are files directly in ``uploads`` (files elsewhere are
    never touched); their names."""
    folder = uploads.resolve()
    deleted = []
    for path in map(Path, paths):
        if path.is_file() and path.resolve().parent == folder:
            path.unlink()
            deleted.append(path.name)
    return deleted
