"""`rag serve` on a free port, called by clients nobody here wrote: the official `openai`
package (plain and streaming) and plain HTTP (httpx). Models faked for speed; the real model
answers through it in test_real_server.py."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rag.assistant import Assistant
from rag.errors import InputError
from rag.generation import ScriptedGenerator
from rag.server import build_api, check_exposure
from rag_eval.bench import serving
from tests.conftest import reply_citing_first_passage

KEY = "s3cret-key"
GENEVA = "001_a59af63640988946.txt"


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
QUESTIONS = [
    QUESTION,
    "Who is the US deputy chief of mission that Moscow expelled?",
    "Which German foreign minister visited Kyiv and warned Russia about further escalation?",
]


def asked(http: httpx.Client, url: str, question: str, stream: bool) -> tuple[Any, ...]:
    """``(200, answer text, citations)``, or ``(status, Retry-After, error message)``."""
    body = {"model": "m", "stream": stream, "messages": [{"role": "user", "content": question}]}
    with http.stream("POST", f"{url}/v1/chat/completions", json=body) as r:
        if r.status_code != 200:
            message = json.loads(r.read())["error"]["message"]
            return r.status_code, r.headers.get("Retry-After"), message
        if not stream:
            reply = json.loads(r.read())
            return 200, reply["choices"][0]["message"]["content"], reply["rag"]["citations"]
        events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: {")]
        text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events)
        return 200, text, events[-1]["rag"]["citations"]


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


@pytest.mark.parametrize("stream", [False, True])
def test_a_full_queue_answers_429_with_retry_after_and_loses_nothing(
    settings, embedder, seeds, stream
):
    release = threading.Event()

    def slow(messages):
        release.wait(30)
        return reply_citing_first_passage(messages)

    s = settings.with_(min_relevance=0.05, retrieval="bm25", focus_sentences=6, api_queue=1)
    assistant = Assistant(s, embedder=embedder, generator=ScriptedGenerator(slow))
    assistant.ingest([seeds])
    with serving(build_api(assistant, s)) as url:
        results: list[tuple[Any, ...]] = []

        def ask() -> None:
            with httpx.Client(timeout=60) as http:
                results.append(asked(http, url, QUESTION, stream))

        threads = [threading.Thread(target=ask) for _ in range(4)]
        for t in threads:
            t.start()
            time.sleep(0.3)
        release.set()
        for t in threads:
            t.join()
        codes = sorted(r[0] for r in results)  # one answering, one waiting, the rest refused
        assert len(codes) == 4 and set(codes) == {200, 429}
        for r in results:
            if r[0] == 429:
                assert r[1] == "5" and "Busy" in r[2]
            else:
                assert r[2]  # citations


def test_serving_beyond_this_machine_needs_a_key():
    with pytest.raises(InputError, match="Refusing to serve on 0.0.0.0 without an API key"):
        check_exposure("0.0.0.0", "")
    check_exposure("0.0.0.0", "k")
    check_exposure("127.0.0.1", "")


def test_rag_serve_beyond_this_machine_without_a_key_exits_with_the_reason(monkeypatch):
    from click.testing import CliRunner

    from rag.cli import cli

    monkeypatch.delenv("RAG_API_KEY", raising=False)
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("served without a key"))
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "8000"])
    assert result.exit_code == 1
    assert "Refusing to serve on 0.0.0.0 without an API key" in result.output


@pytest.fixture
def generator() -> ScriptedGenerator:
    """The scripted model, taking 40 ms a reply so that concurrent requests overlap."""

    def slowly(messages):
        time.sleep(0.04)
        return reply_citing_first_passage(messages)

    return ScriptedGenerator(slowly)


@pytest.mark.parametrize("queue", [7, 1])
def test_eight_clients_at_once_are_each_answered_as_alone_or_told_to_retry(assistant, queue):
    s = assistant.settings.with_(api_queue=queue)
    with serving(build_api(assistant, s)) as url, httpx.Client(timeout=60) as http:
        alone = {q: asked(http, url, q, stream=False) for q in QUESTIONS}
        assert all(a[0] == 200 and a[2] for a in alone.values())
        sent, got, failed = [], [], []
        start, deadline = threading.Barrier(8), time.monotonic() + 30

        def client(n: int) -> None:
            with httpx.Client(timeout=60) as mine:
                start.wait()
                for i in range(6):
                    if time.monotonic() > deadline:
                        break
                    question, stream = QUESTIONS[(n + i) % 3], (n + i) % 2 == 0
                    sent.append(question)
                    try:
                        got.append((question, asked(mine, url, question, stream)))
                    except Exception as exc:  # a lost request: counted, then reported
                        failed.append(repr(exc))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert failed == [] and len(sent) == len(got) == 48
    answered = [(q, r) for q, r in got if r[0] == 200]
    refused = [r for _, r in got if r[0] != 200]
    assert all(r[:2] == (429, "5") for r in refused)
    assert all(r == alone[q] for q, r in answered)
    if queue >= 7:  # one at work and seven waiting: room for every client
        assert refused == []
    else:
        assert refused and answered


class SlowGenerator(ScriptedGenerator):
    """A model that writes ``words`` words, one every ``pause`` seconds, and records how many
    it wrote and whether its stream was closed before the end."""

    def __init__(self, words: int, pause: float) -> None:
        super().__init__(name="slow")
        self.words, self.pause = words, pause
        self.written = 0
        self.closed = threading.Event()

    def stream(self, messages, max_tokens, decline=None, likelihood=None):
        self.written = 0
        try:
            for _ in range(min(self.words, max_tokens)):
                time.sleep(self.pause)
                self.written += 1
                yield " word"
        except GeneratorExit:
            self.closed.set()
            raise


def test_a_client_that_disconnects_mid_stream_stops_its_generation(settings, embedder, seeds):
    slow = SlowGenerator(words=200, pause=0.05)  # ten seconds of writing
    s = settings.with_(min_relevance=0.05, retrieval="bm25", focus_sentences=6, api_queue=0)
    assistant = Assistant(s, embedder=embedder, generator=slow)
    assistant.ingest([seeds])
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    with serving(build_api(assistant, s)) as url:
        with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=30) as r:
            lines = r.iter_lines()
            assert next(lines).startswith("data: ")  # the assistant's role
            assert next(line for line in lines if line) == ": the model is writing"
        assert slow.closed.wait(5), f"still writing after {slow.written} words"
        assert slow.written < 20  # of 200
        slow.words = 3
        began = time.perf_counter()
        again = httpx.post(f"{url}/v1/chat/completions", json={**body, "stream": False}, timeout=5)
        assert again.status_code == 200 and time.perf_counter() - began < 2  # the gate is free


def test_the_gate_lets_parallel_answers_run_and_queue_more_then_refuses():
    from rag.server import Busy, Gate

    gate = Gate(queue=1, parallel=2)
    inside, release = threading.Semaphore(0), threading.Event()
    most, now, lock = [0], [0], threading.Lock()

    def answer() -> None:
        with gate.turn():
            with lock:
                now[0] += 1
                most[0] = max(most[0], now[0])
            inside.release()
            release.wait(10)
            with lock:
                now[0] -= 1

    threads = [threading.Thread(target=answer) for _ in range(3)]
    for t in threads:
        t.start()
    assert inside.acquire(timeout=5) and inside.acquire(timeout=5)  # two at work
    assert not inside.acquire(timeout=0.2)  # the third waits
    deadline = time.monotonic() + 5
    while gate._waiting < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(Busy), gate.turn():  # two at work, one waiting: the fourth is refused
        pass
    release.set()
    for t in threads:
        t.join(10)
    assert most[0] == 2 and gate._waiting == 0


def test_parallel_requests_to_a_model_server_never_exceed_its_slots():
    """However many threads ask (chat, API, MCP, an answer's checks), at most ``parallel``
    requests are in flight from one process."""
    from rag.generation import OpenAIGenerator

    most, now, lock = [0], [0], threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            now[0] += 1
            most[0] = max(most[0], now[0])
        time.sleep(0.05)
        with lock:
            now[0] -= 1
        events = 'data: {"choices": [{"delta": {"content": "ok"}}]}\n\ndata: [DONE]\n\n'
        return httpx.Response(200, text=events, headers={"content-type": "text/event-stream"})

    model = OpenAIGenerator("http://127.0.0.1:9/v1", "m", 4096, parallel=2)
    model._client = httpx.Client(transport=httpx.MockTransport(handler))
    replies: list[str] = []

    def ask() -> None:
        replies.append("".join(model.stream([{"role": "user", "content": "hi"}], 8)))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert replies == ["ok"] * 6 and most[0] == 2


def test_a_server_on_a_collection_not_made_yet_is_healthy(settings, embedder):
    """``rag serve --collection new``: healthy with no documents, until its first upload."""
    s = settings.with_(collection="not-made-yet")
    assistant = Assistant(s, embedder=embedder)
    with serving(build_api(assistant, s)) as url:
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok", "documents": 0}
