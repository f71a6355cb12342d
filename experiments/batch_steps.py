"""What batching gains on this machine with short prompts: llama.cpp's own server
(``rag model-server``) with 1 and then N slots, 8 requests at once (40-token prompts, 64 tokens
written, greedy), answers a minute and latency for each, in one run.

    .venv/bin/python experiments/batch_steps.py THREADS SLOTS[,SLOTS...] [llama-server flags...]
    .venv/bin/python experiments/batch_steps.py 1 1,4
    .venv/bin/python experiments/batch_steps.py 1 4 --no-repack

Each server's log (per-request prompt and decode timings) goes to ``/tmp/batch-steps-<slots>.log``.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

import rag.model_server as model_server
from rag.settings import Settings

REQUESTS = 8


def main() -> None:
    threads = int(sys.argv[1])
    counts = [int(n) for n in sys.argv[2].split(",")]
    extra = sys.argv[3:]
    settings = Settings.from_env({}, model="qwen2.5-coder-1.5b", threads=threads)
    plain = model_server.command
    model_server.command = lambda *a, **k: plain(*a, **k) + extra  # type: ignore[assignment]
    for slots in counts:
        log = Path(f"/tmp/batch-steps-{slots}.log")
        port = model_server.free_port()
        with model_server.start(settings, parallel=slots, port=port, log=log) as server:

            def one(i: int, out: list[tuple[float, int]]) -> None:
                began = time.perf_counter()
                body = {
                    "model": "m",
                    "messages": [
                        {"role": "user", "content": f"Write a short story about cat {i}."}
                    ],
                    "max_tokens": 64,
                    "temperature": 0,
                }
                r = httpx.post(f"{server.url}/chat/completions", json=body, timeout=600)
                out.append((time.perf_counter() - began, r.json()["usage"]["completion_tokens"]))

            one(0, [])  # the model warm
            out: list[tuple[float, int]] = []
            began = time.perf_counter()
            workers = [threading.Thread(target=one, args=(i, out)) for i in range(REQUESTS)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            wall = time.perf_counter() - began
            latency = sorted(s for s, _ in out)
            print(
                f"slots={slots} threads={threads} flags={extra} answers/min={REQUESTS / wall * 60:.1f} "
                f"p50={statistics.median(latency):.1f}s max={latency[-1]:.1f}s "
                f"tokens/s={sum(n for _, n in out) / wall:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
