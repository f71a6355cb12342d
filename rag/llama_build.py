"""The llama.cpp build and this CPU: what was built, what the CPU offers, and a probe that
proves the pair works before anyone asks a question.

The set-up (``make setup``, through ``.ci/build-llama.sh``) compiles llama-cpp-python with
flags that never depend on the build machine and writes what it built to ``BUILD_RECORD``.
``probe()`` loads the default model in a child process and generates a few tokens: a build
that faults on this CPU kills the child, not the caller, and becomes one line saying which
CPU, which build and what to run.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .errors import ModelError
from .settings import Settings

# Written by the set-up next to the environment it installed into.
BUILD_RECORD = Path(sys.prefix) / "share" / "rag" / "llama-build.json"
REBUILD = "make llama"  # what rebuilds and reinstalls llama.cpp for any x86-64 CPU

# CPU extensions that decide which llama.cpp kernels can run, as /proc/cpuinfo names them.
EXTENSIONS = (
    "sse4_2", "avx", "f16c", "fma", "avx2", "bmi2", "avx_vnni", "avx512f", "avx512vbmi",
    "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16",
)  # fmt: skip


def cpu() -> dict[str, Any]:
    """This machine's CPU model and which of ``EXTENSIONS`` it advertises."""
    model, flags = "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == "unknown CPU":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    except OSError:
        pass
    return {"model": model, "extensions": [e for e in EXTENSIONS if e in flags]}


def build_record() -> dict[str, Any]:
    """What the set-up built, or an explanation when llama.cpp was installed some other way."""
    try:
        return dict(json.loads(BUILD_RECORD.read_text()))
    except (OSError, ValueError):
        return {
            "status": f"no record at {BUILD_RECORD}: llama-cpp-python was not installed by the "
            f"project's set-up, so its build flags are unknown (run `{REBUILD}`)"
        }


def installed_matches(record: dict[str, Any]) -> str:
    """Whether the llama.cpp libraries installed now are the ones the set-up recorded."""
    import hashlib
    import importlib.util

    expected = record.get("libraries")
    if not expected:
        return "unknown (no record of the build)"
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or spec.origin is None:
        return f"NO: llama-cpp-python is not installed; run `{REBUILD}`"
    lib = Path(spec.origin).parent / "lib"
    found = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in lib.glob("*.so*")}
    if found != expected:
        return (
            f"NO: the libraries in {lib} are not the ones the set-up built (another install "
            f"replaced them); run `{REBUILD}`"
        )
    return "yes: the libraries the set-up built"


def features(system_info: str) -> list[str]:
    """The CPU features a llama.cpp build uses, from its system info line.

    >>> features("CPU : SSE3 = 1 | AVX = 1 | AVX512 = 0 | AMX_INT8 = 0 | LLAMAFILE = 1 |")
    ['SSE3', 'AVX', 'LLAMAFILE']
    """
    out = []
    for part in system_info.replace(":", "|").split("|"):
        name, _, value = part.partition("=")
        if value.strip() == "1":
            out.append(name.strip())
    return out


def describe(record: dict[str, Any], machine: dict[str, Any]) -> str:
    """One phrase naming the CPU and the build, for error messages."""
    flags = record.get("cmake_args") or "unknown build flags"
    return (
        f"CPU {machine['model']} ({' '.join(machine['extensions']) or 'no AVX'}); "
        f"llama.cpp build {record.get('variant', '?')} ({flags})"
    )


def probe(settings: Settings, timeout: float = 600.0) -> dict[str, Any]:
    """Load the configured local model in a child process and generate a few tokens.

    Returns ``{"ok": True, "model", "tokens", "seconds", "system_info"}``; raises
    ``ModelError`` with one line (the CPU, the build, what to run) when the child dies.
    """
    from .models import resolve_model

    path, name = resolve_model(settings)
    command = [sys.executable, "-m", "rag.llama_build", str(path), str(settings.n_threads)]
    try:
        child = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ModelError(
            f"llama.cpp took over {timeout:.0f} s to load {name} and write a few tokens on "
            f"{describe(build_record(), cpu())}: run `rag doctor` when the machine is idle."
        ) from None
    return probe_result(child.returncode, child.stdout, child.stderr, name)


def probe_result(status: int, stdout: str, stderr: str, name: str) -> dict[str, Any]:
    """The probe child's outcome: its report, or the one-line error for how it died."""
    if status < 0:
        try:
            how = signal.Signals(-status).name
        except ValueError:
            how = f"signal {-status}"
        raise ModelError(
            f"llama.cpp crashed ({how}) loading {name} and generating on this machine: "
            f"{describe(build_record(), cpu())}. Rebuild it for any x86-64 CPU with "
            f"`{REBUILD}`, then run `rag doctor` again."
        )
    if status != 0:
        last = (stderr.strip().splitlines() or ["no message"])[-1]
        raise ModelError(f"The llama.cpp probe of {name} failed (exit {status}): {last}")
    report: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return report


def _child(model_path: str, threads: int) -> None:
    """In the probe's child: load, generate four tokens greedily, print one JSON line."""
    from .generation import LlamaCppGenerator, llama_system_info

    started = time.perf_counter()
    generator = LlamaCppGenerator(model_path, Path(model_path).stem, n_ctx=512, n_threads=threads)
    text = "".join(generator.stream([{"role": "user", "content": "Say OK."}], max_tokens=4))
    report = {
        "ok": True,
        "model": Path(model_path).name,
        "reply": text,
        "seconds": round(time.perf_counter() - started, 2),
        "features": " ".join(features(llama_system_info())),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]))
