"""A local, private assistant that answers questions from your documents and cites them.

    from rag import Assistant
    Assistant().ask("How long did the Geneva meeting last?").answer
    # 'The meeting between Blinken and Lavrov in Geneva lasted around 90 minutes [1].'

Importing ``rag`` is cheap: the heavy parts (torch, sentence-transformers, llama.cpp, Chroma)
load only when an assistant or retriever first needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import RagError
from .records import Answer, Chunk, Citation, Document, DocumentInfo, Hit, IngestReport, Turn
from .settings import Settings

if TYPE_CHECKING:
    from .assistant import Assistant
    from .retrieval import Retriever

__all__ = [
    "Answer",
    "Assistant",
    "Chunk",
    "Citation",
    "Document",
    "DocumentInfo",
    "Hit",
    "IngestReport",
    "RagError",
    "Retriever",
    "Settings",
    "Turn",
]


def __getattr__(name: str) -> Any:
    if name == "Assistant":
        from .assistant import Assistant

        return Assistant
    if name == "Retriever":
        from .retrieval import Retriever

        return Retriever
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
