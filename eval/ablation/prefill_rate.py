"""How fast llama.cpp reads a prompt here: the bound on time to first token (issue 6).

    .venv/bin/python eval/ablation/prefill_rate.py [GGUF] [name=value ...]

Reads the first 300 tokens of a seed article with ``Llama.eval`` three times (cache reset
before each) with the settings the project uses (`rag.generation.LlamaCppGenerator`: 2
threads, batch 512, flash attention) or the ``name=value`` overrides given, and prints the
median tokens per second. GGUF defaults to the installed default model. To compare another
quantisation, make one with llama.cpp's own quantiser, e.g. Q4_0 (type 2) from the shipped
Q4_K_M:

    .venv/bin/python -c "import llama_cpp, ctypes; p = llama_cpp.llama_model_quantize_default_params(); p.ftype = 2; p.allow_requantize = True; llama_cpp.llama_model_quantize(b'IN.gguf', b'/tmp/q4_0.gguf', ctypes.byref(p))"
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

from llama_cpp import Llama

from rag.models import resolve_model
from rag.settings import PROJECT_ROOT, Settings


def main(args: list[str]) -> None:
    path = args[0] if args and "=" not in args[0] else str(resolve_model(Settings.from_env())[0])
    settings: dict[str, Any] = {
        "n_ctx": 4096,
        "n_threads": 2,
        "n_threads_batch": 2,
        "n_batch": 512,
        "flash_attn": True,
        "verbose": False,
    }
    for arg in (a for a in args if "=" in a):
        name, value = arg.split("=", 1)
        settings[name] = int(value) if value.isdigit() else value == "True"
    llm = Llama(model_path=path, **settings)
    text = sorted((PROJECT_ROOT / "seeds").glob("*.txt"))[0].read_text(encoding="utf-8")
    tokens = llm.tokenize(text.encode("utf-8"))[:300]
    rates = []
    for _ in range(3):
        llm.reset()
        began = time.perf_counter()
        llm.eval(tokens)
        rates.append(len(tokens) / (time.perf_counter() - began))
    print(f"{path}: prompt reading {statistics.median(rates):.1f} tokens/s (median of 3 x {len(tokens)} tokens)")


if __name__ == "__main__":
    main(sys.argv[1:])
