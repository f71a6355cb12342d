"""`rag serve` on a free port, called by clients nobody here wrote: the official `openai`
package (plain and streaming) and plain HTTP (httpx). Models faked for speed; the real model
answers through it in test_real_server.py."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from rag.assistant import Assistant
from rag.errors import InputError
from rag.generation import ScriptedGenerator
from rag.server import build_api, check_exposure
from tests.conftest import reply_citing_first_passage

KEY = "s3cret-key"
GENEVA = "001_a59af63640988946.txt"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app) -> Iterator[str]:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def api(settings, embedder, seeds) -> Iterator[tuple[str, Assistant]]:
    s = settings.with_(min_relevance=0.05, retrieval="bm25", focus_sentences=6, api_key=KEY)
    assistant = Assistant(
        s, embedder=embedder, generator=ScriptedGenerator(reply_citing_first_passage)
    )
    assistant.ingest([seeds])
    with serving(build_api(assistant, s)) as url:
        yield url, assistant


def client(url: str, key: str = KEY):
    import openai

    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)


QUESTION = "How long did the meeting between Blinken and Lavrov in Geneva last?"


def test_openai_client_gets_the_cited_answer(api):
    url, _ = api
    reply = client(url).chat.completions.create(
        model="qwen2.5-coder-1.5b", messages=[{"role": "user", "content": QUESTION}]
    )
    text = reply.choices[0].message.content
    assert text and reply.choices[0].finish_reason == "stop"
    extra = reply.model_extra["rag"]
    assert extra["abstained"] is False and extra["citations"]
    first = extra["citations"][0]
    assert {"source", "page", "start", "end", "quote"} <= set(first)
    assert f"[{first['n']}]" in text


def test_openai_client_streams_the_same_answer(api):
    url, _ = api
    whole = client(url).chat.completions.create(
        model="qwen2.5-coder-1.5b", messages=[{"role": "user", "content": QUESTION}]
    )
    stream = client(url).chat.completions.create(
        model="qwen2.5-coder-1.5b", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == whole.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["rag"]["citations"] == whole.model_extra["rag"]["citations"]


def test_a_follow_up_reads_the_conversation(api):
    url, assistant = api
    seen: list[str] = []
    script = assistant._generator._script

    def spy(messages):
        seen.append(messages[-1]["content"])
        return script(messages)

    assistant._generator._script = spy
    client(url).chat.completions.create(
        model="m",
        messages=[
            {"role": "user", "content": "When did Blinken and Lavrov meet in Geneva?"},
            {"role": "assistant", "content": "They met on January 21 [1]."},
            {"role": "user", "content": "How long did it last?"},
        ],
    )
    assert "Question: How long did it last?" in seen[-1]


def test_models_search_documents_and_health(api):
    url, _ = api
    headers = {"Authorization": f"Bearer {KEY}"}
    assert "qwen2.5-coder-1.5b" in [m.id for m in client(url).models.list().data]
    hits = httpx.post(
        f"{url}/v1/search", json={"query": "Geneva meeting", "k": 3}, headers=headers
    ).json()["hits"]
    assert len(hits) == 3 and {"source", "text", "start", "end", "page"} <= set(hits[0])
    docs = httpx.get(f"{url}/v1/documents", headers=headers).json()["documents"]
    assert GENEVA in [d["source"] for d in docs]
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok", "documents": 5}
    assert "/v1/chat/completions" in httpx.get(f"{url}/openapi.json").json()["paths"]
    gone = httpx.delete(f"{url}/v1/documents/{GENEVA}", headers=headers)
    assert gone.status_code == 200 and gone.json()["deleted"] == GENEVA
    assert httpx.delete(f"{url}/v1/documents/{GENEVA}", headers=headers).status_code == 404


def test_a_wrong_or_missing_key_is_refused(api):
    import openai

    url, _ = api
    with pytest.raises(openai.AuthenticationError):
        client(url, key="wrong").chat.completions.create(
            model="m", messages=[{"role": "user", "content": QUESTION}]
        )
    assert httpx.get(f"{url}/v1/documents").status_code == 401


def test_bad_requests_get_one_clear_error(api):
    import openai

    url, _ = api
    with pytest.raises(openai.BadRequestError, match="last message must be the user's question"):
        client(url).chat.completions.create(
            model="m", messages=[{"role": "assistant", "content": "Hi"}]
        )
    with pytest.raises(openai.BadRequestError, match="No document named nope.txt"):
        client(url).chat.completions.create(
            model="m", messages=[{"role": "user", "content": QUESTION}],
            extra_body={"documents": ["nope.txt"]},
        )  # fmt: skip


def test_a_full_queue_answers_429_with_retry_after_and_loses_nothing(settings, embedder, seeds):
    release = threading.Event()

    def slow(messages):
        release.wait(30)
        return reply_citing_first_passage(messages)

    s = settings.with_(min_relevance=0.05, retrieval="bm25", focus_sentences=6, api_queue=1)
    assistant = Assistant(s, embedder=embedder, generator=ScriptedGenerator(slow))
    assistant.ingest([seeds])
    with serving(build_api(assistant, s)) as url:
        body = {"model": "m", "messages": [{"role": "user", "content": QUESTION}]}
        results: list[httpx.Response] = []

        def ask() -> None:
            results.append(httpx.post(f"{url}/v1/chat/completions", json=body, timeout=60))

        threads = [threading.Thread(target=ask) for _ in range(4)]
        for t in threads:
            t.start()
            time.sleep(0.3)
        release.set()
        for t in threads:
            t.join()
        codes = sorted(r.status_code for r in results)
        assert len(results) == 4 and set(codes) <= {200, 429} and 429 in codes and 200 in codes
        for r in results:
            if r.status_code == 429:
                assert r.headers["Retry-After"] == "5" and "Busy" in r.json()["error"]["message"]
            else:
                assert r.json()["rag"]["citations"]


def test_serving_beyond_this_machine_needs_a_key():
    with pytest.raises(InputError, match="Refusing to serve on 0.0.0.0 without an API key"):
        check_exposure("0.0.0.0", "")
    check_exposure("0.0.0.0", "k")
    check_exposure("127.0.0.1", "")
