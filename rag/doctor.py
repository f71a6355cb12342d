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
        "llama_cpp": llama_report(settings),
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
    import shutil

    ocr = shutil.which("tesseract")
    report["models"]["ocr"] = (
        f"Tesseract at {ocr}: scanned PDF pages are read"
        if ocr
        else "Tesseract not installed: scanned PDF pages are left out (apt install tesseract-ocr)"
    )
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


def llama_report(settings: Settings) -> dict[str, Any]:
    """The llama.cpp build, this CPU, and the probe's outcome (one line when it failed)."""
    from .llama_build import build_record, cpu, installed_matches

    record, machine = build_record(), cpu()
    report: dict[str, Any] = {
        "cpu": machine["model"],
        "cpu_extensions": " ".join(machine["extensions"]),
        "build": record.get("variant", record.get("status", "")),
        "build_flags": record.get("cmake_args", "unknown"),
        "installed": installed_matches(record),
    }
    if settings.llm_url:
        report["probe"] = f"skipped: generation goes to {settings.llm_url}"
        return report
    try:
        result = probe_llama(settings, record)
    except RagError as exc:
        report["probe"] = f"FAILED: {exc}"
        return report
    report["probe"] = f"ok: {result['model']} wrote {result['reply']!r} in {result['seconds']} s"
    report["features_used"] = result["features"]
    return report


def probe_llama(settings: Settings, record: dict[str, Any] | None = None) -> dict[str, Any]:
    """``rag.llama_build.probe`` with the build named: raises ``ModelError`` on failure."""
    from .llama_build import build_record, probe

    result = probe(settings)
    result["build"] = (record or build_record()).get("variant", "build not recorded")
    return result
