"""``rag mcp``: the assistant as MCP tools over stdio, for editors and desktop assistants.

Three tools, each one call into ``Assistant``:

- ``search(query, k, collection)``: the passages that best match, with file, page, span and
  score;
- ``ask(question, documents, collection)``: the checked answer, whether it abstained, the
  model's confidence and the citations (the fields of the HTTP API's ``rag`` extra); its text
  is the answer followed by its sources, so a client that shows only text still shows where
  the answer comes from;
- ``list_documents(collection)``: the indexed documents.

``collection`` names a workspace of documents (default: the configured one). Every result is
also structured output with a published schema. Errors a user can fix (no index yet, an empty
question, an unknown document) come back as a tool error carrying their one-line message; the
server keeps running. The tools are plain functions, which the SDK runs on worker threads, so
the event loop stays free while a model works; the generator bounds how many answers are
written at once (one with the in-process model, ``RAG_PARALLEL`` with a model server).

Built on the official MCP Python SDK's high-level ``MCPServer`` (called FastMCP before mcp 2).
Stdout carries only the protocol: the models load with stdout pointed at stderr, and while
serving the SDK itself points stray output at stderr; logs (warnings and errors) go to stderr.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, TypedDict

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from .assistant import Assistant
from .errors import InputError, RagError
from .records import Answer, Citation, DocumentInfo, Hit
from .server import extra
from .settings import Settings

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)

Collection = Annotated[
    str | None,
    Field(description="The collection (workspace) of documents; default: the configured one."),
]


class Passages(TypedDict):
    """What ``search`` returns."""

    passages: list[Hit]


class Reply(TypedDict):
    """What ``ask`` returns: the answer and the ``rag`` extra of the HTTP API."""

    answer: str
    abstained: bool
    confidence: float | None
    citations: list[Citation]
    timings_ms: dict[str, float]


class Documents(TypedDict):
    """What ``list_documents`` returns."""

    documents: list[DocumentInfo]


def build_mcp(assistant: Assistant) -> MCPServer:
    """The MCP server over ``assistant``: tools ``search``, ``ask`` and ``list_documents``."""
    mcp: MCPServer = MCPServer(
        "rag",
        instructions=(
            "Answers questions from the user's own documents and cites the passages each "
            "answer comes from. Use `ask` for an answer, `search` for passages."
        ),
        log_level="WARNING",
    )

    def workspace(collection: str | None) -> Assistant:
        return assistant.collection(collection or None)  # a bad name: SettingsError, one line

    @mcp.tool(annotations=READ_ONLY)
    def search(
        query: Annotated[str, Field(description="What to look for.")],
        k: Annotated[int, Field(ge=1, le=50, description="How many passages.")] = 5,
        collection: Collection = None,
    ) -> Passages:
        """The passages of the indexed documents that best match the query, best first, each
        with its file (source), page (of a PDF), character span, score and text."""
        with fixable():
            if not query.strip():
                raise InputError("Give a query: the words to look for.")
            hits = workspace(collection).retriever.search(query, k=k)
        return {"passages": hits}

    @mcp.tool(annotations=READ_ONLY)
    def ask(
        question: Annotated[str, Field(description="The question, in plain words.")],
        documents: Annotated[
            list[str] | None,
            Field(description="Answer only from these files (names as list_documents gives)."),
        ] = None,
        collection: Collection = None,
    ) -> Annotated[CallToolResult, Reply]:
        """Answer the question from the indexed documents, citing the passages used, or say
        "The documents don't say." The text is the answer followed by its sources; the
        structured result adds whether it abstained, the model's confidence (0-1) and each
        citation's file, page, character span and supporting quote."""
        with fixable():
            answer = workspace(collection).ask(question, documents=documents)
        return CallToolResult(
            content=[TextContent(text=with_sources(answer))],
            structured_content={"answer": answer.answer, **extra(answer)},
        )

    @mcp.tool(annotations=READ_ONLY)
    def list_documents(collection: Collection = None) -> Documents:
        """The indexed documents: file name (source), path, chunks, title, date, author, url
        and pages (of a PDF)."""
        with fixable():
            return {"documents": workspace(collection).documents()}

    return mcp


@contextmanager
def fixable() -> Iterator[None]:
    """Turn an error the user can fix into a tool error carrying its one-line message."""
    try:
        yield
    except RagError as exc:
        raise ToolError(str(exc)) from exc


def with_sources(answer: Answer) -> str:
    """The answer followed by the passages it cites, for clients that show only text.

    >>> from rag.records import Citation
    >>> cited = Citation(1, "a.txt", "a:0", 10, 60, "...", date="2022-01-21", quote="It lasted 90 minutes.")
    >>> print(with_sources(Answer("It lasted 90 minutes [1].", False, [cited])))
    It lasted 90 minutes [1].
    <BLANKLINE>
    Sources:
    [1] a.txt, 2022-01-21 [10:60]: It lasted 90 minutes.
    """
    if not answer.citations:
        return answer.answer
    lines = [answer.answer, "", "Sources:"]
    for c in answer.citations:
        page = f", page {c.page}" if c.page is not None else ""
        dated = f", {c.date}" if c.date else ""
        lines.append(f"[{c.n}] {c.source}{page}{dated} [{c.start}:{c.end}]: {c.quote or c.text}")
    return "\n".join(lines)


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Point file descriptor 1 at stderr for the duration, so that nothing a library prints
    (Python or native code) can reach the protocol's stream."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def serve_stdio(settings: Settings) -> None:
    """Load the models, then serve the tools over stdin and stdout until the client leaves."""
    logs = logging.StreamHandler(sys.stderr)
    logs.setLevel(logging.WARNING)  # some libraries log at DEBUG on loggers of their own
    logging.basicConfig(level=logging.WARNING, handlers=[logs])
    assistant = Assistant(settings)
    with stdout_to_stderr():
        assistant.warm_up()
    build_mcp(assistant).run("stdio")


__all__ = ["build_mcp", "serve_stdio", "with_sources"]
