"""The server part of ``rag bench`` against a batching model server: ``rag serve`` with
``RAG_PARALLEL`` answers at once over ``llama-server`` (``rag model-server``) with as many
slots, under 8 and 16 clients, against the same server with one slot, in one run.

Each configuration is one ``llama-server`` process on 127.0.0.1 started for it (the model
loaded once, the prompt cache warm from a primer question), and one ``rag serve`` API in this
process over the seed articles, its queue long enough that nothing is refused; a burst at the
configured ``RAG_API_QUEUE`` then shows how many are refused. ``same_as_alone`` counts the
answers written beside others that match the same question's answer written alone on the same
server: llama.cpp is not batch-invariant (a sequence's arithmetic depends on the batch it is
decoded in), so a reply under load may differ.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.settings import PROJECT_ROOT, Settings

from .bench import PRIMER, _ask_over_http, _served, free_port, serving

SLOTS = (1, 2, 4)
LOADS = (8, 16)  # clients at once


def bench_batched(
    settings: Settings,
    questions: Sequence[str],
    slots: Sequence[int] = SLOTS,
    loads: Sequence[int] = LOADS,
) -> dict[str, Any]:
    """For each number of ``slots``, on a server of its own: ``ALONE`` questions asked by one
    client, then, for each of ``loads``, twice as many questions as clients asked by that many
    clients at once; p50/p95 latency (ms), answers a minute, refused and failed requests, and
    the throughput over one slot at the same load. Every phase asks questions not asked
    before on that server (``questions`` must hold enough: ``needed``), so no answer is
    sped up by the server's cache of earlier prompts. Then a burst at the configured
    ``RAG_API_QUEUE`` (refusals), and, on a fresh server with the most slots, the first
    load's questions asked again one at a time: how many answers written under load are the
    answers written alone."""
    from rag.assistant import Assistant
    from rag.model_server import start
    from rag.server import build_api

    if len(questions) < needed(loads):
        raise ValueError(f"{needed(loads)} questions needed, {len(questions)} given")
    work = Path(tempfile.mkdtemp(prefix="rag-bench-batched-"))
    runs: dict[str, Any] = {}
    try:
        base = settings.with_(home=work, api_key="", llm_url="", parallel=1)
        Assistant(base).ingest([PROJECT_ROOT / "seeds"])

        def served(n: int, name: str) -> Any:
            return start(base, parallel=n, port=free_port(), log=work / f"{name}.log")

        loaded: dict[str, str] = {}  # the first load's answers, with the most slots
        for n in slots:
            with served(n, f"llama-server-{n}") as model:
                s = base.with_(llm_url=model.url, parallel=n, api_queue=2 * max(loads))
                assistant = Assistant(s)
                run: dict[str, Any] = {}
                with serving(build_api(assistant, s)) as url:
                    _ask_over_http(url, [PRIMER], 1)  # the system prompt cached before the clock
                    fresh = iter(questions)
                    alone = [next(fresh) for _ in range(ALONE)]
                    run["one_client"] = _served(*_ask_over_http(url, alone, 1))
                    for clients in loads:
                        asked = [next(fresh) for _ in range(2 * clients)]
                        replies, wall = _ask_over_http(url, asked, clients)
                        run[f"{clients}_clients"] = _served(replies, wall)
                        if n == max(slots) and clients == loads[0]:
                            loaded = {
                                q: r.text for q, r in zip(asked, replies, strict=True) if r.text
                            }
                with serving(build_api(assistant, s.with_(api_queue=settings.api_queue))) as url:
                    burst, _ = _ask_over_http(url, list(questions[: max(loads)]), max(loads))
                run["default_queue"] = {
                    "queue": settings.api_queue,
                    "sent": len(burst),
                    "refused": sum(r.status == 429 for r in burst),
                    "failed": sum(r.status not in (200, 429) for r in burst),
                }
                runs[f"{n}_slots"] = run
        with served(max(slots), "llama-server-alone") as model:
            s = base.with_(llm_url=model.url, parallel=max(slots), api_queue=len(loaded))
            with serving(build_api(Assistant(s), s)) as url:
                again, _ = _ask_over_http(url, list(loaded), 1)
        same = sum(r.text == loaded[q] for q, r in zip(loaded, again, strict=True))
        first = runs[f"{slots[0]}_slots"]
        for n in slots:
            for clients in loads:
                key = f"{clients}_clients"
                rate = first[key]["answers_per_min"]
                runs[f"{n}_slots"][key]["throughput_vs_one_slot"] = (
                    round(runs[f"{n}_slots"][key]["answers_per_min"] / rate, 2) if rate else None
                )
        return {
            "slots": list(slots),
            "clients": list(loads),
            **runs,
            "batch_invariance": {
                "slots": max(slots),
                "clients": loads[0],
                "compared": len(loaded),
                "same_as_alone": same,
            },
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


ALONE = 8  # questions one client asks, one after another


def needed(loads: Sequence[int]) -> int:
    """How many distinct questions a run needs: ``ALONE``, then twice the clients of each load.

    >>> needed((8, 16))
    56
    """
    return ALONE + sum(2 * c for c in loads)


def batch_questions() -> list[str]:
    """Every single-turn seed question (eval/questions.jsonl), in file order: answerable and
    not, a fixed set rather than questions picked for speed."""
    from .evaluation import load_questions

    rows = load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")
    return [q["question"] for q in rows if not q.get("history")]
