"""llama.cpp's own HTTP server, ``llama-server``, serving the configured model to the clients
that set ``RAG_LLM_URL`` (``rag model-server``).

The set-up builds ``llama-server`` (``.ci/build-llama-server.sh``) from the llama.cpp source
and with the CMake flags of the project's llama-cpp-python, and installs it in
``<venv>/share/rag/llama-server/`` with its CPU backend variants, of which it loads the one that
suits the CPU; what it built is in ``SERVER_RECORD``. The server decodes ``parallel`` requests
together (continuous batching: a request joins the running batch as soon as a slot is free),
each slot holding the context one in-process answer has (``RAG_N_CTX``), so clients budget
their prompts exactly as before.

``command()`` is the command line, ``start()`` runs it as a child process and returns once
``/health`` is ok, ``serve()`` runs it until Ctrl-C and ``probe()`` proves it on this CPU.

``python -m rag.model_server`` is llama-cpp-python's Python server instead (``llama_cpp.server``,
one request at a time), with exactly ``python -m llama_cpp.server``'s arguments; it first
registers the CPU backend that suits this CPU, which the project's portable build needs and
``llama_cpp.server`` alone would not do ("no backends are loaded").
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .errors import ModelError, SettingsError
from .settings import Settings

# Written by the set-up next to the environment it installed into.
SERVER_DIR = Path(sys.prefix) / "share" / "rag" / "llama-server"
SERVER_RECORD = SERVER_DIR.parent / "llama-server.json"
REBUILD_SERVER = "bash .ci/build-llama-server.sh .venv/bin/python"
HOST = "127.0.0.1"
PORT = 8080
PARALLEL = 4  # slots: requests decoded together
PROBE_MODEL = "smollm2-135m"  # what `make setup` proves the server with


@dataclass
class ModelServer:
    """A running ``llama-server``: ``url`` is what ``RAG_LLM_URL`` takes (ending in ``/v1``)."""

    url: str
    name: str
    process: subprocess.Popen[bytes]
    log: Path | None = None  # where its output goes; None: this process's stderr
    command: list[str] = field(default_factory=list)

    def stop(self, timeout: float = 20.0) -> None:
        """Ask the server to finish (SIGTERM), then kill it after ``timeout`` seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> ModelServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def command(
    model: Path,
    name: str,
    settings: Settings,
    parallel: int = PARALLEL,
    host: str = HOST,
    port: int = PORT,
    binary: Path = SERVER_DIR / "llama-server",
    verbosity: int | None = None,
) -> list[str]:
    """The ``llama-server`` command line: ``parallel`` slots of ``settings.n_ctx`` tokens each;
    ``verbosity`` 4 (trace) has its log name the CPU backend it loaded, among much else.

    >>> command(Path("m.gguf"), "m", Settings(threads=2), parallel=2, binary=Path("llama-server"))
    ... # doctest: +NORMALIZE_WHITESPACE
    ['llama-server', '--model', 'm.gguf', '--alias', 'm', '--host', '127.0.0.1', '--port', '8080',
     '--parallel', '2', '--cont-batching', '--ctx-size', '8192', '--threads', '2',
     '--threads-batch', '2', '--batch-size', '512', '--flash-attn', 'on', '--seed', '0',
     '--no-webui', '--offline']
    """
    return [
        str(binary), "--model", str(model), "--alias", name, "--host", host, "--port", str(port),
        # The context is shared out among the slots: each gets RAG_N_CTX tokens.
        "--parallel", str(slots(parallel)), "--cont-batching", "--ctx-size", str(parallel * settings.n_ctx),
        "--threads", str(settings.n_threads), "--threads-batch", str(settings.n_threads),
        # As the in-process model reads prompts (rag.generation.LlamaCppGenerator).
        "--batch-size", "512", "--flash-attn", "on", "--seed", str(settings.seed),
        "--no-webui", "--offline",
        *(["--log-verbosity", str(verbosity)] if verbosity is not None else []),
    ]  # fmt: skip


