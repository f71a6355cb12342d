"""Incremental, idempotent ingestion of files into the store.

For each file: unchanged content, chunked the same way (same ``index_version`` as the
catalogue), is skipped; new or changed content is chunked, embedded and written, then the
file's older chunks are deleted and the catalogue entry is committed last. Files that vanished from an ingested folder are removed.
A run killed at any point leaves only whole documents visible (see ``store``), and the next
run sweeps up what the crash left behind. ``Indexer.update`` applies the changes a file
watcher reports (``rag ingest --watch``, ``rag.watch``) the same way.

One writer at a time per collection: every ingest, update and delete holds an exclusive lock
on a file in ``RAG_HOME`` (``writing``), which threads of one process (an upload in the chat
while its folder watcher applies a change) and processes on one machine (``rag ingest`` while
``rag ui`` runs) both wait for. Without it, one run's sweep of chunks no committed document
owns could delete the chunks another run has written and not yet committed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from .chunking import chunk_spans
from .documents import file_sha256, find_files, read_document
from .embedding import Embedder
from .errors import InputError
from .formats import Interrupted
from .records import Chunk, Document, IngestReport
from .settings import Settings
from .store import CatalogEntry, Store

# (files done, files total, current file); while a long PDF is read, the file's name says
# which page ("report.pdf, page 120 of 300"), and before a group of chunks is embedded it
# says how many ("embedding 256 chunks").
Progress = Callable[[int, int, str], None]
PAGES_TO_REPORT = 20  # a PDF this long reports its pages as it is read

EMBED_GROUP = 256  # chunks embedded per call across documents
# How a document is indexed; raise it when that changes, and the next ingest redoes every
# document. 2: chunk settings and this number became part of a document's identity.
# 3: chunks end at pages and headings and carry them. 4: title, date and author only from
# a file's own metadata (``rag.metadata``), text in Unicode NFC with PDF accents joined.
RECIPE = 4


def index_version(sha256: str, settings: Settings) -> str:
    """A document's identity in the index: its text's hash with the way it is chunked and
    embedded, so that changing ``RAG_CHUNK_TOKENS``/``RAG_CHUNK_OVERLAP`` or the recipe
    re-indexes unchanged files on the next ingest instead of keeping their old chunks."""
    key = f"{sha256}\0{RECIPE}\0{settings.chunk_tokens}\0{settings.chunk_overlap}"
    return hashlib.sha256(key.encode()).hexdigest()


def make_chunks(doc: Document, max_tokens: int, overlap: int) -> list[Chunk]:
    """The document's chunks, with ids derived from its path, content hash and position. No
    chunk crosses a page or a section heading where that can be helped, so each has one
    page and one section to show and cite."""
    out = []
    headings = [at for at, _ in doc.sections]
    spans = chunk_spans(doc.text, max_tokens, overlap, doc.pages, headings)
    for index, (start, end) in enumerate(spans):
        key = f"{doc.path}\0{doc.sha256}\0{index}\0{start}:{end}"
        out.append(
            Chunk(
                chunk_id=hashlib.sha256(key.encode()).hexdigest()[:24],
                source=doc.source,
                path=doc.path,
                index=index,
                start=start,
                end=end,
                text=doc.text[start:end],
                title=doc.title,
                date=doc.date,
                doc_sha256=doc.sha256,
                page=doc.page_at(start),
                section=doc.section_at(start),
            )
        )
    return out


@contextlib.contextmanager
def writing(settings: Settings) -> Iterator[None]:
    """Hold the collection's write lock (``RAG_HOME/locks/<collection>.lock``) for the block,
    waiting for any other writer, in this process or another, to finish first."""
    folder = settings.home / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{settings.collection}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        yield


class Indexer:
    """Brings the store in line with files on disk, one writer at a time (``writing``)."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder

    def ingest(self, paths: Iterable[Path | str], progress: Progress | None = None) -> IngestReport:
        folders = [Path(p).expanduser() for p in paths]
        files, skipped = find_files(folders)
        with writing(self.settings):
            return self._ingest(folders, files, skipped, progress)

    def update(self, paths: Iterable[Path | str], progress: Progress | None = None) -> IngestReport:
        """Apply what changed at ``paths`` (as a file watcher reports them, ``rag.watch``):
        files that exist are ingested, a folder as ``ingest`` does it (its files, and its
        documents whose files are gone removed), and the documents at or under a path that no
        longer exists are removed, after the new ones are stored, so that a renamed file is
        never missing from the index in between. One run, with ``ingest``'s guarantees."""
        began = time.perf_counter()
        present: list[Path] = []
        files: list[Path] = []
        skipped: dict[str, str] = {}
        gone: list[str] = []
        for path in (Path(p).expanduser() for p in paths):
            try:
                found, why = find_files([path])
            except InputError:  # gone (deleted, or renamed away) before it could be read
                gone.append(_resolved(path))
                continue
            present.append(path)
            files.extend(found)
            skipped.update(why)
        report = IngestReport()
        with writing(self.settings):
            if present:
                report = self._ingest(present, sorted(set(files)), skipped, progress, sweep=False)
            removed = [
                (where, entry)
                for where, entry in self.store.catalog().items()
                if any(where == g or Path(where).is_relative_to(g) for g in gone)
            ]
            for where, entry in removed:
                self.store.remove_document(where)
                report.removed.append(entry.source)
            if removed:
                self.store.bump_generation()
        report.chunks = self.store.count()
        report.seconds = round(time.perf_counter() - began, 3)
        return report

    def _ingest(
        self,
        folders: list[Path],
        files: list[Path],
        skipped: dict[str, str],
        progress: Progress | None,
        sweep: bool = True,
    ) -> IngestReport:
        """Ingest ``files`` (found under ``folders``; ``skipped``: those of other types, with
        why) and remove the documents of ``folders`` whose files are gone; ``sweep`` first
        deletes what an interrupted run left behind."""
        began = time.perf_counter()
        report = IngestReport(skipped={_name(k): v for k, v in skipped.items()})
        catalog = self.store.catalog()
        swept = self._sweep(catalog) if sweep else False

        max_bytes = int(self.settings.max_file_mb * 1e6)
        pending: list[tuple[Document, list[Chunk]]] = []
        seen: set[str] = set()
        last: Future[None] | None = None  # the group being stored
        stop = threading.Event()  # set when the run is interrupted: readers stop at a page
        done = 0

        def read(file: Path) -> tuple[Path, Document | str, list[Chunk]]:
            def pages(page: int, total: int) -> None:
                if stop.is_set():
                    raise Interrupted(file.name)
                if progress and total >= PAGES_TO_REPORT:
                    progress(done, len(files), f"{file.name}, page {page} of {total}")

            return self._read(file, max_bytes, catalog, pages)

        def embedding(group: list[tuple[Document, list[Chunk]]]) -> None:
            count = sum(len(c) for _, c in group)
            if progress and count:
                progress(done, len(files), f"embedding {count} chunks")

        # Files are read and chunked on 4 threads; one writer stores each embedded group while
        # the next is embedded (the model and Chroma leave the GIL), in order, so a group's
        # catalogue entries are still committed only after its chunks.
        with ThreadPoolExecutor(max_workers=4) as pool, ThreadPoolExecutor(max_workers=1) as writer:
            try:
                for done, (file, doc, chunks) in enumerate(pool.map(read, files), 1):
                    if progress:
                        progress(done, len(files), file.name)
                    if isinstance(doc, str):
                        report.skipped[_name(str(file))] = doc
                        seen.add(_resolved(file))
                        continue
                    seen.add(doc.path)
                    if doc.notes:
                        report.notes[doc.source] = list(doc.notes)
                    old = catalog.get(doc.path)
                    if old is not None and old.sha256 == doc.sha256:
                        report.unchanged.append(doc.source)
                        continue
                    (report.updated if old else report.added).append(doc.source)
                    pending.append((doc, chunks))
                    if sum(len(c) for _, c in pending) >= EMBED_GROUP:
                        embedding(pending)
                        last = self._write(pending, set(catalog), writer, last)
                        pending = []
                embedding(pending)
                last = self._write(pending, set(catalog), writer, last)
                if last is not None:
                    last.result()  # a failed write stops the run here, with its own message
            finally:
                # Interrupted (Ctrl-C) or failed: readers still in a long PDF give up at their
                # next page instead of holding the run open until they finish.
                stop.set()

        for folder in (p.resolve() for p in folders if p.is_dir()):
            for path, entry in catalog.items():
                if path not in seen and Path(path).is_relative_to(folder):
                    self.store.remove_document(path)
                    report.removed.append(entry.source)
        if report.changed or swept:
            self.store.bump_generation()
        report.chunks = self.store.count()
        report.seconds = round(time.perf_counter() - began, 3)
        return report

    def _read(
        self,
        file: Path,
        max_bytes: int,
        catalog: dict[str, CatalogEntry],
        pages: Callable[[int, int], None] | None = None,
    ) -> tuple[Path, Document | str, list[Chunk]]:
        """A file read and, when new or changed, chunked (on a reader thread). A PDF, Word or
        EPUB file whose bytes are unchanged is not extracted again."""
        old = catalog.get(_resolved(file))
        sha = file_sha256(file) if old is not None else None
        if old is not None and sha is not None and index_version(sha, self.settings) == old.sha256:
            return file, Document(old.path, old.source, "", old.sha256), []
        doc = read_document(file, max_bytes, pages)
        if isinstance(doc, str):
            return file, doc, []
        doc = replace(doc, sha256=index_version(doc.sha256, self.settings))
        old = catalog.get(doc.path)
        if old is not None and old.sha256 == doc.sha256:
            return file, doc, []
        return file, doc, make_chunks(doc, self.settings.chunk_tokens, self.settings.chunk_overlap)

    def _write(
        self,
        pending: list[tuple[Document, list[Chunk]]],
        replacing: set[str],
        writer: ThreadPoolExecutor,
        previous: Future[None] | None,
    ) -> Future[None] | None:
        """Embed a group of documents here while ``previous`` is stored, then wait for it (a
        failed write raises now) and hand this group to ``writer``; returns its future."""
        if not pending:
            return previous
        chunks = [c for _, doc_chunks in pending for c in doc_chunks]
        vectors = self.embedder.embed([c.text for c in chunks])
        if previous is not None:
            previous.result()
        return writer.submit(self._store, pending, chunks, vectors, replacing)

    def _store(
        self,
        pending: list[tuple[Document, list[Chunk]]],
        chunks: list[Chunk],
        vectors: list[list[float]],
        replacing: set[str],
    ) -> None:
        """Write a group of documents: all their chunks, then the older versions' chunks are
        deleted, then their catalogue entries are committed (the step that makes them live)."""
        self.store.upsert(chunks, vectors)
        for doc, _ in pending:
            if doc.path in replacing:
                self.store.delete_chunks(doc.path, keep_sha256=doc.sha256)
        self.store.commit_documents(
            [
                CatalogEntry(
                    d.path, d.source, d.sha256, len(c), d.title, d.date, d.author, d.url,
                    len(d.pages),
                )
                for d, c in pending
            ]  # fmt: skip
        )

    def _sweep(self, catalog: dict[str, CatalogEntry]) -> bool:
        """Delete chunks no committed document owns (left by an interrupted run)."""
        stale = [
            (path, sha)
            for path, sha in self.store.chunk_versions()
            if path not in catalog or catalog[path].sha256 != sha
        ]
        for path in {p for p, _ in stale}:
            entry = catalog.get(path)
            self.store.delete_chunks(path, keep_sha256=entry.sha256 if entry else "")
        return bool(stale)

    def delete(self, source: str) -> list[str]:
        """Remove every document whose file name is ``source``; returns the removed paths."""
        with writing(self.settings):
            removed = [p for p, e in self.store.catalog().items() if e.source == source]
            for path in removed:
                self.store.remove_document(path)
            if removed:
                self.store.bump_generation()
        return removed


def _resolved(path: Path) -> str:
    try:
        return str(path.resolve())
    except (OSError, RuntimeError):  # a symlink loop (Python < 3.13 raises RuntimeError)
        return str(path.absolute())


def _name(path: str) -> str:
    return Path(path).name
