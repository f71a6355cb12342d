"""Shared fixtures: an isolated data directory for every test, fakes for the models, and the
real parts (loaded once per session) for the tests marked ``real``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from rag.embedding import HashEmbedder
from rag.generation import ScriptedGenerator
from rag.settings import PROJECT_ROOT, Settings

SEEDS = PROJECT_ROOT / "seeds"
GENEVA = "001_a59af63640988946.txt"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture(autouse=True)
def rag_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own RAG_HOME; nothing touches the user's index."""
    home = tmp_path / "rag-home"
    monkeypatch.setenv("RAG_HOME", str(home))
    for name in ("RAG_CHROMA_URL", "RAG_LLM_URL", "RAG_MODEL", "RAG_COLLECTION"):
        monkeypatch.delenv(name, raising=False)
    # Scripted models answer the question, not the yes/no check of figures: tests of that
    # check (tests/test_verify.py, tests/test_real.py) turn it on themselves.
    monkeypatch.setenv("RAG_VERIFY_FIGURES", "0")
    return home


@pytest.fixture
def settings(rag_home: Path) -> Settings:
    return Settings.from_env()


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    """A writable copy of the seed articles."""
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder(dim=256)


class CountingEmbedder(HashEmbedder):
    """A ``HashEmbedder`` that records every text it is asked to embed."""

    def __init__(self, dim: int = 64) -> None:
        super().__init__(dim=dim)
        self.embedded: list[str] = []

    def embed(self, texts: list[str]) -> list[list[float]]:
        self.embedded.extend(texts)
        return super().embed(texts)


def reply_citing_first_passage(messages: list[dict[str, str]]) -> str:
    """A scripted model that copies the first sentence of passage [1] and cites it."""
    prompt = messages[-1]["content"]
    if "[1]" not in prompt:  # an excerpt of a whole document (rag.overview): its text last
        body = prompt.rsplit(".)\n", 1)[-1]
        return body.strip().split(". ")[0].rstrip(".") + "."
    body = prompt.split("[1]", 1)[1].split("\n", 1)[1]
    first = body.strip().split(". ")[0].rstrip(".")
    return f"{first} [1]."


@pytest.fixture
def generator() -> ScriptedGenerator:
    return ScriptedGenerator(reply_citing_first_passage)


@pytest.fixture
def assistant(settings: Settings, embedder: HashEmbedder, generator: ScriptedGenerator, seeds: Path):
    from rag.assistant import Assistant

    # BM25 ranks the seeds sensibly with a fake embedder; the hybrid path has its own tests.
    # The fake ranks sentences unlike the real model: with six shown (and no sentence added
    # after the best ones), the sentences these tests' scripted answers quote are always
    # among them, first where they are quoted first.
    a = Assistant(
        settings.with_(min_relevance=0.05, retrieval="bm25", focus_sentences=6, focus_follow=0),
        embedder=embedder,
        generator=generator,
    )
    a.ingest([seeds])
    return a


# -- the real parts, loaded once per test session ---------------------------------------
@pytest.fixture(scope="session")
def real_embedder():
    """The packaged model through the default backend (PyTorch), as the product runs it."""
    from rag.embedding import embedder_for

    return embedder_for(Settings.from_env({}))


@pytest.fixture(scope="session")
def onnx_embedder():
    """The same model exported to ONNX and quantised to int8 (``RAG_EMBED_BACKEND=onnx-int8``)."""
    from rag.embedding import embedder_for

    return embedder_for(Settings.from_env({}, embed_backend="onnx-int8"))


@pytest.fixture(scope="session")
def small_generator():
    """SmolLM2-135M through llama.cpp: the real model path, quick enough for every CI run."""
    from rag.assistant import load_generator

    return load_generator(Settings.from_env({}, model="smollm2-135m", n_ctx=2048))


@pytest.fixture(scope="session")
def default_generator():
    """The default preset through llama.cpp, for behaviour the small model cannot show."""
    from rag.assistant import load_generator

    return load_generator(Settings.from_env({}))
