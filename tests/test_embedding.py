"""The embedding backends: the ONNX int8 export (``RAG_EMBED_BACKEND=onnx-int8``) against
PyTorch (the default), its cache, and settings. The real-model tests export the packaged
model (about 10 s the first time)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rag.assistant import Assistant
from rag.chunking import chunk_spans
from rag.embedding import OnnxEmbedder, load_embedder
from rag.errors import ModelError, SettingsError
from rag.retrieval import Retriever
from rag.settings import PROJECT_ROOT, Settings
from tests.conftest import SEEDS


def seed_chunks() -> list[str]:
    """The seed articles cut as ingest cuts them."""
    texts = (p.read_text() for p in sorted(SEEDS.glob("*.txt")))
    return [t[s:e] for t in texts for s, e in chunk_spans(t)]


def dot(u: list[float], v: list[float]) -> float:
    return sum(a * b for a, b in zip(u, v))


def test_an_unknown_backend_is_refused_in_one_line():
    with pytest.raises(
        SettingsError, match="RAG_EMBED_BACKEND='gpu' is not one of torch, onnx-int8"
    ):
        Settings.from_env({"RAG_EMBED_BACKEND": "gpu"})


def test_an_unknown_precision_is_refused_in_one_line():
    with pytest.raises(
        SettingsError, match="RAG_EMBED_PRECISION='fp16' is not one of auto, fp32, bf16"
    ):
        Settings.from_env({"RAG_EMBED_PRECISION": "fp16"})


@pytest.mark.real
def test_bf16_vectors_match_fp32_on_the_seed_chunks_and_find_the_same_passages():
    """Under bf16 autocast (``RAG_EMBED_PRECISION``, "auto" picks it on CPUs with native
    bf16) the vectors stay within 1e-4 of fp32's in cosine, so an index built one way serves
    queries embedded the other."""
    fp32 = load_embedder("all-MiniLM-L6-v2", precision="fp32")
    bf16 = load_embedder("all-MiniLM-L6-v2", precision="bf16")
    assert (fp32.precision, bf16.precision) == ("fp32", "bf16")
    texts = seed_chunks()
    slow, fast = fp32.embed(texts), bf16.embed(texts)
    cosines = [dot(u, v) for u, v in zip(fast, slow)]
    assert len(cosines) == len(texts) > 40
    assert min(cosines) > 0.9999, min(cosines)
    assert fast != slow  # bf16 really ran: the vectors are close, not identical
    query = fp32.embed(["How long did the Geneva meeting last?"])[0]
    ranked = [sorted(range(len(texts)), key=lambda i: -dot(query, v[i]))[:3] for v in (slow, fast)]
    assert ranked[0] == ranked[1]


def test_the_cli_names_a_bad_backend_without_a_traceback(tmp_path):
    rag = str(Path(sys.executable).parent / "rag")
    env = {"RAG_HOME": str(tmp_path), "RAG_EMBED_BACKEND": "gpu", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [rag, "search", "Geneva"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode != 0
    assert "RAG_EMBED_BACKEND='gpu' is not one of torch, onnx-int8" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.real
def test_onnx_vectors_match_pytorch_on_the_seed_chunks(onnx_embedder, real_embedder):
    assert isinstance(onnx_embedder, OnnxEmbedder)
    texts = seed_chunks()
    fast, slow = onnx_embedder.embed(texts), real_embedder.embed(texts)
    cosines = [dot(u, v) for u, v in zip(fast, slow)]
    assert len(cosines) == len(texts) > 40
    assert min(cosines) > 0.98, min(cosines)
    assert all(
        abs(sum(a * a for a in u) - 1.0) < 1e-4 for u in fast
    )  # unit length, as the index expects


@pytest.mark.real
def test_onnx_retrieval_finds_what_pytorch_finds_on_the_seed_questions(
    onnx_embedder, real_embedder, settings
):
    """The int8 vectors lose nothing in the seed set's hybrid retrieval (each backend its own
    index, the expected articles among the top 5). Dense search alone loses two of 78
    questions at rank 5, SciFact's hybrid nDCG@10 falls by 0.009, and answers change with
    the sentences focus picks: why it is not the default (eval/README.md)."""
    questions = [json.loads(line) for line in (PROJECT_ROOT / "eval" / "questions.jsonl").open()]
    questions = [q for q in questions if q["answerable"] and not q.get("history")]
    found = {}
    for name, embedder in (("onnx", onnx_embedder), ("torch", real_embedder)):
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
    assert Settings.from_env({}).embed_backend == "torch"
    assert Settings.from_env({"RAG_EMBED_BACKEND": "onnx-int8"}).embed_backend == "onnx-int8"
    assert Settings.from_env({}).embed_precision == "auto"
    assert Settings.from_env({"RAG_EMBED_PRECISION": "fp32"}).embed_precision == "fp32"


@pytest.mark.real
def test_rag_models_fetch_prepares_the_export_and_says_so(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from rag.cli import cli

    monkeypatch.setenv("RAG_CACHE", str(tmp_path))
    monkeypatch.setenv("RAG_MODEL", "smollm2-135m")  # a small file to assemble
    monkeypatch.setenv("RAG_EMBED_BACKEND", "onnx-int8")
    before = CliRunner().invoke(cli, ["models"])
    assert "all-MiniLM-L6-v2 (onnx-int8): ok" in before.output
    assert "not exported yet" in before.output
    fetched = CliRunner().invoke(cli, ["models", "--fetch"])
    assert fetched.exit_code == 0, fetched.output
    assert "int8 export " + str(tmp_path) in fetched.output
    assert len(list((tmp_path / "onnx").glob("*.int8.onnx"))) == 1
