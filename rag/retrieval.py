"""Find the passages that answer a query: dense (Chroma), lexical (BM25) or both fused.

Hybrid retrieval ranks by reciprocal rank fusion of the two lists; every hit's ``score`` is
its cosine similarity to the query, whatever method found it, so scores stay comparable
and the abstention gate can rely on them. The BM25 side is built from the chunks in the
store and rebuilt whenever the store's generation changes, so it never drifts from Chroma
after an ingest, update or delete (by this process or any other).
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from functools import lru_cache
from typing import Any

from .chunking import indexed_text
from .embedding import Embedder, embedder_for
from .errors import NoIndexError
from .records import Hit
from .settings import Settings
from .store import ChromaStore, Store, hit_from, make_client
from .text import rrf_fuse

# Each method's list is fused this deep. Deeper lists let a chunk one method ranks low still
# add to another's first place: at 30, seed recall@5 0.983, SciFact hybrid nDCG@10 0.716; at
# 100, 0.996 and 0.717, for 2-4 ms more at 100k chunks (docs/experiments.md).
CANDIDATES = 100


class Retriever:
    """``Retriever().search("When did Blinken meet Lavrov?", k=5) -> list[Hit]``."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        store: Store | None = None,
        collection: str | None = None,
    ) -> None:
        self.settings = (settings or Settings.from_env()).with_(collection=collection)
        self._embedder = embedder
        self._store = store
        self._lexical: _Lexical | None = None
        self._lock = threading.Lock()
        # Opening the parts is safe from any number of threads (the UI's warm-up, questions
        # and uploads arrive at once): each is opened once, the others wait for it.
        self._parts = threading.RLock()

    @property
    def embedder(self) -> Embedder:
        with self._parts:
            if self._embedder is None:
                self._embedder = embedder_for(self.settings)
            return self._embedder

    @property
    def store(self) -> Store:
        """The index, for reading: ``NoIndexError`` when nothing was ingested yet."""
        return self.open_store(create=False)

    def open_store(self, create: bool) -> Store:
        """The index, opened once; ``create``: make it if it does not exist yet."""
        with self._parts:
            if self._store is None:
                # Fail fast (no index, server down) before loading the embedding model.
                if not create:
                    _require_index(self.settings)
                client = make_client(self.settings)
                self._store = open_store(self.settings, self.embedder, create=create, client=client)
            return self._store

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        extra_queries: tuple[str, ...] = (),
        extra_weight: float = 0.5,
    ) -> list[Hit]:
        """The ``k`` best passages for ``query``; ``extra_queries`` (e.g. the conversation so
        far) are searched too and fused in at ``extra_weight`` (half weight by default)."""
        if not query.strip() or k < 1:
            return []
        mode = self.settings.retrieval
        store = self.store
        vector = self.embedder.embed([query, *extra_queries])
        rankings: list[list[str]] = []
        weights: list[float] = []
        hits: dict[str, Hit] = {}
        lexical = self._lexical_index() if mode in ("hybrid", "bm25") else None
        for i, q in enumerate([query, *extra_queries]):
            weight = 1.0 if i == 0 else extra_weight
            if mode in ("hybrid", "dense"):
                dense = store.query(vector[i], CANDIDATES)
                dense = [h for h in dense if lexical is None or lexical.committed(h.chunk_id)]
                hits.update((h.chunk_id, h) for h in dense if h.chunk_id not in hits)
                rankings.append([h.chunk_id for h in dense])
                weights.append(weight)
            if lexical is not None:
                rankings.append(lexical.search(q, CANDIDATES))
                weights.append(weight)
        fused = [cid for cid, _ in rrf_fuse(rankings, weights=weights)][:k]
        missing = [cid for cid in fused if cid not in hits]
        if missing and lexical is not None:
            for cid in missing:
                hits[cid] = lexical.hit(cid, vector[0])
        return [hits[cid] for cid in fused if cid in hits]

    def chunks_of(self, sources: Collection[str]) -> list[Hit]:
        """Every committed chunk of the documents named ``sources`` (the rows the BM25 side
        already holds for this index generation: nothing is read again)."""
        return self._lexical_index().of(sources)

    def _lexical_index(self) -> _Lexical:
        generation = self.store.generation()
        with self._lock:
            if self._lexical is None or self._lexical.generation != generation:
                self._lexical = _Lexical(self.store, generation)
            return self._lexical


class _Lexical:
    """BM25 over the committed chunks of one store generation."""

    def __init__(self, store: Store, generation: str) -> None:
        import bm25s

        self.generation = generation
        catalog = store.catalog()
        rows = [
            (cid, text, meta)
            for cid, text, meta in store.all_chunks()
            if (entry := catalog.get(meta["path"])) is not None
            and entry.sha256 == meta["doc_sha256"]
        ]
        self._ids = [cid for cid, _, _ in rows]
        self._rows = {cid: (text, meta) for cid, text, meta in rows}
        self._store = store
        self._bm25 = bm25s.BM25()
        if rows:
            tokens = bm25s.tokenize(
                [
                    indexed_text(text, str(meta.get("title", "")), str(meta.get("section", "")))
                    for _, text, meta in rows
                ],
                stopwords="en",
                stemmer=_stemmer(),
                show_progress=False,
            )
            self._bm25.index(tokens, show_progress=False)

    def committed(self, chunk_id: str) -> bool:
        return chunk_id in self._rows

    def search(self, query: str, k: int) -> list[str]:
        import bm25s

        if not self._ids:
            return []
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=_stemmer(), show_progress=False)
        if not tokens.vocab:
            return []
        k = min(k, len(self._ids))
        docs, scores = self._bm25.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        return [self._ids[int(d)] for d, s in zip(docs[0], scores[0]) if s > 0]

    def of(self, sources: Collection[str]) -> list[Hit]:
        return [
            hit_from(cid, text, meta, 1.0)
            for cid, (text, meta) in self._rows.items()
            if meta.get("source") in sources
        ]

    def hit(self, chunk_id: str, query_vector: list[float]) -> Hit:
        text, meta = self._rows[chunk_id]
        vectors = self._store.embeddings([chunk_id])
        score = sum(a * b for a, b in zip(query_vector, vectors[0])) if vectors else 0.0
        return hit_from(chunk_id, text, meta, float(score))


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    try:
        import Stemmer  # PyStemmer

        return Stemmer.Stemmer("english")
    except ImportError:
        return None


def _require_index(settings: Settings) -> None:
    if not settings.chroma_url and not settings.chroma_path.exists():
        raise NoIndexError(f"No index in {settings.home} yet: run `rag ingest seeds/` first.")


def open_store(settings: Settings, embedder: Embedder, create: bool, client: Any = None) -> Store:
    where = settings.chroma_url or str(settings.chroma_path)
    if not create:
        _require_index(settings)
    return ChromaStore(
        client or make_client(settings),
        settings.collection,
        embedder.name,
        embedder.dim,
        create,
        where,
    )
