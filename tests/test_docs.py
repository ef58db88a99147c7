"""Every command has help with an example, and README.md mentions it."""

from __future__ import annotations

from typing import Any

import typer.main

from postduif.cli import app

from .conftest import REPO


def commands() -> list[tuple[str, Any]]:
    """All leaf commands as ("joins import", command) pairs."""
    found: list[tuple[str, Any]] = []

    def walk(prefix: str, command: Any) -> None:
        if hasattr(command, "commands"):  # a group (typer bundles its own click)
            for name, sub in command.commands.items():
                walk(f"{prefix} {name}".strip(), sub)
        else:
            found.append((prefix, command))

    walk("", typer.main.get_command(app))
    return found


def test_there_are_commands() -> None:
    assert {"build", "check", "preview"} <= {name for name, _ in commands()}


def test_each_command_has_help_with_an_example() -> None:
    for name, command in commands():
        assert command.help and "Example: postduif " in command.help, name


def test_readme_mentions_each_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name, _ in commands():
        assert f"postduif {name}" in readme, name
