"""The ``rag`` command: a thin face over the library. Each command parses its flags, builds
settings, makes one library call and prints. Errors users can fix are one line on stderr and
a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from .errors import RagError
from .metadata import UNKNOWN_DATE
from .settings import PROJECT_ROOT, Settings


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RagError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo(
                "Interrupted: the index holds only whole documents; run the command again.",
                err=True,
            )
            sys.exit(130)


def _settings(**overrides: Any) -> Settings:
    return Settings.from_env(**overrides)


collection_option = click.option(
    "--collection",
    default=None,
    metavar="NAME",
    help="The collection (a workspace of documents) to use; RAG_COLLECTION, default `documents`.",
)


def _dump(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


@click.group(cls=_Group)
@click.version_option(package_name="rag")
def cli() -> None:
    """Ask questions about your documents and see exactly where each answer comes from.

    Everything runs locally. Start with `rag ingest seeds/`, then `rag ask "..."`.
    """


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--watch",
    is_flag=True,
    help="Then keep watching PATHS: new, changed, renamed and removed files are applied within "
    "seconds, one line each, until Ctrl-C (with --json: one JSON object a line).",
)
@collection_option
def ingest(paths: tuple[Path, ...], as_json: bool, watch: bool, collection: str | None) -> None:
    """Add or update documents (PDF, Word .docx, web pages .html, EPUB, .txt, .md, .rst) from
    files or folders; default: seeds/.

    Unchanged files are skipped, changed ones replaced, and files gone from an ingested
    folder removed. Example: rag ingest seeds/ notes/report.md; into a collection of its own:
    rag ingest --collection work ~/work-papers

    With --watch it goes on: each file added, changed, renamed or removed under PATHS is
    applied once it has been still for a second, printed as "added", "updated", "removed" or
    "skipped" with the reason, until Ctrl-C (exit 130; the index holds only whole documents).
    Example: rag ingest --watch ~/Documents/papers
    """
    from .assistant import Assistant

    demo = PROJECT_ROOT / "seeds"  # the demo articles, in a checkout of the project
    if not paths and not demo.is_dir():
        from .errors import InputError

        raise InputError("Name the files or folders to ingest, e.g. `rag ingest ~/Documents`.")
    targets = list(paths) or [demo]
    assistant = Assistant(_settings(collection=collection))
    progress = _progress() if not as_json else None
    if watch:
        _watch(assistant, targets, as_json, progress)
        return
    report = assistant.ingest(targets, progress=progress)
    if as_json:
        _dump(report.to_dict())
        return
    _print_report(report)


def _print_report(report: Any) -> None:
    for name, reason in report.skipped.items():
        click.echo(f"skipped {name}: {reason}", err=True)
    for name, notes in report.notes.items():
        for note in notes:
            click.echo(f"left out of {name}: {note}", err=True)
    click.echo(
        f"{len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.removed)} removed, "
        f"{len(report.skipped)} skipped; {report.chunks} chunks in the index ({report.seconds:.1f} s)."
    )


def _watch(assistant: Any, targets: list[Path], as_json: bool, progress: Any) -> None:
    """``rag ingest --watch``: the first ingest's report, then a line a change, until Ctrl-C."""
    from datetime import datetime

    def ready(report: Any) -> None:
        if as_json:
            click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
        else:
            _print_report(report)
        where = ", ".join(str(t) for t in targets)
        click.echo(f"Watching {where} for changes; Ctrl-C stops.", err=True)

    def changed(change: Any) -> None:
        if as_json:
            click.echo(json.dumps(change.to_dict(), ensure_ascii=False))
            return
        at = datetime.fromisoformat(change.at).astimezone().strftime("%H:%M:%S")
        click.echo(f"{at} {change.line()}")

    try:
        assistant.watch(targets, on_change=changed, on_ready=ready, progress=progress)
    except KeyboardInterrupt:
        click.echo("Stopped watching: the index holds only whole documents.", err=True)
        sys.exit(130)


