"""Every command explains itself, shows flags as flags and speaks JSON when it prints data."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from partitur.cli.main import app

#: commands that print no data: they run until stopped
LONG_RUNNING = {"serve", "worker"}
COMMAND = typer.main.get_command(app)  # built once: building it is most of a --help's time


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if hasattr(group, "commands"):  # a group (Typer ships its own click)
        found: list[tuple[str, ...]] = []
        for name, sub in sorted(group.commands.items()):
            found += _commands(sub, (*path, name))
        return found
    return [path]


def _help(path: tuple[str, ...]) -> tuple[int, str]:
    with CliRunner().isolation() as streams:
        try:
            COMMAND.main(args=[*path, "--help"], prog_name="partitur")
            code = 0
        except SystemExit as stop:
            code = int(stop.code or 0)
        return code, streams[0].getvalue().decode()


COMMANDS = _commands(COMMAND)


def test_there_are_commands_to_check() -> None:
    assert len(COMMANDS) > 80


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_help_shows_flags_as_flags(path: tuple[str, ...]) -> None:
    code, shown = _help(path)
    assert code == 0, shown
    assert "Usage: partitur " + " ".join(path) in " ".join(shown.split())
    assert "<bool>" not in shown
    if path[-1] not in LONG_RUNNING:
        assert "--json" in shown
