"""Which assistant answers: one per model preset chosen on the page, loaded in the background."""

from __future__ import annotations

import threading
from typing import Any

from rag.errors import RagError


class Models:
    """The process's assistants, one per model preset, each warmed up once in a thread.

    Switching the model builds ``Assistant(settings.with_(model=name))`` sharing the first
    assistant's embedder and index; the library caches loaded generators, so switching back
    costs nothing.
    """

    def __init__(self, assistant: Any) -> None:
        self.default = assistant.settings.model
        self._assistants = {self.default: assistant}
        self._status: dict[str, str] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def get(self, name: str | None) -> Any:
        name = name or self.default
        with self._lock:
            if name not in self._assistants:
                from rag.assistant import Assistant

                base = self._assistants[self.default]
                self._assistants[name] = Assistant(
                    base.settings.with_(model=name), embedder=base.retriever.embedder
                )
            return self._assistants[name]

    def warm(self, name: str | None = None) -> None:
        """Start loading the model ``name`` in the background (once)."""
        name = name or self.default
        with self._lock:
            if name in self._threads:
                return
            self._status[name] = "loading"
            thread = threading.Thread(
                target=self._load, args=(name,), daemon=True, name=f"warm-{name}"
            )
            self._threads[name] = thread
        thread.start()

    def ready(self, name: str | None = None) -> bool:
        return self._status.get(name or self.default, "").startswith("ready: ")

    def wait(self, name: str | None = None) -> None:
        """Block until the background load of ``name`` has ended (loaded or failed)."""
        self.warm(name)
        with self._lock:
            thread = self._threads[name or self.default]
        thread.join()

    def _load(self, name: str) -> None:
        try:
            assistant = self.get(name)
            assistant.warm_up()
            self._status[name] = f"ready: {assistant.generator.name}"
        except Exception as exc:  # shown on the page; the thread has no one else to tell
            message = str(exc) if isinstance(exc, RagError) else f"{type(exc).__name__}: {exc}"
            self._status[name] = f"error: Could not load {name}: {message}"

    def status(self, name: str | None = None) -> tuple[str, bool]:
        """``(status line HTML, settled)``; settled once the model loaded or failed to."""
        name = name or self.default
        state = self._status.get(name, "loading")
        if state == "loading":
            return f'<span class="dot loading"></span> Loading models ({name})…', False
        if state.startswith("ready: "):
            return f'<span class="dot ready"></span> Ready · {state.removeprefix("ready: ")}', True
        return f'<span class="dot failed"></span> {state.removeprefix("error: ")}', True
