"""``rag bench``: speed and memory on this machine, as medians, p95s and same-run ratios.

Every figure that is compared is compared against a baseline measured in the same run
(plain sentence-transformers encoding, a direct llama.cpp call with the same prompt), never
against a number from another run: these machines are shared and noisy.

Retrieval at large sizes uses the real SciFact chunks embedded by the real model; beyond the
chunks embedded in the run, the collection is filled with vectors mixed from the real ones
(random convex combinations, renormalised), because embedding 100k chunks would take an
hour on 2 cores and search latency depends on the number and dimension of vectors, not on
what the text says. The report says how many vectors were real.

The server part runs ``rag serve`` in this process and times it over HTTP: eight clients at
once against one client asking the same questions in turn.
"""

from __future__ import annotations

import os
import platform
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


# Documents of the whole-document set summarised by the ``whole`` part: Markdown and HTML
# manuals of 5,000-10,000 words and PDFs of 24 and 68 pages (eval/sets/whole/SOURCES.md).
WHOLE_DOCS = (
    "node-addons.md", "expat-reference.html", "python-regex-howto.html",
    "performance-gov-discovery.pdf", "nettle.pdf",
)  # fmt: skip
WHOLE_QUICK = ("node-addons.md", "nettle.pdf")


def bench_whole(settings: Settings, names: Collection[str]) -> dict[str, Any]:
    """Time to the first word and to the end of "Summarise NAME" for each of ``names`` (the
    whole-document set's files), with their words and pages, the model loaded and the
    documents ingested before the clock starts."""
    from rag.assistant import Assistant
    from rag.documents import read_document
    from rag.records import Answer

    folder = PROJECT_ROOT / "eval" / "sets" / "whole" / "docs"
    work = Path(tempfile.mkdtemp(prefix="rag-bench-whole-"))
    try:
        assistant = Assistant(settings.with_(home=work, collection="bench-whole"))
        assistant.ingest([folder / n for n in names])
        _ = assistant.generator
        out: dict[str, Any] = {}
        for name in names:
            doc = read_document(folder / name, 10**9)
            assert not isinstance(doc, str), doc  # the set's files are all readable
            began, first, answer = time.perf_counter(), None, None
            for piece in assistant.stream(f"Summarise {name}"):
                if isinstance(piece, Answer):
                    answer = piece
                elif first is None and piece.strip():
                    first = time.perf_counter()
            end = time.perf_counter()
            out[name] = {
                "words": len(doc.text.split()),
                "pages": len(doc.pages),
                "first_word_ms": round(((first or end) - began) * 1000, 1),
                "total_ms": round((end - began) * 1000, 1),
                "abstained": answer is None or answer.abstained,
                "citations": len(answer.citations) if answer is not None else 0,
            }
        out["first_word_ms"] = _stats([out[n]["first_word_ms"] for n in names])
        out["total_ms"] = _stats([out[n]["total_ms"] for n in names])
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


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


CLIENTS = 8  # the server part's concurrent clients


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free port of 127.0.0.1; yields its URL
    once it answers ``/healthz``, and stops it on leaving."""
    import httpx
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass(frozen=True)
class _Reply:
    """One request of the server part: its latency, HTTP status (an exception's name when it
    failed) and the assistant's own time for the answer (``timings_ms["total"]``)."""

    ms: float
    status: int | str
    answer_ms: float = 0.0
    text: str = ""  # the answer


def _ask_over_http(url: str, questions: list[str], clients: int) -> tuple[list[_Reply], float]:
    """Ask every question of ``questions`` once (``POST /v1/chat/completions``, not streamed),
    ``clients`` at a time, all starting together; the replies in question order and the
    wall-clock milliseconds from the start to the last reply."""
    import httpx

    left = iter(enumerate(questions))
    lock, start = threading.Lock(), threading.Barrier(clients + 1)
    out: list[_Reply] = [_Reply(0.0, "not sent")] * len(questions)

    def client() -> None:
        with httpx.Client(timeout=3600) as http:
            start.wait()
            while True:
                with lock:
                    i, question = next(left, (-1, ""))
                if i < 0:
                    return
                body = {"model": "m", "messages": [{"role": "user", "content": question}]}
                try:
                    ms, r = _timed(partial(http.post, f"{url}/v1/chat/completions", json=body))
                except httpx.HTTPError as exc:
                    out[i] = _Reply(0.0, type(exc).__name__)
                    continue
                if r.status_code == 200:
                    data = r.json()
                    total = data["rag"]["timings_ms"]["total"]
                    text = data["choices"][0]["message"]["content"]
                    out[i] = _Reply(ms, r.status_code, total, text)
                else:
                    out[i] = _Reply(ms, r.status_code)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return out, (time.perf_counter() - began) * 1000


