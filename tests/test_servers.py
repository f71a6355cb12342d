"""The two server deployments, against real servers started by the tests on free ports: a
Chroma server holding a shared index (``RAG_CHROMA_URL``) and llama.cpp's OpenAI-compatible
server answering for the model (``RAG_LLM_URL``). Both servers are stopped at the end of the
module. Slow (a few seconds to start each server); CI runs them all.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from rag.assistant import Assistant, load_generator
from rag.cli import cli
from rag.embedding import HashEmbedder
from rag.errors import ModelError, StoreError
from rag.generation import OpenAIGenerator
from rag.models import resolve_model
from rag.records import Answer
from rag.retrieval import Retriever
from rag.settings import PROJECT_ROOT, Settings
from tests.conftest import GENEVA, SEEDS

pytestmark = pytest.mark.real

BIN = Path(sys.executable).parent
SEED_NAMES = sorted(p.name for p in SEEDS.glob("*.txt"))
GENEVA_QUESTION = "How long did the meeting between Blinken and Lavrov in Geneva last?"
GORMAN = "003_c08c91fbef48442b.txt"  # the only seed naming Bart Gorman


# -- starting and stopping servers --------------------------------------------------------
def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(args: list[str], probe: str, log: Path, timeout: float) -> subprocess.Popen[bytes]:
    """Start ``args`` in its own process group and wait until ``GET probe`` answers 200."""
    proc = launch(args, log)
    wait_ready(proc, probe, log, timeout)
    return proc


def launch(
    args: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``args`` started in its own process group with ``env`` added, its output to ``log``."""
    full = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1", **(env or {})}
    with log.open("wb") as out:
        return subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, env=full, start_new_session=True
        )


def wait_ready(proc: subprocess.Popen[bytes], probe: str, log: Path, timeout: float) -> None:
    """Wait until ``GET probe`` answers 200; fail with the end of ``log`` if ``proc`` exits or
    the time runs out (the server stopped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{proc.args[0]} exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(probe, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    stop_server(proc)
    pytest.fail(f"{probe} did not answer within {timeout:.0f} s:\n{log.read_text()[-2000:]}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_chroma(folder: Path) -> tuple[str, subprocess.Popen[bytes]]:
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        str(BIN / "chroma"),
        "run",
        "--path",
        str(folder / "data"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    return url, start_server(args, f"{url}/api/v2/heartbeat", folder / "chroma.log", timeout=60)


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server (``chroma run``) for the whole module; each test uses its own
    collection."""
    url, proc = start_chroma(tmp_path_factory.mktemp("chroma-server"))
    yield url
    stop_server(proc)


