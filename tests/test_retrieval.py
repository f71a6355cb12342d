"""Hybrid retrieval: how deep each method's list goes into the fusion."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import pytest

from rag.assistant import Assistant
from rag.documents import read_document
from rag.embedding import HashEmbedder
from rag.ingest import Indexer, make_chunks
from rag.retrieval import Retriever, _bm25_class, _Lexical, open_store
from rag.store import CatalogEntry
from rag_eval.bench_lexical import bench_lexical


class AngleEmbedder(HashEmbedder):
    """A text holding "rank N" lies at angle N degrees from the query direction (a text
    without it lies on it): dense search ranks the texts by N, whatever their words."""

    def _one(self, text: str) -> list[float]:
        found = re.search(r"rank (\d+)", text)
        angle = math.radians(int(found.group(1))) if found else 0.0
        return [math.cos(angle), math.sin(angle)] + [0.0] * (self.dim - 2)


def test_a_chunk_both_methods_find_outranks_one_only_dense_finds_though_dense_ranks_it_deep(
    settings, tmp_path
):
    # 60 notes; dense ranks "rank 1" first and "rank 40" fortieth; BM25 finds only
    # "rank 40", the one note holding the query's word. Fused 100 deep, the note both methods
    # found comes first; fused only 30 deep, dense would never have seen it.
    folder = tmp_path / "notes"
    folder.mkdir()
    for n in range(1, 61):
        word = "zorblat" if n == 40 else "ordinary"
        (folder / f"note{n:02d}.txt").write_text(f"Note at rank {n} about an {word} festival day.")
    embedder = AngleEmbedder(dim=8)
    Assistant(settings, embedder=embedder).ingest([folder])

    hits = Retriever(settings.with_(retrieval="hybrid"), embedder=embedder).search("zorblat", k=3)

    assert [h.source for h in hits][:2] == ["note40.txt", "note01.txt"]


def _queries(folder):
    """Four-word runs from every file, single words, and queries BM25 finds nothing for."""
    out = ["zzqx unheardof", "the and of", "festival"]
    for path in sorted(folder.glob("*.txt")):
        words = path.read_text().split()
        out += [" ".join(words[i : i + 4]) for i in range(0, len(words), max(1, len(words) // 6))]
    return out


def _same_as_built_from_nothing(retriever, store, queries):
    """The retriever's BM25 side, kept up to date, against one built from nothing (through
    ``store``, another connection to the index): the same committed chunks, and for every
    query the same ids in the same order with the same scores."""
    kept = retriever._lexical_index()
    built = _Lexical(store, store.generation())
    assert list(kept._rows) == list(built._rows)
    for query in queries:
        ours, theirs = kept.scored(query, 50), built.scored(query, 50)
        assert [cid for cid, _ in ours] == [cid for cid, _ in theirs], query
        assert all(abs(a - b) <= 1e-6 for (_, a), (_, b) in zip(ours, theirs)), query
    return kept


def test_the_bm25_side_kept_up_to_date_ranks_exactly_as_one_built_from_nothing(
    settings, seeds, monkeypatch
):
    # Twin notes score alike, so the order of ties is compared too.
    for name in ("twin-a.txt", "twin-b.txt"):
        (seeds / name).write_text("Zorblat festival day in Geneva, with talks on grain exports.")
    embedder = HashEmbedder(dim=64)
    retriever = Retriever(settings.with_(retrieval="hybrid"), embedder=embedder)
    indexer = Indexer(settings, retriever.open_store(create=True), embedder)
    store = retriever.store
    indexer.ingest([seeds])
    elsewhere = open_store(settings, embedder, create=False)

    def check():
        return _same_as_built_from_nothing(retriever, elsewhere, _queries(seeds))

    first = check()
    asked: list[str] = []
    chunk_rows = store.chunk_rows

    def spy(ids):
        asked.extend(ids)
        return chunk_rows(ids)

    monkeypatch.setattr(store, "chunk_rows", spy)
    monkeypatch.setattr(store, "all_chunks", lambda: pytest.fail("read every chunk again"))

    indexer.delete("002_9a8e32283f0f2645.txt")
    assert check() is not first
    assert asked == []  # a deletion reads no chunk

    # Changed files, a new one and a removed one: only the new versions' chunks are read.
    before = set(store.chunk_ids())
    seed = seeds / "001_a59af63640988946.txt"
    seed.write_text(seed.read_text() + "\n\nA festival of zorblat growers opened in Geneva.")
    (seeds / "twin-b.txt").write_text("Zorblat harvest figures for the festival in Lyon.")
    (seeds / "new.txt").write_text("Grain exports through the Black Sea resumed on Monday.")
    (seeds / "004_e63c1b3594661294.txt").unlink()
    indexer.ingest([seeds])
    check()
    assert sorted(asked) == sorted(set(store.chunk_ids()) - before)

    # Chunks a crash left behind are not searched; committed later, they are, unread again.
    (seeds / "late.txt").write_text("Zorblat festival late news from Geneva. " * 30)
    doc = read_document(seeds / "late.txt", 10**7)
    chunks = make_chunks(doc, settings.chunk_tokens, settings.chunk_overlap)
    store.upsert(chunks, embedder.embed([c.text for c in chunks]))
    store.bump_generation()
    kept = check()
    assert not any(kept.committed(c.chunk_id) for c in chunks)
    asked.clear()
    store.commit_documents([CatalogEntry(doc.path, doc.source, doc.sha256, len(chunks))])
    store.bump_generation()
    kept = check()
    assert all(kept.committed(c.chunk_id) for c in chunks) and asked == []

    # A catalogue entry moved to another version (another process mid-write) drops the
    # chunks still in the store; moved back, they return.
    entry = store.catalog()[doc.path]
    store.commit_documents([replace(entry, sha256="another-version")])
    store.bump_generation()
    assert not any(check().committed(c.chunk_id) for c in chunks)
    store.commit_documents([entry])
    store.bump_generation()
    assert all(check().committed(c.chunk_id) for c in chunks) and asked == []

    # Another process's ingest, through its own connection to the index, is seen too.
    other = Indexer(settings, elsewhere, embedder)
    (seeds / "other.txt").write_text("Wheat prices fell after the Zorblat festival.")
    other.ingest([seeds])
    kept = check()
    assert "other.txt" in {h.source for h in kept.of({"other.txt"})}
    assert retriever.search("wheat prices", k=1)[0].source == "other.txt"


def test_bench_lexical_reports_each_figure_per_size(settings):
    result = bench_lexical(settings, sizes=(200,), embedder=HashEmbedder(dim=64))

    at = result["200"]
    assert 150 <= at["chunks"] <= 300
    for name in (
        "first_search_after_ingest_ms",
        "unchanged_search_ms",
        "full_rebuild_ms",
        "bm25_mb",
    ):
        assert at[name] > 0, name


def test_the_bm25_matrix_scores_as_bm25s_own_builds_it(seeds):
    import bm25s
    import numpy as np

    texts = [p for path in sorted(seeds.glob("*.txt")) for p in path.read_text().split("\n\n")]
    tokens = bm25s.tokenize(texts, stopwords="en", show_progress=False)
    theirs = bm25s.BM25()
    theirs.index(tokens, show_progress=False)
    ours, unsorted = _bm25_class()(), _bm25_class()()
    in_order = bm25s.tokenization.Tokenized([sorted(d) for d in tokens.ids], tokens.vocab)
    ours.index(in_order, show_progress=False)
    unsorted.index(tokens, show_progress=False)  # ids in text order: bm25s's own loop
    for doc in tokens.ids[::7]:
        expected = theirs.get_scores_from_ids(doc[:5])
        assert expected.max() > 0
        assert np.allclose(ours.get_scores_from_ids(doc[:5]), expected, rtol=0, atol=1e-6)
        assert np.array_equal(unsorted.get_scores_from_ids(doc[:5]), expected)
