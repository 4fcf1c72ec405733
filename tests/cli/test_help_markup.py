"""`--help` shows every bracketed word of the help texts (`[llm]`, `[[tasks]]`):
rich markup would eat an unescaped one silently."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import typer
from typer.testing import CliRunner

from sqlfoundry.cli.main import app

runner = CliRunner()
BRACKETED = re.compile(r"\\?\[+[^\]\s]*\]+")


def _commands(group, path: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        if isinstance(getattr(command, "commands", None), dict):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


COMMANDS = list(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_keeps_the_bracketed_words(path, command):
    texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
    wanted = Counter(m.replace("\\", "") for t in texts for m in BRACKETED.findall(t))
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    shown = result.output
    lost = sorted(w for w, n in wanted.items() if w.strip("[]") and shown.count(w) < n)
    assert not lost, f"{' '.join(path)} --help lost {lost}"