@pytest.fixture(scope="module")
def llama_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server with SmolLM2-135M; the URL without ``/v1``."""
    path, _ = resolve_model(Settings.from_env({}, model="smollm2-135m"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        sys.executable, "-m", "rag.model_server", "--model", str(path),
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
    ]  # fmt: skip
    log = tmp_path_factory.mktemp("llama-server") / "llama.log"
    proc = start_server(args, f"{url}/v1/models", log, timeout=120)
    yield url
    stop_server(proc)


def rag(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The installed ``rag`` command, as a user runs it."""
    full = {**os.environ, "HF_HUB_OFFLINE": "1", **env}
    return subprocess.run(
        [str(BIN / "rag"), *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=PROJECT_ROOT,
        timeout=600,
    )


def chunk_total(assistant: Assistant) -> int:
    return sum(d.chunks for d in assistant.documents())


# -- a shared Chroma server ---------------------------------------------------------------
def test_ingest_reingest_update_and_delete_through_a_chroma_server(chroma_url, settings, seeds):
    shared = settings.with_(chroma_url=chroma_url, collection="lifecycle")
    a = Assistant(shared, embedder=HashEmbedder(256))

    first = a.ingest([seeds])
    assert first.added == SEED_NAMES and first.chunks > 0
    assert first.chunks == chunk_total(a)

    second = a.ingest([seeds])
    assert second.unchanged == SEED_NAMES
    assert (second.added, second.updated, second.removed, second.chunks) == (
        [],
        [],
        [],
        first.chunks,
    )

    old = {d.source: d.chunks for d in a.documents()}["004_e63c1b3594661294.txt"]
    (seeds / "004_e63c1b3594661294.txt").write_text(
        "A short replacement article about Geneva talks."
    )
    third = a.ingest([seeds])
    assert third.updated == ["004_e63c1b3594661294.txt"]
    assert third.chunks == first.chunks - old + 1 == chunk_total(a)

    gone = {d.source: d.chunks for d in a.documents()}[GENEVA]
    assert a.delete(GENEVA) == [str((seeds / GENEVA).resolve())]
    # Another client (another machine, say) sees the same index: it lives in the server.
    other = Assistant(shared, embedder=HashEmbedder(256))
    assert [d.source for d in other.documents()] == [n for n in SEED_NAMES if n != GENEVA]
    assert other.ingest([seeds / "000_20cacabebc80833c.txt"]).chunks == third.chunks - gone
    assert not shared.chroma_path.exists()  # nothing was written to the local RAG_HOME


def test_search_through_a_chroma_server_maps_hits_to_exact_offsets(chroma_url, settings, seeds):
    shared = settings.with_(chroma_url=chroma_url, collection="offsets")
    Assistant(shared, embedder=HashEmbedder(256)).ingest([seeds])
    for mode in ("hybrid", "dense", "bm25"):
        hits = Retriever(shared.with_(retrieval=mode), embedder=HashEmbedder(256)).search(
            "Geneva meeting Blinken Lavrov lasted 90 minutes", k=5
        )
        assert len(hits) == 5, mode
        for hit in hits:
            assert (seeds / hit.source).read_text()[hit.start : hit.end] == hit.text, (
                mode,
                hit.chunk_id,
            )
        if mode == "bm25":
            assert hits[0].source == GENEVA


def test_bm25_side_follows_a_delete_made_through_another_client(chroma_url, settings, seeds):
    shared = settings.with_(chroma_url=chroma_url, collection="bm25-sync", retrieval="bm25")
    writer = Assistant(shared, embedder=HashEmbedder(256))
    writer.ingest([seeds])
    reader = Retriever(shared, embedder=HashEmbedder(256))  # keeps its own BM25 index
    query = "Bart Gorman expelled the deputy chief of mission from Moscow Russia"
    assert reader.search(query, k=3)[0].source == GORMAN

    writer.delete(GORMAN)
    for retriever in (reader, writer.retriever, Retriever(shared, embedder=HashEmbedder(256))):
        hits = retriever.search(query, k=50)
        assert hits and all(h.source != GORMAN for h in hits)
    hybrid = Retriever(shared.with_(retrieval="hybrid"), embedder=HashEmbedder(256)).search(
        query, k=50
    )
    assert all(h.source != GORMAN for h in hybrid)


def test_cli_with_the_real_embedder_through_a_chroma_server(chroma_url, tmp_path, real_embedder):
    env = {
        "RAG_HOME": str(tmp_path / "home"),
        "RAG_CHROMA_URL": chroma_url,
        "RAG_COLLECTION": "cli-test",
    }
    first = rag("ingest", str(SEEDS), env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("5 added, 0 updated, 0 unchanged, 0 removed, 0 skipped;")
    again = json.loads(rag("ingest", str(SEEDS), "--json", env=env).stdout)
    assert again["unchanged"] == SEED_NAMES and not (
        again["added"] or again["updated"] or again["removed"]
    )

    result = rag("search", "How long did the Geneva meeting last?", "--json", env=env)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert GENEVA in [h["source"] for h in hits[:3]]
    for h in hits:
        assert (SEEDS / h["source"]).read_text()[h["start"] : h["end"]] == h["text"]
    # The library, given the same server and collection, sees what the CLI wrote.
    shared = Settings.from_env(
        {}, home=tmp_path / "elsewhere", chroma_url=chroma_url, collection="cli-test"
    )
    documents = Assistant(shared, embedder=real_embedder).documents()
    assert [d.source for d in documents] == SEED_NAMES
    assert sum(d.chunks for d in documents) == again["chunks"]
    assert not (tmp_path / "home" / "chroma").exists()


@pytest.mark.parametrize("command", [["search", "Geneva"], ["ingest", str(SEEDS)]])
def test_cli_with_no_chroma_server_listening_is_a_one_line_error(command, tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    result = rag(*command, env={"RAG_HOME": str(tmp_path / "home"), "RAG_CHROMA_URL": url})
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: Cannot reach the Chroma server at {url} (Could not connect to a Chroma server. "
        "Are you sure it is running?): start it with `chroma run` or fix RAG_CHROMA_URL.\n"
    )


@pytest.mark.parametrize("url", ["ftp://somewhere:8000", "http://", "localhost:8000"])
def test_malformed_chroma_url_is_a_store_error(url, settings, embedder):
    with pytest.raises(StoreError, match="is not an http\\(s\\)://host:port URL"):
        Assistant(settings.with_(chroma_url=url), embedder=embedder).documents()


@pytest.fixture
def other_web_server(tmp_path: Path) -> Iterator[str]:
    """Some other web server (Python's http.server), as on a mistyped port: it answers 404
    to GET and 501 to POST, with a multi-line HTML page."""
    folder = tmp_path / "www"
    folder.mkdir()
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "http.server",
        str(port),
        "--bind",
        "127.0.0.1",
        "--directory",
        str(folder),
    ]
    proc = start_server(args, f"http://127.0.0.1:{port}/", tmp_path / "www.log", timeout=30)
    yield f"http://127.0.0.1:{port}"
    stop_server(proc)


def test_chroma_url_pointing_at_another_web_server_is_a_one_line_store_error(
    other_web_server, settings, embedder
):
    with pytest.raises(StoreError) as caught:
        Assistant(settings.with_(chroma_url=other_web_server), embedder=embedder).documents()
    assert str(caught.value).startswith(f"Cannot reach the Chroma server at {other_web_server} (")
    assert "\n" not in str(caught.value)


def test_llm_url_pointing_at_another_web_server_is_a_one_line_model_error(other_web_server):
    generator = OpenAIGenerator(f"{other_web_server}/v1", "smollm2-135m", 2048)
    with pytest.raises(ModelError) as caught:
        list(generator.stream([{"role": "user", "content": "Hello"}], 8))
    assert str(caught.value).startswith(
        f"The model server at {other_web_server}/v1/chat/completions answered 501"
    )
    assert "\n" not in str(caught.value)


def test_a_chroma_server_that_goes_away_mid_session_is_a_store_error(settings, seeds, tmp_path):
    url, proc = start_chroma(tmp_path / "short-lived")
    try:
        a = Assistant(
            settings.with_(chroma_url=url, collection="goes-away"), embedder=HashEmbedder(256)
        )
        a.ingest([seeds])
    finally:
        stop_server(proc)
    with pytest.raises(StoreError, match="Chroma at"):
        a.retriever.search("Geneva", k=3)


# -- a remote model through llama.cpp's OpenAI-compatible server ---------------------------
def test_remote_model_streams_an_answer(llama_url, settings, seeds, real_embedder):
    remote = settings.with_(llm_url=f"{llama_url}/v1", model="smollm2-135m", n_ctx=2048)
    a = Assistant(remote, embedder=real_embedder)
    a.ingest([seeds])
    pieces = list(a.stream(GENEVA_QUESTION))
    *texts, answer = pieces
    assert isinstance(a.generator, OpenAIGenerator)
    assert isinstance(answer, Answer)
    assert len(texts) > 1 and all(isinstance(t, str) for t in texts)
    assert "".join(texts).strip()
    assert answer.model == "smollm2-135m"
    assert GENEVA in [h.source for h in answer.passages]
    assert answer.timings_ms["first_token"] <= answer.timings_ms["total"]


def test_remote_model_judges_yes_or_no_from_its_top_log_probabilities(llama_url):
    """``yes_probability`` over HTTP reads the first token's top log-probabilities, as the
    in-process model reads its logits: a number between 0 and 1, the same when asked again."""
    generator = OpenAIGenerator(f"{llama_url}/v1", "smollm2-135m", 2048)
    messages = [{"role": "user", "content": "Is Paris in France? Reply yes or no."}]
    said = generator.yes_probability(messages)
    assert said is not None and 0.0 < said <= 1.0
    assert generator.yes_probability(messages) == said


def test_cli_ask_through_the_remote_model(llama_url, tmp_path):
    env = {
        "RAG_HOME": str(tmp_path / "home"),
        "RAG_LLM_URL": f"{llama_url}/v1",
        "RAG_MODEL": "smollm2-135m",
        "RAG_N_CTX": "2048",
    }
    assert rag("ingest", str(SEEDS), env=env).returncode == 0
    result = rag("ask", "--json", GENEVA_QUESTION, env=env)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["model"] == "smollm2-135m"
    assert GENEVA in [p["source"] for p in answer["passages"]]


def test_model_server_url_without_v1_is_a_one_line_model_error(llama_url):
    generator = OpenAIGenerator(llama_url, "smollm2-135m", 2048)  # forgot the /v1
    with pytest.raises(ModelError) as caught:
        list(generator.stream([{"role": "user", "content": "Hello"}], 8))
    message = str(caught.value)
    assert message.startswith(f"The model server at {llama_url}/chat/completions answered 404")
    assert message.endswith('{"detail":"Not Found"}') and "\n" not in message


def test_no_model_server_listening_is_a_one_line_model_error(
    settings, seeds, embedder, monkeypatch
):
    url = f"http://127.0.0.1:{free_port()}/v1"
    expected = (
        f"Cannot reach the model server at {url}/chat/completions ([Errno 111] Connection refused): "
        "check RAG_LLM_URL."
    )
    # BM25 and a low gate so that the hash embedder gets past retrieval to the model.
    remote = settings.with_(llm_url=url, model="smollm2-135m", retrieval="bm25", min_relevance=0.05)
    a = Assistant(remote, embedder=embedder)
    a.ingest([seeds])
    with pytest.raises(ModelError) as caught:
        a.ask(GENEVA_QUESTION)
    assert str(caught.value) == expected

    import rag.retrieval

    monkeypatch.setattr(rag.retrieval, "embedder_for", lambda *a, **k: embedder)
    for name, value in (
        ("RAG_LLM_URL", url),
        ("RAG_RETRIEVAL", "bm25"),
        ("RAG_MIN_RELEVANCE", "0.05"),
    ):
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["ask", GENEVA_QUESTION])
    assert result.exit_code == 1
    assert result.output == f"Error: {expected}\n"


def test_chroma_and_model_servers_together(chroma_url, llama_url, settings, seeds, real_embedder):
    """Both remote: the index in the Chroma server, the model behind llama.cpp's server."""
    both = settings.with_(
        chroma_url=chroma_url,
        collection="both-remote",
        llm_url=f"{llama_url}/v1",
        model="smollm2-135m",
        n_ctx=2048,
    )
    Assistant(both, embedder=real_embedder).ingest([seeds])
    answer = Assistant(both, embedder=real_embedder).ask(GENEVA_QUESTION)
    assert answer.model == "smollm2-135m"
    assert GENEVA in [h.source for h in answer.passages]
    assert not both.chroma_path.exists()


def test_model_server_with_an_api_key(tmp_path):
    """``--api_key`` on the server, ``RAG_LLM_API_KEY`` on the client; a wrong key is one line."""
    path, _ = resolve_model(Settings.from_env({}, model="smollm2-135m"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        sys.executable, "-m", "rag.model_server", "--model", str(path), "--host", "127.0.0.1",
        "--port", str(port), "--n_ctx", "2048", "--api_key", "s3cret",
    ]  # fmt: skip
    # /v1/models needs the key too, so wait for the health-free docs page instead.
    proc = start_server(args, f"{url}/docs", tmp_path / "llama.log", timeout=120)
    try:
        env = {"RAG_LLM_URL": f"{url}/v1", "RAG_LLM_API_KEY": "s3cret", "RAG_MODEL": "smollm2-135m"}
        good = load_generator(Settings.from_env(env))
        assert isinstance(good, OpenAIGenerator)
        assert "".join(good.stream([{"role": "user", "content": "Say hello."}], 8)).strip()
        bad = OpenAIGenerator(f"{url}/v1", "smollm2-135m", 2048, api_key="wrong")
        with pytest.raises(ModelError) as caught:
            list(bad.stream([{"role": "user", "content": "Say hello."}], 8))
    finally:
        stop_server(proc)
    assert str(caught.value) == (
        f'The model server at {url}/v1/chat/completions answered 401: {{"detail":"Invalid API key"}}'
    )


# -- replicas: two `rag serve` over one Chroma server and one batching model server ------------
@pytest.fixture(scope="module")
def batching_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama.cpp's own llama-server (``rag model-server``) with the default model and 2
    slots; the URL ends in ``/v1``."""
    from rag.model_server import start

    settings = Settings.from_env({}, model="qwen2.5-coder-1.5b", n_ctx=4096, threads=2)
    log = tmp_path_factory.mktemp("batching") / "llama-server.log"
    with start(settings, parallel=2, port=free_port(), log=log) as server:
        yield server.url


def start_serve(env: dict[str, str], home: Path, log: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """``rag serve`` on a free port of 127.0.0.1 with ``env`` over ``home``; its URL and
    process (wait for it with ``wait_ready`` on ``/healthz``)."""
    port = free_port()
    args = [str(BIN / "rag"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return f"http://127.0.0.1:{port}", launch(args, log, {**env, "RAG_HOME": str(home)})


def test_two_replicas_share_one_index_and_one_model_server(
    chroma_url, batching_url, tmp_path, real_embedder
):
    """A document uploaded through one replica is answered from through the other, with the
    official openai client; deleted through the other, it is gone from both."""
    from openai import OpenAI

    env = {
        "RAG_CHROMA_URL": chroma_url,
        "RAG_LLM_URL": batching_url,
        "RAG_MODEL": "qwen2.5-coder-1.5b",
        "RAG_N_CTX": "4096",
        "RAG_PARALLEL": "2",
        "RAG_COLLECTION": "replicas",
        "ANONYMIZED_TELEMETRY": "False",
        "HF_HUB_OFFLINE": "1",
    }
    replicas, urls = [], []
    for name in ("a", "b"):
        url, proc = start_serve(env, tmp_path / name, tmp_path / f"serve-{name}.log")
        replicas.append(proc)
        urls.append(url)
    try:
        for name, url, proc in zip("ab", urls, replicas, strict=True):
            wait_ready(proc, f"{url}/healthz", tmp_path / f"serve-{name}.log", 120)
        a, b = urls
        note = tmp_path / "zorblat.txt"
        note.write_text(
            "Zorblat festival\n\nThe Zorblat festival, a celebration of fictional board games, "
            "was held in Tallinn on 3 May. About 4,000 visitors attended.\n"
        )
        with note.open("rb") as handle:
            r = httpx.post(
                f"{a}/v1/documents", files={"file": ("zorblat.txt", handle)}, timeout=300
            )
        assert r.status_code == 200, r.text

        listed = httpx.get(f"{b}/v1/documents", timeout=30).json()["documents"]
        assert [d["source"] for d in listed] == ["zorblat.txt"]
        found = httpx.post(f"{b}/v1/search", json={"query": "Zorblat festival"}, timeout=60)
        assert found.json()["hits"][0]["source"] == "zorblat.txt"
        client = OpenAI(base_url=f"{b}/v1", api_key="unused", timeout=300)
        reply = client.chat.completions.create(
            model="qwen2.5-coder-1.5b",
            messages=[{"role": "user", "content": "Where was the Zorblat festival held?"}],
        )
        assert "Tallinn" in (reply.choices[0].message.content or "")
        cited = [c["source"] for c in reply.model_extra["rag"]["citations"]]
        assert cited == ["zorblat.txt"]

        assert httpx.delete(f"{b}/v1/documents/zorblat.txt", timeout=60).status_code == 200
        for url in (a, b):
            assert httpx.get(f"{url}/v1/documents", timeout=30).json()["documents"] == []
            hits = httpx.post(f"{url}/v1/search", json={"query": "Zorblat festival"}, timeout=60)
            assert "zorblat.txt" not in hits.text
    finally:
        for proc in replicas:
            stop_server(proc)
    for name in ("a", "b"):
        assert "Traceback" not in (tmp_path / f"serve-{name}.log").read_text()


def test_eight_clients_at_once_over_two_slots_are_each_answered_or_refused_none_lost(
    batching_url, tmp_path
):
    """`rag serve` with ``RAG_PARALLEL=2`` over the 2-slot server and a queue of 2: eight
    requests sent at once through the official openai client (no retries) each end as a
    cited answer or a 429 with Retry-After; two are written at once, two wait, the rest are
    refused, and none is lost or fails."""
    import threading

    import openai

    home = tmp_path / "home"
    env = {
        "RAG_LLM_URL": batching_url,
        "RAG_MODEL": "qwen2.5-coder-1.5b",
        "RAG_N_CTX": "4096",
        "RAG_PARALLEL": "2",
        "RAG_API_QUEUE": "2",
        "ANONYMIZED_TELEMETRY": "False",
        "HF_HUB_OFFLINE": "1",
    }
    ingested = rag("ingest", str(SEEDS), env={**env, "RAG_HOME": str(home)})
    assert ingested.returncode == 0, ingested.stderr
    url, proc = start_serve(env, home, tmp_path / "serve.log")
    got: dict[int, tuple[object, ...]] = {}
    try:
        wait_ready(proc, f"{url}/healthz", tmp_path / "serve.log", 120)
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=600)
        start = threading.Barrier(8)

        def ask(n: int) -> None:
            start.wait()
            try:
                reply = client.chat.completions.create(
                    model="qwen2.5-coder-1.5b",
                    messages=[{"role": "user", "content": GENEVA_QUESTION}],
                )
                cited = [c["source"] for c in reply.model_extra["rag"]["citations"]]
                got[n] = (200, reply.choices[0].message.content or "", cited)
            except openai.RateLimitError as exc:
                got[n] = (429, exc.response.headers.get("retry-after"))
            except Exception as exc:  # a lost or failed request: counted, then reported
                got[n] = (repr(exc),)

        threads = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        stop_server(proc)
    assert sorted(got) == list(range(8))  # none lost
    answered = [g for g in got.values() if g[0] == 200]
    refused = [g for g in got.values() if g[0] == 429]
    assert len(answered) + len(refused) == 8, got  # none failed
    assert len(answered) >= 4 and refused, got  # 2 written at once + 2 queued; the rest refused
    for _, text, cited in answered:
        assert "90" in text and GENEVA in cited
    assert all(retry and int(retry) > 0 for _, retry in refused)
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
