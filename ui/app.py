"""The browser chat: ``build_app(assistant)`` returns the Gradio Blocks, ``serve(settings)`` runs it.

The work is done by ``respond``, a plain generator testable without a server; the Blocks
only wire it to the page. Chat state lives per browser session (``gr.State``); the only
process-wide things are the assistants themselves (models load once per process, in the
background) and the index they share. One answer is generated at a time: the chat event
runs with a concurrency limit of 1 and other sessions wait in the queue.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from rag.errors import RagError
from rag.records import Answer, Turn
from rag.settings import Settings

from . import documents as docs
from .render import (
    EVIDENCE_EMPTY,
    EVIDENCE_SEARCHING,
    documents_rows,
    error_html,
    evidence_html,
    link_markers,
    unlink_markers,
)

TITLE = "Ask your documents"
DESCRIPTION = (
    "A private assistant that answers from your own files, on this computer, and shows "
    "the passages behind every answer."
)
CSS = Path(__file__).with_name("style.css")
THINKING = "…"

# Citation markers in the chat are links to #cite-n; bring the passage into view and flash
# it (Gradio renders chat links to open in a new tab, so the click is handled here).
JS = """
() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#cite-"]');
    if (!link) return;
    const target = document.getElementById(link.getAttribute('href').slice(1));
    if (!target) return;
    event.preventDefault();
    event.stopPropagation();
    target.scrollIntoView({behavior: 'smooth', block: 'center'});
    target.classList.remove('flash');
    void target.offsetWidth;
    target.classList.add('flash');
  }, true);
}
"""

Message = dict[str, str]


class View(NamedTuple):
    """One state of the page after a step of ``respond``."""

    chat: list[Message]  # what the chat shows: {"role": ..., "content": markdown}
    evidence: str  # the evidence panel's HTML
    history: list[Turn]  # (question, final answer) pairs, for follow-ups


def respond(
    assistant: Any,
    message: str,
    chat: list[Message] | None = None,
    history: list[Turn] | None = None,
    *,
    top_k: int | None = None,
    show_scores: bool = False,
) -> Iterator[View]:
    """Answer ``message``, yielding the page as it changes.

    First the question with a placeholder answer, then the model's raw text as it grows,
    then the verified answer (markers linked to ``#cite-n``) with its evidence. ``history``
    gains a ``Turn`` only when an answer is complete; a library error (empty question, no
    index, missing model) becomes a one-line reply and leaves ``history`` unchanged.
    """
    history = list(history or [])
    chat = [{**m, "content": unlink_markers(m["content"])} for m in chat or []]
    if not message or not message.strip():
        yield View(list(chat), EVIDENCE_EMPTY, history)
        return
    chat += [{"role": "user", "content": message}, {"role": "assistant", "content": THINKING}]
    yield View(list(chat), EVIDENCE_SEARCHING, history)

    stream = assistant.stream(message, history, top_k=top_k)
    raw = ""
    try:
        for piece in stream:
            if isinstance(piece, Answer):
                cited = {c.n for c in piece.citations}
                chat[-1] = {"role": "assistant", "content": link_markers(piece.answer, cited)}
                turn = Turn(message.strip(), piece.answer)
                yield View(list(chat), evidence_html(piece, show_scores), [*history, turn])
                return
            raw += piece
            chat[-1] = {"role": "assistant", "content": raw}
            yield View(list(chat), EVIDENCE_SEARCHING, history)
    except RagError as exc:
        chat[-1] = {"role": "assistant", "content": f"⚠️ {exc}"}
        yield View(list(chat), error_html(str(exc)), history)
    finally:
        stream.close()  # a cancelled answer releases the model at once


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
            thread = threading.Thread(target=self._load, args=(name,), daemon=True, name=f"warm-{name}")
            self._threads[name] = thread
        thread.start()

    def _load(self, name: str) -> None:
        try:
            assistant = self.get(name)
            assistant.warm_up()
            self._status[name] = f"ready: {assistant.generator.name}"
        except Exception as exc:  # shown on the page; the thread has no one else to tell
            message = str(exc) if isinstance(exc, RagError) else f"{type(exc).__name__}: {exc}"
            self._status[name] = f"error: Could not load {name}: {message}"

    def status(self, name: str | None = None) -> tuple[str, bool]:
        """``(status line markdown, settled)``; settled once loaded or failed."""
        name = name or self.default
        state = self._status.get(name, "loading")
        if state == "loading":
            return f'<span class="dot loading"></span> Loading models ({name})…', False
        if state.startswith("ready: "):
            return f'<span class="dot ready"></span> Ready · {state.removeprefix("ready: ")}', True
        return f'<span class="dot failed"></span> {state.removeprefix("error: ")}', True


def build_app(assistant: Any) -> Any:
    """The Blocks for ``assistant``; starts loading its models in the background."""
    import gradio as gr

    from rag.models import PRESETS

    models = Models(assistant)
    models.warm()
    choices = list(PRESETS) + ([models.default] if models.default not in PRESETS else [])

    def ask(message, chat, history, model, top_k, show_scores):
        try:
            chosen = models.get(model)
        except RagError as exc:
            yield [*chat, {"role": "assistant", "content": f"⚠️ {exc}"}], error_html(str(exc)), chat, history
            return
        for view in respond(chosen, message, chat, history, top_k=int(top_k), show_scores=show_scores):
            yield view.chat, view.evidence, view.chat, view.history

    def status(model):
        text, settled = models.status(model)
        return text, gr.Timer(active=not settled)

    def switch_model(model):
        models.warm(model)
        return status(model)

    def documents_view(message=None):
        rows = documents_rows(assistant.documents())
        names = [r[0] for r in rows]
        out = [rows, gr.Dropdown(choices=names, value=None)]
        return (*out, message) if message is not None else tuple(out)

    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        chat_state = gr.State([])
        history_state = gr.State([])
        pending = gr.State("")
        with gr.Row(elem_classes="masthead"):
            with gr.Column(scale=3, min_width=320):
                gr.HTML(f"<h1>{TITLE}</h1><p class='lede'>{DESCRIPTION}</p>")
            with gr.Column(scale=1, min_width=200):
                status_line = gr.HTML(models.status()[0], elem_id="status", elem_classes="status")
        timer = gr.Timer(1.0)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=360):
                        chatbot = gr.Chatbot(
                            value=[],
                            elem_id="chat",
                            show_label=False,
                            height=460,
                            placeholder="Ask about your documents. Every answer cites its "
                            "sources as [1], [2]: click one to see the passage.",
                            feedback_options=None,
                            latex_delimiters=[],
                            buttons=["copy"],
                        )
                        with gr.Row(elem_classes="composer"):
                            box = gr.Textbox(
                                placeholder="Ask a question…",
                                show_label=False,
                                lines=1,
                                max_lines=4,
                                scale=5,
                                elem_id="question",
                                autofocus=True,
                            )
                            send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="ask")
                        with gr.Row(elem_classes="controls"):
                            stop = gr.Button("Stop", size="sm", variant="stop", elem_id="stop")
                            new_chat = gr.Button("New chat", size="sm", elem_id="new-chat")
                        with gr.Accordion("Settings", open=False, elem_id="settings"):
                            model = gr.Dropdown(choices, value=models.default, label="Model", elem_id="model")
                            top_k = gr.Slider(1, 8, value=min(max(assistant.settings.top_k, 1), 8), step=1,
                                              label="Passages to read", elem_id="top-k")
                            show_scores = gr.Checkbox(False, label="Show retrieval scores", elem_id="scores")
                    with gr.Column(scale=2, min_width=300, elem_classes="evidence-column"):
                        gr.HTML("<h2>Evidence</h2>")
                        evidence = gr.HTML(EVIDENCE_EMPTY, elem_id="evidence", js_on_load=None)
            with gr.Tab("Documents", id="documents") as documents_tab:
                with gr.Row(equal_height=False):
                    with gr.Column(scale=2, min_width=300):
                        files = gr.File(
                            label="Add .txt or .md files (up to 10 MB each)",
                            file_count="multiple",
                            file_types=list(docs.ALLOWED),
                            elem_id="upload",
                        )
                        add = gr.Button("Add to the index", variant="primary", elem_id="add")
                        with gr.Row():
                            to_delete = gr.Dropdown([], label="Document", scale=3, elem_id="delete-name")
                            remove = gr.Button("Delete", variant="stop", scale=1, elem_id="delete")
                        reindex = gr.Button("Re-index seeds and uploads", elem_id="reindex")
                        note = gr.Markdown(elem_id="documents-note")
                    with gr.Column(scale=3, min_width=360):
                        table = gr.Dataframe(
                            headers=["File", "Passages", "Date", "Title"],
                            datatype=["str", "number", "str", "str"],
                            interactive=False,
                            wrap=True,
                            elem_id="documents",
                        )

        timer.tick(status, [model], [status_line, timer], queue=False, show_progress="hidden")
        model.change(switch_model, [model], [status_line, timer], queue=False)

        take = gr.on(
            [box.submit, send.click],
            lambda text: ("", text),
            [box],
            [box, pending],
            queue=False,
            show_progress="hidden",
        )
        answering = take.then(
            ask,
            [pending, chat_state, history_state, model, top_k, show_scores],
            [chatbot, evidence, chat_state, history_state],
            concurrency_limit=1,
            concurrency_id="model",
            show_progress="minimal",
        )
        stop.click(None, cancels=[answering])
        for clear in (new_chat.click, chatbot.clear):
            clear(
                lambda: ([], EVIDENCE_EMPTY, [], []),
                outputs=[chatbot, evidence, chat_state, history_state],
                cancels=[answering],
                queue=False,
            )

        index_events: dict[str, Any] = {"concurrency_limit": 1, "concurrency_id": "index"}
        outputs = [table, to_delete, note]
        add.click(lambda f: documents_view(docs.upload(assistant, f)), [files], outputs, **index_events).then(
            lambda: None, outputs=[files], queue=False
        )
        remove.click(lambda s: documents_view(docs.delete(assistant, s)), [to_delete], outputs, **index_events)
        reindex.click(lambda: documents_view(docs.reindex(assistant)), None, outputs, **index_events)
        documents_tab.select(documents_view, None, [table, to_delete])
        demo.load(documents_view, None, [table, to_delete])
    demo.queue(default_concurrency_limit=4)
    return demo


def launch(demo: Any, settings: Settings, *, port: int | None = None, block: bool = True) -> Any:
    """Start the server for ``demo`` with the page's style, on ``settings.ui_host``."""
    import gradio as gr

    auth = tuple(settings.ui_auth.split(":", 1)) if settings.ui_auth else None
    return demo.launch(
        server_name=settings.ui_host,
        server_port=port or settings.ui_port,
        share=False,
        auth=auth,
        prevent_thread_lock=not block,
        css_paths=[CSS],
        js=JS,
        theme=gr.themes.Soft(
            primary_hue="indigo",
            neutral_hue="slate",
            font=[gr.themes.LocalFont("IBM Plex Sans"), "ui-sans-serif", "system-ui", "sans-serif"],
        ),
        footer_links=[],
        quiet=not block,
    )


def serve(settings: Settings) -> None:
    """``rag ui``: the chat on ``settings.ui_host:ui_port`` until interrupted."""
    from rag.assistant import Assistant

    launch(build_app(Assistant(settings)), settings)
