"""Prompt reading and generation speed of the default model under several llama.cpp builds,
measured in one run on this machine: the numbers behind the choice of build (docs/models.md).

    .venv/bin/python experiments/llama_builds.py [VARIANT ...] [--rounds N] [--json]

Each VARIANT (default: dispatch avx2 avx512 native) is built by ``.ci/build-llama.sh --wheel``
(or taken from its cache), unpacked into a temporary folder and run in a child process of
its own, so a build that faults on this CPU is reported as such instead of ending the run.
Rounds alternate the builds, so a machine that slows down part-way through affects all of
them alike; the table gives each build's median over the rounds and its ratio to the first.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROMPT_TOKENS = 512
GENERATED = 64

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import llama_cpp
assert llama_cpp.__file__.startswith(sys.argv[1]), llama_cpp.__file__
from rag.generation import load_cpu_backend, llama_system_info
from rag.llama_build import features
load_cpu_backend()
llm = llama_cpp.Llama(model_path=sys.argv[2], n_ctx=2048, n_threads=2, n_threads_batch=2,
                      n_batch=512, flash_attn=True, seed=0, verbose=False)
text = open(sys.argv[3]).read()
tokens = llm.tokenize(text.encode(), add_bos=True)[: int(sys.argv[4])]
llm.reset()
start = time.perf_counter()
llm.eval(tokens)
prefill = len(tokens) / (time.perf_counter() - start)
start = time.perf_counter()
for _ in range(int(sys.argv[5])):
    token = llm.sample(top_k=1, temp=0.0)
    llm.eval([token])
generate = int(sys.argv[5]) / (time.perf_counter() - start)
print(json.dumps({"prefill": prefill, "generate": generate,
                  "features": " ".join(features(llama_system_info()))}))
"""


def wheel_for(variant: str) -> Path:
    out = subprocess.run(
        ["bash", str(ROOT / ".ci/build-llama.sh"), "--wheel", variant],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return Path(out.stdout.strip().splitlines()[-1])


def measure(folder: Path, model: str, text: Path) -> dict[str, object]:
    args = [str(folder), model, str(text), str(PROMPT_TOKENS), str(GENERATED)]
    child = subprocess.run(
        [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, cwd=ROOT
    )
    if child.returncode < 0:
        return {"error": f"crashed ({signal.Signals(-child.returncode).name})"}
    if child.returncode != 0:
        return {"error": (child.stderr.strip().splitlines() or ["failed"])[-1]}
    return dict(json.loads(child.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="*", default=["dispatch", "avx2", "avx512", "native"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()

    from rag.models import resolve_model
    from rag.settings import Settings

    model = str(resolve_model(Settings.from_env())[0])
    text = Path(tempfile.mkdtemp()) / "prompt.txt"
    text.write_text("\n\n".join(p.read_text() for p in sorted((ROOT / "seeds").glob("*.txt"))))
    folders = {}
    for variant in opts.variants:
        folder = Path(tempfile.mkdtemp(prefix=f"llama-{variant}-"))
        with zipfile.ZipFile(wheel_for(variant)) as wheel:
            wheel.extractall(folder)
        for so in folder.rglob("*.so*"):
            os.chmod(so, 0o755)
        folders[variant] = folder
    runs: dict[str, list[dict[str, object]]] = {v: [] for v in opts.variants}
    for _ in range(opts.rounds):
        for variant in opts.variants:
            runs[variant].append(measure(folders[variant], model, text))
    rows = []
    for variant, results in runs.items():
        good = [r for r in results if "error" not in r]
        if not good:
            rows.append({"build": variant, "error": results[0]["error"]})
            continue
        rows.append({
            "build": variant,
            "prefill_tokens_per_s": round(statistics.median(float(r["prefill"]) for r in good), 1),  # type: ignore[arg-type]
            "generate_tokens_per_s": round(statistics.median(float(r["generate"]) for r in good), 1),  # type: ignore[arg-type]
            "features": good[0]["features"],
        })  # fmt: skip
    base = next((r for r in rows if "error" not in r), None)
    for row in rows:
        if base and "error" not in row:
            row["prefill_ratio"] = round(
                row["prefill_tokens_per_s"] / base["prefill_tokens_per_s"], 2
            )  # type: ignore[operator]
            row["generate_ratio"] = round(
                row["generate_tokens_per_s"] / base["generate_tokens_per_s"], 2
            )  # type: ignore[operator]
    from rag.llama_build import cpu

    summary = {"cpu": cpu(), "model": Path(model).name, "rounds": opts.rounds, "builds": rows}
    if opts.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{summary['cpu']['model']}; {Path(model).name}; median of {opts.rounds} rounds")
    print("| build | prompt reading, tokens/s | generation, tokens/s | CPU features used |")
    print("|---|---|---|---|")
    for row in rows:
        if "error" in row:
            print(f"| {row['build']} | {row['error']} | | |")
        else:
            print(
                f"| {row['build']} | {row['prefill_tokens_per_s']} ({row['prefill_ratio']}x) | "
                f"{row['generate_tokens_per_s']} ({row['generate_ratio']}x) | {row['features']} |"
            )


if __name__ == "__main__":
    main()
