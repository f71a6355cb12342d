"""One frozen settings object, built from defaults, ``RAG_*`` environment variables and flags.

``Settings.from_env()`` reads the environment once; CLI flags override with
``dataclasses.replace``. Nothing else in the library reads ``os.environ`` for configuration.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from importlib.resources import files
from pathlib import Path
from typing import Any

from .errors import SettingsError

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout, in a development install
PROMPTS = Path(str(files("rag.prompts")))
DEFAULT_COLLECTION = "documents"
# Chroma's rule for collection names, kept 8 shorter so that ``<name>_catalog`` fits too.
_COLLECTION_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{1,53}[A-Za-z0-9])")
BACKENDS = ("torch", "onnx-int8")  # RAG_EMBED_BACKEND: rag.embedding.load_embedder
PRECISIONS = ("auto", "fp32", "bf16")  # RAG_EMBED_PRECISION, for the torch backend


@dataclass(frozen=True)
class Settings:
    """Every knob of the assistant. Each field ``x`` is read from ``RAG_X`` when set."""

    home: Path = Path("~/.rag").expanduser()  # index and uploads live here
    cache: Path = Path("~/.cache/rag").expanduser()  # assembled model files live here
    chroma_url: str = ""  # e.g. http://127.0.0.1:8000: use a Chroma server instead
    collection: str = "documents"  # the workspace of documents: each answers only from its own
    embed_model: str = "all-MiniLM-L6-v2"  # packaged name, or a sentence-transformers folder
    embed_batch: int = 0  # texts per model call; 0: the backend's best on two cores (8)
    embed_backend: str = "torch"  # torch | onnx-int8 (faster ingest, slightly different vectors)
    embed_precision: str = "auto"  # torch: auto (bf16 if the CPU has it natively) | fp32 | bf16
    model: str = "qwen2.5-coder-1.5b"  # preset name, or a path to a GGUF file
    llm_url: str = ""  # e.g. http://127.0.0.1:8080/v1: an OpenAI-compatible server
    llm_api_key: str = ""
    n_ctx: int = 4096
    max_tokens: int = 200
    whole_tokens: int = 400  # the reply to a request about whole documents (a summary)
    threads: int = 0  # 0: all cores
    seed: int = 0
    chunk_tokens: int = 160
    chunk_overlap: int = 32
    top_k: int = 4  # passages retrieved for the model
    focus_sentences: int = 5  # sentences of those passages the model is shown
    focus_follow: int = 2  # the best of them whose next sentence is shown too
    retrieval: str = "hybrid"  # hybrid | dense | bm25
    min_relevance: float = 0.40  # below this the assistant abstains without asking the model
    min_confidence: float = 0.74  # abstain when the model's own confidence is below this
    check_support: bool = True  # keep only sentences a cited passage supports
    min_answers: float = 0.0  # abstain when the model, asked alone, says the cited text answers the question with less than this (0: never ask)
    verify_figures: bool = True  # ask the model whether the passage says each figure stated
    date_weekdays: bool = True  # date a weekday the answer gives bare
    note_conflicts: bool = True  # quote other articles' different figures for what it counts
    decline_confidence: float = 0.5  # the model may open with NOT FOUND only this sure of it
    history_turns: int = 3
    max_file_mb: float = 20.0
    max_question_chars: int = 2000
    prompts: Path = PROMPTS  # the prompt templates (shipped with the package)
    ui_host: str = "127.0.0.1"
    ui_port: int = 7860
    ui_auth: str = ""  # user:password
    api_key: str = ""  # `rag serve`: the bearer token clients must send; needed off 127.0.0.1
    api_queue: int = 4  # `rag serve`: questions that may wait for the model; more get 429
    # Answers written at once (`rag serve`, the chat, MCP) against a model server that
    # batches (RAG_LLM_URL); the in-process model writes one at a time.
    parallel: int = 1

    def __post_init__(self) -> None:
        if self.retrieval not in ("hybrid", "dense", "bm25"):
            raise SettingsError(
                f"RAG_RETRIEVAL={self.retrieval!r} is not one of hybrid, dense, bm25."
            )
        if self.embed_backend not in BACKENDS:
            raise SettingsError(
                f"RAG_EMBED_BACKEND={self.embed_backend!r} is not one of {', '.join(BACKENDS)}."
            )
        if self.embed_precision not in PRECISIONS:
            raise SettingsError(
                f"RAG_EMBED_PRECISION={self.embed_precision!r} is not one of {', '.join(PRECISIONS)}."
            )
        check_collection_name(self.collection)
        if self.chunk_overlap >= self.chunk_tokens or self.chunk_tokens < 16:
            raise SettingsError(
                "RAG_CHUNK_TOKENS must be at least 16 and larger than RAG_CHUNK_OVERLAP."
            )
        if self.top_k < 1 or self.n_ctx < 512 or self.max_tokens < 1:
            raise SettingsError("RAG_TOP_K >= 1, RAG_N_CTX >= 512 and RAG_MAX_TOKENS >= 1.")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise SettingsError(
                f"RAG_MIN_CONFIDENCE={self.min_confidence} must be between 0 and 1 (0: never abstain on confidence)."
            )
        if not 0.0 <= self.min_answers <= 1.0:
            raise SettingsError(
                f"RAG_MIN_ANSWERS={self.min_answers} must be between 0 and 1 (0: never ask)."
            )
        if not 0.0 <= self.decline_confidence <= 1.0:
            raise SettingsError("RAG_DECLINE_CONFIDENCE must be between 0 and 1.")
        if not 0 <= self.api_queue <= 32:
            # Each waiting request holds one of the server's 40 worker threads; a running
            # stream needs one free to go on.
            raise SettingsError(f"RAG_API_QUEUE={self.api_queue} must be between 0 and 32.")
        if not 1 <= self.parallel <= 16:
            raise SettingsError(f"RAG_PARALLEL={self.parallel} must be between 1 and 16.")
        if self.parallel > 1 and not self.llm_url:
            raise SettingsError(
                f"RAG_PARALLEL={self.parallel} needs a model server (RAG_LLM_URL, e.g. "
                "`rag model-server`): the in-process model writes one answer at a time."
            )
        if self.ui_auth and ":" not in self.ui_auth:
            raise SettingsError("RAG_UI_AUTH must look like user:password.")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``RAG_*`` variables, then ``overrides`` (flags); None means unset.

        >>> Settings.from_env({"RAG_TOP_K": "6"}).top_k
        6
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"RAG_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, raw, type(getattr(cls, f.name)))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def n_threads(self) -> int:
        return self.threads or os.cpu_count() or 1

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def uploads(self) -> Path:
        """Where files added through the browser or the API are kept: ``uploads`` for the
        default collection, ``uploads-<name>`` for another (never inside each other, so
        indexing one collection's folder cannot pick up another's files)."""
        if self.collection == DEFAULT_COLLECTION:
            return self.home / "uploads"
        return self.home / f"uploads-{self.collection}"


def check_collection_name(name: str) -> str:
    """``name`` if it can name a collection (3 to 63 letters, digits, ``.``, ``_`` or ``-``,
    starting and ending with a letter or digit, as Chroma requires); else SettingsError.

    >>> check_collection_name("work-notes")
    'work-notes'
    """
    if not _COLLECTION_NAME.fullmatch(name) or ".." in name:
        raise SettingsError(
            f"{name!r} cannot name a collection: use 3 to 63 letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit (e.g. work-notes)."
        )
    return name


def _parse(name: str, raw: str, kind: type) -> Any:
    var = f"RAG_{name.upper()}"
    try:
        if kind is bool:
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if issubclass(kind, Path):
            return Path(raw).expanduser()
        return kind(raw.strip())  # type: ignore[call-arg]
    except ValueError:
        raise SettingsError(
            f"{var}={raw!r} is not a valid {kind.__name__}; unset it or give a number."
        ) from None
