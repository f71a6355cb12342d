"""`rag mcp`'s tools, called by the official MCP SDK's client over an in-memory connection (the
initialize handshake and JSON-RPC framing that desktop clients use). Models faked for speed;
the real model answers over stdio in test_real_mcp.py."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

import anyio
from click.testing import CliRunner
from mcp import Client

from rag.assistant import Assistant
from rag.cli import cli
from rag.embedding import HashEmbedder
from rag.generation import ScriptedGenerator
from rag.mcp_server import build_mcp
from tests.conftest import GENEVA, SEEDS

QUESTION = "How long did the meeting between Blinken and Lavrov in Geneva last?"


def connected(assistant: Assistant, work: Callable[[Client], Awaitable[Any]]) -> Any:
    """What ``work`` returns, given a client connected to the MCP server over ``assistant``."""

    async def main() -> Any:
        async with Client(build_mcp(assistant), mode="legacy") as client:
            return await work(client)

    return anyio.run(main)


def test_the_three_tools_are_listed_with_their_arguments(assistant):
    tools = {t.name: t for t in connected(assistant, lambda c: c.list_tools()).tools}
    assert sorted(tools) == ["ask", "list_documents", "search"]
    schemas = {name: t.input_schema for name, t in tools.items()}
    assert {n: sorted(s["properties"]) for n, s in schemas.items()} == {
        "ask": ["collection", "documents", "question"],
        "list_documents": ["collection"],
        "search": ["collection", "k", "query"],
    }
    assert schemas["ask"]["required"] == ["question"]
    assert schemas["search"]["required"] == ["query"]
    assert schemas["search"]["properties"]["k"]["default"] == 5
    assert "required" not in schemas["list_documents"]
    assert sorted(tools["ask"].output_schema["properties"]) == [
        "abstained", "answer", "citations", "confidence", "timings_ms",
    ]  # fmt: skip
    assert all(t.annotations.read_only_hint for t in tools.values())


def test_search_gives_the_passages_as_structured_output(assistant):
    result = connected(assistant, lambda c: c.call_tool("search", {"query": "Geneva", "k": 3}))
    assert not result.is_error
    passages = result.structured_content["passages"]
    expected = assistant.retriever.search("Geneva", k=3)
    assert passages == [asdict(h) for h in expected]
    assert {"source", "page", "start", "end", "score", "text"} <= set(passages[0])
    assert json.loads(result.content[0].text) == result.structured_content


def test_ask_gives_the_checked_answer_with_its_sources_and_citations(assistant):
    result = connected(assistant, lambda c: c.call_tool("ask", {"question": QUESTION}))
    expected = assistant.ask(QUESTION)
    assert not result.is_error and not expected.abstained and expected.citations
    reply = result.structured_content
    assert reply["answer"] == expected.answer
    assert reply["abstained"] is False
    assert reply["citations"] == [asdict(c) for c in expected.citations]
    assert set(reply) == {"answer", "abstained", "confidence", "citations", "timings_ms"}
    first = expected.citations[0]
    assert result.content[0].text == (
        f"{expected.answer}\n\nSources:\n"
        f"[{first.n}] {first.source}, {first.date} [{first.start}:{first.end}]: {first.quote}"
    )


def test_ask_only_from_the_documents_named(assistant):
    question = "What did Blinken tell Lavrov in Geneva?"
    arguments = {"question": question, "documents": [GENEVA]}
    result = connected(assistant, lambda c: c.call_tool("ask", arguments))
    citations = result.structured_content["citations"]
    assert citations and {c["source"] for c in citations} == {GENEVA}
    assert result.structured_content["answer"] == assistant.ask(question, documents=[GENEVA]).answer


def test_list_documents(assistant):
    result = connected(assistant, lambda c: c.call_tool("list_documents", {}))
    documents = result.structured_content["documents"]
    assert sorted(d["source"] for d in documents) == sorted(p.name for p in SEEDS.iterdir())
    assert {"source", "path", "chunks", "title", "date", "pages"} <= set(documents[0])


def test_errors_users_can_fix_are_tool_errors_and_the_server_carries_on(assistant):
    async def work(client: Client) -> list[Any]:
        return [
            await client.call_tool("ask", {"question": "   "}),
            await client.call_tool("ask", {"question": QUESTION, "documents": ["nope.txt"]}),
            await client.call_tool("search", {"query": ""}),
            await client.call_tool("list_documents", {}),
        ]

    empty, unknown, nothing, documents = connected(assistant, work)
    for result, message in [
        (empty, "The question is empty: ask something about the documents."),
        (unknown, "No document named nope.txt is in the index: `rag docs` lists them."),
        (nothing, "Give a query: the words to look for."),
    ]:
        assert result.is_error
        assert result.content[0].text.endswith(f": {message}")
        assert "\n" not in result.content[0].text
    assert not documents.is_error and len(documents.structured_content["documents"]) == 5


def test_no_index_yet_is_a_tool_error_naming_the_fix(settings, rag_home):
    empty = Assistant(settings, embedder=HashEmbedder(dim=64), generator=ScriptedGenerator("x"))
    result = connected(empty, lambda c: c.call_tool("ask", {"question": QUESTION}))
    assert result.is_error
    assert result.content[0].text.endswith(
        f": No index in {rag_home} yet: run `rag ingest seeds/` first."
    )


def test_the_mcp_command_has_help_with_a_client_config():
    result = CliRunner().invoke(cli, ["mcp", "--help"])
    assert result.exit_code == 0 and '{"command": "rag", "args": ["mcp"]}' in result.output


def test_each_collection_answers_from_its_own_documents(assistant, tmp_path):
    notes = tmp_path / "work" / "budget.txt"
    notes.parent.mkdir()
    notes.write_text(
        "The finance committee met in Oslo on 3 March 2022. The committee approved a budget of "
        "four million euros for the new laboratory. The laboratory opens in the autumn.\n"
    )
    assistant.collection("work").ingest([notes.parent])

    async def work(client: Client) -> list[Any]:
        return [
            await client.call_tool("list_documents", {"collection": "work"}),
            await client.call_tool("list_documents", {}),
            await client.call_tool("search", {"query": "Geneva budget", "collection": "work"}),
            await client.call_tool(
                "ask", {"question": "What budget did the committee approve?", "collection": "work"}
            ),
            await client.call_tool("list_documents", {"collection": "no/such"}),
        ]

    work_docs, own_docs, hits, answer, bad = connected(assistant, work)
    assert [d["source"] for d in work_docs.structured_content["documents"]] == ["budget.txt"]
    assert len(own_docs.structured_content["documents"]) == 5
    assert {h["source"] for h in hits.structured_content["passages"]} == {"budget.txt"}
    assert (
        answer.structured_content["answer"]
        == "The finance committee met in Oslo on 3 March 2022 [1]."
    )
    assert {c["source"] for c in answer.structured_content["citations"]} == {"budget.txt"}
    assert bad.is_error and "'no/such' cannot name a collection" in bad.content[0].text
