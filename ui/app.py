"""The browser chat: ``build_app(assistant)`` returns the Gradio Blocks, ``serve(settings)`` runs it.

The work is done by ``respond``, a plain generator testable without a server; the Blocks
only wire it to the page. Chat state lives per browser session (``gr.State``), and so does the
collection a tab works in: each tab picks its own, and switching starts a new chat, since a
question is answered from one collection only. The only process-wide things are the
assistants themselves (models load once per process, in the background) and the index they
share. One answer is generated at a time: the chat event
runs with a concurrency limit of 1 and other sessions wait in the queue.

Stop and New chat do not use Gradio's ``cancels``: a cancelled event stays pending in the
browser until the server has closed it, and a question asked in that window was dropped.
They record a halt (``Halts``) that the running answer sees at its next step and ends on;
a question asked meanwhile waits for it (``trigger_mode="always_last"``) and then runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.settings import Settings

from . import documents as docs
from .chat import Halts, View, answer_when_ready, respond, stopped
from .models import Models
from .render import EVIDENCE_EMPTY, documents_rows

__all__ = ["View", "build_app", "launch", "respond", "serve"]

TITLE = "Ask your documents"
DESCRIPTION = (
    "A private assistant that answers from your own files, on this computer, and shows "
    "the passages behind every answer."
)
CSS = Path(__file__).with_name("style.css")
ALL_DOCUMENTS = "All documents"  # the chat's document picker: no limit

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


def build_app(assistant: Any) -> Any:
    """The Blocks for ``assistant``; starts loading its models in the background."""
    import gradio as gr

    from rag.models import PRESETS

    models = Models(assistant)
    models.warm()
    halts = Halts()
    choices = list(PRESETS) + ([models.default] if models.default not in PRESETS else [])

    def ask(pending, chat, history, model, top_k, show_scores, about, collection, request):
        message, submitted = pending or ("", halts.now())
        session = request.session_hash or ""
        for view in answer_when_ready(
            models,
            model,
            message,
            chat,
            history,
            collection or None,
            top_k=int(top_k),
            show_scores=show_scores,
            documents=[about] if about and about != ALL_DOCUMENTS else None,
            halted=lambda: halts.check(session, submitted),
        ):
            yield view.chat, view.evidence, view.chat, view.history

    def stop_answer(chat, history, request):
        halts.halt(request.session_hash or "", "stop")
        chat = stopped(chat, history)
        return chat, chat

    def clear_chat(request):
        halts.halt(request.session_hash or "", "clear")
        return [], EVIDENCE_EMPTY, [], []

    for handler in (ask, stop_answer, clear_chat):  # annotations are strings here (PEP 563)
        handler.__annotations__["request"] = gr.Request

    def status(model):
        text, settled = models.status(model)
        return text, gr.Timer(active=not settled)

    def switch_model(model):
        models.warm(model)
        return status(model)

    def workspace(name):
        """The assistant over the collection ``name`` (RagError for a bad name)."""
        return assistant.collection(name or None)

    def write(action, name, *args):
        """``action(assistant over collection name, *args)``: a message for the page."""
        try:
            return action(workspace(name), *args)
        except RagError as exc:
            return str(exc)

    def documents_view(collection, message=None):
        """(table rows, delete choices, note, the chat's document choices, the collection
        choices, when the index last changed) for ``collection``; the note is left alone
        when ``message`` is None."""
        changed = docs.changed_line(None)
        try:
            known = assistant.collections()
            target = workspace(collection)
            name = target.settings.collection
            if name in known:
                rows = documents_rows(target.documents())
                changed = docs.changed_line(target.last_changed())
            else:  # listing a new name would make it: it is made by its first upload
                rows = []
                if message is None:
                    message = f"{name} is a new collection: add files to start it."
        except RagError as exc:
            rows, known, message = [], [], str(exc)
        names = [str(r[0]) for r in rows]
        note_update = gr.skip() if message is None else message
        return (
            rows,
            gr.Dropdown(choices=names, value=None),
            note_update,
            gr.Dropdown(choices=[ALL_DOCUMENTS, *names], value=ALL_DOCUMENTS),
            gr.Dropdown(choices=sorted({*known, collection or assistant.settings.collection})),
            changed,
        )

    def switch_collection(collection, request):
        """A new chat in the other collection, and its documents."""
        halts.halt(request.session_hash or "", "clear")
        return [], EVIDENCE_EMPTY, [], [], *documents_view(collection, "")

    switch_collection.__annotations__["request"] = gr.Request

    def following(steps, name, *args, done=()):
        """Stream ``steps(assistant over collection name, *args)`` (``docs.upload_steps``,
        ``docs.reindex_steps``) to the note as the work goes, then refresh the documents
        with its last message, the summary: yields the documents outputs, then ``done``."""
        keep = (gr.skip(),) * 2
        rest = (gr.skip(),) * len(done)
        message = None
        try:
            for line in steps(workspace(name), *args):
                if message is not None:
                    yield *keep, message, *keep, gr.skip(), *rest
                message = line
        except RagError as exc:
            message = str(exc)
        yield *documents_view(name, message), *done

    def add_files(chosen, name):
        yield from following(docs.upload_steps, name, chosen, done=(None,))  # clears the picker

    def reindex_all(name):
        yield from following(docs.reindex_steps, name)

    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        chat_state = gr.State([])
        history_state = gr.State([])
        pending = gr.State(None)  # (question, when it was asked)
        with gr.Column(elem_classes="masthead"):
            gr.HTML(f"<h1>{TITLE}</h1><p class='lede'>{DESCRIPTION}</p>")
            with gr.Row(elem_classes="masthead-row"):
                status_line = gr.HTML(models.status()[0], elem_id="status", elem_classes="status")
                collection = gr.Dropdown(
                    [assistant.settings.collection],
                    value=assistant.settings.collection,
                    allow_custom_value=True,
                    label="Collection",
                    info="Answers come from this collection only; type a name to start one",
                    elem_id="collection",
                    scale=0,
                    min_width=260,
                )
        timer = gr.Timer(1.0)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"), gr.Row(equal_height=False):
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
                        send = gr.Button(
                            "Ask", variant="primary", scale=1, min_width=80, elem_id="ask"
                        )
                    with gr.Row(elem_classes="controls"):
                        about = gr.Dropdown(
                            [ALL_DOCUMENTS],
                            value=ALL_DOCUMENTS,
                            show_label=False,
                            container=False,
                            scale=3,
                            elem_id="about",
                            info="Ask about one document, e.g. to summarise it",
                        )
                        stop = gr.Button("Stop", size="sm", variant="stop", elem_id="stop")
                        new_chat = gr.Button("New chat", size="sm", elem_id="new-chat")
                    with gr.Accordion("Settings", open=False, elem_id="settings"):
                        model = gr.Dropdown(
                            choices, value=models.default, label="Model", elem_id="model"
                        )
                        top_k = gr.Slider(
                            1,
                            8,
                            value=min(max(assistant.settings.top_k, 1), 8),
                            step=1,
                            label="Passages to read",
                            elem_id="top-k",
                        )
                        show_scores = gr.Checkbox(
                            False, label="Show retrieval scores", elem_id="scores"
                        )
                with gr.Column(scale=2, min_width=300, elem_classes="evidence-column"):
                    gr.HTML("<h2>Evidence</h2>")
                    evidence = gr.HTML(EVIDENCE_EMPTY, elem_id="evidence", js_on_load=None)
            with gr.Tab("Documents", id="documents") as documents_tab, gr.Row(equal_height=False):
                with gr.Column(scale=2, min_width=300):
                    gr.HTML(
                        "<p class='docs-help'>New files are copied into the data folder and "
                        "searchable at once; answers can cite them right away.</p>"
                    )
                    files = gr.File(
                        label="Add PDF, Word, web page or text files (up to 25 MB each)",
                        file_count="multiple",
                        file_types=list(docs.ALLOWED),
                        elem_id="upload",
                    )
                    add = gr.Button("Add to the index", variant="primary", elem_id="add")
                    with gr.Row():
                        to_delete = gr.Dropdown(
                            [], label="Document", scale=3, elem_id="delete-name"
                        )
                        remove = gr.Button("Delete", variant="stop", scale=1, elem_id="delete")
                    reindex = gr.Button("Re-index documents", elem_id="reindex")
                    note = gr.Markdown(elem_id="documents-note")
                with gr.Column(scale=3, min_width=360):
                    changed = gr.Markdown(elem_id="index-changed", elem_classes="index-changed")
                    table = gr.Dataframe(
                        headers=["File", "Pages", "Chunks", "Date", "Title", "Author"],
                        # room for "Pages" and "Chunks" on one line (style.css: no wrapping)
                        column_widths=["22%", "11%", "12%", "13%", "26%", "16%"],
                        datatype=["str", "str", "number", "str", "str", "str"],
                        interactive=False,
                        wrap=True,
                        label="Indexed documents",
                        show_label=True,
                        elem_id="documents",
                    )

        timer.tick(status, [model], [status_line, timer], queue=False, show_progress="hidden")
        model.change(switch_model, [model], [status_line, timer], queue=False)

        take = gr.on(
            [box.submit, send.click],
            lambda text: ("", (text, halts.now())),
            [box],
            [box, pending],
            queue=False,
            show_progress="hidden",
        )
        take.then(
            ask,
            [pending, chat_state, history_state, model, top_k, show_scores, about, collection],
            [chatbot, evidence, chat_state, history_state],
            concurrency_limit=1,
            concurrency_id="model",
            show_progress="minimal",
            trigger_mode="always_last",  # asked during an answer: runs when that one ends
        )
        stop.click(stop_answer, [chat_state, history_state], [chatbot, chat_state], queue=False)
        for clear in (new_chat.click, chatbot.clear):
            clear(clear_chat, outputs=[chatbot, evidence, chat_state, history_state], queue=False)

        index_events: dict[str, Any] = {"concurrency_limit": 1, "concurrency_id": "index"}
        outputs = [table, to_delete, note, about, collection, changed]
        add.click(
            add_files,
            [files, collection],
            [*outputs, files],
            show_progress="minimal",
            **index_events,
        )
        remove.click(
            lambda s, c: documents_view(c, write(docs.delete, c, s)),
            [to_delete, collection],
            outputs,
            **index_events,
        )
        reindex.click(
            reindex_all,
            [collection],
            outputs,
            show_progress="minimal",
            **index_events,
        )
        documents_tab.select(documents_view, [collection], outputs)
        demo.load(documents_view, [collection], outputs)
        collection.input(
            switch_collection,
            [collection],
            [chatbot, evidence, chat_state, history_state, *outputs],
            queue=False,
        )

    # Events without their own limit (status, document list) may run side by side.
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
            # The platform's own UI font: nothing to download, every glyph and weight present.
            font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "Arial", "sans-serif"],
            font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
        ),
        footer_links=[],
        run_history=False,  # questions stay out of the browser's storage
        max_file_size=docs.MAX_UPLOAD_BYTES,  # refused before the upload, not after
        quiet=not block,
    )


def serve(settings: Settings) -> None:
    """``rag ui``: the chat on ``settings.ui_host:ui_port`` until interrupted."""
    from rag.assistant import Assistant

    launch(build_app(Assistant(settings)), settings)
