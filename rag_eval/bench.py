"""``rag bench``: speed and memory on this machine, as medians, p95s and same-run ratios.

Every figure that is compared is compared against a baseline measured in the same run
(plain sentence-transformers encoding, a direct llama.cpp call with the same prompt), never
against a number from another run: these machines are shared and noisy.

Retrieval at large sizes uses the real SciFact chunks embedded by the real model; beyond the
chunks embedded in the run, the collection is filled with vectors mixed from the real ones
(random convex combinations, renormalised), because embedding 100k chunks would take an
hour on 2 cores and search latency depends on the number and dimension of vectors, not on
what the text says. The report says how many vectors were real.
"""

from __future__ import annotations

import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from rag.settings import PROJECT_ROOT, Settings

from .metrics import median, percentile


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(median(values), 1),
        "p95": round(percentile(values, 95), 1),
        "n": len(values),
    }


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    out = fn()
    return (time.perf_counter() - began) * 1000, out


def bench_ingest(
    settings: Settings, texts: list[str], label: str, plain_rate: float = 0.0
) -> dict[str, Any]:
    """Chunks/s of the project's ingest (chunk + embed + write) vs plain ``encode`` of the
    same chunks (``plain_rate``, chunks/s, when already measured on them in this run)."""
    from sentence_transformers import SentenceTransformer

    from rag.assistant import Assistant
    from rag.embedding import embedder_for, resolve_embed_model

    work = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    try:
        folder = work / "docs"
        folder.mkdir()
        for i, text in enumerate(texts):
            (folder / f"{label}-{i:05d}.txt").write_text(text)
        s = settings.with_(home=work / "home", collection=f"bench-{label}")
        embedder = embedder_for(s)
        assistant = Assistant(s, embedder=embedder)
        ms, report = _timed(lambda: assistant.ingest([folder]))
        # The same texts the ingest embedded, as the store holds them: no second chunking pass.
        chunk_texts = [text for _, text, _ in assistant.store().all_chunks()]
        n_chunks = len(chunk_texts)
        if plain_rate:
            base_ms = len(chunk_texts) / plain_rate * 1000
        else:
            plain = SentenceTransformer(str(resolve_embed_model(s.embed_model)), device="cpu")
            base_ms, _ = _timed(lambda: plain.encode(chunk_texts))
        return {
            "chunks": n_chunks,
            "project_chunks_per_s": round(n_chunks / (ms / 1000), 1),
            "plain_encode_chunks_per_s": round(len(chunk_texts) / (base_ms / 1000), 1),
            "ratio_vs_plain": round((base_ms / len(chunk_texts)) / (ms / n_chunks), 2),
            "seconds": round(ms / 1000, 1),
            "embedder": f"{embedder.backend} {getattr(embedder, 'precision', '')}".strip(),
            "report": {"added": len(report.added), "skipped": len(report.skipped)},
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


PDF_TEXT = PROJECT_ROOT / "tests" / "files" / "federal-register-2020-17221.pdf"
PDF_SCAN = PROJECT_ROOT / "tests" / "files" / "huck-finn-1884-p22-scan.pdf"


def bench_pdf(settings: Settings, rounds: int = 3) -> dict[str, Any]:
    """Milliseconds per page to read a real PDF's text layer and a real scanned page (OCR),
    and to ingest the text PDF whole (read, chunk, embed, store); medians of ``rounds``."""
    from rag.assistant import Assistant
    from rag.documents import read_document
    from rag.formats import ocr_available

    out: dict[str, Any] = {}
    for key, path in (("text_layer", PDF_TEXT), ("ocr", PDF_SCAN)):
        if key == "ocr" and not ocr_available():
            out[key] = "tesseract-ocr is not installed"
            continue
        times, doc = [], None
        for _ in range(rounds):
            ms, doc = _timed(partial(read_document, path, 10**9))
            times.append(ms)
        pages = len(doc.pages) if doc is not None and not isinstance(doc, str) else 0
        out[key] = {
            "file": path.name,
            "pages": pages,
            "ms_per_page_p50": round(median(times) / max(pages, 1), 1),
        }
    work = Path(tempfile.mkdtemp(prefix="rag-bench-pdf-"))
    try:
        times = []
        for i in range(rounds):
            s = settings.with_(home=work / f"home{i}", collection="bench-pdf")
            assistant = Assistant(s)
            _ = assistant.retriever.embedder  # loaded before the clock starts
            ms, report = _timed(partial(assistant.ingest, [PDF_TEXT]))
            times.append(ms)
        pages = out["text_layer"]["pages"]
        out["ingest_ms_per_page_p50"] = round(median(times) / max(pages, 1), 1)
        out["ingest_chunks"] = report.chunks
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def bench_retrieval(
    settings: Settings, texts: list[str], sizes: list[int], queries: list[str]
) -> dict[str, Any]:
    """Search latency (query embedding included) at each collection size."""
    import numpy as np

    from rag.embedding import embedder_for
    from rag.records import Chunk
    from rag.retrieval import Retriever, open_store
    from rag.store import CatalogEntry

    embedder = embedder_for(settings)
    real = np.asarray(embedder.embed(texts), dtype=np.float32)
    rng = random.Random(0)
    out: dict[str, Any] = {"real_vectors": len(texts)}
    work = Path(tempfile.mkdtemp(prefix="rag-bench-ret-"))
    try:
        for size in sizes:
            s = settings.with_(home=work / f"h{size}", collection=f"ret-{size}", retrieval="dense")
            store = open_store(s, embedder, create=True)
            for at in range(0, size, 2000):
                n = min(2000, size - at)
                vecs, docs = [], []
                for i in range(at, at + n):
                    if i < len(texts):
                        vecs.append(real[i])
                        docs.append(texts[i])
                    else:
                        a, b = rng.randrange(len(texts)), rng.randrange(len(texts))
                        w = rng.random()
                        v = w * real[a] + (1 - w) * real[b]
                        vecs.append(v / np.linalg.norm(v))
                        docs.append(texts[a])
                chunks = [
                    Chunk(f"c{i}", f"d{i}.txt", f"/bench/d{i}.txt", 0, 0, len(t), t, doc_sha256="x")
                    for i, t in zip(range(at, at + n), docs)
                ]
                store.upsert(chunks, [v.tolist() for v in vecs])
            store.commit_documents([CatalogEntry("/bench", "bench", "x", size)])
            retriever = Retriever(s, embedder=embedder, store=store)
            retriever.search(queries[0], k=5)  # warm
            times = [_timed(partial(retriever.search, q, k=5))[0] for q in queries]
            out[str(size)] = _stats(times)
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_answers(settings: Settings, questions: list[str]) -> dict[str, Any]:
    """Time to first token and whole answer on seed questions, and the overhead against a
    direct llama.cpp call with the same final prompt and settings.

    llama.cpp reuses the longest prefix of the previous prompt it still holds. Before every
    timed call a primer question (the same system prompt, another user message) is run, so
    both the assistant and the direct call start with the fixed system prompt cached and
    the question's own tokens not, as they do in use: neither reuses the other's prompt.
    The ratio is also given for the assistant without the yes/no check of figures
    (``RAG_VERIFY_FIGURES=0``), which asks the model a second time when an answer states a
    number. ``llama_overhead_ratio`` is the median of the per-question ratios;
    ``llama_overhead_ratio_all_answers`` is all the assistant's answer time over all the
    direct calls' (answers the check judges weigh in by their share). Questions the
    relevance gate answers without the model (``questions_gated``) have no direct call to
    compare with and are left out of every figure."""
    from rag.assistant import Assistant, decline_rule
    from rag.generation import LlamaCppGenerator, messages_tokens

    work = Path(tempfile.mkdtemp(prefix="rag-bench-ans-"))
    try:
        s = settings.with_(home=work)
        assistant = Assistant(s)
        assistant.ingest([PROJECT_ROOT / "seeds"])
        assistant.warm_up()
        generator = assistant.generator
        llm = getattr(generator, "_llm", None)
        primer = assistant.prepare(PRIMER).messages

        def prime() -> None:
            if llm is not None:
                llm.create_chat_completion(messages=primer, temperature=0.0, max_tokens=1)

        # The same assistant without the yes/no check of figures (a second model call for
        # answers stating a number), to show what that check costs apart from the rest.
        unchecked = Assistant(
            s.with_(verify_figures=False),
            embedder=assistant.retriever.embedder,
            generator=generator,
            store=assistant.store(),
        )
        first, total, prompt_tokens, overhead, bare = [], [], [], [], []
        checked_ms, direct_sum, gated = 0.0, 0.0, 0
        rule = decline_rule(s)  # the assistant's decoding, so both sides write the same reply
        for q in questions:
            messages = assistant.prepare(q).messages
            if not messages:  # the relevance gate answers without the model
                gated += 1
                continue
            prime()
            answer = assistant.ask(q)
            first.append(answer.timings_ms["first_token"])
            total.append(answer.timings_ms["total"])
            prompt_tokens.append(messages_tokens(generator, messages))
            if llm is None:  # a remote model: no direct llama.cpp call to compare with
                continue
            prime()
            unchecked_ms = unchecked.ask(q).timings_ms["total"]
            prime()
            processor = (  # per call: it acts on the first step only
                generator.decline_processor(rule)
                if rule and isinstance(generator, LlamaCppGenerator)
                else None
            )
            direct_ms, _ = _timed(
                partial(
                    llm.create_chat_completion,
                    messages=messages,
                    temperature=0.0,
                    top_k=1,
                    max_tokens=s.max_tokens,
                    logits_processor=processor,
                )
            )
            overhead.append(answer.timings_ms["total"] / direct_ms)
            bare.append(unchecked_ms / direct_ms)
            checked_ms += answer.timings_ms["total"]
            direct_sum += direct_ms
        return {
            "first_token_ms": _stats(first),
            "answer_ms": _stats(total),
            "prompt_tokens_p50": median(prompt_tokens),
            "questions_gated": gated,
            "llama_overhead_ratio": round(median(overhead), 3) if overhead else None,
            "llama_overhead_ratio_without_figure_check": round(median(bare), 3) if bare else None,
            "llama_overhead_ratio_all_answers": round(checked_ms / direct_sum, 3)
            if direct_sum
            else None,
            "model": generator.name,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


PRIMER = "What did the State Department say about the talks?"
ANSWER_EVERY = 5  # the answer section times every 5th single-turn seed question


def answer_questions() -> list[str]:
    """The seed questions the answer section times: every ``ANSWER_EVERY``-th question of
    eval/questions.jsonl that has no conversation history (19 of the 93), answerable and
    not, in file order: a fixed sample of the set, not questions picked for speed."""
    from .evaluation import load_questions

    single = [
        q for q in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl") if not q.get("history")
    ]
    return [q["question"] for q in single[::ANSWER_EVERY]]


def bench_cold_start(settings: Settings) -> dict[str, Any]:
    """Seconds from process start until ``rag search`` / ``rag ask`` finish, and the peak RSS."""
    rag = str(Path(sys.executable).parent / "rag")
    work = Path(tempfile.mkdtemp(prefix="rag-bench-cold-"))
    env = {**os.environ, "RAG_HOME": str(work), "HF_HUB_OFFLINE": "1"}
    out: dict[str, Any] = {}
    try:
        subprocess.run(
            [rag, "ingest", "--json"], env=env, capture_output=True, check=True, cwd=PROJECT_ROOT
        )
        for name, args in {
            "help": ["--help"],
            "search": ["search", "Geneva meeting", "--json"],
            "ask": ["ask", "How long did the Geneva meeting last?", "--json"],
        }.items():
            began = time.perf_counter()
            subprocess.run([rag, *args], env=env, capture_output=True, check=True, cwd=PROJECT_ROOT)
            out[f"{name}_s"] = round(time.perf_counter() - began, 2)
        out["peak_rss_mb_children"] = round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
        )
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_bench(settings: Settings, quick: bool = False) -> dict[str, Any]:
    from rag.embedding import embedder_for
    from rag.llama_build import build_record, cpu

    from .datasets import load_scifact

    corpus, _, _ = load_scifact()
    docs = [corpus[k] for k in sorted(corpus)]
    seeds = [p.read_text() for p in sorted((PROJECT_ROOT / "seeds").glob("*.txt"))]
    questions = answer_questions()
    n_docs = 300 if quick else 3000  # about 10,000 chunks
    sizes = [1000, 10_000] if quick else [1000, 10_000, 100_000]
    queries = [q for q in list(_queries())[: 20 if quick else 50]]
    result: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "cpu": cpu()["model"],
            "cpu_extensions": " ".join(cpu()["extensions"]),
            "llama_cpp_build": build_record().get("variant", "not recorded"),
        },
        "quick": quick,
        "ingest_seeds": bench_ingest(settings, seeds, "seeds"),
        "ingest_scifact": bench_ingest(settings, docs[:n_docs], "scifact"),
        "ingest_pdf": bench_pdf(settings, rounds=1 if quick else 3),
        "retrieval": bench_retrieval(settings, docs[:2000], sizes, queries),
        "answers": bench_answers(settings, questions[:3] if quick else questions),
        "cold_start": bench_cold_start(settings),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if settings.embed_backend == "torch":  # the other backend, same texts, same baseline
        if getattr(embedder_for(settings), "precision", "") == "bf16":  # what bf16 gains
            result["ingest_scifact_fp32"] = bench_ingest(
                settings.with_(embed_precision="fp32"),
                docs[:n_docs],
                "scifact",
                plain_rate=result["ingest_scifact"]["plain_encode_chunks_per_s"],
            )
        result["ingest_scifact_onnx_int8"] = bench_ingest(
            settings.with_(embed_backend="onnx-int8", embed_batch=0),
            docs[:n_docs],
            "scifact",
            plain_rate=result["ingest_scifact"]["plain_encode_chunks_per_s"],
        )
    largest = str(sizes[-1])
    ocr = result["ingest_pdf"]["ocr"]
    result.update(
        {
            "first_token_ms_p50": result["answers"]["first_token_ms"]["p50"],
            "answer_ms_p50": result["answers"]["answer_ms"]["p50"],
            "retrieve_ms_p50": result["retrieval"][largest]["p50"],
            "ingest_chunks_per_s": result["ingest_scifact"]["project_chunks_per_s"],
            "pdf_ms_per_page": result["ingest_pdf"]["text_layer"]["ms_per_page_p50"],
            "pdf_ocr_ms_per_page": ocr["ms_per_page_p50"] if isinstance(ocr, dict) else None,
            "llama_overhead_ratio": result["answers"]["llama_overhead_ratio"],
        }
    )
    return result


def _queries() -> list[str]:
    from .datasets import load_scifact

    _, queries, _ = load_scifact()
    return [queries[k] for k in sorted(queries)]
