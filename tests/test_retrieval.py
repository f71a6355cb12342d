"""Hybrid retrieval: how deep each method's list goes into the fusion."""

from __future__ import annotations

import math
import re

from rag.assistant import Assistant
from rag.embedding import HashEmbedder
from rag.retrieval import Retriever


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