def _served(replies: list[_Reply], wall_ms: float) -> dict[str, Any]:
    """Latency of the answered requests, answers a minute, requests refused (429) and failed,
    and ``model_busy_share``: the assistant's time over the wall-clock time (near 1 when the
    queue keeps the model at work, lower when requests wait on anything else)."""
    answered = [r for r in replies if r.status == 200]
    return {
        **_stats([r.ms for r in answered]),
        "answers_per_min": round(len(answered) / (wall_ms / 60_000), 2),
        "refused": sum(r.status == 429 for r in replies),
        "failed": sum(r.status not in (200, 429) for r in replies),
        "model_busy_share": round(sum(r.answer_ms for r in answered) / wall_ms, 3),
    }


def bench_server(settings: Settings, questions: list[str]) -> dict[str, Any]:
    """``rag serve`` under load: ``questions`` asked over HTTP by ``CLIENTS`` clients at once,
    against the same questions asked by one client, one after another, in the same run.

    The server runs in this process (uvicorn in a thread) over the real assistant with the
    seed articles ingested, its queue long enough that no request is refused. A server
    generates one answer at a time, so latency with ``CLIENTS`` clients includes the wait in
    the queue, and throughput (answers a minute) is the figure that shows what concurrency
    costs or gains. ``default_queue`` is one burst of ``CLIENTS`` questions at a server with
    the configured ``RAG_API_QUEUE``: how many it refuses with 429."""
    from rag.assistant import Assistant
    from rag.server import build_api

    work = Path(tempfile.mkdtemp(prefix="rag-bench-serve-"))
    try:
        s = settings.with_(home=work, api_queue=len(questions), api_key="")
        assistant = Assistant(s)
        assistant.ingest([PROJECT_ROOT / "seeds"])
        assistant.warm_up()
        with serving(build_api(assistant, s)) as url:
            _ask_over_http(url, [PRIMER], 1)  # the system prompt read once, before the clock
            one = _served(*_ask_over_http(url, questions, 1))
            many = _served(*_ask_over_http(url, questions, CLIENTS))
        with serving(build_api(assistant, s.with_(api_queue=settings.api_queue))) as url:
            burst, _ = _ask_over_http(url, questions[:CLIENTS], CLIENTS)
        return {
            "clients": CLIENTS,
            "questions": len(questions),
            "one_client_ms": one,
            "clients_ms": many,
            "p50_ratio_vs_one_client": round(many["p50"] / one["p50"], 2) if one["p50"] else None,
            "throughput_ratio_vs_one_client": round(
                many["answers_per_min"] / one["answers_per_min"], 2
            )
            if one["answers_per_min"]
            else None,
            "default_queue": {
                "queue": settings.api_queue,
                "sent": len(burst),
                "refused": sum(r.status == 429 for r in burst),
            },
            "model": assistant.generator.name,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


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


PARTS = ("ingest", "pdf", "retrieval", "answers", "whole", "server", "cold_start")


def run_bench(
    settings: Settings, quick: bool = False, only: Collection[str] = ()
) -> dict[str, Any]:
    """Every part (``PARTS``), or the parts named in ``only``, with the machine they ran on
    and the headline figures of those parts (None for a part that did not run)."""
    from rag.errors import InputError
    from rag.llama_build import build_record, cpu

    if unknown := sorted(set(only) - set(PARTS)):
        raise InputError(f"No bench part {', '.join(unknown)}: choose from {', '.join(PARTS)}.")
    wanted = set(only or PARTS)
    questions = answer_questions()
    sizes = [1000, 10_000] if quick else [1000, 10_000, 100_000]
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
    }
    docs = _scifact_docs() if wanted & {"ingest", "retrieval"} else []
    if "ingest" in wanted:
        n_docs = 300 if quick else 3000  # about 10,000 chunks
        result.update(_bench_ingests(settings, docs[:n_docs]))
    if "pdf" in wanted:
        result["ingest_pdf"] = bench_pdf(settings, rounds=1 if quick else 3)
    if "retrieval" in wanted:
        queries = _queries()[: 20 if quick else 50]
        result["retrieval"] = bench_retrieval(settings, docs[:2000], sizes, queries)
    if "answers" in wanted:
        result["answers"] = bench_answers(settings, questions[:3] if quick else questions)
    if "whole" in wanted:
        result["whole"] = bench_whole(settings, WHOLE_QUICK if quick else WHOLE_DOCS)
    if "server" in wanted:
        result["server"] = bench_server(settings, questions[: CLIENTS if quick else 2 * CLIENTS])
        result.update(_bench_scaling(settings, quick))
    if "cold_start" in wanted:
        result["cold_start"] = bench_cold_start(settings)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result.update(_headline(result, str(sizes[-1])))
    return result


