"""The runtime package is the product: it stands alone, imports nothing of the evaluation
package, speaks to users without the history of its making, and installs as a plain package."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from rag.settings import PROJECT_ROOT

RUNTIME = ("rag", "ui")
HISTORY = re.compile(r"session [0-9]|run A[A-Z]\b|issue [0-9]", re.IGNORECASE)


def imported_modules(path: Path) -> set[str]:
    """Every module a Python file imports, relative imports resolved against its package."""
    package = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                found.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                found.add(node.module)
    return found


def test_the_runtime_imports_nothing_from_the_evaluation_package():
    edges = {
        str(path.relative_to(PROJECT_ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] == "rag_eval"
        )
        for package in RUNTIME
        for path in (PROJECT_ROOT / package).rglob("*.py")
    }
    assert len(edges) > 20
    assert {k: v for k, v in edges.items() if v} == {}
    # ... and importing every runtime module loads none of it either.
    modules = [
        ".".join(p.relative_to(PROJECT_ROOT).with_suffix("").parts)
        for package in RUNTIME
        for p in (PROJECT_ROOT / package).glob("*.py")
        if p.stem not in ("__main__", "cli")  # the CLI loads plugins, rag_eval among them
    ]
    code = f"import sys\nfor m in {modules!r}: __import__(m)\nprint([m for m in sys.modules if m.startswith('rag_eval')])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_evaluation_or_benchmark_code_in_the_runtime():
    names = {p.stem for p in (PROJECT_ROOT / "rag").glob("*.py")}
    assert not names & {"evaluation", "benchmarks", "bench", "datasets", "metrics", "eval_cli"}


def test_eval_and_bench_reach_the_cli_as_plugins():
    from click.testing import CliRunner

    from rag.cli import cli

    for command in ("eval", "bench"):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0 and "Usage: cli " + command in result.output


def test_the_product_speaks_to_users_without_its_history():
    places = [
        PROJECT_ROOT / "README.md",
        *(PROJECT_ROOT / d for d in ("docs", "rag", "ui", "prompts")),
    ]
    hits = []
    for place in places:
        files = [place] if place.is_file() else [p for p in place.rglob("*") if p.is_file()]
        for path in files:
            if path.suffix in (".png", ".pyc"):
                continue
            for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if HISTORY.search(line):
                    hits.append(f"{path.relative_to(PROJECT_ROOT)}:{n}: {line.strip()}")
    assert hits == []


@pytest.mark.real
def test_a_plain_install_into_a_new_environment_answers_a_seed_question(tmp_path: Path):
    """``pip install .`` (not editable) into a fresh venv that borrows the installed
    dependencies, then ingest and ask from a folder outside the checkout."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    # The dependencies come from this environment; its own (editable) copy of rag does not:
    # a plain path line in a .pth file adds the folder but runs none of its .pth hooks.
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    source = tmp_path / "source"
    shutil.copytree(
        PROJECT_ROOT, source,
        ignore=shutil.ignore_patterns(".venv", ".git", "test-artifacts", "__pycache__", "*.egg-info", "build"),
    )  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    shutil.rmtree(source)  # nothing may depend on the checkout it was built from

    work = tmp_path / "elsewhere"
    shutil.copytree(PROJECT_ROOT / "seeds", work / "articles")
    env = {**os.environ, "RAG_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"}
    where = subprocess.run(
        [python, "-c", "import rag, rag.settings as s; print(rag.__file__); print(s.PROMPTS)"],
        capture_output=True, text=True, check=True, cwd=work, env=env,
    ).stdout.split()  # fmt: skip
    assert all(p.startswith(str(site)) for p in where), where
    rag = [python, "-m", "rag"]
    subprocess.run([*rag, "ingest", "articles"], check=True, capture_output=True, cwd=work, env=env)
    asked = subprocess.run(
        [*rag, "ask", "--json", "How long did the meeting between Blinken and Lavrov in Geneva last?"],
        capture_output=True, text=True, cwd=work, env=env,
    )  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert "90" in answer["answer"]
    assert answer["citations"] and answer["citations"][0]["source"] == "001_a59af63640988946.txt"
