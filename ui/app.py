"""The browser chat: ``build_app(assistant)`` returns the Gradio Blocks, ``serve(settings)`` runs it.

The work is done by ``respond``, a plain generator testable without a server; the Blocks
only wire it to the page. Chat state lives per browser session (``gr.State``), and so does the
collection a tab works in: each tab picks its own, and switching starts a new chat, since a
question is answered from one collection only. The only process-wide things are the
assistants themselves (models load once per process, in the background) and the index they
share. One answer is generated at a time (``RAG_PARALLEL`` against a model server that
batches): the chat event runs with that concurrency limit and other sessions wait in the
queue.

Stop and New chat do not use Gradio's ``cancels``: a cancelled event stays pending in the
browser until the server has closed it, and a question asked in that window was dropped.
They record a halt (``Halts``) that the running answer sees at its next step and ends on;
a question asked meanwhile waits for it (``trigger_mode="always_last"``) and then runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.records import IndexChange, IngestReport
from rag.settings import Settings
from rag.store import one_line
from rag.watch import SETTLE

from . import documents as docs
from .chat import Halts, View, answer_when_ready, evidence_of, reopened, respond, stopped
from .conversations import Conversations, export_name, markdown, new_token, owner_of
from .models import Models
from .render import EVIDENCE_EMPTY, documents_rows, error_html, unlink_markers

__all__ = ["View", "build_app", "launch", "respond", "serve", "start_watching"]

log = logging.getLogger("rag.ui")

TITLE = "Ask your documents"
DESCRIPTION = (
    "A private assistant that answers from your own files, on this computer, and shows "
    "the passages behind every answer."
)
CSS = Path(__file__).with_name("style.css")
ALL_DOCUMENTS = "All documents"  # the chat's document picker: no limit
DOCUMENTS_REFRESH = 2.0  # seconds between a page's looks at whether the index changed
NEW_COLLECTION = "{name} is a new collection: add files to start it."

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

    kept = Conversations(assistant.settings.home / "conversations")
    exports = Path(tempfile.mkdtemp(prefix="rag-exports-"))
    unchanged = (gr.skip(),) * 4  # the conversation outputs, while an answer streams

    def conversation_outputs(owner, collection, conversation):
        """(current id, list of conversations, name, export button) with ``conversation``
        open, None for a new chat."""
        items = kept.listing(owner, collection or assistant.settings.collection)
        choices = [(c.label(), c.id) for c in items]
        if conversation is None:
            return None, gr.Radio(choices, value=None), "", gr.DownloadButton(value=None)
        folder = exports / conversation.id
        folder.mkdir(exist_ok=True)
        path = folder / export_name(conversation.title)
        path.write_text(markdown(conversation), encoding="utf-8")
        return (
            conversation.id,
            gr.Radio(choices, value=conversation.id),
            conversation.title,
            str(path),
        )

    def reopen(conversation):
        """(chat, evidence, chat, history, answers) of a kept conversation."""
        answer = conversation.last_answer()
        chat = reopened(conversation.chat, answer)
        evidence = EVIDENCE_EMPTY
        if answer is not None and chat[-1]["content"] != conversation.chat[-1]["content"]:
            try:
                evidence = evidence_of(workspace(conversation.collection), answer)
            except RagError as exc:
                evidence = error_html(str(exc))
        return chat, evidence, chat, conversation.history, conversation.answers

    def ask(
        pending, chat, history, answers, model, top_k, show_scores, about, collection, current,
        token, request,
    ):  # fmt: skip
        message, submitted = pending or ("", halts.now())
        session = request.session_hash or ""
        view = None
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
            answers = answers[: len(view.history) - (view.answer is not None)]
            if view.answer is not None:
                answers = [*answers, view.answer.to_dict()]
            yield view.chat, view.evidence, view.chat, view.history, answers, *unchanged
        if view is None or not view.chat or not message.strip():
            return
        owner = owner_of(request.username, token)
        shown = [{**m, "content": unlink_markers(m["content"])} for m in view.chat]
        name = collection or assistant.settings.collection
        conversation = kept.save(owner, current, name, shown, view.history, answers)
        outputs = conversation_outputs(owner, collection, conversation)
        if conversation is not None and conversation.id == current:  # a name being typed stays
            outputs = (*outputs[:2], gr.skip(), outputs[3])
        yield (gr.skip(),) * 5 + outputs

    def stop_answer(chat, history, request):
        halts.halt(request.session_hash or "", "stop")
        chat = stopped(chat, history)
        return chat, chat

    def clear_chat(token, collection, request):
        """A new chat: the one open stays kept, and none is selected."""
        halts.halt(request.session_hash or "", "clear")
        owner = owner_of(request.username, token)
        return [], EVIDENCE_EMPTY, [], [], [], *conversation_outputs(owner, collection, None)

    def open_conversation(chosen, token, collection, request):
        """The kept conversation ``chosen`` in place of the chat (an answer running in this
        tab ends first)."""
        halts.halt(request.session_hash or "", "clear")
        owner = owner_of(request.username, token)
        conversation = kept.get(owner, chosen)
        if conversation is None:
            return clear_chat(token, collection, request)
        return *reopen(conversation), *conversation_outputs(owner, collection, conversation)

    def rename_conversation(current, title, token, collection, request):
        owner = owner_of(request.username, token)
        kept.rename(owner, current, title)
        return conversation_outputs(owner, collection, kept.get(owner, current))

    def delete_conversation(current, token, collection, request):
        kept.delete(owner_of(request.username, token), current)
        return clear_chat(token, collection, request)

    def restore(token, current, collection, request):
        """On page load: the browser's token (made on its first visit), its conversations,
        and the one it had open, in its collection, as it was."""
        token = token if owner_of(None, token) else new_token()
        owner = owner_of(request.username, token)
        conversation = kept.get(owner, current)
        if conversation is None:
            outputs = conversation_outputs(owner, collection, None)
            return token, *(gr.skip(),) * 6, *outputs[1:]
        return (
            token,
            *reopen(conversation),
            conversation.collection,
            *conversation_outputs(owner, conversation.collection, conversation)[1:],
        )

    for handler in (  # annotations are strings here (PEP 563)
        ask,
        stop_answer,
        clear_chat,
        open_conversation,
        rename_conversation,
        delete_conversation,
        restore,
    ):
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
                    message = NEW_COLLECTION.format(name=name)
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

    def switch_collection(collection, token, request):
        """A new chat in the other collection, its conversations and its documents."""
        return *clear_chat(token, collection, request), *documents_view(collection, "")

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

    def documents_if_changed(name, shown, chosen, about_now, note_now):
        """The table, the pickers' choices and the changed line again when the index of
        ``name`` changed since ``shown`` (a watched folder, another process); nothing is sent
        while it has not. What is picked stays, and so does the note (an upload's progress)
        unless it says the collection is yet to be made."""
        try:
            stamp = workspace(name).last_changed()
        except RagError:
            stamp = shown
        if stamp == shown:
            return (gr.skip(),) * 6
        rows, *_, line = documents_view(name)
        names = [str(r[0]) for r in rows]
        made = note_now == NEW_COLLECTION.format(name=name) and stamp is not None
        return (
            rows,
            "" if made else gr.skip(),
            gr.Dropdown(choices=names, value=chosen if chosen in names else None),
            gr.Dropdown(
                choices=[ALL_DOCUMENTS, *names],
                value=about_now if about_now in names else ALL_DOCUMENTS,
            ),
            line,
            stamp,
        )

    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        chat_state = gr.State([])
        history_state = gr.State([])
        answers_state = gr.State([])  # the completed answers, one per turn of the history
        pending = gr.State(None)  # (question, when it was asked)
        # Kept in the browser across reloads and restarts: whose conversations these are
        # (without a login), and the conversation open.
        secret = browser_secret(assistant.settings.home)
        token = gr.BrowserState("", storage_key="rag-browser", secret=secret)
        current = gr.BrowserState(None, storage_key="rag-conversation", secret=secret)
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
                with gr.Column(scale=1, min_width=210, elem_classes="kept-column"):
                    conversations = gr.Radio(
                        [], value=None, label="Conversations", elem_id="conversations"
                    )
                    name = gr.Textbox(
                        show_label=False, placeholder="Name of this conversation",
                        elem_id="conversation-name", max_lines=1, container=False,
                    )  # fmt: skip
                    with gr.Row(elem_classes="kept-buttons"):
                        rename = gr.Button("Rename", size="sm", elem_id="rename")
                        forget = gr.Button("Delete", size="sm", variant="stop", elem_id="forget")
                    export = gr.DownloadButton(
                        "Export as Markdown", value=None, size="sm", elem_id="export"
                    )
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

        chat_outputs = [chatbot, evidence, chat_state, history_state, answers_state]
        kept_outputs = [current, conversations, name, export]
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
            [
                pending,
                chat_state,
                history_state,
                answers_state,
                model,
                top_k,
                show_scores,
                about,
                collection,
                current,
                token,
            ],
            [*chat_outputs, *kept_outputs],
            concurrency_limit=assistant.settings.parallel,  # RAG_PARALLEL, 1 in-process
            concurrency_id="model",
            show_progress="minimal",
            trigger_mode="always_last",  # asked during an answer: runs when that one ends
        )
        stop.click(stop_answer, [chat_state, history_state], [chatbot, chat_state], queue=False)
        for clear in (new_chat.click, chatbot.clear):
            clear(clear_chat, [token, collection], [*chat_outputs, *kept_outputs], queue=False)
        conversations.input(
            open_conversation,
            [conversations, token, collection],
            [*chat_outputs, *kept_outputs],
            queue=False,
        )
        for renamed in (rename.click, name.submit):
            renamed(
                rename_conversation, [current, name, token, collection], kept_outputs, queue=False
            )
        forget.click(
            delete_conversation,
            [current, token, collection],
            [*chat_outputs, *kept_outputs],
            queue=False,
        )

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
        demo.load(
            restore,
            [token, current, collection],
            [token, *chat_outputs, collection, *kept_outputs[1:]],
            queue=False,
        ).then(documents_view, [collection], outputs, show_progress="hidden")
        # The index changes without a click too (a watched folder): each page looks every
        # few seconds, a single read while nothing changed.
        shown = gr.State(None)  # when the index last changed, as this page last showed it
        gr.Timer(DOCUMENTS_REFRESH).tick(
            documents_if_changed,
            [collection, shown, to_delete, about, note],
            [table, note, to_delete, about, changed, shown],
            queue=False,
            show_progress="hidden",
        )
        collection.input(
            switch_collection,
            [collection, token],
            [*chat_outputs, *kept_outputs, *outputs],
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


def browser_secret(home: Path) -> str:
    """The key the page's browser storage is written with: made once per ``RAG_HOME`` and
    kept there, so that what a browser keeps still reads after the server restarts."""
    path = Path(home) / "ui-secret"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        import secrets

        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_hex(16)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(value)
        return value


def serve(settings: Settings, watch: Iterable[Path | str] = ()) -> None:
    """``rag ui``: the chat on ``settings.ui_host:ui_port`` until interrupted (Ctrl-C or
    SIGTERM); ``watch``: files and folders kept in line with the settings' collection
    meanwhile (``start_watching``), checked before anything loads."""
    from rag.assistant import Assistant

    assistant = Assistant(settings)
    paths = list(watch)
    stop = start_watching(assistant, paths) if paths else threading.Event()
    try:
        with _sigterm_as_ctrl_c():
            launch(build_app(assistant), settings)
    finally:
        stop.set()


def start_watching(
    assistant: Any, paths: Iterable[Path | str], *, settle: float = SETTLE
) -> threading.Event:
    """Ingest ``paths`` (files and folders) into ``assistant``'s collection, then keep it in
    line with them on a daemon thread (``Assistant.watch``) until the returned event is set.

    A path that does not exist is an ``InputError`` here, before the thread starts. Each
    change is a line on stderr, as ``rag ingest --watch`` prints it. An error ends the
    watching with one line in the log (logger ``rag.ui``); the chat goes on without it.
    """
    from rag.documents import require

    targets = require(paths)
    where = ", ".join(map(str, targets))
    stop = threading.Event()

    def ready(report: IngestReport) -> None:
        _say(f"Watching {where} for changes: {report.chunks} chunks in the index.")

    def changed(change: IndexChange) -> None:
        _say(change.line())

    def run() -> None:
        try:
            assistant.watch(targets, on_change=changed, stop=stop, on_ready=ready, settle=settle)
        except Exception as exc:  # the thread has no one else to tell
            kind = "" if isinstance(exc, RagError) else f"{type(exc).__name__}: "
            log.error("Stopped watching %s: %s%s", where, kind, one_line(exc))

    threading.Thread(target=run, name="rag-ui-watch", daemon=True).start()
    return stop


def _say(line: str) -> None:
    print(f"{datetime.now():%H:%M:%S} {line}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """SIGTERM (``kill``, a service manager) closes the server as Ctrl-C does, so that what
    follows it (the watcher's stop) runs rather than the process ending mid-step. A second
    SIGTERM while it closes is ignored: ``kill`` of the process group sends one through
    ``rag``'s guarding parent as well."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (and gets KeyboardInterrupt)
        return

    def interrupt(_signum: int, _frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
