"""The Typer application, its global options and the output helpers every command shares."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from postduif.cli._show import Output, say

if TYPE_CHECKING:  # imported where they are used: --version and --help load none of them
    from postduif.audience.joins import ImportReport
    from postduif.problems import Problem
    from postduif.store import Store
    from postduif.workspace import Workspace

# Help is click's plain text, not Typer's rich panels: rendering those imports rich's Markdown,
# Syntax and Traceback (with markdown-it and Pygments), which doubled the time of every
# ``--help`` (bench/startup.py).
app = typer.Typer(no_args_is_help=True, add_completion=True, rich_markup_mode=None,
                  help="Bilingual email campaigns from a Hugo site.")
out = Output()
err = Output(stderr=True)


def group(name: str, help: str) -> typer.Typer:
    """A command group under ``postduif NAME``, with the same plain help as the app."""
    sub = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help=help)
    app.add_typer(sub, name=name)
    return sub


def _version(value: bool) -> None:
    if value:
        from postduif import __version__

        typer.echo(f"postduif {__version__}")
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
    from postduif.workspace import Workspace

    return Workspace.open(ctx.obj)


@contextmanager
def open_store(ctx: typer.Context) -> Iterator[tuple[Workspace, Store]]:
    """The workspace and its store, closed again when the command is done."""
    from postduif.store import Store

    ws = open_workspace(ctx)
    with Store.open(ws.settings.database) as store:
        yield ws, store


def print_import_report(report: ImportReport) -> None:
    """An import's totals and its first rejected rows, shared by ``joins import`` and
    ``migrate``. Everything from the file is printed literally: a name like "[b]Eva" is text,
    not rich markup, and a CR/LF in a rejected address is shown as ``\\r\\n``."""
    dry = " (dry run: nothing written)" if report.dry_run else ""
    say(out, report.source, " -> ", report.list, dry)
    say(out, f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len(report.rejected)} rejected")
    if report.statuses:
        say(out, "by status in the file: ", ", ".join(
            f"{status} {count}" for status, count in report.statuses))
    for row in report.rejected[:50]:
        say(out, f"{report.source}:{row.line}: ", row.email or "-", ": ", row.reason)
    if len(report.rejected) > 50:
        say(out, f"... and {len(report.rejected) - 50} more")
    print_import_notes(report)
    if report.rejects_file:
        say(out, "Rejected rows written to ", report.rejects_file)


def print_import_notes(report: ImportReport) -> None:
    """The import's warnings, one ``file:line`` line each: rows that were imported but deserve
    a look (a person named twice, a lookalike address). Printed literally, like the rejects."""
    for note in report.notes[:50]:
        say(out, f"{report.source}:{note.line}: ", note.email or "-", ": warning: ", note.message)
    if len(report.notes) > 50:
        say(out, f"... and {len(report.notes) - 50} more warnings")


def print_problems(problems: list[Problem] | tuple[Problem, ...]) -> None:
    """Each problem on its line; its message may quote the content, so it is printed literally."""
    from postduif.problems import Severity

    for problem in problems:
        style = "red" if problem.severity is Severity.ERROR else "yellow"
        say(out, problem.location(), ": ", (problem.severity.value, style), ": ",
            problem.message, " ", (f"[{problem.code}]", "dim"))


def relative(path: Path, ws: Workspace) -> str:
    try:
        return str(path.relative_to(ws.settings.root))
    except ValueError:
        return str(path)


