"""The Documents tab's work: take uploads safely, delete, re-index, describe what changed.

Uploads are copied into ``settings.uploads`` under a sanitised name and that folder is
ingested, so the index follows the folder: a deleted upload leaves the index too. Each
function returns a one-paragraph message for the page; refusals are messages, not errors.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from rag.documents import SUPPORTED
from rag.errors import InputError, RagError
from rag.records import IngestReport
from rag.settings import PROJECT_ROOT

ALLOWED = SUPPORTED
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
SEEDS = PROJECT_ROOT / "seeds"
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


def save_upload(source: Path, name: str, uploads: Path) -> Path:
    """Copy the uploaded file ``source`` (originally called ``name``) into ``uploads``."""
    target_name = safe_name(name)
    size = source.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise InputError(
            f"{target_name} is {size / 1024 / 1024:.1f} MB; uploads are limited to "
            f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB."
        )
    uploads.mkdir(parents=True, exist_ok=True)
    target = uploads / target_name
    shutil.copyfile(source, target)
    return target


def upload(assistant, files: Iterable[str | Path] | None) -> str:
    """Save each uploaded file and ingest the uploads folder; a message saying what happened."""
    refused = []
    saved = []
    for file in files or []:
        path = Path(file)
        try:
            saved.append(save_upload(path, path.name, assistant.settings.uploads).name)
        except InputError as exc:
            refused.append(str(exc))
    lines = []
    if saved:
        try:
            report = assistant.ingest([assistant.settings.uploads])
        except RagError as exc:
            lines.append(f"Saved {', '.join(saved)} but could not index it: {exc}")
        else:
            lines.append(describe(report))
            for name in saved:  # a copy that could not be read is not kept
                if name in report.skipped:
                    (assistant.settings.uploads / name).unlink(missing_ok=True)
    elif not refused:
        lines.append("Choose one or more files first (PDF, Word, web pages, text).")
    lines.extend(f"Refused {reason}" for reason in refused)
    return "\n\n".join(lines)


def delete(assistant, source: str | None) -> str:
    """Remove the document named ``source`` from the index, and its copy in the uploads
    folder if it is an upload (files elsewhere are never touched)."""
    if not source:
        return "Choose a document to delete."
    uploads = assistant.settings.uploads.resolve()
    try:
        removed = assistant.delete(source)
    except RagError as exc:
        return str(exc)
    deleted_files = []
    for path in [Path(p) for p in removed] + [uploads / source]:
        if path.is_file() and path.resolve().parent == uploads:
            path.unlink()
            deleted_files.append(path.name)
    if not removed:
        return f"No document named {source} is in the index."
    note = " and its uploaded copy" if deleted_files else ""
    return f"Deleted {source}{note} ({len(removed)} file{'s' if len(removed) != 1 else ''})."


def reindex(assistant) -> str:
    """Bring the index in line with the project's seed articles and the uploads folder."""
    folders = [f for f in (SEEDS, assistant.settings.uploads) if f.is_dir()]
    if not folders:
        return f"Nothing to index: neither {SEEDS} nor {assistant.settings.uploads} exists."
    try:
        return describe(assistant.ingest(folders))
    except RagError as exc:
        return str(exc)


def describe(report: IngestReport) -> str:
    """One paragraph of what an ingest changed.

    >>> describe(IngestReport(added=["a.txt"], unchanged=["b.txt"], chunks=7))
    'Added a.txt. 1 unchanged. 7 chunks in the index.'
    """
    parts = []
    for label, names in (
        ("Added", report.added),
        ("Updated", report.updated),
        ("Removed", report.removed),
    ):
        if names:
            parts.append(f"{label} {', '.join(names)}.")
    if report.unchanged:
        parts.append(f"{len(report.unchanged)} unchanged.")
    parts.extend(f"Skipped {name}: {reason}." for name, reason in report.skipped.items())
    parts.extend(f"Left out of {name}: {'; '.join(notes)}." for name, notes in report.notes.items())
    parts.append(f"{report.chunks} chunks in the index.")
    return " ".join(parts)
