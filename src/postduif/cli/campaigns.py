"""Commands about campaigns: build, check and preview."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from postduif.cli._app import app, open_workspace, out, print_problems, relative
from postduif.cli._json import check_json
from postduif.cli._show import JsonOption, cells, literal, print_json, say
from postduif.errors import PostduifError

if TYPE_CHECKING:  # each command imports what it runs: --help loads no renderer
    from postduif.problems import Problem
    from postduif.published import PublishedReport, Reference
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
    published: Annotated[Path | None, typer.Option(
        "--published", metavar="DIR", exists=True, file_okay=False,
        help="Also look up every image and site link of the emails in Hugo's output folder "
        "(the site's public/, after running hugo).")] = None,
    online: Annotated[bool, typer.Option(
        "--online", help="Also look them up on the live site over HTTP, external links too.")
    ] = False,
    concurrency: Annotated[int | None, typer.Option(
        min=1, help="With --online: requests at a time (default 4).")] = None,
    timeout: Annotated[float | None, typer.Option(
        min=1, help="With --online: seconds for all requests together (default 60); what is "
        "left is reported as not checked.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Report every problem in the content and campaigns, with file and line.

    Exit status 0 when there are no errors (warnings alone do not fail), 1 otherwise.

    Example: postduif check 2026-12-community-update --published public/
    """
    from postduif.problems import has_errors

    if published is not None and online:
        raise typer.BadParameter("give --published DIR or --online, not both")
    if not online and (concurrency, timeout) != (None, None):
        raise typer.BadParameter("--concurrency and --timeout go with --online")
    ws = open_workspace(ctx)
    refs: list[Reference] | None = [] if published is not None or online else None
    weights: Weights = []
    problems = (_check_one(ws, campaign, weights, refs) if campaign and not all_
                else _check_all(ws, weights, refs))
    problems += _link_hosts(ws)
    report = None
    if refs is not None:
        report = _verify(ws, refs, published, concurrency, timeout)
        problems = _sorted([*problems, *report.problems])
    _print_check(problems, weights, report, as_json)
    if has_errors(problems):
        raise typer.Exit(1)


def _verify(ws: Workspace, refs: list[Reference], public: Path | None,
            concurrency: int | None, timeout: float | None) -> PublishedReport:
    from postduif.published import verify_published

    return verify_published(refs, ws.site.config.base_url, public=public,
                            concurrency=concurrency, timeout=timeout)


def _print_check(problems: list[Problem], weights: Weights, report: PublishedReport | None,
                 as_json: bool) -> None:
    from postduif.problems import Severity

    if as_json:
        print_json(check_json(problems, weights, report))
        return
    print_problems(problems)
    for name, key, weight in weights:
        out.print(literal(f"{name} {key}: images ", weight.summary()))
    if report is not None:
        say(out, report.summary())
    errors = sum(p.severity is Severity.ERROR for p in problems)
    out.print(f"{errors} error(s), {len(problems) - errors} warning(s)")


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


def _check_one(ws: Workspace, name: str, weights: Weights,
               refs: list[Reference] | None) -> list[Problem]:
    """The campaign's problems; the weight of each of its emails' images goes to ``weights``,
    and its emails' images and links to ``refs`` when the published site is checked too."""
    from postduif.check import check_plan

    plan = ws.plan(ws.campaign(name))
    weights += [(plan.campaign.name, key, v.weight) for key, v in plan.variants.items()]
    rendered = ws.render(plan)
    if refs is not None:
        from postduif.published import email_references

        refs += email_references(ws.site, plan, rendered, ws.settings.templates_dir)
    return check_plan(ws.site, plan, rendered)


def _link_hosts(ws: Workspace) -> list[Problem]:
    from postduif.link_hosts import check_link_hosts

    return check_link_hosts(ws.settings, ws.site.config.base_url)


def _check_all(ws: Workspace, weights: Weights, refs: list[Reference] | None) -> list[Problem]:
    from postduif.campaign import campaign_files
    from postduif.check import check_site

    found = set(check_site(ws.site))
    for path in campaign_files(ws.settings.campaigns_dir):
        found.update(_campaign_or_its_error(ws, path, weights, refs))
    found.update(_list_errors(ws))
    return _sorted(found)


def _sorted(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(set(problems), key=lambda p: (str(p.path), p.line or 0, p.code, p.message))


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


def _campaign_or_its_error(ws: Workspace, path: Path, weights: Weights,
                           refs: list[Reference] | None) -> list[Problem]:
    """One broken campaign file (or the list it names) must not hide the problems of the rest."""
    from postduif import problems as pr

    try:
        return _check_one(ws, str(path), weights, refs)
    except PostduifError as exc:
        return [pr.error("campaign", exc.message, exc.path or path, exc.line)]
