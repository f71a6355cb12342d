"""The default embedding backend (ONNX Runtime, fused, int8) against PyTorch. (session 8)

    .venv/bin/python eval/ablation/embed_onnx.py [N_ABSTRACTS] [ROUNDS]

Encodes the chunks of the first N (300) SciFact abstracts with plain sentence-transformers
`encode` (batch 32, as `rag bench` times it) and with the project's `OnnxEmbedder`
(`RAG_EMBED_BACKEND=onnx-int8`, exported into RAG_CACHE first if needed), alternately for
ROUNDS (3) rounds, and prints each round's chunks/s, the median ratio and the cosine of the
ONNX vectors to the PyTorch ones.
"""

import sys
import time
from statistics import median

import numpy as np

from rag.chunking import chunk_spans
from rag.datasets import load_scifact
from rag.embedding import embedder_for
from rag.settings import Settings

n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
corpus, _, _ = load_scifact()
docs = [corpus[k] for k in sorted(corpus)][:n]
texts = [d[s:e] for d in docs for s, e in chunk_spans(d)]
settings = Settings.from_env()
plain = embedder_for(settings.with_(embed_backend="torch"))._model  # type: ignore[union-attr]
onnx = embedder_for(settings.with_(embed_backend="onnx-int8"))
rates: dict[str, list[float]] = {"torch encode": [], "onnx-int8": []}
for _ in range(rounds):
    began = time.perf_counter()
    reference = plain.encode(texts, batch_size=32, normalize_embeddings=True)
    rates["torch encode"].append(len(texts) / (time.perf_counter() - began))
    began = time.perf_counter()
    vectors = np.asarray(onnx.embed(texts))
    rates["onnx-int8"].append(len(texts) / (time.perf_counter() - began))
cosine = (vectors * reference).sum(1)
print(f"{len(texts)} chunks of {n} SciFact abstracts, {rounds} rounds")
for name, values in rates.items():
    print(f"{name}: chunks/s {[round(v, 1) for v in values]}, median {median(values):.1f}")
print(f"ratio onnx-int8 / torch encode: {median(rates['onnx-int8']) / median(rates['torch encode']):.2f}")
print(f"cosine to PyTorch's vectors: min {cosine.min():.4f}, mean {cosine.mean():.4f}")
