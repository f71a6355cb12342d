"""`rag serve` as a user starts it, with the real models, answering the official `openai`
client (plain and streaming) and `curl`."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import httpx
import pytest

from rag_eval.bench import free_port
from tests.conftest import GENEVA
from tests.test_real import RAG, run

pytestmark = pytest.mark.real
QUESTION = "How long did the meeting between Blinken and Lavrov in Geneva last?"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("serve-home")
    assert run("ingest", home=home).returncode == 0
    port = free_port()
    env = {**os.environ, "RAG_HOME": str(home), "HF_HUB_OFFLINE": "1", "RAG_API_KEY": "k"}
    env["RAG_API_QUEUE"] = "8"  # eight clients at once: one answered, seven waiting
    process = subprocess.Popen(
        [RAG, "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            time.sleep(0.5)
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_openai_client_gets_the_geneva_answer_with_its_citation(server):
    import openai

    ai = openai.OpenAI(base_url=f"{server}/v1", api_key="k", max_retries=0, timeout=600)
    reply = ai.chat.completions.create(
        model="qwen2.5-coder-1.5b", messages=[{"role": "user", "content": QUESTION}]
    )
    assert "90 minutes" in reply.choices[0].message.content
    assert GENEVA in [c["source"] for c in reply.model_extra["rag"]["citations"]]
    stream = ai.chat.completions.create(
        model="qwen2.5-coder-1.5b", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = list(stream)
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks)
        == reply.choices[0].message.content
    )
    assert GENEVA in [c["source"] for c in chunks[-1].model_extra["rag"]["citations"]]


def test_curl_streams_server_sent_events(server):
    body = json.dumps(
        {"model": "m", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    )
    done = subprocess.run(
        ["curl", "-sN", f"{server}/v1/chat/completions", "-H", "Authorization: Bearer k",
         "-H", "Content-Type: application/json", "-d", body],
        capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    events = [line[6:] for line in done.stdout.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    assert "90 minutes" in "".join(
        json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[:-1]
    )


QUESTIONS = [
    QUESTION,
    "Who is the US deputy chief of mission that Moscow expelled?",
    "Which German foreign minister visited Kyiv and warned Russia about further escalation?",
]


def asked(server: str, question: str, stream: bool) -> tuple[object, ...]:
    """``(200, answer text, citations)``, or ``(429, Retry-After)`` when the queue is full."""
    import openai

    ai = openai.OpenAI(base_url=f"{server}/v1", api_key="k", max_retries=0, timeout=600)
    messages = [{"role": "user", "content": question}]
    try:
        if stream:
            chunks = list(ai.chat.completions.create(model="m", messages=messages, stream=True))
            text = "".join(c.choices[0].delta.content or "" for c in chunks)
            return 200, text, chunks[-1].model_extra["rag"]["citations"]
        reply = ai.chat.completions.create(model="m", messages=messages)
        return 200, reply.choices[0].message.content, reply.model_extra["rag"]["citations"]
    except openai.RateLimitError as exc:
        return 429, exc.response.headers.get("retry-after")


def test_eight_clients_at_once_each_get_the_answer_given_alone(server):
    """The model decodes greedily: an answer does not depend on the requests around it."""
    alone = {q: asked(server, q, stream=False) for q in QUESTIONS}
    assert [a[0] for a in alone.values()] == [200] * 3
    assert "90 minutes" in alone[QUESTION][1] and "Gorman" in alone[QUESTIONS[1]][1]
    start = threading.Barrier(8)
    got: dict[int, object] = {}

    def client(n: int) -> None:
        start.wait()
        try:
            got[n] = asked(server, QUESTIONS[n % 3], stream=n % 2 == 1)
        except Exception as exc:  # a lost request: counted, then reported
            got[n] = repr(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(8))  # none lost
    # None refused (the queue holds all eight), none failed, none answered differently.
    assert got == {n: alone[QUESTIONS[n % 3]] for n in range(8)}
