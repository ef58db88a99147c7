"""Commands about campaigns: build, check and preview."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from postduif.cli._app import app, open_workspace, out, print_problems, relative
from postduif.cli._json import check_json
from postduif.cli._show import JsonOption, cells, literal, print_json
from postduif.errors import PostduifError

if TYPE_CHECKING:  # each command imports what it runs: --help loads no renderer
    from postduif.problems import Problem
    from postduif.renditions import ImageWeight
    from postduif.workspace import Workspace

    #: (campaign, language, the weight of that email's images)
    Weights = list[tuple[str, str, ImageWeight]]


@app.command()
def build(
    ctx: typer.Context,
    campaign: Annotated[str, typer.Argument(help="Campaign name or file, e.g. "
                                            "campaigns/2026-12-community-update.toml")],
) -> None:
    """Render a campaign to HTML, plain text and a sample .eml per language, in build/<name>/.

    Example: postduif build campaigns/2026-12-community-update.toml
    """
    from rich.table import Table

    from postduif.build import BuildFailed, build_campaign
    from postduif.problems import Severity

    ws = open_workspace(ctx)
    try:
        result = build_campaign(ws, campaign)
    except BuildFailed as failed:
        print_problems(failed.problems)
        raise
    table = Table(title=literal(result.campaign, " -> ", relative(result.directory, ws)))
    for column in ("language", "subject", "HTML size", "images", "warnings"):
        table.add_column(column)
    for v in result.variants:
        table.add_row(*cells(v.key, v.subject, f"{v.html_bytes / 1024:.1f} KB",
                             v.images.summary(), v.warnings))
    out.print(table)
    if result.renditions:
        out.print(literal(f"{len(result.renditions)} email rendition(s) in ",
                          relative(ws.settings.images.renditions_dir, ws),
                          ": deploy the site before sending, so they are online"))
    print_problems([p for p in result.problems if p.severity is Severity.WARNING])


@app.command()
def check(
    ctx: typer.Context,
    campaign: Annotated[str | None, typer.Argument(
        help="Campaign to check; without it, all content and every campaign.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Check all content and campaigns.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Report every problem in the content and campaigns, with file and line.

    Exit status 0 when there are no errors (warnings alone do not fail), 1 otherwise.

    Example: postduif check 2026-12-community-update
    """
    from postduif.problems import Severity, has_errors

    ws = open_workspace(ctx)
    weights: Weights = []
    problems = (_check_one(ws, campaign, weights) if campaign and not all_
                else _check_all(ws, weights))
    if as_json:
        print_json(check_json(problems, weights))
    else:
        print_problems(problems)
        for name, key, weight in weights:
            out.print(literal(f"{name} {key}: images ", weight.summary()))
        errors = sum(p.severity is Severity.ERROR for p in problems)
        out.print(f"{errors} error(s), {len(problems) - errors} warning(s)")
    if has_errors(problems):
        raise typer.Exit(1)


@app.command()
def preview(
    ctx: typer.Context,
    campaign: Annotated[str | None, typer.Argument(
        help="Campaign to open first; without it, the list of campaigns.")] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8025,
    open_: Annotated[bool, typer.Option("--open", help="Open it in the web browser.")] = False,
    get: Annotated[str | None, typer.Option(
        help="Print one page (a path like /c/NAME) and exit, without opening a port.")] = None,
) -> None:
    """Serve every campaign for review: both languages, desktop and phone widths, text, headers.

    The page rebuilds and reloads itself when a content, template or campaign file changes.

    Example: postduif preview 2026-12-community-update --open
    """
    from postduif import preview as previewer

    ws = open_workspace(ctx)
    if get is not None:
        status, body = previewer.get(ws, get)
        sys.stdout.write(body)
        raise typer.Exit(0 if status == 200 else 1)
    out.print(f"Preview on http://127.0.0.1:{port}/ (Ctrl-C to stop)")
    previewer.serve(ws, campaign=campaign, port=port, open_browser=open_)


def _check_one(ws: Workspace, name: str, weights: Weights) -> list[Problem]:
    """The campaign's problems; the weight of each of its emails' images goes to ``weights``."""
    from postduif.check import check_plan

    plan = ws.plan(ws.campaign(name))
    weights += [(plan.campaign.name, key, v.weight) for key, v in plan.variants.items()]
    return check_plan(ws.site, plan, ws.render(plan))


def _check_all(ws: Workspace, weights: Weights) -> list[Problem]:
    from postduif.campaign import campaign_files
    from postduif.check import check_site

    found = set(check_site(ws.site))
    for path in campaign_files(ws.settings.campaigns_dir):
        found.update(_campaign_or_its_error(ws, path, weights))
    found.update(_list_errors(ws))
    return sorted(found, key=lambda p: (str(p.path), p.line or 0, p.code, p.message))


def _list_errors(ws: Workspace) -> list[Problem]:
    """A broken list file that no campaign names yet still breaks imports and sign-ups."""
    from postduif import problems as pr
    from postduif.lists import available_lists

    found = []
    for name in available_lists(ws.settings.lists_dir):
        try:
            ws.list_def(name)
        except PostduifError as exc:
            found.append(pr.error("list", exc.message, exc.path, exc.line))
    return found


def _campaign_or_its_error(ws: Workspace, path: Path, weights: Weights) -> list[Problem]:
    """One broken campaign file (or the list it names) must not hide the problems of the rest."""
    from postduif import problems as pr

    try:
        return _check_one(ws, str(path), weights)
    except PostduifError as exc:
        return [pr.error("campaign", exc.message, exc.path or path, exc.line)]
