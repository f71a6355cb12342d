"""Would lower precision make embedding (and so ingestion) faster on this CPU?

    .venv/bin/python eval/ablation/embed_precision.py

Encodes the first 300 SciFact abstracts with all-MiniLM-L6-v2 four ways in one run: fp32
(what the project uses), fp32 under bf16 autocast, the model cast to bf16, and torch's
dynamic int8 quantisation of the Linear layers. Prints texts/s and the cosine of each
variant's vectors to the fp32 ones (min and mean).
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from rag.datasets import load_scifact
from rag.embedding import load_embedder


def main() -> None:
    warnings.filterwarnings("ignore")
    model = load_embedder("all-MiniLM-L6-v2", backend="torch")._model  # type: ignore[attr-defined]
    corpus, _, _ = load_scifact()
    texts = [corpus[k] for k in sorted(corpus)][:300]

    def run(label: str, encode: Callable[[], Any], base: np.ndarray | None = None) -> np.ndarray:
        began = time.perf_counter()
        vectors = encode()
        seconds = time.perf_counter() - began
        if isinstance(vectors, list):
            vectors = torch.stack([v.float() for v in vectors]).numpy()
        vectors = np.asarray(vectors, dtype=np.float32)
        line = f"{label}: {len(texts) / seconds:.1f} texts/s"
        if base is not None:
            cos = (base * vectors).sum(1) / np.linalg.norm(vectors, axis=1)
            line += f", cosine to fp32 min {cos.min():.4f} mean {cos.mean():.4f}"
        print(line)
        return vectors

    def encode(m: Any, **kw: Any) -> Callable[[], Any]:
        return lambda: m.encode(texts, batch_size=32, normalize_embeddings=True, **kw)

    base = run("fp32", encode(model))

    def autocast() -> Any:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return encode(model)()

    run("bf16 autocast", autocast, base)
    run("bf16 weights", encode(copy.deepcopy(model).to(torch.bfloat16), convert_to_numpy=False), base)
    int8 = torch.ao.quantization.quantize_dynamic(
        copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8
    )
    run("int8 dynamic", encode(int8), base)


if __name__ == "__main__":
    main()
