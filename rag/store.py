"""The vector store: one Chroma collection of chunks plus a small catalogue collection.

Embedded (``PersistentClient`` under ``RAG_HOME``) by default, a Chroma server through
``HttpClient`` when ``RAG_CHROMA_URL`` is set; the rest of the code cannot tell which.
Cosine distance, our own embeddings (Chroma's default embedder would download a model) and
telemetry off.

The catalogue (``<collection>_catalog``) holds one record per committed document (path,
content hash, chunk count, title, date) and a ``generation`` record that changes on every
write, with the time of that write (``changed_at``). A document's chunks are written before its catalogue record, so a reader that only
trusts chunks whose hash matches the catalogue never sees a half-written document, and the
next ingest sweeps away anything a crash left behind.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlparse

from .errors import IndexMismatchError, NoIndexError, StoreError
from .records import Chunk, DocumentInfo, Hit
from .settings import Settings

GENERATION_ID = "__generation__"


@dataclass(frozen=True)
class CatalogEntry:
    path: str
    source: str
    sha256: str
    chunks: int
    title: str = ""
    date: str = ""
    author: str = ""
    url: str = ""
    pages: int = 0  # of a PDF; 0 for unpaged files

    def info(self) -> DocumentInfo:
        return DocumentInfo(
            self.source, self.path, self.chunks, self.title, self.date, self.author, self.url,
            self.pages,
        )  # fmt: skip


# Chroma keeps one shared system per on-disk path in a process-wide registry that is not
# safe to fill from two threads at once ("Could not connect to tenant default_tenant", then
# a KeyError for the path): clients and collections are opened one at a time.
OPEN_LOCK = threading.RLock()


def make_client(settings: Settings) -> Any:
    """A Chroma client for the settings: a server when ``chroma_url`` is set, else on disk."""
    with OPEN_LOCK:
        return _make_client(settings)


def _make_client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise StoreError(
                f"RAG_CHROMA_URL={settings.chroma_url!r} is not an http(s)://host:port URL."
            )
        try:
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as exc:  # chromadb raises bare ValueError/ConnectionError here
            raise StoreError(
                f"Cannot reach the Chroma server at {settings.chroma_url} ({one_line(exc)}): "
                "start it with `chroma run` or fix RAG_CHROMA_URL."
            ) from None
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


def collections(settings: Settings) -> list[str]:
    """The names of the collections in the index ``settings`` point at, the configured one
    first when it exists; [] when nothing was ingested yet."""
    if not settings.chroma_url and not settings.chroma_path.exists():
        return []
    client = make_client(settings)
    try:
        with OPEN_LOCK:
            names = {getattr(c, "name", c) for c in client.list_collections()}
    except Exception as exc:
        where = settings.chroma_url or str(settings.chroma_path)
        raise StoreError(f"Chroma at {where} failed: {one_line(exc)}") from None
    found = sorted(n for n in names if f"{n}_catalog" in names)
    return sorted(found, key=lambda n: n != settings.collection)


def _open(client: Any, name: str, meta: dict[str, Any], create: bool) -> tuple[Any, Any]:
    """The chunk collection (made if ``create``) and the catalogue of ``name``."""
    if create:
        chunks = client.get_or_create_collection(name, metadata=meta, embedding_function=None)
    else:
        chunks = client.get_collection(name, embedding_function=None)
    return chunks, client.get_or_create_collection(f"{name}_catalog", embedding_function=None)


class Store(Protocol):
    """Where chunks, their embeddings and the catalogue of committed documents live.

    ``ChromaStore`` is the product's; ``MemoryStore`` keeps everything in a dict, for tests.
    Ingest writes a document's chunks (``upsert``) before its catalogue entry
    (``commit_documents``) and then ``bump_generation``; readers trust only chunks whose
    ``doc_sha256`` matches the catalogue, and rebuild what they derive (BM25) when the
    generation changes.
    """

    name: str

    def count(self) -> int: ...
    def upsert(self, chunks: list[Chunk], embeddings: list[list[float]]) -> None: ...
    def delete_chunks(self, path: str, keep_sha256: str = "") -> None: ...
    def chunk_versions(self) -> set[tuple[str, str]]: ...
    def all_chunks(self) -> list[tuple[str, str, dict[str, Any]]]: ...
    def chunk_ids(self) -> list[str]: ...
    def chunk_rows(self, ids: list[str]) -> list[tuple[str, str, dict[str, Any]]]: ...
    def query(self, embedding: list[float], k: int) -> list[Hit]: ...
    def get_chunks(self, ids: list[str]) -> list[Hit]: ...
    def page_chunks(self, chunk_id: str) -> list[Hit]: ...
    def embeddings(self, ids: list[str]) -> list[list[float]]: ...
    def catalog(self) -> dict[str, CatalogEntry]: ...
    def commit_documents(self, entries: list[CatalogEntry]) -> None: ...
    def remove_document(self, path: str) -> None: ...
    def generation(self) -> str: ...
    def bump_generation(self) -> None: ...
    def changed_at(self) -> str: ...
    def documents(self) -> list[DocumentInfo]: ...


class ChromaStore:
    """Chunks with embeddings, and the catalogue of committed documents."""

    def __init__(
        self,
        client: Any,
        name: str,
        embed_model: str,
        dim: int,
        create: bool = True,
        where: str = "",
    ) -> None:
        from chromadb.errors import NotFoundError

        self.name = name
        self._where = where or name
        meta = {"hnsw:space": "cosine", "embed_model": embed_model, "embed_dim": dim}
        try:
            with OPEN_LOCK:
                chunks, catalog = _open(client, name, meta, create)
        except NotFoundError:
            raise NoIndexError(
                f"No collection named {name!r} in {self._where} yet: add documents with "
                f"`rag ingest --collection {name} <files>` (`rag collections` lists them)."
            ) from None
        except Exception as exc:
            raise StoreError(f"Chroma at {self._where} failed: {one_line(exc)}") from None
        self._chunks = _Guarded(chunks, self._where)
        self._catalog = _Guarded(catalog, self._where)
        stored = self._chunks.metadata or {}
        if (stored.get("embed_model"), stored.get("embed_dim")) != (embed_model, dim):
            raise IndexMismatchError(
                f"The index was built with {stored.get('embed_model')} "
                f"({stored.get('embed_dim')} dimensions) but {embed_model} ({dim}) is "
                "configured: set RAG_EMBED_MODEL back, or use another RAG_COLLECTION."
            )
        self.batch = max(1, min(2000, int(client.get_max_batch_size())))

    # -- chunks -------------------------------------------------------------------------
    def count(self) -> int:
        return int(self._chunks.count())

    def upsert(self, chunks: list[Chunk], embeddings: list[list[float]]) -> None:
        for i in range(0, len(chunks), self.batch):
            part = chunks[i : i + self.batch]
            self._chunks.upsert(
                ids=[c.chunk_id for c in part],
                embeddings=embeddings[i : i + self.batch],
                documents=[c.text for c in part],
                metadatas=[_chunk_meta(c) for c in part],
            )

    def delete_chunks(self, path: str, keep_sha256: str = "") -> None:
        """Delete the chunks of ``path``, except those of version ``keep_sha256``."""
        where: dict[str, Any] = {"path": path}
        if keep_sha256:
            where = {"$and": [{"path": path}, {"doc_sha256": {"$ne": keep_sha256}}]}
        self._chunks.delete(where=where)

    def chunk_versions(self) -> set[tuple[str, str]]:
        """Every ``(path, doc_sha256)`` that has chunks in the collection."""
        out: set[tuple[str, str]] = set()
        for meta in self._page(self._chunks, include=["metadatas"]):
            out.add((str(meta[1]["path"]), str(meta[1]["doc_sha256"])))
        return out

    def all_chunks(self) -> list[tuple[str, str, dict[str, Any]]]:
        """``(chunk_id, text, metadata)`` for every chunk (for the BM25 side)."""
        return [
            (cid, text, meta)
            for cid, meta, text in self._page(self._chunks, include=["metadatas", "documents"])
        ]

    def chunk_ids(self) -> list[str]:
        """Every chunk id, in the order ``all_chunks`` lists them (reading ids alone is fast:
        the BM25 side reads them on every change and fetches only the chunks it lacks)."""
        # Large pages: Chroma walks past the whole offset for each page, so at 100k chunks
        # pages of 5,000 ids take seconds where pages of 100,000 take a few hundred ms.
        return [cid for (cid,) in self._page(self._chunks, include=[], size=100_000)]

    def chunk_rows(self, ids: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
        """``(chunk_id, text, metadata)`` of those of ``ids`` that are in the collection."""
        out: list[tuple[str, str, dict[str, Any]]] = []
        for i in range(0, len(ids), self.batch):
            result = self._chunks.get(
                ids=ids[i : i + self.batch], include=["documents", "metadatas"]
            )
            out.extend(zip(result["ids"], result["documents"], result["metadatas"]))
        return out

    def query(self, embedding: list[float], k: int) -> list[Hit]:
        k = max(1, min(k, self.count()))
        result = self._chunks.query(
            query_embeddings=[embedding],
            n_results=k,
            include=["documents", "metadatas", "distances"],
        )
        return [
            hit_from(cid, text, meta, 1.0 - float(dist))
            for cid, text, meta, dist in zip(
                result["ids"][0],
                result["documents"][0],
                result["metadatas"][0],
                result["distances"][0],
            )
        ]

    def get_chunks(self, ids: list[str]) -> list[Hit]:
        by_id = {cid: hit_from(cid, text, meta, 0.0) for cid, text, meta in self.chunk_rows(ids)}
        return [by_id[i] for i in ids if i in by_id]

    def page_chunks(self, chunk_id: str) -> list[Hit]:
        """Every chunk on the same page of the same document version as ``chunk_id``
        (none when it has no page)."""
        found = self._chunks.get(ids=[chunk_id], include=["metadatas"])
        if not found["ids"] or not found["metadatas"][0].get("page"):
            return []
        meta = found["metadatas"][0]
        where = {"$and": [{k: meta[k]} for k in ("path", "doc_sha256", "page")]}
        result = self._chunks.get(where=where, include=["documents", "metadatas"])
        return [
            hit_from(cid, text, m, 0.0)
            for cid, text, m in zip(result["ids"], result["documents"], result["metadatas"])
        ]

    def embeddings(self, ids: list[str]) -> list[list[float]]:
        if not ids:
            return []
        result = self._chunks.get(ids=ids, include=["embeddings"])
        found = {cid: v for cid, v in zip(result["ids"], result["embeddings"])}
        return [list(map(float, found[i])) for i in ids if i in found]  # in the order asked

    # -- catalogue ----------------------------------------------------------------------
    def catalog(self) -> dict[str, CatalogEntry]:
        out = {}
        for cid, meta in self._page(self._catalog, include=["metadatas"]):
            if cid != GENERATION_ID:
                out[meta["path"]] = CatalogEntry(**meta)
        return out

    def commit_documents(self, entries: list[CatalogEntry]) -> None:
        for i in range(0, len(entries), self.batch):
            part = entries[i : i + self.batch]
            self._catalog.upsert(
                ids=[f"doc:{e.path}" for e in part],
                embeddings=[[0.0]] * len(part),
                metadatas=[e.__dict__ for e in part],
            )

    def remove_document(self, path: str) -> None:
        self._catalog.delete(ids=[f"doc:{path}"])
        self.delete_chunks(path)

    def generation(self) -> str:
        result = self._catalog.get(ids=[GENERATION_ID], include=["metadatas"])
        return str(result["metadatas"][0]["value"]) if result["ids"] else ""

    def bump_generation(self) -> None:
        self._catalog.upsert(
            ids=[GENERATION_ID],
            embeddings=[[0.0]],
            metadatas=[{"value": uuid.uuid4().hex, "changed": now_iso()}],
        )

    def changed_at(self) -> str:
        """When the index last changed (ISO 8601, UTC), as the last ``bump_generation`` wrote
        it; "" before any change, or for an index written before the time was kept."""
        result = self._catalog.get(ids=[GENERATION_ID], include=["metadatas"])
        return str(result["metadatas"][0].get("changed", "")) if result["ids"] else ""

    def documents(self) -> list[DocumentInfo]:
        return sorted(
            (e.info() for e in self.catalog().values()),
            key=lambda d: (d.source, d.path),
        )

    def _page(
        self, collection: Any, include: list[str], size: int = 5000
    ) -> Iterable[tuple[Any, ...]]:
        offset = 0
        while True:
            result = collection.get(include=include, limit=size, offset=offset)
            ids = result["ids"]
            if not ids:
                return
            columns = [result[name] for name in include]
            yield from zip(ids, *columns)
            offset += len(ids)


class MemoryStore:
    """A ``Store`` in a dict, for tests: the same contract as ``ChromaStore``, no disk.

    >>> from rag.records import Chunk
    >>> store = MemoryStore()
    >>> chunk = Chunk("c1", "a.txt", "/d/a.txt", 0, 0, 16, "Talks in Geneva.", doc_sha256="h1")
    >>> store.upsert([chunk], [[1.0, 0.0]])
    >>> [h.chunk_id for h in store.query([1.0, 0.0], 5)], store.count()
    (['c1'], 1)
    """

    def __init__(self, name: str = "documents") -> None:
        self.name = name
        self._chunks: dict[str, tuple[str, dict[str, Any], list[float]]] = {}
        self._catalog: dict[str, CatalogEntry] = {}
        self._generation = ""
        self._changed = ""

    def count(self) -> int:
        return len(self._chunks)

    def upsert(self, chunks: list[Chunk], embeddings: list[list[float]]) -> None:
        for chunk, vector in zip(chunks, embeddings, strict=True):
            self._chunks[chunk.chunk_id] = (chunk.text, _chunk_meta(chunk), list(vector))

    def delete_chunks(self, path: str, keep_sha256: str = "") -> None:
        for cid, (_, meta, _) in list(self._chunks.items()):
            if meta["path"] == path and (not keep_sha256 or meta["doc_sha256"] != keep_sha256):
                del self._chunks[cid]

    def chunk_versions(self) -> set[tuple[str, str]]:
        return {(m["path"], m["doc_sha256"]) for _, m, _ in self._chunks.values()}

    def all_chunks(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [(cid, text, dict(meta)) for cid, (text, meta, _) in self._chunks.items()]

    def chunk_ids(self) -> list[str]:
        return list(self._chunks)

    def chunk_rows(self, ids: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
        return [(i, self._chunks[i][0], dict(self._chunks[i][1])) for i in ids if i in self._chunks]

    def query(self, embedding: list[float], k: int) -> list[Hit]:
        def cosine(vector: list[float]) -> float:
            norms = (sum(a * a for a in embedding) * sum(b * b for b in vector)) ** 0.5
            return sum(a * b for a, b in zip(embedding, vector)) / norms if norms else 0.0

        scored = [(cosine(v), cid, text, meta) for cid, (text, meta, v) in self._chunks.items()]
        scored.sort(key=lambda row: -row[0])
        return [hit_from(cid, text, meta, score) for score, cid, text, meta in scored[: max(1, k)]]

    def get_chunks(self, ids: list[str]) -> list[Hit]:
        return [hit_from(cid, text, meta, 0.0) for cid, text, meta in self.chunk_rows(ids)]

    def page_chunks(self, chunk_id: str) -> list[Hit]:
        if chunk_id not in self._chunks or not self._chunks[chunk_id][1].get("page"):
            return []
        meta = self._chunks[chunk_id][1]
        keys = ("path", "doc_sha256", "page")
        return [
            hit_from(cid, text, m, 0.0)
            for cid, (text, m, _) in self._chunks.items()
            if all(m[k] == meta[k] for k in keys)
        ]

    def embeddings(self, ids: list[str]) -> list[list[float]]:
        return [list(self._chunks[i][2]) for i in ids if i in self._chunks]

    def catalog(self) -> dict[str, CatalogEntry]:
        return dict(self._catalog)

    def commit_documents(self, entries: list[CatalogEntry]) -> None:
        self._catalog.update((e.path, e) for e in entries)

    def remove_document(self, path: str) -> None:
        self._catalog.pop(path, None)
        self.delete_chunks(path)

    def generation(self) -> str:
        return self._generation

    def bump_generation(self) -> None:
        self._generation = uuid.uuid4().hex
        self._changed = now_iso()

    def changed_at(self) -> str:
        return self._changed

    def documents(self) -> list[DocumentInfo]:
        return sorted(
            (e.info() for e in self._catalog.values()),
            key=lambda d: (d.source, d.path),
        )


def now_iso() -> str:
    """The time now in UTC, ISO 8601 to the millisecond ("2026-12-07T14:05:09.120+00:00")."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def one_line(exc: BaseException) -> str:
    """An exception as one short line (servers put whole HTML pages in their errors)."""
    return " ".join(str(exc).split())[:200]


