"""``python -m rag.model_server``: llama.cpp's OpenAI-compatible server (``llama_cpp.server``,
from the ``server`` extra) for the remote-model deployment, on the project's llama.cpp build.

It takes exactly ``python -m llama_cpp.server``'s arguments (``--model``, ``--host``,
``--port``, ``--n_ctx``, ``--api_key``, ...). It first registers the CPU backend that suits
this CPU (``rag.generation.load_cpu_backend``), which the project's portable build needs and
``llama_cpp.server`` alone would not do ("no backends are loaded").
"""

from __future__ import annotations

from .generation import load_cpu_backend


def main() -> None:
    load_cpu_backend()
    from llama_cpp.server.__main__ import main as serve

    serve()


if __name__ == "__main__":
    main()
