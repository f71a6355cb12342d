"""`rag serve` as a user starts it, with the real models, answering the official `openai`
client (plain and streaming) and `curl`."""

from __future__ import annotations

import json
import os
import subprocess
import time

import httpx
import pytest

from tests.conftest import GENEVA
from tests.test_real import RAG, run
from tests.test_server import free_port

pytestmark = pytest.mark.real
QUESTION = "How long did the meeting between Blinken and Lavrov in Geneva last?"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("serve-home")
    assert run("ingest", home=home).returncode == 0
    port = free_port()
    env = {**os.environ, "RAG_HOME": str(home), "HF_HUB_OFFLINE": "1", "RAG_API_KEY": "k"}
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