def slots(parallel: int) -> int:
    """``parallel`` if it is a number of slots the server can hold, else a ``SettingsError``."""
    if not 1 <= parallel <= 64:
        raise SettingsError(f"--parallel {parallel}: give between 1 and 64 slots.")
    return parallel


def environment(settings: Settings) -> dict[str, str]:
    """What the server reads from its environment: the API key (kept out of ``ps``)."""
    return {"LLAMA_API_KEY": settings.llm_api_key} if settings.llm_api_key else {}


def start(
    settings: Settings,
    parallel: int = PARALLEL,
    host: str = HOST,
    port: int = PORT,
    log: Path | None = None,
    timeout: float = 300.0,
    binary: Path = SERVER_DIR / "llama-server",
    verbosity: int | None = None,
) -> ModelServer:
    """Start ``llama-server`` on the configured model and wait until ``/health`` is ok.

    ``log`` receives the server's output (None: this process's stderr). A server that dies or
    is not ready within ``timeout`` seconds is stopped and becomes a one-line ``ModelError``.
    """
    from .models import resolve_model
    from .server import loopback

    slots(parallel)
    if not loopback(host) and not settings.llm_api_key:
        raise SettingsError(
            f"Refusing to serve the model on {host} without an API key: set RAG_LLM_API_KEY "
            "(clients send the same), or bind 127.0.0.1."
        )
    if not binary.is_file():
        raise ModelError(
            f"llama-server is not installed at {binary}: run `{REBUILD_SERVER}` (part of `make setup`)."
        )
    path, name = resolve_model(settings)
    args = command(path, name, settings, parallel, host, port, binary, verbosity)
    out: IO[bytes] | None = log.open("ab") if log else None
    try:
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=out or 2,  # without a log: this process's stderr
            stderr=subprocess.STDOUT,
            env={**os.environ, **environment(settings)},
            start_new_session=True,  # Ctrl-C reaches the caller, which stops the server
            preexec_fn=_die_with_parent,
        )
    finally:
        if out:
            out.close()
    server = ModelServer(f"http://{_netloc(host, port)}/v1", name, process, log, args)
    try:
        _wait_healthy(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _die_with_parent() -> None:
    """In the server's process before it starts: the kernel sends it SIGTERM when the process
    that started it dies, however it dies (killed, crashed), so that no orphaned server is left
    holding a port and the CPU (Linux; elsewhere it must be stopped by hand)."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _netloc(host: str, port: int) -> str:
    """``host:port`` to reach a server bound to ``host`` from this machine."""
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _wait_healthy(server: ModelServer, timeout: float) -> None:
    import httpx

    health = server.url.removesuffix("/v1") + "/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise _died(server, "loading")
        try:
            if httpx.get(health, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise ModelError(
        f"llama-server did not get {server.name} ready within {timeout:.0f} s "
        f"({_last_line(server.log)}): run `rag model-server --check` when the machine is idle."
    )


def _died(server: ModelServer, doing: str) -> ModelError:
    """The one-line error for a server that exited: how, on which CPU and build."""
    from .llama_build import cpu, describe

    status = server.process.returncode
    if status is not None and status < 0:
        how = {s.value: s.name for s in signal.Signals}.get(-status, f"signal {-status}")
        return ModelError(
            f"llama-server crashed ({how}) {doing} {server.name} on this machine: "
            f"{describe(server_record(), cpu())}. Rebuild it with `{REBUILD_SERVER}`, then "
            "run `rag model-server --check`."
        )
    return ModelError(
        f"llama-server exited (status {status}) {doing} {server.name}: {_last_line(server.log)}"
    )


def _last_line(log: Path | None) -> str:
    if log is None:
        return "its log is above"
    try:
        lines = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        lines = []
    return lines[-1].strip() if lines else "no output"


def serve(
    settings: Settings,
    parallel: int = PARALLEL,
    host: str = HOST,
    port: int = PORT,
    on_ready: Callable[[ModelServer], None] | None = None,
) -> None:
    """Run ``llama-server`` in the foreground until Ctrl-C or SIGTERM, then stop it.

    The server's log goes to stderr; ``on_ready`` is called once it answers. A server that
    exits on its own is a ``ModelError``.
    """

    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    server = None
    try:
        server = start(settings, parallel, host, port)
        if on_ready:
            on_ready(server)
        server.process.wait()
        raise _died(server, "serving")
    except KeyboardInterrupt:
        return
    finally:
        if server:
            server.stop()
        signal.signal(signal.SIGTERM, previous)


def server_record() -> dict[str, Any]:
    """What the set-up built and installed, or an explanation when it has not."""
    try:
        return dict(json.loads(SERVER_RECORD.read_text()))
    except (OSError, ValueError):
        return {"status": f"no record at {SERVER_RECORD}: run `{REBUILD_SERVER}`"}


def installed_differences(record: dict[str, Any], folder: Path = SERVER_DIR) -> list[str]:
    """The files in ``folder`` that are missing, extra or changed against ``record``."""
    expected: dict[str, str] = record.get("files") or {}
    found = (
        {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
        if folder.is_dir()
        else {}
    )
    differences = []
    for name in sorted(expected.keys() | found.keys()):
        if name not in found:
            differences.append(f"{name} missing")
        elif name not in expected:
            differences.append(f"{name} not recorded")
        elif found[name] != expected[name]:
            differences.append(f"{name} changed")
    return differences


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def probe(settings: Settings, timeout: float = 300.0) -> dict[str, Any]:
    """Start the installed ``llama-server`` on 127.0.0.1 with the configured model, ask it for
    a few tokens over HTTP, and stop it.

    Returns ``{"model", "reply", "seconds", "backend", "variant"}``; raises ``ModelError`` with
    one line (the CPU, the build, what to run) when the server is missing, changed, crashes or
    does not answer.
    """
    import httpx

    record = server_record()
    if "files" not in record:
        raise ModelError(f"llama-server is not installed: {record['status']}")
    changed = installed_differences(record)
    if changed:
        raise ModelError(
            f"The files in {SERVER_DIR} are not the ones the set-up built ({', '.join(changed[:3])}): "
            f"run `{REBUILD_SERVER}`."
        )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rag-llama-server-") as folder:
        log = Path(folder) / "llama-server.log"
        port = free_port()
        with start(settings, 1, port=port, log=log, timeout=timeout, verbosity=4) as server:
            body = {
                "model": server.name,
                "messages": [{"role": "user", "content": "Say OK."}],
                "max_tokens": 4,
                "temperature": 0.0,
            }
            headers = (
                {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}
            )
            try:
                response = httpx.post(
                    f"{server.url}/chat/completions", json=body, headers=headers, timeout=timeout
                )
                reply = response.json()["choices"][0]["message"]["content"]
            except (httpx.HTTPError, ValueError, KeyError, IndexError) as exc:
                if server.process.poll() is not None:
                    raise _died(server, "answering with") from None
                raise ModelError(
                    f"llama-server did not answer a chat request with {server.name} ({exc}): "
                    f"{_last_line(log)}"
                ) from None
        return {
            "model": server.name,
            "reply": reply,
            "seconds": round(time.perf_counter() - started, 2),
            "backend": loaded_backend(log.read_text(errors="replace")),
            "variant": record.get("variant", "?"),
        }


def loaded_backend(log: str) -> str:
    """The CPU backend a ``llama-server`` log says it loaded ("haswell"; "built in" if none).

    >>> loaded_backend("load_backend: loaded CPU backend from /v/libggml-cpu-haswell.so\\n")
    'haswell'
    """
    for line in log.splitlines():
        if "loaded CPU backend from" in line:
            return Path(line.split()[-1]).stem.removeprefix("libggml-cpu-")
    return "built in"


def main() -> None:
    """``python -m rag.model_server``: llama-cpp-python's server, on the project's build."""
    from .generation import load_cpu_backend

    load_cpu_backend()
    from llama_cpp.server.__main__ import main as run

    run()


if __name__ == "__main__":
    main()
