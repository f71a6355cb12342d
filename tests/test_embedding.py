"""The embedding backends: the default ONNX int8 export against PyTorch, its cache, and
settings. The real-model tests export the packaged model (about 10 s the first time)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rag.assistant import Assistant
from rag.chunking import chunk_spans
from rag.embedding import OnnxEmbedder
from rag.errors import ModelError, SettingsError
from rag.retrieval import Retriever
from rag.settings import PROJECT_ROOT, Settings
from tests.conftest import SEEDS


def test_an_unknown_backend_is_refused_in_one_line():
    with pytest.raises(SettingsError, match="RAG_EMBED_BACKEND='gpu' is not one of onnx-int8, torch"):
        Settings.from_env({"RAG_EMBED_BACKEND": "gpu"})


def test_the_cli_names_a_bad_backend_without_a_traceback(tmp_path):
    rag = str(Path(sys.executable).parent / "rag")
    env = {"RAG_HOME": str(tmp_path), "RAG_EMBED_BACKEND": "gpu", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([rag, "search", "Geneva"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode != 0
    assert "RAG_EMBED_BACKEND='gpu' is not one of onnx-int8, torch" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.real
def test_onnx_vectors_match_pytorch_on_the_seed_chunks(real_embedder, torch_embedder):
    assert isinstance(real_embedder, OnnxEmbedder)
    texts = [t[s:e] for t in (p.read_text() for p in sorted(SEEDS.glob("*.txt"))) for s, e in chunk_spans(t)]
    fast, slow = real_embedder.embed(texts), torch_embedder.embed(texts)
    cosines = [sum(a * b for a, b in zip(u, v)) for u, v in zip(fast, slow)]
    assert len(cosines) == len(texts) > 40
    assert min(cosines) > 0.98, min(cosines)
    assert all(abs(sum(a * a for a in u) - 1.0) < 1e-4 for u in fast)  # unit length, as the index expects


@pytest.mark.real
def test_onnx_retrieval_finds_what_pytorch_finds_on_the_seed_questions(real_embedder, torch_embedder, settings):
    """No loss in retrieval as the assistant searches (hybrid, the default): each backend's
    own index, the seed questions' expected articles among the top 5. (Dense search alone
    loses two of 78 questions at rank 5 with int8 vectors: eval/README.md.)"""
    questions = [json.loads(line) for line in (PROJECT_ROOT / "eval" / "questions.jsonl").open()]
    questions = [q for q in questions if q["answerable"] and not q.get("history")]
    found = {}
    for name, embedder in (("onnx", real_embedder), ("torch", torch_embedder)):
        s = settings.with_(home=settings.home / name, retrieval="hybrid")
        Assistant(s, embedder=embedder).ingest([SEEDS])
        retriever = Retriever(s, embedder=embedder)
        found[name] = sum(
            len(set(q["sources"]) & {h.source for h in retriever.search(q["question"], k=5)})
            for q in questions
        )
    assert found["onnx"] >= found["torch"] >= 0.9 * len(questions), found


@pytest.mark.real
def test_the_export_is_cached_and_a_damaged_cache_file_is_replaced(tmp_path):
    first = OnnxEmbedder(cache=tmp_path)
    [path] = list((tmp_path / "onnx").glob("*.int8.onnx"))
    stamp = path.stat().st_mtime_ns
    vector = first.embed(["Blinken met Lavrov in Geneva."])[0]
    OnnxEmbedder(cache=tmp_path)
    assert path.stat().st_mtime_ns == stamp  # loaded, not exported again
    assert list((tmp_path / "onnx").iterdir()) == [path]  # no temporary files left behind
    path.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="could not be loaded .*exported again on the next run"):
        OnnxEmbedder(cache=tmp_path)
    again = OnnxEmbedder(cache=tmp_path).embed(["Blinken met Lavrov in Geneva."])[0]
    assert max(abs(a - b) for a, b in zip(vector, again)) < 1e-6


def test_settings_choose_the_backend():
    assert Settings.from_env({}).embed_backend == "onnx-int8"
    assert Settings.from_env({"RAG_EMBED_BACKEND": "torch"}).embed_backend == "torch"
