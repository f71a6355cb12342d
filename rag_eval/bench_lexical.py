"""``bench_lexical``: what keeping the BM25 side up to date costs as the collection grows.

At each size a collection of SciFact abstracts is ingested through the project's ``Indexer``
(past SciFact's 5,183 abstracts, more are made of sentences drawn from random ones under a
real title). Its vectors are random unit vectors: BM25 reads only the text, and a dense
search costs the same for any vectors of the model's dimension. Then, three times, one more
abstract is ingested with the real embedder and the first hybrid search after it is timed:
the search that brings the BM25 side up to date. Beside it, in the same round, the first
search of a new ``Retriever``, which builds the BM25 side from nothing, and, once the rounds
are done, a search when nothing changed. Memory: what a new ``Retriever`` holds after its
first search (``tracemalloc``), nearly all of it the BM25 side.
"""

from __future__ import annotations

import random
import re
import shutil
import tempfile
import tracemalloc
from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from rag.embedding import Embedder
from rag.settings import Settings

from .bench import _timed
from .metrics import median

CHUNKS_PER_ABSTRACT = 3.6  # SciFact's average at the default chunk size (docs/experiments.md)
ROUNDS = 3
UNCHANGED_QUERIES = 10


def bench_lexical(
    settings: Settings,
    sizes: Iterable[int] = (10_000, 100_000),
    embedder: Embedder | None = None,
) -> dict[str, Any]:
    """Per size (its key, e.g. ``"10000"``): ``chunks``, ``first_search_after_ingest_ms``
    (median of three rounds), ``full_rebuild_ms`` (the same rounds), ``unchanged_search_ms``
    (median of ten queries) and ``bm25_mb``. ``embedder``: the model that embeds the ingested
    documents and the queries (the configured one by default)."""
    from rag.embedding import embedder_for

    from .datasets import load_scifact

    embedder = embedder or embedder_for(settings)
    corpus, queries, _ = load_scifact()
    abstracts = [corpus[k] for k in sorted(corpus)]
    questions = [queries[k] for k in sorted(queries)]
    out: dict[str, Any] = {"embedder": embedder.name, "bulk_vectors": "random unit vectors"}
    work = Path(tempfile.mkdtemp(prefix="rag-bench-lex-"))
    try:
        for size in sizes:
            s = settings.with_(home=work / f"h{size}", collection=f"lex-{size}", retrieval="hybrid")
            out[str(size)] = _at_size(s, embedder, abstracts, size, questions, work / f"d{size}")
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _at_size(
    settings: Settings,
    embedder: Embedder,
    abstracts: list[str],
    size: int,
    questions: list[str],
    work: Path,
) -> dict[str, Any]:
    from rag.ingest import Indexer
    from rag.retrieval import Retriever, open_store

    n_docs = max(1, round(size / CHUNKS_PER_ABSTRACT))
    texts = _abstracts(abstracts)
    folder = work / "bulk"
    folder.mkdir(parents=True)
    for i in range(n_docs):
        (folder / f"{i:06d}.txt").write_text(next(texts))
    store = open_store(settings, embedder, create=True)
    Indexer(settings, store, _RandomVectors(embedder.dim)).ingest([folder])
    retriever = Retriever(settings, embedder=embedder, store=store)
    retriever.search(questions[0])
    first, full = [], []
    for i in range(ROUNDS):
        new = work / f"new-{i}.txt"
        new.write_text(next(texts))
        Indexer(settings, store, embedder).update([new])
        fresh = Retriever(settings, embedder=embedder, store=store)
        first.append(_timed(partial(retriever.search, questions[1 + i]))[0])
        full.append(_timed(partial(fresh.search, questions[1 + i]))[0])
    unchanged = [
        _timed(partial(retriever.search, q))[0] for q in questions[ROUNDS + 1 :][:UNCHANGED_QUERIES]
    ]
    tracemalloc.start()
    try:
        held = Retriever(settings, embedder=embedder, store=store)
        held.search(questions[0])
        bm25_bytes = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return {
        "chunks": store.count(),
        "first_search_after_ingest_ms": round(median(first), 1),
        "full_rebuild_ms": round(median(full), 1),
        "unchanged_search_ms": round(median(unchanged), 1),
        "bm25_mb": round(bm25_bytes / 2**20, 1),
    }


def _abstracts(corpus: list[str]) -> Iterator[str]:
    """SciFact's abstracts (``"title\\nabstract"``), then endlessly more, each a real title
    over as many sentences as a real abstract has, drawn from random abstracts."""
    yield from corpus
    rng = random.Random(0)
    split = [(t.split("\n", 1)[0], re.split(r"(?<=\.) ", t.split("\n", 1)[-1])) for t in corpus]
    while True:
        title, sentences = rng.choice(split)
        body = " ".join(rng.choice(rng.choice(split)[1]) for _ in sentences)
        yield f"{title}\n{body}"


class _RandomVectors:
    """Unit vectors at random, for the bulk of a collection (BM25 reads only the text)."""

    name = "random"

    def __init__(self, dim: int) -> None:
        import numpy as np

        self.dim = dim
        self._rng = np.random.default_rng(0)

    def embed(self, texts: list[str]) -> list[list[float]]:
        import numpy as np

        vectors = self._rng.standard_normal((len(texts), self.dim))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return list(vectors.tolist())
