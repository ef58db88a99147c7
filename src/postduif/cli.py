"""The ``postduif`` command line: thin Typer commands over the library.

Each command opens the workspace, calls one library function and prints its result. Every
:class:`~postduif.errors.PostduifError` is turned into ``Error: ...`` (plus a hint) and exit
status 1 by :func:`main`; no user error shows a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from postduif import __version__
from postduif.build import BuildFailed, build_campaign
from postduif.check import check_plan, check_site
from postduif.errors import PostduifError
from postduif.problems import Problem, Severity, has_errors
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
    workspace: Annotated[Optional[Path], typer.Option(  # noqa: UP045 - Typer needs Optional
        "--workspace", "-w", help="Workspace directory (default: the current one).")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Build, check, preview and send bilingual campaigns from a Hugo site."""
    ctx.obj = workspace


def _workspace(ctx: typer.Context) -> Workspace:
    return Workspace.open(ctx.obj)


def _print_problems(problems: list[Problem] | tuple[Problem, ...]) -> None:
    for problem in problems:
        style = "red" if problem.severity is Severity.ERROR else "yellow"
        out.print(f"{problem.location()}: [{style}]{problem.severity.value}[/{style}]: "
                  f"{problem.message} [dim]\\[{problem.code}][/dim]",
                  highlight=False, soft_wrap=True)


@app.command()
def build(
    ctx: typer.Context,
    campaign: Annotated[str, typer.Argument(help="Campaign name or file, e.g. "
                                            "campaigns/2026-12-community-update.toml")],
) -> None:
    """Render a campaign to HTML, plain text and a sample .eml per language, in build/<name>/.

    Example: postduif build campaigns/2026-12-community-update.toml
    """
    ws = _workspace(ctx)
    try:
        result = build_campaign(ws, campaign)
    except BuildFailed as failed:
        _print_problems(failed.problems)
        raise
    table = Table(title=f"{result.campaign} -> {_relative(result.directory, ws)}")
    for column in ("language", "subject", "HTML size", "warnings"):
        table.add_column(column)
    for v in result.variants:
        table.add_row(v.key, v.subject, f"{v.html_bytes / 1024:.1f} KB", str(v.warnings))
    out.print(table)
    _print_problems([p for p in result.problems if p.severity is Severity.WARNING])


@app.command()
def check(
    ctx: typer.Context,
    campaign: Annotated[Optional[str], typer.Argument(  # noqa: UP045
        help="Campaign to check; without it, all content and every campaign.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Check all content and campaigns.")] = False,
) -> None:
    """Report every problem in the content and campaigns, with file and line.

    Exit status 0 when there are no errors (warnings alone do not fail), 1 otherwise.
    Example: postduif check 2026-12-community-update
    """
    ws = _workspace(ctx)
    problems = _check_one(ws, campaign) if campaign and not all_ else _check_all(ws)
    _print_problems(problems)
    errors = sum(p.severity is Severity.ERROR for p in problems)
    out.print(f"{errors} error(s), {len(problems) - errors} warning(s)")
    if has_errors(problems):
        raise typer.Exit(1)


@app.command()
def preview(
    ctx: typer.Context,
    campaign: Annotated[Optional[str], typer.Argument(  # noqa: UP045
        help="Campaign to open first; without it, the list of campaigns.")] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8025,
    open_: Annotated[bool, typer.Option("--open", help="Open it in the web browser.")] = False,
    get: Annotated[Optional[str], typer.Option(  # noqa: UP045
        help="Print one page (a path like /c/NAME) and exit, without opening a port.")] = None,
) -> None:
    """Serve every campaign for review: both languages, desktop and phone widths, text, headers.

    The page rebuilds and reloads itself when a content, template or campaign file changes.
    Example: postduif preview 2026-12-community-update --open
    """
    from postduif import preview as previewer

    ws = _workspace(ctx)
    if get is not None:
        status, body = previewer.get(ws, get)
        sys.stdout.write(body)
        raise typer.Exit(0 if status == 200 else 1)
    out.print(f"Preview on http://127.0.0.1:{port}/ (Ctrl-C to stop)")
    previewer.serve(ws, campaign=campaign, port=port, open_browser=open_)


def _check_one(ws: Workspace, name: str) -> list[Problem]:
    plan = ws.plan(ws.campaign(name))
    return check_plan(ws.site, plan, ws.render(plan))


def _check_all(ws: Workspace) -> list[Problem]:
    from postduif.campaign import campaign_files

    found = set(check_site(ws.site))
    for path in campaign_files(ws.settings.campaigns_dir):
        found.update(_check_one(ws, str(path)))
    return sorted(found, key=lambda p: (str(p.path), p.line or 0, p.code, p.message))


def _relative(path: Path, ws: Workspace) -> str:
    try:
        return str(path.relative_to(ws.settings.root))
    except ValueError:
        return str(path)


def main() -> None:
    """Entry point: run the app, turning user errors into one line and exit status 1."""
    try:
        app()
    except PostduifError as exc:
        err.print(f"[red]Error:[/red] {exc}", highlight=False, soft_wrap=True)
        if exc.hint:
            err.print(f"Hint: {exc.hint}", highlight=False)
        sys.exit(1)
