"""``rag doctor``: what the assistant would use, and whether it is there and sound."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from .errors import RagError
from .settings import Settings


def diagnose(settings: Settings) -> dict[str, dict[str, Any]]:
    """Settings, model status and index statistics, each problem as a one-line message."""
    from .models import PRESETS, verify

    report: dict[str, dict[str, Any]] = {
        "settings": {
            f"RAG_{f.name.upper()}": str(getattr(settings, f.name)) for f in fields(settings)
        },
        "models": {},
        "index": {},
    }
    if settings.ui_auth:
        report["settings"]["RAG_UI_AUTH"] = "(set)"
    for name in PRESETS:
        report["models"][name] = verify(settings, name)
    if settings.llm_url:
        report["models"]["remote"] = f"generation goes to {settings.llm_url}"
    from .embedding import embedder_status

    report["models"]["embedding"] = embedder_status(settings)
    try:
        from .embedding import embedder_for
        from .retrieval import open_store

        store = open_store(settings, embedder_for(settings), create=False)
        docs = store.documents()
        report["index"] = {
            "location": settings.chroma_url or str(settings.chroma_path),
            "collection": settings.collection,
            "documents": len(docs),
            "chunks": store.count(),
        }
    except RagError as exc:
        report["index"] = {"status": str(exc)}
    return report
