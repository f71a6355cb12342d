"""Retrieval with and without the document's title heading each chunk, for BM25 and for the
dense vectors separately (session 9), on SciFact and on the seed set.

    RAG_HOME=/tmp/evalhome .venv/bin/python eval/ablation/scifact_titles.py

Needs the indexes `rag eval --benchmark scifact` and `rag eval` build in RAG_HOME (their
vectors are of the chunks alone). Chunks whose title-headed text differs are embedded again
with the title (about 13k of SciFact's 18.5k; 5-10 minutes), then dense (exact search, not
Chroma's HNSW), BM25 and their RRF fusion are scored for each mix: titles on neither side,
BM25 only (what the project does), dense only, both, and the dense vector blended with the
title's own vector (normalise(chunk + a * title)) or with the title minus the collection's
mean title (what a collection's titles share, e.g. the seed articles' common topic, removed). SciFact: nDCG@10 of the fused ranking
(top 60 chunks, as `rag eval --benchmark scifact`); seed set: the mean of recall@5 and
MRR@10 of the documents of the top 10 fused chunks, single-turn answerable questions.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import bm25s
import numpy as np

from rag.benchmarks import _collection
from rag.chunking import indexed_text
from rag.datasets import load_scifact
from rag.embedding import embedder_for
from rag.evaluation import load_questions
from rag.metrics import mrr_at_k, ndcg_at_k, recall_at_k, rrf_fuse
from rag.retrieval import _stemmer, open_store
from rag.settings import PROJECT_ROOT, Settings


def bm25(texts: list[str]) -> bm25s.BM25:
    index = bm25s.BM25()
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), show_progress=False)
    index.index(tokens, show_progress=False)
    return index


def lexical(index: bm25s.BM25, query: str, n: int) -> list[int]:
    tokens = bm25s.tokenize([query], stopwords="en", stemmer=_stemmer(), show_progress=False)
    found, scores = index.retrieve(tokens, k=min(30, n), show_progress=False, n_threads=1)
    return [int(d) for d, s in zip(found[0], scores[0]) if s > 0]


def compare(
    label: str,
    rows: list[tuple[str, str, dict]],
    vectors: np.ndarray,
    queries: Sequence[str],
    relevant: Sequence[dict[str, int]],
    doc: Callable[[dict], str],
    metric: Callable[[list[str], dict[str, int]], float],
    top: int,
) -> None:
    settings = Settings.from_env()
    embedder = embedder_for(settings)
    plain = [text for _, text, _ in rows]
    titles = [str(meta.get("title", "")) for _, _, meta in rows]
    titled = [indexed_text(t, title) for t, title in zip(plain, titles)]
    docs = [doc(meta) for _, _, meta in rows]
    changed = [i for i, (a, b) in enumerate(zip(plain, titled)) if a != b]
    print(f"{label}: {len(rows)} chunks, {len(changed)} under a title", flush=True)
    headed = vectors.copy()
    headed[changed] = np.array(embedder.embed([titled[i] for i in changed]), dtype=np.float32)
    names = sorted({t for t in titles if t})
    own = dict(zip(names, embedder.embed(names)))
    title_vectors = np.array([own[t] if t else np.zeros(vectors.shape[1]) for t in titles])
    q = np.array(embedder.embed(list(queries)), dtype=np.float32)
    indexes = {"plain": bm25(plain), "titled": bm25(titled)}

    def score(dense_vectors: np.ndarray, which: str, name: str) -> None:
        sims = q @ dense_vectors.T
        out = []
        for row, query in enumerate(queries):
            dense = [str(int(i)) for i in np.argsort(-sims[row])[:30]]
            words = [str(i) for i in lexical(indexes[which], query, len(rows))]
            fused = [int(c) for c, _ in rrf_fuse([dense, words])][:top]
            out.append(metric(list(dict.fromkeys(docs[i] for i in fused)), relevant[row]))
        print(f"  {name}: {np.mean(out):.4f}", flush=True)

    score(vectors, "plain", "titles on neither side")
    score(vectors, "titled", "titles for BM25 only (the project)")
    score(headed, "plain", "titles for dense only")
    score(headed, "titled", "titles on both sides")
    mean = np.array(list(own.values())).mean(axis=0)
    centred = np.where(title_vectors.any(axis=1, keepdims=True), title_vectors - mean, 0.0)
    for a in (0.1, 0.2, 0.3):
        for name, extra in (("title", title_vectors), ("title minus the mean title", centred)):
            blended = vectors + a * extra
            blended /= np.linalg.norm(blended, axis=1, keepdims=True)
            score(blended, "titled", f"BM25 titled, dense blended with the {name} at a={a}")


def stored(settings: Settings, collection: str) -> tuple[list[tuple[str, str, dict]], np.ndarray]:
    embedder = embedder_for(settings)
    store = open_store(settings.with_(collection=collection), embedder, create=False)
    rows = store.all_chunks()
    ids = [cid for cid, _, _ in rows]
    vectors = [v for i in range(0, len(ids), 2000) for v in store.embeddings(ids[i : i + 2000])]
    return rows, np.array(vectors, dtype=np.float32)


def main() -> None:
    settings = Settings.from_env()
    embedder = embedder_for(settings)
    name = Path(settings.embed_model).name
    rows, vectors = stored(settings, f"eval-seeds-{name}")
    questions = [
        q
        for q in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")
        if q.get("sources") and not q.get("history")
    ]
    compare(
        "seed set, (recall@5 + MRR@10) / 2",
        rows,
        vectors,
        [q["question"] for q in questions],
        [dict.fromkeys(q["sources"], 1) for q in questions],
        lambda meta: str(meta["source"]),
        lambda ranked, rel: (recall_at_k(ranked, rel, 5) + mrr_at_k(ranked, rel, 10)) / 2,
        10,
    )
    if "--seeds-only" in sys.argv:
        return
    bench = settings.with_(home=settings.home / "benchmarks")
    rows, vectors = stored(bench, _collection("scifact", embedder))
    _, queries, qrels = load_scifact()
    compare(
        "SciFact, nDCG@10",
        rows,
        vectors,
        list(queries.values()),
        [qrels[k] for k in queries],
        lambda meta: Path(str(meta["source"])).stem,
        lambda ranked, rel: ndcg_at_k(ranked, rel, 10),
        60,
    )


if __name__ == "__main__":
    main()
