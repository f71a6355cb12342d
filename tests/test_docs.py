"""The docs pages document every command and setting; every command has help text."""

import re
from dataclasses import fields

from click.testing import CliRunner

from rag.cli import cli
from rag.settings import PROJECT_ROOT, Settings

DOCS = PROJECT_ROOT / "docs"
CLI_PAGE = (DOCS / "cli.md").read_text()
SETTINGS_PAGE = (DOCS / "settings.md").read_text()


def test_every_command_is_in_the_command_line_page_with_help():
    for name, command in cli.commands.items():
        assert f"`rag {name}" in CLI_PAGE, name
        assert command.help and len(command.help.strip()) > 20, name


def test_every_setting_is_in_the_settings_page():
    documented = set(re.findall(r"^\| `(RAG_[A-Z_]+)` \|", SETTINGS_PAGE, re.M))
    for f in fields(Settings):
        if f.name == "prompts":
            continue
        assert f"RAG_{f.name.upper()}" in documented, f.name


def test_documented_make_targets_exist():
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"`make ([\w-]+)", CLI_PAGE))
    assert {"setup", "run", "test", "test-fast", "lint", "clean"} <= targets, targets
    for target in targets:
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), target
    # ... and every target the Makefile declares is documented.
    declared = re.search(r"^\.PHONY:(.*)$", makefile, re.M)
    assert declared and set(declared.group(1).split()) <= targets
    assert "make test" in (PROJECT_ROOT / ".ci" / "run").read_text()


def test_help_lists_the_commands():
    out = CliRunner().invoke(cli, ["--help"]).output
    for name in cli.commands:
        assert name in out
