"""The README is short and everything it shows works: its links and the docs pages' links
resolve, its `rag` command lines are real commands with real flags, its `make` targets exist
and its Python compiles. Nothing here loads a model."""

from __future__ import annotations

import json
import re
import shlex
import unicodedata
from functools import cache
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.settings import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
DOCS = sorted((PROJECT_ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]

FENCE = re.compile(r"^(`{3,}|~{3,})([^\n`]*)\n(.*?)^\1[ \t]*$", re.M | re.S)
INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.S)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")


def name(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT))


def code_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block."""
    return [(m.group(2).strip().lower(), m.group(3)) for m in FENCE.finditer(text)]


def prose(text: str) -> str:
    """The text outside fenced code blocks and inline code."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: formatting and punctuation dropped, spaces to hyphens."""
    heading = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    heading = heading.replace("`", "").strip().lower()
    kept = "".join(c for c in heading if c in " -_" or unicodedata.category(c)[0] in "LNM")
    return kept.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    text = FENCE.sub("", path.read_text())
    seen: dict[str, int] = {}
    found = set(HTML_ANCHOR.findall(text))
    for match in HEADING.finditer(text):
        base = slug(match.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return frozenset(found)


def links(path: Path) -> list[str]:
    return LINK.findall(prose(path.read_text()))


def test_the_readme_is_short():
    lines = README.read_text().splitlines()
    assert len(lines) < 150, len(lines)


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_every_relative_link_resolves(page: Path):
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto: ...
            continue
        file, _, anchor = target.partition("#")
        resolved = (page.parent / file).resolve() if file else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading #{anchor} in {name(resolved)}")
    assert broken == []


def test_the_readme_links_every_docs_page():
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in links(README)}
    assert [name(p) for p in DOCS if p.resolve() not in linked] == []
    assert (PROJECT_ROOT / "docs" / "screenshot.png").resolve() in linked


def shown_lines(text: str) -> list[str]:
    """Every line of the README's code blocks and inline code, continuations joined and a
    console's `$ ` prompt removed."""
    pieces = [body for _, body in code_blocks(text)]
    pieces += [m.group(2) for m in INLINE_CODE.finditer(FENCE.sub("", text))]
    found = []
    for piece in pieces:
        for line in re.sub(r"\\\n\s*", " ", piece).splitlines():
            line = line.strip()
            found.append(line[2:] if line.startswith("$ ") else line)
    return found


def rag_command_lines() -> list[list[str]]:
    """The words after `rag` of every command line the README shows, each once."""
    lines = [line for line in shown_lines(README.read_text()) if line.startswith("rag ")]
    return [shlex.split(line, comments=True)[1:] for line in dict.fromkeys(lines)]


def resolve(words: list[str]) -> tuple[list[str], click.Command, list[str]]:
    """The subcommand path a command line names, its command and the rest of its words."""
    path: list[str] = []
    command: click.Command = cli
    rest = list(words)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        sub = command.commands.get(rest[0])
        assert sub is not None, f"`rag {' '.join(words)}`: no command {rest[0]!r}"
        path.append(rest.pop(0))
        command = sub
    return path, command, rest


def test_the_readme_shows_rag_commands():
    shown = {tuple(resolve(words)[0]) for words in rag_command_lines()}
    assert {("ask",), ("ingest",), ("ui",), ("serve",), ("mcp",)} <= shown, shown


@pytest.mark.parametrize(
    "words", rag_command_lines(), ids=lambda words: " ".join(["rag", *words])[:60]
)
def test_every_rag_command_line_in_the_readme_is_real(words: list[str]):
    path, command, rest = resolve(words)
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    flags = {"--help"}
    for param in command.params:
        flags.update(param.opts, param.secondary_opts)
    used = [w.split("=", 1)[0] for w in rest if re.match(r"^--?[A-Za-z]", w)]
    assert [f for f in used if f not in flags] == [], f"rag {' '.join(words)}"


def test_every_make_target_in_the_readme_exists():
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    targets = {
        target
        for line in shown_lines(README.read_text())
        for target in re.findall(r"(?:^|[;&|]\s*)make\s+([A-Za-z][\w-]*)", line)
    }
    assert {"run", "test"} <= targets, targets
    assert [t for t in targets if not re.search(rf"^{re.escape(t)}\s*:", makefile, re.M)] == []


def test_ci_runs_the_readme_test_command():
    readme = README.read_text()
    assert re.search(r"^make test\b", readme, re.M)
    assert re.search(r"^make test\s*$", (PROJECT_ROOT / ".ci" / "run").read_text(), re.M)


def test_the_readme_snippets_parse():
    blocks = code_blocks(README.read_text())
    python = [body for language, body in blocks if language in ("python", "py")]
    assert python
    for n, body in enumerate(python):
        compile(body, f"README.md python block {n + 1}", "exec")
    for body in (body for language, body in blocks if language == "json"):
        json.loads(body)
