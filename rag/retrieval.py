"""Find the passages that answer a query: dense (Chroma), lexical (BM25) or both fused.

Hybrid retrieval ranks by reciprocal rank fusion of the two lists; every hit's ``score`` is
its cosine similarity to the query, whatever method found it, so scores stay comparable
and the abstention gate can rely on them.

The BM25 side keeps every chunk of the store with its token ids, and catches up whenever the
store's generation changes (an ingest, update or delete, by this process or any other): it
reads the chunk ids and the catalogue, drops the chunks that are gone, reads and tokenizes
only the new ones, and recomputes the BM25 matrix over the committed chunks with whole-array
operations. It ranks exactly as one built from nothing would, and the first search after a
change costs the id list, the catalogue and the matrix, never a re-read of every chunk.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
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

TOKENIZE_BATCH = 5000  # chunks tokenized at a time when the BM25 side reads many


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
                self._lexical = _Lexical(self.store, generation, self._lexical)
            return self._lexical


class _Lexical:
    """BM25 over the committed chunks of one store generation, built from the one before.

    Only chunks ``previous`` has not seen are read from the store and tokenized; the others
    keep their text, metadata and token ids, since a chunk id names one text for good (it is
    derived from the document's path, content hash and position, ``rag.ingest.make_chunks``).
    Which chunks count as committed is decided afresh from the catalogue every time, and the
    BM25 matrix is recomputed over them, so the result equals a build from nothing.
    """

    _seen: dict[str, _Row]  # every chunk in the store
    _tokenizer: Any  # bm25s.tokenization.Tokenizer, shared with the generations before
    _tokenized: int  # how many chunks that tokenizer has tokenized

    def __init__(self, store: Store, generation: str, previous: _Lexical | None = None) -> None:
        import bm25s

        self.generation = generation
        self._store = store
        catalog = store.catalog()
        # A vocabulary shared across generations keeps the words of deleted chunks: start over
        # once it has tokenized twice as many chunks as the store holds.
        if previous is not None and previous._tokenized <= 2 * max(len(previous._seen), 1000):
            seen, self._tokenizer = previous._seen, previous._tokenizer
            ids = store.chunk_ids()
            fresh = self._tokenize(store.chunk_rows([cid for cid in ids if cid not in seen]))
            self._tokenized = previous._tokenized + len(fresh)
        else:
            seen, self._tokenizer = {}, _tokenizer()
            rows = store.all_chunks()
            ids = [cid for cid, _, _ in rows]
            fresh = self._tokenize(rows)
            self._tokenized = len(fresh)
        # Every chunk in the store (committed or not: a document's chunks are written before
        # its catalogue entry), in the store's order, which breaks ties between equal scores.
        self._seen = {cid: row for cid in ids if (row := seen.get(cid) or fresh.get(cid))}
        self._rows = {
            cid: row
            for cid, row in self._seen.items()
            if (entry := catalog.get(row.meta["path"])) is not None
            and entry.sha256 == row.meta["doc_sha256"]
        }
        self._ids = list(self._rows)
        self._bm25 = _bm25_class()()
        if self._rows:
            vocab = dict(self._tokenizer.get_vocab_dict())  # a copy: ``index`` adds to it
            tokens = [row.tokens for row in self._rows.values()]
            self._bm25.index(
                bm25s.tokenization.Tokenized(ids=tokens, vocab=vocab), show_progress=False
            )

    def _tokenize(self, rows: list[tuple[str, str, dict[str, Any]]]) -> dict[str, _Row]:
        """``rows`` with the sorted token ids of what BM25 indexes for each (``indexed_text``),
        the shared vocabulary grown by their new words. In batches, so that the texts and
        token lists of a whole collection are never in memory at once."""
        import numpy as np

        out = {}
        for at in range(0, len(rows), TOKENIZE_BATCH):
            batch = rows[at : at + TOKENIZE_BATCH]
            texts = [
                indexed_text(text, str(meta.get("title", "")), str(meta.get("section", "")))
                for _, text, meta in batch
            ]
            ids = self._tokenizer.tokenize(
                texts, update_vocab=True, return_as="ids", show_progress=False, allow_empty=False
            )
            for (cid, text, meta), tokens in zip(batch, ids, strict=True):
                out[cid] = _Row(text, meta, np.sort(np.asarray(tokens, dtype=np.int32)))
        return out

    def committed(self, chunk_id: str) -> bool:
        return chunk_id in self._rows

    def search(self, query: str, k: int) -> list[str]:
        return [cid for cid, score in self.scored(query, k) if score > 0]

    def scored(self, query: str, k: int) -> list[tuple[str, float]]:
        """The ``k`` best ``(chunk id, BM25 score)`` for ``query``, best first."""
        import bm25s

        if not self._ids:
            return []
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=_stemmer(), show_progress=False)
        if not tokens.vocab:
            return []
        k = min(k, len(self._ids))
        docs, scores = self._bm25.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        return [(self._ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0])]

    def of(self, sources: Collection[str]) -> list[Hit]:
        return [
            hit_from(cid, row.text, row.meta, 1.0)
            for cid, row in self._rows.items()
            if row.meta.get("source") in sources
        ]

    def hit(self, chunk_id: str, query_vector: list[float]) -> Hit:
        row = self._rows[chunk_id]
        vectors = self._store.embeddings([chunk_id])
        score = sum(a * b for a, b in zip(query_vector, vectors[0])) if vectors else 0.0
        return hit_from(chunk_id, row.text, row.meta, float(score))


@dataclass(frozen=True, slots=True)
class _Row:
    """A chunk as the BM25 side keeps it: its text and metadata, and its token ids sorted."""

    text: str
    meta: dict[str, Any]
    tokens: Any  # a numpy int32 array


def _tokenizer() -> Any:
    """A bm25s tokenizer whose vocabulary grows with every text it sees: lower case, words of
    two or more characters, English stopwords out, stemmed (the same tokens as
    ``bm25s.tokenize``, under ids that stay put from one call to the next)."""
    from bm25s.tokenization import Tokenizer

    return Tokenizer(stopwords="en", stemmer=_stemmer())


@lru_cache(maxsize=1)
def _bm25_class() -> Any:
    import bm25s
    import numpy as np
    import scipy.sparse  # a dependency of its own (pyproject); bm25s uses it too when present
    from bm25s.scoring import _build_idf_array, _select_idf_scorer, _select_tfc_scorer

    class BM25(bm25s.BM25):  # type: ignore[misc]
        """``bm25s.BM25`` that computes its score matrix with whole-array operations: bm25s
        loops over the documents in Python (seconds at 100k chunks), and a new generation
        recomputes the matrix. The same formulas, through bm25s's own scorers, and the same
        layout; ``build_index_from_ids`` is the hook bm25s documents for building it."""

        def build_index_from_ids(
            self,
            unique_token_ids: list[int],
            corpus_token_ids: list[Any],
            show_progress: bool = True,
            leave_progress: bool = False,
        ) -> dict[str, Any]:
            n_docs, n_vocab = len(corpus_token_ids), len(unique_token_ids)
            lengths = np.array([len(doc) for doc in corpus_token_ids], dtype=np.int64)
            entries = None
            if self.method not in self.methods_requiring_nonoccurrence:
                entries = _entries(corpus_token_ids, lengths, n_vocab)
            if entries is None:  # BM25L or BM25+, or ids out of order: bm25s's own loop
                return super().build_index_from_ids(unique_token_ids, corpus_token_ids)
            self.nonoccurrence_array = None
            rows, cols, counts = entries
            idf = _build_idf_array(
                dict(enumerate(np.bincount(cols, minlength=n_vocab).tolist())),
                n_docs,
                compute_idf_fn=_select_idf_scorer(self.idf_method),
                dtype=self.dtype,
            )
            tfc = _select_tfc_scorer(self.method)(
                tf_array=counts.astype(self.dtype),
                l_d=lengths[rows],
                l_avg=lengths.mean(),
                k1=self.k1,
                b=self.b,
                delta=self.delta,
            )
            # Rows in order with their columns ascending: a CSR matrix, turned column-major
            # (what bm25s scores from) without sorting.
            row_starts = np.searchsorted(rows, np.arange(n_docs + 1))
            matrix = scipy.sparse.csr_matrix(
                ((idf[cols] * tfc).astype(self.dtype), cols, row_starts), shape=(n_docs, n_vocab)
            ).tocsc()
            return {
                "data": matrix.data,
                "indices": matrix.indices,
                "indptr": matrix.indptr,
                "num_docs": n_docs,
            }

    return BM25


def _entries(
    corpus_token_ids: list[Any], lengths: Any, n_vocab: int
) -> tuple[Any, Any, Any] | None:
    """The nonzero entries of a document-by-token matrix of counts, from each document's token
    ids in ascending order: ``(rows, cols, counts)``, rows ascending and each row's columns
    ascending; None when a document's ids are out of order.

    >>> [a.tolist() for a in _entries([[0, 0, 2], [], [1]], [3, 0, 1], 3)]
    [[0, 0, 2], [0, 2, 1], [2, 1, 1]]
    """
    import numpy as np

    tokens = np.concatenate([np.asarray(doc, dtype=np.int32) for doc in corpus_token_ids])
    if tokens.size and not 0 <= tokens.min() <= tokens.max() < n_vocab:
        raise ValueError(f"A token id lies outside the vocabulary of {n_vocab} tokens.")
    docs = np.repeat(np.arange(len(corpus_token_ids), dtype=np.int32), lengths)
    same_doc = docs[1:] == docs[:-1]
    if bool(np.any(same_doc & (tokens[1:] < tokens[:-1]))):
        return None
    # Each run of one token within one document is one entry, as long as the token's count.
    starts = np.ones(tokens.size, dtype=bool)
    starts[1:] = ~same_doc | (tokens[1:] != tokens[:-1])
    at = np.flatnonzero(starts)
    return docs[at], tokens[at], np.diff(at, append=tokens.size)


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
