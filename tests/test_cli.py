"""The command line: help for every command, one-line errors with non-zero exits, and a
start-up that imports nothing heavy."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from rag.cli import cli

COMMANDS = [
    "ingest", "search", "ask", "ui", "serve", "mcp", "docs", "delete", "collections", "models",
    "doctor", "eval", "bench",
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output or "example" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", ""], "Error: The question is empty: ask something about the documents.\n"),
        (["search", "Geneva"], "run `rag ingest seeds/` first."),
        (["ask", "How long was the meeting?"], "run `rag ingest seeds/` first."),
        (
            ["ingest", "/nonexistent/folder"],
            "Error: /nonexistent/folder does not exist: give a file or folder to ingest.\n",
        ),
        (
            ["delete", "nope.txt"],
            "Error: No indexed document is named 'nope.txt': see `rag docs`.\n",
        ),
    ],
)
def test_errors_are_one_line_and_exit_non_zero(args, message):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_bad_setting_is_one_line(monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "lots")
    result = CliRunner().invoke(cli, ["ask", "anything"])
    assert result.exit_code == 1
    assert (
        result.output == "Error: RAG_TOP_K='lots' is not a valid int; unset it or give a number.\n"
    )


def test_import_and_help_load_nothing_heavy():
    code = (
        "import sys, rag, rag.cli\n"
        "from click.testing import CliRunner\n"
        "CliRunner().invoke(rag.cli.cli, ['--help'])\n"
        "heavy = {'torch', 'sentence_transformers', 'llama_cpp', 'chromadb', 'gradio', 'bm25s', 'mcp'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_models_lists_every_preset():
    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 0
    for name in ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "smollm2-135m"):
        assert name in result.output


def test_ingest_json_report_fields(monkeypatch, tmp_path, embedder):
    """--json prints the IngestReport fields (a public contract); models faked for speed."""
    import rag.retrieval

    monkeypatch.setattr(rag.retrieval, "embedder_for", lambda *a, **k: embedder)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Blinken met Lavrov in Geneva on Friday.")
    result = CliRunner().invoke(cli, ["ingest", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report) == {
        "added",
        "updated",
        "unchanged",
        "removed",
        "skipped",
        "notes",
        "chunks",
        "seconds",
    }
    assert report["added"] == ["a.txt"] and report["chunks"] == 1
    hits = json.loads(CliRunner().invoke(cli, ["search", "Geneva", "--json", "-k", "1"]).output)
    assert set(hits[0]) == {
        "source", "chunk_id", "score", "text", "start", "end", "title", "date", "index", "page",
        "section",
    }  # fmt: skip
    assert hits[0]["source"] == "a.txt"


def test_the_progress_bar_never_writes_to_stdout_or_a_pipe(capsys, monkeypatch):
    """A slow ingest (here: clocks two seconds apart) piped to a file prints only its report."""
    import time

    from rag.cli import _progress

    clock = iter([100.0, 102.0, 103.0, 104.0])
    monkeypatch.setattr(time, "monotonic", lambda: next(clock))
    update = _progress()
    update(1, 3, "report.pdf, page 1 of 30")
    update(3, 3, "c.txt")
    out, err = capsys.readouterr()
    assert out == "" and err == ""
