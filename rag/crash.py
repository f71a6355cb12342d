"""Crashes inside native code, reported in words instead of a bare exit status 139.

A fault inside a compiled library (llama.cpp, PyTorch, onnxruntime, Chroma's core) kills the
Python process before any ``except`` can run. So the ``rag`` command runs its work in a child
process (``run_guarded``) that writes Python's ``faulthandler`` dump to a file, and the small
parent, which imports nothing heavy, turns a child killed by a signal into one line on stderr:
which signal, which library the innermost Python frame was calling, and what to run next. The
exit status stays the shell's ``128 + signal``.

>>> describe_crash(11, 'Fatal Python error: Segmentation fault\\n\\nCurrent thread 0x1 '
...     '(most recent call first):\\n  File "/v/site-packages/llama_cpp/llama.py", line 9 in eval\\n')
'rag: crashed in native code (Segmentation fault, signal 11) inside llama.cpp (llama-cpp-python), called from llama_cpp/llama.py line 9 in eval. The llama.cpp build may not suit this CPU: run `rag doctor`, which checks it.'
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

# Set in the child: where faulthandler writes its dump.
REPORT_ENV = "RAG_CRASH_REPORT"

# Signals that mean the process died of a fault of its own, not of being told to stop.
FAULTS = {
    signal.SIGSEGV: "Segmentation fault",
    signal.SIGBUS: "Bus error",
    signal.SIGILL: "Illegal instruction",
    signal.SIGFPE: "Floating-point exception",
    signal.SIGABRT: "Aborted",
}

# Python packages with native code the assistant calls, and what to call them in a message.
LIBRARIES = {
    "llama_cpp": "llama.cpp (llama-cpp-python)",
    "torch": "PyTorch",
    "sentence_transformers": "PyTorch (sentence-transformers)",
    "transformers": "PyTorch (transformers)",
    "onnxruntime": "onnxruntime",
    "chromadb": "Chroma",
    "tokenizers": "Hugging Face tokenizers",
    "numpy": "NumPy",
    "bm25s": "bm25s",
    "tiktoken": "tiktoken",
}

_FRAME = re.compile(r'^\s+File "(?P<path>[^"]+)", line (?P<line>\d+) in (?P<func>\S+)')


def describe_crash(signum: int, dump: str) -> str:
    """One line for a process killed by ``signum``, from its faulthandler ``dump``."""
    name = FAULTS.get(signal.Signals(signum), signal.Signals(signum).name)
    where, library = _innermost_library_frame(dump)
    line = f"rag: crashed in native code ({name}, signal {signum})"
    if library:
        line += f" inside {LIBRARIES[library]}, called from {where}"
    if library == "llama_cpp" or signum == signal.SIGILL:
        line += ". The llama.cpp build may not suit this CPU: run `rag doctor`, which checks it."
    else:
        line += ". Run `rag doctor` to check the installation, and report the crash."
    return line


def _innermost_library_frame(dump: str) -> tuple[str, str]:
    """``("llama_cpp/llama.py line 9 in eval", "llama_cpp")`` for the most recent frame of the
    crashing thread that lies in a known native library; ``("", "")`` if none does."""
    section = dump.split("Current thread", 1)[-1] if "Current thread" in dump else dump
    for row in section.splitlines():
        match = _FRAME.match(row)
        if not match:
            continue
        parts = Path(match["path"]).parts
        for i, part in enumerate(parts):
            if part in LIBRARIES:
                where = "/".join(parts[i:])
                return f"{where} line {match['line']} in {match['func']}", part
    return "", ""


def main() -> None:
    """The ``rag`` command: the work runs in a child (``python -m rag``, i.e.
    ``rag.cli.run_in_process``) so that a fault inside native code is reported in one line
    rather than as a silent exit status 139. This parent imports neither click nor the CLI."""
    sys.exit(run_guarded([sys.executable, "-m", "rag", *sys.argv[1:]]))


def run_guarded(command: list[str]) -> int:
    """Run ``command`` (a Python command line) as a child that reports faults to a file, and
    return its exit status; a child killed by a fault gets the one-line description."""
    fd, report = tempfile.mkstemp(prefix="rag-crash-", suffix=".txt")
    os.close(fd)
    env = {**os.environ, REPORT_ENV: report}
    child = subprocess.Popen(command, env=env, preexec_fn=_die_with_parent)
    forwarded = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
    previous = {
        s: signal.signal(s, lambda signum, _f: child.send_signal(signum)) for s in forwarded
    }
    # Ctrl-C reaches the child from the terminal itself; the parent just waits for it.
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        status = child.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    signum = -status
    if signum not in FAULTS:  # a normal exit, or stopped by a signal it was sent
        Path(report).unlink(missing_ok=True)
        return status if status >= 0 else 128 + signum
    dump = _read(report)
    line = describe_crash(signum, dump)
    if dump.strip():
        line += f" Python's stack at the crash: {report}"
    else:
        Path(report).unlink(missing_ok=True)
    print(line, file=sys.stderr, flush=True)
    return 128 + signum


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def enable_in_child() -> None:
    """In the child: dump every thread's Python stack to the parent's file on a fault."""
    import faulthandler

    report = os.environ.pop(REPORT_ENV, "")
    if not report:
        faulthandler.enable(all_threads=True)
        return
    try:
        stream = open(report, "w")  # noqa: SIM115  (open until the process ends)
    except OSError:
        faulthandler.enable(all_threads=True)
        return
    faulthandler.enable(file=stream, all_threads=True)


def _die_with_parent() -> None:
    """Ask Linux to end the child if the parent is killed outright (SIGKILL)."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
