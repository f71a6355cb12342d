"""Whether a sentence's vector depends on the other texts embedded with it, per precision.

    .venv/bin/python experiments/batch_invariance.py [--sentences N]

Embeds N sentences of the seed articles three ways with the packaged model: all in one call,
each alone, and every other one in a call of their own. Printed per precision (bf16 where the
CPU computes it, fp32): the largest difference of any vector component between the ways, how
many sentences got bit-identical vectors, and the seconds each way took. If vectors differ,
a cache that pieces a question's sentence vectors together from earlier questions' calls
makes focus (and so the answer) depend on what was asked before: ``rag.embedding.VectorCache``
therefore caches a question's sentences whole.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rag.chunking import sentence_spans
from rag.embedding import embedder_for, native_bf16
from rag.settings import PROJECT_ROOT, Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sentences", type=int, default=30)
    args = parser.parse_args()
    text = " ".join(p.read_text() for p in sorted((PROJECT_ROOT / "seeds").glob("*.txt")))
    sentences = [text[s:e] for s, e in sentence_spans(text)][: args.sentences]
    for precision in ("bf16", "fp32") if native_bf16() else ("fp32",):
        embedder = embedder_for(Settings.from_env(embed_precision=precision))
        embedder.embed(sentences)  # warm up
        began = time.perf_counter()
        together = np.array(embedder.embed(sentences))
        middle = time.perf_counter()
        alone = np.array([embedder.embed([s])[0] for s in sentences])
        end = time.perf_counter()
        halves = np.array(embedder.embed(sentences[::2]))
        same = int((together == alone).all(axis=1).sum())
        same_half = int((together[::2] == halves).all(axis=1).sum())
        print(
            f"{precision}: one call vs each alone: max difference {np.abs(together - alone).max():.2e}, "
            f"{same}/{len(sentences)} identical; vs every other one in a call: "
            f"{np.abs(together[::2] - halves).max():.2e}, {same_half}/{len(halves)} identical; "
            f"{middle - began:.2f} s in one call, {end - middle:.2f} s alone"
        )


if __name__ == "__main__":
    main()
