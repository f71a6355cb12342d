"""PyTorch embedding under bf16 autocast against fp32, on ingest's own chunks (session 11).

    .venv/bin/python eval/ablation/embed_bf16.py [N_ABSTRACTS]

The session-11 machine (AMD EPYC, Zen 4) has AVX-512 BF16 instructions, which the Intel Xeon
of sessions 1-9 lacked (there bf16 was slower than fp32: ``embed_precision.py``). Chunks the
first N SciFact abstracts (default 600) as ingest does, sorts each group of 256 by length as
ingest does, and encodes them in batches of 8 (``rag.embedding.BEST_BATCH``) as fp32, bf16
autocast, fp32, bf16 autocast (alternating, so drift in the machine's speed shows), printing
chunks/s for each pass, the cosine of the bf16 vectors to the fp32 ones, and for 300
SciFact queries how often the top 10 chunks by exact cosine are the same.
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import torch

from rag.chunking import chunk_spans
from rag.datasets import load_scifact
from rag.embedding import BEST_BATCH, load_embedder


def main(n: int) -> None:
    warnings.filterwarnings("ignore")
    model = load_embedder("all-MiniLM-L6-v2", backend="torch")._model  # type: ignore[attr-defined]
    corpus, queries, _ = load_scifact()
    docs = [corpus[k] for k in sorted(corpus)][:n]
    chunks = [d[s:e] for d in docs for s, e in chunk_spans(d)]
    ordered = [c for i in range(0, len(chunks), 256) for c in sorted(chunks[i : i + 256], key=len)]
    asked = [queries[k] for k in sorted(queries)][:300]

    def encode(texts: list[str], bf16: bool) -> np.ndarray:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return np.asarray(model.encode(texts, batch_size=BEST_BATCH, normalize_embeddings=True), dtype=np.float32)

    encode(ordered[:64], False)  # warm-up
    vectors = {}
    for bf16 in (False, True, False, True):
        began = time.perf_counter()
        vectors[bf16] = encode(ordered, bf16)
        print(f"{'bf16' if bf16 else 'fp32'}: {len(ordered) / (time.perf_counter() - began):.1f} chunks/s", flush=True)
    cos = (vectors[False] * vectors[True]).sum(1)
    print(f"{len(ordered)} chunks; cosine bf16 to fp32: min {cos.min():.6f} mean {cos.mean():.6f}")
    same = []
    q = {bf16: encode(asked, bf16) for bf16 in (False, True)}
    for i in range(len(asked)):
        tops = [set(np.argsort(-(vectors[b] @ q[b][i]))[:10]) for b in (False, True)]
        same.append(len(tops[0] & tops[1]) / 10)
    print(f"top-10 chunks shared by fp32 and bf16 over {len(asked)} queries: mean {np.mean(same):.4f}, "
          f"queries with all 10 the same {sum(s == 1 for s in same)}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 600)
