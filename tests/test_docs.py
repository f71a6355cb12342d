"""The README documents every command and setting; every command has help text."""

import re
from dataclasses import fields

from click.testing import CliRunner

from rag.cli import cli
from rag.settings import PROJECT_ROOT, Settings

README = (PROJECT_ROOT / "README.md").read_text()


def test_every_command_is_in_the_readme_with_help():
    for name, command in cli.commands.items():
        assert f"`rag {name}" in README, name
        assert command.help and len(command.help.strip()) > 20, name


def test_every_setting_is_in_the_readme():
    documented = set(re.findall(r"RAG_[A-Z_]+", README))
    for f in fields(Settings):
        if f.name == "prompts":
            continue
        assert f"RAG_{f.name.upper()}" in documented, f.name


def test_readme_commands_are_make_targets():
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    for target in re.findall(r"^make (\w+)", README, re.M):
        assert re.search(rf"^{target}:", makefile, re.M), target
    assert "make test" in (PROJECT_ROOT / ".ci" / "run").read_text()


def test_help_lists_the_commands():
    out = CliRunner().invoke(cli, ["--help"]).output
    for name in cli.commands:
        assert name in out
