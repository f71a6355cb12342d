"""``rag model-server``: llama.cpp's own server (``llama-server``), built by the set-up from the
library's source and flags. The command line and the one-line errors are checked with fake
binaries; the tests marked ``real`` start the installed server with SmolLM2-135M on 127.0.0.1
and talk to it with the official OpenAI client and with the project's remote-model path."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from rag.assistant import load_generator
from rag.cli import cli
from rag.errors import ModelError, SettingsError
from rag.generation import Likelihood, OpenAIGenerator
from rag.llama_build import BUILD_RECORD
from rag.model_server import (
    REBUILD_SERVER,
    SERVER_DIR,
    ModelServer,
    command,
    environment,
    free_port,
    installed_differences,
    server_record,
    start,
)
from rag.settings import PROJECT_ROOT, Settings

SMALL = "smollm2-135m"


# -- the command line ---------------------------------------------------------------------
def test_the_command_serves_parallel_slots_of_one_answers_context_on_127_0_0_1():
    settings = Settings(threads=2, n_ctx=4096, seed=0)
    args = command(Path("/m/q.gguf"), "q", settings, parallel=4, port=9000, binary=Path("/b/s"))
    assert args == [
        "/b/s", "--model", "/m/q.gguf", "--alias", "q", "--host", "127.0.0.1", "--port", "9000",
        "--parallel", "4", "--cont-batching", "--ctx-size", "16384", "--threads", "2",
        "--threads-batch", "2", "--batch-size", "512", "--flash-attn", "on", "--seed", "0",
        "--no-webui", "--offline",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("parallel", "n_ctx", "total"), [(1, 4096, 4096), (2, 2048, 4096), (8, 4096, 32768)]
)
def test_the_context_is_n_ctx_per_slot(parallel: int, n_ctx: int, total: int):
    args = command(Path("m.gguf"), "m", Settings(n_ctx=n_ctx), parallel=parallel)
    assert args[args.index("--ctx-size") + 1] == str(total)
    assert args[args.index("--parallel") + 1] == str(parallel)


def test_threads_come_from_the_settings():
    args = command(Path("m.gguf"), "m", Settings(threads=3))
    assert args[args.index("--threads") + 1] == args[args.index("--threads-batch") + 1] == "3"
    all_cores = command(Path("m.gguf"), "m", Settings(threads=0))
    assert all_cores[all_cores.index("--threads") + 1] == str(os.cpu_count())


def test_the_api_key_goes_through_the_environment_not_the_command_line():
    settings = Settings(llm_api_key="s3cret")
    assert environment(settings) == {"LLAMA_API_KEY": "s3cret"}
    assert "s3cret" not in " ".join(command(Path("m.gguf"), "m", settings))
    assert environment(Settings()) == {}


@pytest.mark.parametrize("parallel", [0, -1, 65])
def test_a_bad_number_of_slots_is_a_one_line_settings_error(parallel: int):
    with pytest.raises(
        SettingsError, match=rf"^--parallel {parallel}: give between 1 and 64 slots\.$"
    ):
        start(Settings(), parallel=parallel)


def test_another_address_without_an_api_key_is_refused(tmp_path):
    with pytest.raises(SettingsError) as caught:
        start(Settings(), host="0.0.0.0", binary=tmp_path / "llama-server")
    assert str(caught.value) == (
        "Refusing to serve the model on 0.0.0.0 without an API key: set RAG_LLM_API_KEY "
        "(clients send the same), or bind 127.0.0.1."
    )


def test_a_missing_server_says_what_to_run(tmp_path):
    with pytest.raises(ModelError) as caught:
        start(Settings(), binary=tmp_path / "llama-server")
    assert str(caught.value) == (
        f"llama-server is not installed at {tmp_path / 'llama-server'}: run `{REBUILD_SERVER}` "
        "(part of `make setup`)."
    )


# -- a server that dies is one line (fake binaries) ---------------------------------------
@pytest.fixture
def fake_model(tmp_path: Path) -> Settings:
    model = tmp_path / "fake.gguf"
    model.write_bytes(b"GGUF" + bytes(60))
    return Settings(model=str(model), threads=1)


def fake_server(tmp_path: Path, script: str) -> Path:
    binary = tmp_path / "bin" / "llama-server"
    binary.parent.mkdir()
    binary.write_text(f"#!/bin/sh\n{script}\n")
    binary.chmod(0o755)
    return binary


def test_a_server_that_crashes_names_the_signal_the_cpu_and_the_build(tmp_path, fake_model):
    binary = fake_server(tmp_path, "kill -ILL $$")
    with pytest.raises(ModelError) as caught:
        start(fake_model, port=free_port(), log=tmp_path / "log", binary=binary)
    message = str(caught.value)
    assert message.startswith("llama-server crashed (SIGILL) loading fake on this machine: CPU ")
    assert "llama.cpp build " in message and "\n" not in message
    assert message.endswith(
        f"Rebuild it with `{REBUILD_SERVER}`, then run `rag model-server --check`."
    )


def test_a_server_that_exits_gives_the_last_line_of_its_log(tmp_path, fake_model):
    binary = fake_server(
        tmp_path, "echo 'loading...'; echo 'error: failed to load model' >&2; exit 1"
    )
    with pytest.raises(ModelError) as caught:
        start(fake_model, port=free_port(), log=tmp_path / "log", binary=binary)
    assert (
        str(caught.value)
        == "llama-server exited (status 1) loading fake: error: failed to load model"
    )


def test_a_server_that_never_gets_ready_is_stopped(tmp_path, fake_model):
    binary = fake_server(tmp_path, "echo 'still loading'; exec sleep 60")
    began = time.monotonic()
    with pytest.raises(ModelError) as caught:
        start(fake_model, port=free_port(), log=tmp_path / "log", binary=binary, timeout=1.0)
    assert time.monotonic() - began < 15
    assert str(caught.value) == (
        "llama-server did not get fake ready within 1 s (still loading): "
        "run `rag model-server --check` when the machine is idle."
    )


def test_installed_differences_name_each_file(tmp_path):
    (tmp_path / "same.so").write_bytes(b"a")
    (tmp_path / "changed.so").write_bytes(b"b")
    (tmp_path / "extra.so").write_bytes(b"c")
    sha_a = hashlib.sha256(b"a").hexdigest()
    record = {"files": {"same.so": sha_a, "changed.so": sha_a, "gone.so": sha_a}}
    assert installed_differences(record, tmp_path) == [
        "changed.so changed", "extra.so not recorded", "gone.so missing",
    ]  # fmt: skip
    assert installed_differences({"files": {"same.so": sha_a}}, tmp_path / "nowhere") == [
        "same.so missing"
    ]


# -- the build the set-up installed -------------------------------------------------------
def test_the_installed_binary_and_libraries_are_the_recorded_build():
    record = server_record()
    assert "files" in record, record
    assert installed_differences(record) == []
    library = json.loads(BUILD_RECORD.read_text())
    # The library's version, variant and flags; no HTTPS client, no web UI, no AMX, not native.
    assert (record["version"], record["variant"]) == (library["version"], library["variant"])
    assert record["cmake_args"] == library["cmake_args"].replace("-DLLAVA_BUILD=OFF", "").strip()
    for flag in ("-DLLAMA_CURL=OFF", "-DLLAMA_OPENSSL=OFF", "-DLLAMA_USE_PREBUILT_UI=OFF"):
        assert flag in record["server_cmake_args"].split()
    if record["variant"] != "native":
        assert "-DGGML_NATIVE=OFF" in record["cmake_args"].split()
    variants = sorted(name for name in record["files"] if name.startswith("libggml-cpu-"))
    if record["variant"] == "dispatch":
        # The same CPU variants as the library's wheel: AMX's sapphirerapids left out of both.
        assert variants == sorted(n for n in library["libraries"] if n.startswith("libggml-cpu-"))
        assert "libggml-cpu-haswell.so" in variants
        assert not [v for v in variants if "sapphirerapids" in v]
    # Every library the binary needs from the build is found next to it ($ORIGIN rpath).
    ldd = subprocess.run(
        ["ldd", str(SERVER_DIR / "llama-server")], capture_output=True, text=True, check=True
    ).stdout
    ours = [line.split() for line in ldd.splitlines() if "libllama" in line or "libggml" in line]
    assert ours and all(words[2].startswith(str(SERVER_DIR)) for words in ours), ldd
    assert "not found" not in ldd


# -- the real server ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def two_slots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelServer]:
    """The installed llama-server with SmolLM2-135M, 2 slots of 2048 tokens, on 127.0.0.1."""
    settings = Settings.from_env({}, model=SMALL, n_ctx=2048, threads=2)
    log = tmp_path_factory.mktemp("llama-server") / "llama-server.log"
    with start(settings, parallel=2, port=free_port(), log=log, timeout=300) as server:
        yield server


@pytest.mark.real
def test_two_slots_answer_four_requests_sent_at_once(two_slots):
    from openai import OpenAI

    root = two_slots.url.removesuffix("/v1")
    slots = httpx.get(f"{root}/slots", timeout=10).json()
    assert [slot["n_ctx"] for slot in slots] == [2048, 2048]
    client = OpenAI(base_url=two_slots.url, api_key="unused", max_retries=0, timeout=300)
    questions = [f"Name a colour. ({n})" for n in range(4)]

    def ask(question: str):
        return client.chat.completions.create(
            model=SMALL,
            messages=[{"role": "user", "content": question}],
            max_tokens=16,
            temperature=0,
        )

    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(ask, questions))
    assert len(replies) == 4
    for reply in replies:
        assert reply.choices[0].message.content.strip()
        assert reply.choices[0].finish_reason in ("stop", "length")
        assert reply.usage.completion_tokens > 0


@pytest.mark.real
def test_the_projects_remote_model_path_gets_a_reply(two_slots):
    generator = load_generator(
        Settings.from_env({"RAG_LLM_URL": two_slots.url, "RAG_MODEL": SMALL})
    )
    assert isinstance(generator, OpenAIGenerator)
    likelihood = Likelihood()
    text = "".join(
        generator.stream([{"role": "user", "content": "Say hello."}], 8, likelihood=likelihood)
    )
    assert text.strip()
    assert likelihood.tokens and all(0.0 < p <= 1.0 for p in likelihood.tokens)
    yes = generator.yes_probability(
        [{"role": "user", "content": "Is Paris in France? Answer yes or no."}]
    )
    assert yes is not None and 0.0 <= yes <= 1.0


@pytest.mark.real
def test_check_proves_the_server_on_this_cpu():
    result = CliRunner().invoke(cli, ["model-server", "--check", "--model", SMALL])
    assert result.exit_code == 0, result.output
    line = result.output.strip()
    assert line.startswith(f"llama-server works on this CPU: {SMALL} wrote "), line
    if server_record().get("variant") == "dispatch":
        assert "CPU backend built in" not in line  # a variant was picked from the folder


@pytest.mark.real
def test_rag_model_server_serves_until_ctrl_c(tmp_path):
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAG_N_CTX": "1024"}
    rag = Path(sys.executable).parent / "rag"
    args = [str(rag), "model-server", "--model", SMALL, "--parallel", "2", "--port", str(port)]
    with (tmp_path / "err").open("wb") as err:
        proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            cwd=PROJECT_ROOT,
            start_new_session=True,
        )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().decode()
        url = f"http://127.0.0.1:{port}/v1"
        assert first == f"Serving {SMALL} with 2 slots at {url}\n", (tmp_path / "err").read_text()
        assert proc.stdout.readline().decode() == (
            f"Clients: RAG_LLM_URL={url} RAG_MODEL={SMALL}; Ctrl-C stops it.\n"
        )
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert (tmp_path / "err").read_text().strip().endswith("Stopped the model server.")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)


@pytest.mark.real
def test_a_server_whose_starter_is_killed_stops_too(tmp_path):
    """The process that started llama-server dies by SIGKILL (no clean-up runs): the server
    gets SIGTERM from the kernel and is gone, not left holding its port and the CPU."""
    code = (
        "import sys; from rag.settings import Settings; from rag.model_server import start; "
        "s = Settings.from_env({}, model='smollm2-135m', n_ctx=1024); "
        "server = start(s, parallel=1, port=int(sys.argv[1]), log=None); "
        "print(server.process.pid, flush=True); import time; time.sleep(600)"
    )
    from rag.model_server import free_port

    starter = subprocess.Popen(
        [sys.executable, "-c", code, str(free_port())], stdout=subprocess.PIPE, text=True
    )
    assert starter.stdout is not None
    server_pid = int(starter.stdout.readline())
    os.kill(starter.pid, signal.SIGKILL)
    starter.wait(10)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(server_pid, 0)
        except ProcessLookupError:
            return
        with open(f"/proc/{server_pid}/stat") as stat:  # a zombie of a dead parent counts as gone
            if stat.read().split(")")[-1].split()[0] == "Z":
                return
        time.sleep(0.2)
    os.kill(server_pid, signal.SIGKILL)
    pytest.fail("llama-server outlived the process that started it")
