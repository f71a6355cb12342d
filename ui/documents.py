"""The Documents tab's work: take uploads safely, delete, re-index, describe what changed.

Uploads go through ``rag.uploads`` (the same checks and folder as the HTTP API): copied
into the collection's uploads folder under a sanitised name and that folder ingested, so
the index follows the folder. Each function returns a one-paragraph message for the page;
refusals are messages, not errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rag.errors import RagError
from rag.records import IngestReport
from rag.settings import DEFAULT_COLLECTION, PROJECT_ROOT
from rag.uploads import ALLOWED, MAX_UPLOAD_BYTES, add_uploads, remove_upload, safe_name

__all__ = ["ALLOWED", "MAX_UPLOAD_BYTES", "delete", "describe", "reindex", "safe_name", "upload"]

SEEDS = PROJECT_ROOT / "seeds"


def upload(assistant, files: Iterable[str | Path] | None) -> str:
    """Save each uploaded file and ingest the uploads folder; a message saying what happened."""
    paths = [Path(f) for f in files or []]
    try:
        added = add_uploads(assistant, [(p, p.name) for p in paths])
    except RagError as exc:
        return f"Saved the files but could not index them: {exc}"
    lines = [describe(added.report)] if added.report is not None else []
    if not paths:
        lines.append("Choose one or more files first (PDF, Word, web pages, text).")
    lines.extend(f"Refused {reason}" for reason in added.refused.values())
    return "\n\n".join(lines)


def delete(assistant, source: str | None) -> str:
    """Remove the document named ``source`` from the index, and its copy in the uploads
    folder if it is an upload (files elsewhere are never touched)."""
    if not source:
        return "Choose a document to delete."
    uploads = assistant.settings.uploads
    try:
        removed = assistant.delete(source)
    except RagError as exc:
        return str(exc)
    deleted_files = remove_upload(uploads, [*removed, uploads / source])
    if not removed:
        return f"No document named {source} is in the index."
    note = " and its uploaded copy" if deleted_files else ""
    return f"Deleted {source}{note} ({len(removed)} file{'s' if len(removed) != 1 else ''})."


def reindex(assistant) -> str:
    """Bring the index in line with the collection's uploads folder (and, for the default
    collection, the project's seed articles)."""
    uploads = assistant.settings.uploads
    demo = [SEEDS] if assistant.settings.collection == DEFAULT_COLLECTION else []
    folders = [f for f in (*demo, uploads) if f.is_dir()]
    if not folders:
        return f"Nothing to index: {uploads} does not exist yet (add files first)."
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