def _progress() -> Any:
    """A progress callback that draws a bar on stderr once a run has lasted a second (many
    files, or a long PDF whose pages are named as they are read)."""
    import time

    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)
    state: dict[str, Any] = {"began": time.monotonic()}

    def update(done: int, total: int, name: str) -> None:
        if not console.is_terminal:  # a pipe or a log file gets the report, not a bar
            return
        if "bar" not in state and (done >= total or time.monotonic() - state["began"] < 1.0):
            return
        if "bar" not in state:
            state["bar"] = Progress(transient=True, console=console)
            state["bar"].start()
            state["task"] = state["bar"].add_task("Ingesting", total=total)
        state["bar"].update(state["task"], completed=done, description=f"Ingesting {name[:50]}")
        if done >= total:
            state["bar"].stop()

    return update


@cli.command()
@click.argument("query")
@click.option("-k", "k", default=5, show_default=True, help="Number of passages.")
@click.option("--json", "as_json", is_flag=True, help="Print the hits as a JSON list.")
@collection_option
def search(query: str, k: int, as_json: bool, collection: str | None) -> None:
    """Show the passages that best match QUERY, with file, offsets and score.

    Example: rag search "Geneva meeting" -k 3
    """
    from .retrieval import Retriever

    hits = Retriever(_settings(collection=collection)).search(query, k=k)
    if as_json:
        _dump([asdict(h) for h in hits])
        return
    if not hits:
        click.echo("No passages found.")
    for i, h in enumerate(hits, 1):
        click.echo(
            click.style(f"{i}. {h.source} [{h.start}:{h.end}] score {h.score:.3f}", bold=True)
        )
        click.echo("   " + h.text.replace("\n", " ")[:400] + "\n")


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option("-k", "top_k", type=int, default=None, help="Passages to show the model.")
@click.option("--model", default=None, help="Preset name or GGUF path (RAG_MODEL).")
@click.option(
    "--document",
    "documents",
    multiple=True,
    help="Ask only about this indexed file (its name, as `rag docs` lists it); repeatable.",
)
@collection_option
def ask(
    question: str,
    as_json: bool,
    top_k: int | None,
    model: str | None,
    documents: tuple[str, ...],
    collection: str | None,
) -> None:
    """Answer QUESTION from the documents, citing the passages used. A request about whole
    documents ("Summarise report.pdf", "What are the main points of ...?") reads them whole.

    Example: rag ask "How long did the meeting between Blinken and Lavrov in Geneva last?"
    """
    from .assistant import Assistant
    from .records import Answer

    assistant = Assistant(_settings(model=model, top_k=top_k, collection=collection))
    chosen = list(documents) or None
    if as_json:
        answer = assistant.ask(question, documents=chosen)
        _dump({"question": question, **answer.to_dict()})
        return
    final: Answer | None = None
    for piece in assistant.stream(question, documents=chosen):
        if isinstance(piece, Answer):
            final = piece
        elif sys.stdout.isatty():
            click.echo(piece, nl=False)
    assert final is not None
    if sys.stdout.isatty():
        click.echo("\n")
    click.echo(final.answer)
    if final.citations:
        click.echo("\nSources:")
        for c in final.citations:
            dated = f", {c.date}" if c.date else ""
            page = f", page {c.page}" if c.page is not None else ""
            click.echo(
                f"  [{c.n}] {c.source}{page}{dated} [{c.start}:{c.end}]: {c.quote or c.text[:160]}"
            )
    elif final.abstained and final.passages:
        click.echo("\nLooked at: " + ", ".join(sorted({h.source for h in final.passages})))
    if final.confidence is not None:
        click.echo(f"\nModel confidence: {round(final.confidence * 100)} %")


