"""It works the first time: native crashes reported in words, the set-up's probe of llama.cpp,
and the parts opened safely from many threads at once (the UI's warm-up, a question typed the
moment the page appears, an upload)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag import llama_build
from rag.assistant import Assistant
from rag.cli import cli
from rag.crash import describe_crash, run_guarded
from rag.embedding import HashEmbedder
from rag.errors import ModelError
from rag.generation import ScriptedGenerator
from rag.retrieval import Retriever
from rag.settings import Settings

RAG = str(Path(sys.executable).parent / "rag")
SEGFAULT = "import ctypes; ctypes.string_at(0)"


# -- a crash inside native code -----------------------------------------------------------
def test_a_child_killed_by_a_segfault_becomes_one_line_naming_the_library(tmp_path, capfd):
    # A stand-in for the llama_cpp package whose call faults, as a miscompiled kernel does.
    package = tmp_path / "llama_cpp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "llama.py").write_text(f"def decode():\n    {SEGFAULT}\n")
    code = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); from rag.crash import enable_in_child; "
        "enable_in_child(); from llama_cpp.llama import decode; decode()"
    )
    status = run_guarded([sys.executable, "-c", code])
    err = capfd.readouterr().err.strip().splitlines()
    assert status == 139
    assert len(err) == 1, err
    assert err[0].startswith(
        "rag: crashed in native code (Segmentation fault, signal 11) inside llama.cpp "
        "(llama-cpp-python), called from llama_cpp/llama.py line 2 in decode."
    )
    assert "run `rag doctor`" in err[0]
    stack = Path(err[0].rsplit(" ", 1)[-1])
    assert "Segmentation fault" in stack.read_text()


def test_the_rag_command_reports_its_own_exit_status_and_output_unchanged(tmp_path):
    result = subprocess.run([RAG, "search", "Geneva"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: No index in ")


def test_a_fault_with_no_python_frame_in_a_known_library_still_points_at_doctor():
    line = describe_crash(4, "Fatal Python error: Illegal instruction\n\nCurrent thread 0x1:\n")
    assert line.startswith("rag: crashed in native code (Illegal instruction, signal 4).")
    assert "llama.cpp build may not suit this CPU: run `rag doctor`" in line


# -- the set-up's probe -------------------------------------------------------------------
@pytest.fixture
def fake_model(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF")
    monkeypatch.setenv("RAG_MODEL", str(path))
    return path


def test_a_probe_child_killed_by_sigsegv_fails_the_setup_step_with_one_line(
    fake_model, monkeypatch
):
    """``make setup`` ends with ``rag doctor --probe``; a build that faults must stop it there."""
    real_run = subprocess.run

    def crashing_child(command, **kwargs):
        assert command[1:3] == ["-m", "rag.llama_build"]  # the probe's own child ...
        return real_run([sys.executable, "-c", SEGFAULT], **kwargs)  # ... dies of a real SIGSEGV

    monkeypatch.setattr(llama_build.subprocess, "run", crashing_child)
    result = CliRunner().invoke(cli, ["doctor", "--probe"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: llama.cpp crashed (SIGSEGV) loading model and generating")
    cpu = llama_build.cpu()["model"]
    assert f"CPU {cpu}" in lines[0]
    assert "llama.cpp build" in lines[0] and "`make llama`" in lines[0]


def test_probe_result_reads_the_childs_report_and_names_other_failures():
    report = {"ok": True, "model": "m.gguf", "reply": "OK", "seconds": 1.0, "features": "AVX2"}
    assert llama_build.probe_result(0, "noise\n" + json.dumps(report), "", "m") == report
    with pytest.raises(ModelError, match=r"probe of m failed \(exit 1\): ValueError: bad file"):
        llama_build.probe_result(1, "", "Traceback ...\nValueError: bad file", "m")
    with pytest.raises(ModelError, match=r"crashed \(SIGILL\)"):
        llama_build.probe_result(-4, "", "", "m")


@pytest.mark.real
def test_the_probe_runs_the_installed_build_and_doctor_reports_it():
    settings = Settings.from_env({}, model="smollm2-135m")
    result = llama_build.probe(settings)
    assert result["ok"] and result["reply"].strip()
    assert "AVX" in result["features"].split() or "SSE3" in result["features"].split()
    assert "AMX_INT8" not in result["features"].split()  # never shipped: faults where not granted
    record = llama_build.build_record()
    assert record.get("variant") == "dispatch", record
    assert "-DGGML_NATIVE=OFF" in record["cmake_args"]
    assert llama_build.installed_matches(record).startswith("yes")


# -- opening the parts from many threads at once --------------------------------------------
def test_the_store_opens_from_eight_threads_at_once(settings: Settings, seeds: Path):
    """The real embedded Chroma, opened for reading and writing by eight threads together."""
    from chromadb.api.shared_system_client import SharedSystemClient

    embedder = HashEmbedder(dim=64)
    Assistant(settings, embedder=embedder, generator=ScriptedGenerator("x")).ingest([seeds])
    SharedSystemClient.clear_system_cache()  # as in a process that has not opened it yet
    fresh = [
        Assistant(settings, embedder=embedder, generator=ScriptedGenerator("x")) for _ in range(2)
    ]
    retrievers = [Retriever(settings, embedder=embedder) for _ in range(3)]
    start = threading.Barrier(8)
    results: list[object] = []
    errors: list[BaseException] = []

    def run(job) -> None:
        start.wait()
        try:
            results.append(job())
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    jobs = [
        *(lambda a=a: len(a.documents()) for a in fresh),
        *(lambda r=r: r.store.count() for r in retrievers),
        lambda: len(fresh[0].retriever.search("Geneva meeting", k=3)),
        lambda: fresh[1].retriever.store.count(),
        lambda: Retriever(settings, embedder=embedder).store.count(),
    ]
    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    chunks = Retriever(settings, embedder=embedder).store.count()
    assert sorted(results) == sorted([5, 5, chunks, chunks, chunks, 3, chunks, chunks])


def test_a_retriever_opens_its_store_once_however_many_threads_ask(settings, seeds):
    embedder = HashEmbedder(dim=64)
    Assistant(settings, embedder=embedder, generator=ScriptedGenerator("x")).ingest([seeds])
    retriever = Retriever(settings, embedder=embedder)
    start = threading.Barrier(8)
    stores: list[object] = []

    def run() -> None:
        start.wait()
        stores.append(retriever.store)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(stores) == 8 and len({id(s) for s in stores}) == 1
