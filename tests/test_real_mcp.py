"""`rag mcp` as an editor starts it: a subprocess over stdio, driven by the official MCP SDK's
stdio client, answering with the real models."""

from __future__ import annotations

import os
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters, stdio_client

from rag.settings import PROJECT_ROOT
from tests.conftest import GENEVA
from tests.test_real import RAG, run

pytestmark = pytest.mark.real
QUESTION = "How long did the meeting between Blinken and Lavrov in Geneva last?"


def test_stdio_client_gets_the_geneva_answer_with_its_citation(tmp_path):
    home = tmp_path / "mcp-home"
    assert run("ingest", home=home).returncode == 0
    env = {**os.environ, "RAG_HOME": str(home), "HF_HUB_OFFLINE": "1", "RAG_VERIFY_FIGURES": "1"}
    server = StdioServerParameters(command=RAG, args=["mcp"], env=env, cwd=PROJECT_ROOT)
    faults: list[Exception] = []  # a line on stdout that is not the protocol arrives here

    async def note(message: Any) -> None:
        if isinstance(message, Exception):
            faults.append(message)

    async def main() -> tuple[list[str], Any]:
        with (tmp_path / "stderr.txt").open("w") as errlog:
            transport = stdio_client(server, errlog=errlog)
            async with Client(transport, read_timeout_seconds=900, message_handler=note) as client:
                tools = [t.name for t in (await client.list_tools()).tools]
                return tools, await client.call_tool("ask", {"question": QUESTION})

    tools, result = anyio.run(main)
    stderr = (tmp_path / "stderr.txt").read_text()
    assert sorted(tools) == ["ask", "list_documents", "search"]
    assert not result.is_error, result.content[0].text + stderr
    reply = result.structured_content
    assert "90 minutes" in reply["answer"] and not reply["abstained"]
    cited = [c for c in reply["citations"] if c["source"] == GENEVA]
    assert cited, reply["citations"]
    text = result.content[0].text
    assert text.startswith(reply["answer"] + "\n\nSources:\n")
    assert f"[{cited[0]['n']}] {GENEVA}" in text
    assert not faults, faults