@cli.command()
@click.option("--host", default=None, help="Address to bind (RAG_UI_HOST, default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (RAG_UI_PORT, default 7860).")
@click.option(
    "--watch",
    "watch",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="Keep the collection in line with this file or folder while the chat runs: files "
    "added, changed, renamed or removed are applied within seconds; repeatable.",
)
@collection_option
def ui(host: str | None, port: int | None, watch: tuple[Path, ...], collection: str | None) -> None:
    """Open the browser chat over the indexed documents (on the page, a menu switches
    between collections).

    With --watch, the folders and files named are ingested into the collection the chat
    starts with, and kept in line with it as people chat; the Documents tab follows.

    Example: rag ui --port 7860, then open http://127.0.0.1:7860;
    rag ui --watch ~/Documents/reports
    """
    from .documents import require

    targets = require(watch)  # a mistyped path is reported before the chat loads
    from ui.app import serve

    serve(_settings(ui_host=host, ui_port=port, collection=collection), watch=targets)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=int, default=8000, show_default=True, help="Port.")
@collection_option
def serve(host: str, port: int, collection: str | None) -> None:
    """Serve the assistant over HTTP: an OpenAI-compatible /v1/chat/completions with
    citations, /v1/search, /v1/documents; the API description at /docs.

    --collection is the default a request gets; a request may name another. Another address
    than 127.0.0.1 needs RAG_API_KEY. Example: rag serve --port 8000
    """
    from .server import serve as run

    run(_settings(collection=collection), host, port)


@cli.command("model-server")
@click.option(
    "--parallel",
    type=int,
    default=4,
    show_default=True,
    help="Slots: requests decoded together, each with RAG_N_CTX tokens of context.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; another than 127.0.0.1 needs RAG_LLM_API_KEY.",
)
@click.option("--port", type=int, default=8080, show_default=True, help="Port.")
@click.option("--model", default=None, help="Preset name or GGUF path (RAG_MODEL).")
@click.option(
    "--check",
    is_flag=True,
    help="Only prove that llama-server answers with the model on this CPU; exit 1 if not.",
)
def model_server(parallel: int, host: str, port: int, model: str | None, check: bool) -> None:
    """Serve the model with llama.cpp's own server (llama-server) for clients that set
    RAG_LLM_URL: PARALLEL requests are decoded together (continuous batching), each with the
    context of one answer (RAG_N_CTX), on RAG_THREADS threads. Runs until Ctrl-C.

    Example: rag model-server --parallel 4 --port 8080, then on a client
    RAG_LLM_URL=http://127.0.0.1:8080/v1 rag ask "..."
    """
    from .model_server import probe, serve

    settings = _settings(model=model)
    if check:
        result = probe(settings)  # raises ModelError, one line, when the server cannot run
        click.echo(
            f"llama-server works on this CPU: {result['model']} wrote {result['reply']!r} in "
            f"{result['seconds']} s ({result['variant']} build, CPU backend {result['backend']})."
        )
        return

    def ready(server: Any) -> None:
        import socket

        url = server.url  # bound to every address: clients elsewhere use this machine's name
        if host in ("0.0.0.0", "::"):
            url = f"http://{socket.gethostname()}:{port}/v1"
        click.echo(f"Serving {server.name} with {parallel} slots at {url}")
        click.echo(f"Clients: RAG_LLM_URL={url} RAG_MODEL={server.name}; Ctrl-C stops it.")

    serve(settings, parallel, host, port, on_ready=ready)
    click.echo("Stopped the model server.", err=True)


@cli.command()
@collection_option
def mcp(collection: str | None) -> None:
    """Serve search and ask as MCP tools over stdio, for editors and desktop assistants.

    Tools: search, ask (the answer with its citations) and list_documents; --collection is the
    default a call gets, and a call may name another. Example config:

    \b
    {"command": "rag", "args": ["mcp"]}
    """
    from .mcp_server import serve_stdio

    serve_stdio(_settings(collection=collection))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@collection_option
def docs(as_json: bool, collection: str | None) -> None:
    """List the indexed documents with their chunk counts, dates and titles (a document
    that states no date shows "unknown"; in --json its date is "").

    Example: rag docs
    """
    from .assistant import Assistant

    documents = Assistant(_settings(collection=collection)).documents()
    if as_json:
        _dump([asdict(d) for d in documents])
        return
    for d in documents:
        pages = f"{d.pages:4d} pages  " if d.pages else ""
        by = f"  ({d.author})" if d.author else ""
        click.echo(
            f"{d.source}  {pages}{d.chunks:4d} chunks  {d.date or UNKNOWN_DATE:10}  {d.title}{by}"
        )
    click.echo(f"{len(documents)} documents.")


