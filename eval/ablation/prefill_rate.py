"""How fast llama.cpp reads a prompt here: the bound on time to first token (issue 6).

    .venv/bin/python eval/ablation/prefill_rate.py [GGUF]

Loads the model exactly as the assistant does (`rag.assistant.load_generator`: RAG_MODEL,
or the GGUF given, with the project's threads, batch and flash attention), reads the first
300 tokens of a seed article with ``Llama.eval`` three times (cache reset before each) and
prints the median tokens per second. To compare another quantisation, make one with
llama.cpp's own quantiser, e.g. Q4_0 (type 2) from the shipped Q4_K_M, and pass its path:

    .venv/bin/python -c "import llama_cpp, ctypes; p = llama_cpp.llama_model_quantize_default_params(); p.ftype = 2; p.allow_requantize = True; llama_cpp.llama_model_quantize(b'IN.gguf', b'/tmp/q4_0.gguf', ctypes.byref(p))"
"""

from __future__ import annotations

import statistics
import sys
import time

from rag.assistant import load_generator
from rag.generation import LlamaCppGenerator
from rag.settings import PROJECT_ROOT, Settings


def main(args: list[str]) -> None:
    settings = Settings.from_env()
    if args:
        settings = settings.with_(model=args[0])
    generator = load_generator(settings)
    if not isinstance(generator, LlamaCppGenerator):
        raise SystemExit("prefill_rate.py measures llama.cpp in this process: unset RAG_LLM_URL.")
    llm = generator._llm
    text = sorted((PROJECT_ROOT / "seeds").glob("*.txt"))[0].read_text(encoding="utf-8")
    tokens = llm.tokenize(text.encode("utf-8"))[:300]
    rates = []
    for _ in range(3):
        llm.reset()
        began = time.perf_counter()
        llm.eval(tokens)
        rates.append(len(tokens) / (time.perf_counter() - began))
    print(f"{generator.name}: prompt reading {statistics.median(rates):.1f} tokens/s (median of 3 x {len(tokens)} tokens)")


if __name__ == "__main__":
    main(sys.argv[1:])