class _Guarded:
    """A Chroma collection whose failures (a server gone away mid-session) surface as one-line
    ``StoreError``s instead of raw HTTP exceptions."""

    def __init__(self, target: Any, where: str) -> None:
        self._target = target
        self._where = where

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return value(*args, **kwargs)
            except Exception as exc:
                raise StoreError(
                    f"Chroma at {self._where} failed ({one_line(exc)}): check that it is running "
                    "and reachable, then run the command again."
                ) from None

        return call


def _chunk_meta(c: Chunk) -> dict[str, Any]:
    return {
        "source": c.source,
        "path": c.path,
        "index": c.index,
        "start": c.start,
        "end": c.end,
        "title": c.title,
        "date": c.date,
        "doc_sha256": c.doc_sha256,
        "page": c.page or 0,  # Chroma keeps no None
        "section": c.section,
    }


def hit_from(chunk_id: str, text: str, meta: dict[str, Any], score: float) -> Hit:
    return Hit(
        source=str(meta.get("source", "")),
        chunk_id=chunk_id,
        score=round(score, 4),
        text=text,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        title=str(meta.get("title", "")),
        date=str(meta.get("date", "")),
        index=int(meta.get("index", 0)),
        page=int(meta.get("page", 0)) or None,
        section=str(meta.get("section", "")),
    )