@cli.command()
@click.argument("source")
@collection_option
def delete(source: str, collection: str | None) -> None:
    """Remove the document named SOURCE (its file name) from the index.

    Example: rag delete 004_e63c1b3594661294.txt
    """
    from .assistant import Assistant
    from .errors import InputError

    removed = Assistant(_settings(collection=collection)).delete(source)
    if not removed:
        raise InputError(f"No indexed document is named {source!r}: see `rag docs`.")
    click.echo(f"Removed {len(removed)} document(s): {', '.join(removed)}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def collections(as_json: bool) -> None:
    """List the collections (workspaces of documents) with their document counts.

    Each collection answers only from its own documents. Make one by ingesting into it.
    Example: rag ingest --collection work ~/work-papers, then rag collections
    """
    from .assistant import Assistant

    assistant = Assistant(_settings())
    rows = [
        {"name": name, "documents": len(assistant.collection(name).documents())}
        for name in assistant.collections()
    ]
    if as_json:
        _dump(rows)
        return
    for row in rows:
        mark = "*" if row["name"] == assistant.settings.collection else " "
        click.echo(f"{mark} {row['name']}  {row['documents']} documents")
    click.echo(f"{len(rows)} collections.")


@cli.command()
@click.option(
    "--fetch",
    is_flag=True,
    help="Assemble and verify the configured model now, and prepare the embedding model.",
)
def models(fetch: bool) -> None:
    """List the model presets and whether each is installed and verified.

    Example: rag models --fetch
    """
    from .embedding import embedder_for, embedder_status
    from .models import PRESETS, resolve_model, verify

    settings = _settings()
    if fetch:
        path, name = resolve_model(settings)
        click.echo(f"{name}: verified at {path}")
        if settings.embed_backend == "onnx-int8":
            embedder_for(settings)  # exported on first use: now rather than at the first ingest
    click.echo(f"  {settings.embed_model} ({settings.embed_backend}): {embedder_status(settings)}")
    for name, preset in PRESETS.items():
        mark = "*" if name == settings.model else " "
        click.echo(f"{mark} {name:20s} {preset.description}: {verify(settings, name)}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option(
    "--probe",
    "probe_only",
    is_flag=True,
    help="Only prove that llama.cpp runs the model on this CPU; exit 1 if it does not.",
)
def doctor(as_json: bool, probe_only: bool) -> None:
    """Show the resolved settings, the llama.cpp build against this CPU (loading the model
    and generating a few tokens in a child process), model files and index statistics.

    Example: rag doctor
    """
    from .doctor import diagnose, probe_llama

    settings = _settings()
    if probe_only:
        result = probe_llama(settings)  # raises ModelError, one line, when the model cannot run
        if as_json:
            _dump(result)
        else:
            click.echo(
                f"llama.cpp works on this CPU: {result['model']} loaded and wrote "
                f"{result['reply']!r} in {result['seconds']} s ({result['build']})."
            )
        return
    report = diagnose(settings)
    if as_json:
        _dump(report)
        return
    for section, values in report.items():
        click.echo(click.style(section, bold=True))
        for key, value in values.items():
            click.echo(f"  {key}: {value}")


def _add_plugins(group: click.Group) -> None:
    """Commands other installed packages add to ``rag`` through the ``rag.commands`` entry
    points (``rag eval`` and ``rag bench`` come from the evaluation package, ``rag_eval``)."""
    from importlib.metadata import entry_points

    for point in entry_points(group="rag.commands"):
        if point.name not in group.commands:
            try:
                group.add_command(point.load(), point.name)
            except ImportError:  # a package uninstalled without its entry points: skip it
                continue


_add_plugins(cli)


def run_in_process() -> None:
    """Run the command here, with Python's fault handler on (``python -m rag``)."""
    from .crash import enable_in_child

    enable_in_child()
    cli(prog_name="rag")
