"""The Typer application, its global options and the output helpers every command shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from postduif import __version__
from postduif.problems import Problem, Severity
from postduif.workspace import Workspace

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Bilingual email campaigns from a Hugo site.")
out = Console()
err = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        out.print(f"postduif {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    workspace: Annotated[Path | None, typer.Option(
        "--workspace", "-w", help="Workspace directory (default: the current one).")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Build, check, preview and send bilingual campaigns from a Hugo site."""
    ctx.obj = workspace


def open_workspace(ctx: typer.Context) -> Workspace:
    return Workspace.open(ctx.obj)


def print_problems(problems: list[Problem] | tuple[Problem, ...]) -> None:
    for problem in problems:
        style = "red" if problem.severity is Severity.ERROR else "yellow"
        out.print(f"{problem.location()}: [{style}]{problem.severity.value}[/{style}]: "
                  f"{problem.message} [dim]\\[{problem.code}][/dim]",
                  highlight=False, soft_wrap=True)


def relative(path: Path, ws: Workspace) -> str:
    try:
        return str(path.relative_to(ws.settings.root))
    except ValueError:
        return str(path)


