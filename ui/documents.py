"""The Documents tab's work: take uploads safely, delete, re-index, describe what changed.

Uploads go through ``rag.uploads`` (the same checks and folder as the HTTP API): copied
into the collection's uploads folder under a sanitised name and that folder ingested, so
the index follows the folder. Each function returns a one-paragraph message for the page;
refusals are messages, not errors. ``upload_steps`` and ``reindex_steps`` are the same work
as it goes: they yield what is being done (the file, the page of a long PDF, the chunks
being embedded) while the ingest runs on a thread of its own, then the message.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from rag.errors import RagError
from rag.ingest import Progress
from rag.records import IngestReport
from rag.settings import DEFAULT_COLLECTION, PROJECT_ROOT
from rag.uploads import ALLOWED, MAX_UPLOAD_BYTES, add_uploads, remove_upload, safe_name

__all__ = [
    "ALLOWED",
    "MAX_UPLOAD_BYTES",
    "changed_line",
    "delete",
    "describe",
    "progress_text",
    "reindex",
    "reindex_steps",
    "safe_name",
    "upload",
    "upload_steps",
]

SEEDS = PROJECT_ROOT / "seeds"
T = TypeVar("T")


def upload(assistant, files: Iterable[str | Path] | None) -> str:
    """Save each uploaded file and ingest the uploads folder; a message saying what happened."""
    return _last(upload_steps(assistant, files))


def upload_steps(assistant, files: Iterable[str | Path] | None) -> Iterator[str]:
    """``upload`` as it goes: what is being done (the file, the page of a long PDF, the
    chunks being embedded), then the message saying what happened."""
    paths = [Path(f) for f in files or []]
    if paths:
        yield f"Adding {', '.join(p.name for p in paths)}…"
    try:
        added = yield from _with_progress(
            lambda progress: add_uploads(assistant, [(p, p.name) for p in paths], progress)
        )
    except RagError as exc:
        yield f"Saved the files but could not index them: {exc}"
        return
    lines = [describe(added.report)] if added.report is not None else []
    if not paths:
        lines.append("Choose one or more files first (PDF, Word, web pages, text).")
    lines.extend(f"Refused {reason}" for reason in added.refused.values())
    yield "\n\n".join(lines)


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
    return _last(reindex_steps(assistant))


def reindex_steps(assistant) -> Iterator[str]:
    """``reindex`` as it goes: what is being read and embedded, then what changed."""
    uploads = assistant.settings.uploads
    demo = [SEEDS] if assistant.settings.collection == DEFAULT_COLLECTION else []
    folders = [f for f in (*demo, uploads) if f.is_dir()]
    if not folders:
        yield f"Nothing to index: {uploads} does not exist yet (add files first)."
        return
    yield "Re-indexing…"
    try:
        report = yield from _with_progress(lambda progress: assistant.ingest(folders, progress))
    except RagError as exc:
        yield str(exc)
        return
    yield describe(report)


def progress_text(done: int, total: int, what: str) -> str:
    """One ``rag.ingest.Progress`` report as a line for the page.

    >>> progress_text(0, 3, "manual.pdf, page 12 of 68")
    'Reading manual.pdf: page 12 of 68'
    >>> progress_text(2, 3, "notes.txt")
    'Read notes.txt (2 of 3 files)'
    >>> progress_text(3, 3, "embedding 40 chunks")
    'Embedding 40 chunks'
    """
    if what.startswith("embedding "):
        return "E" + what[1:]
    name, sep, page = what.rpartition(", page ")
    if sep:
        return f"Reading {name}: page {page}"
    return f"Read {what} ({done} of {total} file{'s' if total != 1 else ''})"


def _with_progress(work: Callable[[Progress], T]) -> Generator[str, None, T]:
    """Run ``work(progress)`` on a thread of its own, yielding each progress report as a
    line for the page while it runs; returns what it returned (or raises what it raised).
    Gradio streams what a generator handler yields, so the page follows the ingest."""
    events: queue.Queue[str | None] = queue.Queue()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work(lambda d, t, w: events.put(progress_text(d, t, w)))
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc
        finally:
            events.put(None)

    threading.Thread(target=run, name="ui-ingest", daemon=True).start()
    while (line := events.get()) is not None:
        yield line
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _last(steps: Iterable[str]) -> str:
    return deque(steps, maxlen=1)[0]


def changed_line(when: str | None) -> str:
    """The documents panel's line saying when the index last changed (``Assistant.last_changed``).

    >>> changed_line("2026-12-07T14:52:31.250000+00:00")
    'Index last changed 2026-12-07 14:52 UTC'
    >>> changed_line(None)
    'Nothing indexed yet.'
    """
    if not when:
        return "Nothing indexed yet."
    try:
        moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        return f"Index last changed {when}"
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"Index last changed {moment:%Y-%m-%d %H:%M} UTC"


def describe(report: IngestReport) -> str:
    """One paragraph of what an ingest changed, then a line for each file skipped and why.

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
    parts.extend(f"Left out of {name}: {'; '.join(notes)}." for name, notes in report.notes.items())
    parts.append(f"{report.chunks} chunks in the index.")
    skipped = [f"Skipped {name}: {reason}." for name, reason in report.skipped.items()]
    return "\n\n".join([" ".join(parts), *skipped])  # a line of its own for each file skipped
