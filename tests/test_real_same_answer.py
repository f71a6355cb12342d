"""The same question gets the same answer, citations and confidence whatever was asked before
it, through every entry point: the Python API, the CLI, the chat, HTTP and MCP.

The model decodes greedily, but llama.cpp keeps the part of a prompt it still holds from the
previous one; the rest, read in another batch, rounds differently, and the reply, its
probabilities (the confidence) and so the abstention would move with the question before.
Here each entry point asks three questions in an order of its own, with other questions
between, and must give what the Python API gave in its order; the CLI asks each question in a
fresh process (nothing before it at all). Default settings, the figure check included."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from typing import Any

import anyio
import pytest
from mcp import Client
from starlette.testclient import TestClient

from rag.assistant import Assistant
from rag.mcp_server import build_mcp
from rag.records import Answer
from rag.server import build_api
from rag.settings import Settings
from tests.conftest import SEEDS
from tests.test_real import run

pytestmark = pytest.mark.real

A = "How long did the meeting between Blinken and Lavrov in Geneva last?"
B = "Who is the US deputy chief of mission that Moscow expelled?"
C = "Which German foreign minister visited Kyiv and warned Russia about further escalation?"
OTHER = "What did NATO say about its open-door policy?"
SILENT = "What is the population of Ukraine?"  # the documents don't say

Outcome = tuple[str, list[dict[str, Any]], float | None, bool]


def outcome(
    answer: str, citations: list[Any], confidence: float | None, abstained: bool
) -> Outcome:
    """What a person sees of an answer: its text, every field of each citation, the confidence
    and whether it abstained (the timings are left out: they are the one thing that moves)."""
    cited = [c if isinstance(c, dict) else asdict(c) for c in citations]
    return answer, cited, confidence, abstained


def of(answer: Answer) -> Outcome:
    return outcome(answer.answer, list(answer.citations), answer.confidence, answer.abstained)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Any:
    home = tmp_path_factory.mktemp("same-answer-home")
    assert run("ingest", str(SEEDS), home=home).returncode == 0
    return home


@pytest.fixture(scope="module")
def assistant(home, real_embedder, default_generator) -> Assistant:
    settings = Settings.from_env({"RAG_HOME": str(home)})  # the defaults, figure check on
    return Assistant(settings, embedder=real_embedder, generator=default_generator)


@pytest.fixture(scope="module")
def reference(assistant) -> dict[str, Outcome]:
    """The Python API's answers, asked A, B, C, after whatever the session asked before."""
    got = {q: of(assistant.ask(q)) for q in (A, B, C)}
    assert "90 minutes" in got[A][0] and "Gorman" in got[B][0]  # real answers, not abstentions
    return got


def asked_in_order(ask, order: list[str]) -> dict[str, Outcome]:
    return {q: got for q, got in ((q, ask(q)) for q in order) if q in (A, B, C)}


def test_python_api(assistant, reference):
    again = asked_in_order(lambda q: of(assistant.ask(q)), [C, OTHER, A, SILENT, B])
    assert again == reference


def test_cli_in_a_fresh_process(home, reference):
    def ask(question: str) -> Outcome:
        done = run("ask", "--json", question, home=home)
        assert done.returncode == 0, done.stderr
        a = json.loads(done.stdout)
        return outcome(a["answer"], a["citations"], a["confidence"], a["abstained"])

    assert {q: ask(q) for q in (B, C, A)} == reference


def test_chat(assistant, reference):
    from ui.chat import respond

    class Recording:
        """The assistant, keeping each final answer the chat received."""

        def __init__(self) -> None:
            self.answers: list[Answer] = []

        def __getattr__(self, name: str) -> Any:
            return getattr(assistant, name)

        def stream(self, *args: Any, **kwargs: Any) -> Any:
            for piece in assistant.stream(*args, **kwargs):
                if isinstance(piece, Answer):
                    self.answers.append(piece)
                yield piece

    recording = Recording()
    shown: dict[str, tuple[str, str]] = {}

    def ask(question: str) -> Outcome:  # a new chat per question, as after "New chat"
        *_, view = respond(recording, question, [], [])
        evidence = re.sub(r'<p class="timings">.*?</p>', "", view.evidence)
        shown[question] = (view.chat[-1]["content"], evidence)
        return of(recording.answers[-1])

    assert asked_in_order(ask, [B, OTHER, C, A]) == reference
    first = {q: shown[q] for q in (A, B, C)}
    asked_in_order(ask, [A, SILENT, B, C])
    # The page shows the same answer and evidence, character for character.
    assert {q: shown[q] for q in (A, B, C)} == first


def test_http(assistant, reference):
    api = TestClient(build_api(assistant, assistant.settings))

    def ask(question: str) -> Outcome:
        body = {"model": "m", "messages": [{"role": "user", "content": question}]}
        reply = api.post("/v1/chat/completions", json=body)
        assert reply.status_code == 200, reply.text
        data = reply.json()
        rag = data["rag"]
        text = data["choices"][0]["message"]["content"]
        return outcome(text, rag["citations"], rag["confidence"], rag["abstained"])

    assert asked_in_order(ask, [C, A, OTHER, B]) == reference


def test_mcp(assistant, reference):
    async def main() -> dict[str, Outcome]:
        got: dict[str, Outcome] = {}
        async with Client(build_mcp(assistant), mode="legacy") as client:
            for question in [SILENT, A, C, OTHER, B]:
                result = await client.call_tool("ask", {"question": question})
                assert not result.is_error
                r = result.structured_content
                got[question] = outcome(
                    r["answer"], r["citations"], r["confidence"], r["abstained"]
                )
        return {q: got[q] for q in (A, B, C)}

    assert anyio.run(main) == reference