def _bench_scaling(settings: Settings, quick: bool) -> dict[str, Any]:
    """The rest of the server part: answers at once through a batching model server
    (``rag_eval.bench_batched``; skipped, saying why, when llama-server is not installed)
    and the first search after an ingest into a large collection
    (``rag_eval.bench_lexical``)."""
    from rag.model_server import SERVER_DIR

    from .bench_batched import batch_questions, bench_batched
    from .bench_lexical import bench_lexical

    out: dict[str, Any] = {}
    if (SERVER_DIR / "llama-server").is_file():
        pool = batch_questions()
        out["server_batched"] = (
            bench_batched(settings, pool, slots=(1, 4), loads=(CLIENTS,))
            if quick
            else bench_batched(settings, pool)
        )
    else:
        out["server_batched"] = {"skipped": f"llama-server is not installed in {SERVER_DIR}"}
    out["lexical"] = bench_lexical(settings, (10_000,) if quick else (10_000, 100_000))
    return out


def _bench_ingests(settings: Settings, docs: list[str]) -> dict[str, Any]:
    """The ingest part: the seeds, SciFact abstracts and, with the torch backend, the same
    abstracts at fp32 (where bf16 is used) and with ``onnx-int8``, against one baseline."""
    from rag.embedding import embedder_for

    seeds = [p.read_text() for p in sorted((PROJECT_ROOT / "seeds").glob("*.txt"))]
    out = {
        "ingest_seeds": bench_ingest(settings, seeds, "seeds"),
        "ingest_scifact": bench_ingest(settings, docs, "scifact"),
    }
    plain_rate = out["ingest_scifact"]["plain_encode_chunks_per_s"]
    if settings.embed_backend == "torch":  # the other backend, same texts, same baseline
        if getattr(embedder_for(settings), "precision", "") == "bf16":  # what bf16 gains
            out["ingest_scifact_fp32"] = bench_ingest(
                settings.with_(embed_precision="fp32"), docs, "scifact", plain_rate=plain_rate
            )
        out["ingest_scifact_onnx_int8"] = bench_ingest(
            settings.with_(embed_backend="onnx-int8", embed_batch=0),
            docs,
            "scifact",
            plain_rate=plain_rate,
        )
    return out


def _headline(result: dict[str, Any], largest: str) -> dict[str, Any]:
    """The figures ``rag bench`` prints first, from ``result``; None where a part did not run
    or has no such figure (OCR without Tesseract). ``largest``: the largest retrieval size.

    >>> _headline({"answers": {"llama_overhead_ratio": 1.1}}, "1000")["llama_overhead_ratio"]
    1.1
    """

    def at(*path: str) -> Any:
        value: Any = result
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        return value

    return {
        "first_token_ms_p50": at("answers", "first_token_ms", "p50"),
        "answer_ms_p50": at("answers", "answer_ms", "p50"),
        "retrieve_ms_p50": at("retrieval", largest, "p50"),
        "ingest_chunks_per_s": at("ingest_scifact", "project_chunks_per_s"),
        "pdf_ms_per_page": at("ingest_pdf", "text_layer", "ms_per_page_p50"),
        "pdf_ocr_ms_per_page": at("ingest_pdf", "ocr", "ms_per_page_p50"),
        "llama_overhead_ratio": at("answers", "llama_overhead_ratio"),
        "server_answers_per_min": at("server", "clients_ms", "answers_per_min"),
        "batched_4_slots_8_clients_answers_per_min": at(
            "server_batched", "4_slots", "8_clients", "answers_per_min"
        ),
        "batched_4_slots_8_clients_vs_one_slot": at(
            "server_batched", "4_slots", "8_clients", "throughput_vs_one_slot"
        ),
        "whole_first_word_ms_p50": at("whole", "first_word_ms", "p50"),
        "whole_total_ms_p50": at("whole", "total_ms", "p50"),
    }


def _scifact_docs() -> list[str]:
    from .datasets import load_scifact

    corpus, _, _ = load_scifact()
    return [corpus[k] for k in sorted(corpus)]


def _queries() -> list[str]:
    from .datasets import load_scifact

    _, queries, _ = load_scifact()
    return [queries[k] for k in sorted(queries)]
