"""Commands that send or answer people: send, status, welcome and serve."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from postduif.cli._app import app, err, open_workspace, out, print_problems, relative
from postduif.cli._json import status_json
from postduif.cli._show import JsonOption, cells, print_json, say
from postduif.errors import SendError, TokenError

if TYPE_CHECKING:  # each command imports the sending it runs: --help loads no SMTP or DKIM
    from collections import Counter

    from postduif.config import SmtpSettings
    from postduif.send import DeliveryReport, LedgerStatus
    from postduif.send.job import SendJob
    from postduif.send.outbox import OutboxReport
    from postduif.store import Store
    from postduif.workspace import Workspace


@app.command()
def send(
    ctx: typer.Context,
    campaign: Annotated[str, typer.Argument(help="Campaign name or file.")],
    dry_run_: Annotated[bool, typer.Option(
        "--dry-run", help="Write every message to outbox/<campaign>/ instead of sending.")] = False,
    to: Annotated[list[str] | None, typer.Option(
        help="Send each language once to this address, as a test; not counted. Repeat for "
        "several reviewers: each gets every language.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    resend_unknown: Annotated[bool, typer.Option(
        help="Also resend messages whose delivery is unknown (may arrive twice).")] = False,
    add_new: Annotated[bool, typer.Option(
        "--add-new", help="Resuming a started campaign: also send it to the subscribers who "
        "confirmed since it started.")] = False,
    published: Annotated[Path | None, typer.Option(
        "--published", metavar="DIR", exists=True, file_okay=False,
        help="Look the image renditions up in Hugo's output folder instead of on the live "
        "site.")] = None,
) -> None:
    """Send a campaign to its list, each subscriber in their language; re-run to resume.

    Before sending (not with --dry-run) it makes sure the campaign's image renditions are on
    the published site: one known to be missing stops the send (a --to review copy warns).
    Nothing is recorded until you say yes; then the recipients are fixed, and a resumed run
    says how many confirmed since (--add-new includes them).

    Example: postduif send 2026-12-community-update --dry-run
    """
    import asyncio

    from postduif.build import BuildFailed
    from postduif.send.job import prepare_job, review_send
    from postduif.store import Store

    if add_new and (dry_run_ or to):
        raise SendError("--add-new adds recipients to a started campaign; it does not go with "
                        + ("--dry-run" if dry_run_ else "--to"))
    ws = open_workspace(ctx)
    with Store.open(ws.settings.database) as store:
        try:
            job = prepare_job(ws, campaign, token_key=_key(ws, dry_run=dry_run_))
        except BuildFailed as failed:
            print_problems(failed.problems)
            raise
        if dry_run_:
            _dry_run(ws, job, store)
            return
        _renditions_live(ws, job, published, review=to is not None)
        if to:
            for address, variant, reply in asyncio.run(review_send(ws, job, to)):
                say(out, variant, ": sent to ", address, f" ({reply})")
        else:
            _deliver(ws, job, store, yes=yes, resend_unknown=resend_unknown, add_new=add_new)


def _renditions_live(ws: Workspace, job: SendJob, public: Path | None, *, review: bool) -> None:
    """Stop a send whose image renditions are known not to be published yet; a review copy
    (``--to``) goes out with a warning, since reviewers may look before the site is deployed."""
    from postduif.published.renditions import check_renditions

    found = check_renditions(job.plan.renditions, ws.site.config.base_url, public=public)
    for _, status in found.unconfirmed:
        say(err, "Warning: could not confirm that ", status.url, " is published (",
            status.detail, "); sending anyway.")
    if not found.missing:
        return
    if not review:
        raise found.refusal(job.name)
    for _, status in found.missing:
        say(err, "Warning: ", status.url, " is not published yet (", status.detail,
            "): the review copy shows a broken image.")


def _key(ws: Workspace, *, dry_run: bool) -> bytes:
    """The token key; a dry run without one signs with a throwaway key and says so."""
    from postduif.audience.tokens import token_key

    try:
        return token_key(ws.settings.token_key_env)
    except TokenError:
        if not dry_run:
            raise
    say(err, "Note: ", ws.settings.token_key_env, " is not set; unsubscribe links in this dry "
        "run are signed with a throwaway key and will not work.")
    return os.urandom(32)


def _dry_run(ws: Workspace, job: SendJob, store: Store) -> None:
    from rich.table import Table

    from postduif.send.job import dry_run

    report = dry_run(ws, job, store)
    table = Table("language", "messages")
    for variant, count in report.counts.items():
        table.add_row(variant, str(count))
    out.print(table)
    say(out, f"{report.total} messages in ", relative(report.directory, ws),
        "/ (open index.html); nothing was sent.")
    for path in report.files[:5]:
        say(out, "  ", path.name)
    _outbox_problems(report)


def _outbox_problems(report: OutboxReport) -> None:
    """Each recipient whose message could not be made (exit 1, as a send would), and how many
    only a server with SMTPUTF8 can take."""
    for address, reason in report.failures:
        say(err, address, ": ", reason)
    if report.failed > len(report.failures):
        say(err, f"... {report.failed - len(report.failures)} more failed; see ",
            str(report.index))
    if report.smtputf8:
        say(err, f"Note: {report.smtputf8} message(s) to an address whose part before the @ is "
            "not ASCII: they go out only if the mail server offers SMTPUTF8, and are marked "
            "failed otherwise.")
    if report.failed:
        raise typer.Exit(1)


def _deliver(ws: Workspace, job: SendJob, store: Store, *, yes: bool,
             resend_unknown: bool, add_new: bool) -> None:
    """Show what would be sent, ask, and only then record it: a no leaves nothing behind, so
    a later run starts from the list as it is then."""
    import asyncio

    from postduif.send import ledger_status
    from postduif.send.job import add_newcomers, start

    before = ledger_status(store, job.name)
    first = before.list is None
    todo = (_first_run(job, store, add_new=add_new) if first else
            _resumed_run(ws, job, store, before, resend_unknown=resend_unknown,
                         add_new=add_new))
    if todo == 0:
        return
    smtp = ws.settings.smtp
    if not yes and not _agreed(f"Send {todo} messages through {smtp.host}:{smtp.port}?"):
        out.print("Nothing was sent, and nothing recorded." if first else
                  "Nothing was sent; the campaign is as it was.", highlight=False)
        raise typer.Exit(1)
    if first:
        start(job, store)
    elif add_new:
        say(out, f"Added {add_newcomers(job, store)} subscriber(s) to ", job.name, ".")
    total = ledger_status(store, job.name).totals.total
    report = asyncio.run(_with_progress(ws, job, store, resend_unknown, total))
    _print_report(report, job.name)
    _print_unknown_hint(job.name, ledger_status(store, job.name).totals.uncertain)
    if report.paused or report.interrupted or report.failed:
        raise typer.Exit(1)


def _agreed(question: str) -> bool:
    """Yes to ``question``; no answer at all (end of input, Ctrl-C) is a no."""
    try:
        return typer.confirm(question)
    except typer.Abort:
        out.print()
        return False


def _first_run(job: SendJob, store: Store, *, add_new: bool) -> int:
    """The messages a start would queue, per language, counted without writing."""
    from postduif.send.job import planned

    counts = planned(job, store)
    _print_status(_as_status(job.name, counts), None)
    if add_new:
        out.print("Note: --add-new has nothing to add: the campaign starts now, with every "
                  "confirmed subscriber.", highlight=False)
    if not counts:
        say(out, "Nothing to send: ", job.list_def.name, " has no confirmed subscribers; "
            "nothing was recorded.")
    return counts.total()


def _resumed_run(ws: Workspace, job: SendJob, store: Store, before: LedgerStatus, *,
                 resend_unknown: bool, add_new: bool) -> int:
    """Where a started campaign stands, and who confirmed since it started."""
    from postduif.send.job import newcomers

    _print_status(before, ws.settings.smtp)
    new = newcomers(job, store).total()
    if new and add_new:
        say(out, f"{new} subscriber(s) confirmed since ", job.name, " started (",
            before.started_at or "", "): they will be added.")
    elif new:
        say(out, f"{new} subscriber(s) confirmed since ", job.name, " started (",
            before.started_at or "", ") and are not in it; include them with: postduif send ",
            job.name, " --add-new")
    todo = (before.totals.queued + (before.totals.uncertain if resend_unknown else 0)
            + (new if add_new else 0))
    if todo == 0:
        out.print("Nothing left to send.")
        _print_unknown_hint(job.name, before.totals.uncertain)
    return todo


def _as_status(campaign: str, counts: Counter[str]) -> LedgerStatus:
    """Planned messages shown as a ledger that is all queued (nothing is written)."""
    from postduif.send import LedgerStatus, VariantCounts

    variants = tuple(VariantCounts(v, queued=n) for v, n in sorted(counts.items()))
    return LedgerStatus(campaign, None, None, None, variants, ())


async def _with_progress(ws: Workspace, job: SendJob, store: Store, resend_unknown: bool,
                         total: int) -> DeliveryReport:
    import asyncio
    import signal

    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    from postduif.send import Progress as SendProgress
    from postduif.send.job import deliver_job

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[detail]}"), TimeRemainingColumn())
    with Progress(*columns, console=err.console) as bar:
        task = bar.add_task("sending", total=total, detail="")

        def update(p: SendProgress) -> None:
            bar.update(task, completed=p.sent + p.failed + p.unknown, detail=(
                f"sent {p.sent}, failed {p.failed}, unknown {p.unknown}, "
                f"left {p.remaining}, {p.rate:.0f}/s"))

        return await deliver_job(ws, job, store, resend_unknown=resend_unknown, stop=stop,
                                 progress=update)


def _print_report(report: DeliveryReport, campaign: str) -> None:
    out.print(f"sent {report.sent}, failed {report.failed} (bounced {report.bounced}), "
              f"unknown {report.unknown}, skipped {report.skipped}, left {report.remaining}")
    if report.paused:
        say(err, ("Paused:", "red"), " ", report.paused)
    if report.interrupted or report.paused or report.remaining:
        out.print(f"Resume with: postduif send {campaign}")


def _print_unknown_hint(campaign: str, unknown: int) -> None:
    """Every run that leaves unknown rows says how to resend them, also a resumed one whose
    unknown rows come from an earlier run or a crash."""
    if unknown:
        out.print(f"{unknown} message(s) may or may not have arrived; see "
                  f"postduif status {campaign}; resend them with --resend-unknown")


def _print_status(status: LedgerStatus, smtp: SmtpSettings | None) -> None:
    from rich.table import Table

    table = Table("language", "queued", "sent", "failed", "unknown", "skipped", "total")
    for v in (*status.variants, status.totals):
        table.add_row("all" if v.variant == "*" else v.variant, str(v.queued),
                      str(v.sent), str(v.failed), str(v.uncertain), str(v.skipped),
                      str(v.total))
    out.print(table)
    if status.totals.sending:
        out.print(f"{status.totals.sending} of the unknown are unknown (not yet checked): "
                  "claimed by a run that stopped (or one is running now), their data perhaps "
                  "on the way; the next send marks them unknown.", highlight=False)
    if status.totals.uncertain and smtp is not None:
        say(out, f"{status.totals.uncertain} unknown; a run that is killed leaves at most "
            f"{smtp.unknown_bound} ([smtp] batch {smtp.batch} x connections "
            f"{smtp.connections}).")


@app.command()
def status(
    ctx: typer.Context,
    campaign: Annotated[str, typer.Argument(help="Campaign name.")],
    as_json: JsonOption = False,
) -> None:
    """Sent, failed, unknown and remaining per language, with the failures' SMTP replies.

    Example: postduif status 2026-12-community-update
    """
    from postduif.send import ledger_status
    from postduif.store import Store

    ws = open_workspace(ctx)
    name = ws.campaign(campaign).name
    with Store.open(ws.settings.database) as store:
        report = ledger_status(store, name)
        bounces = store.bounce_counts(name)
    if as_json:
        print_json(status_json(name, report, bounces, ws.settings.smtp))
        return
    if report.list is None:
        say(out, name, " has not been sent yet.")
        return
    say(out, name, " to ", report.list, ", started ", report.started_at)
    _print_status(report, ws.settings.smtp)
    if report.paused:
        say(out, "Paused by the server: ", report.paused)
    for failure in report.failures:
        state = "unknown (not yet checked)" if failure.state == "sending" else failure.state
        say(out, f"{state}: ", failure.email, f" ({failure.variant}): ", failure.reply)
    _print_bounces(bounces)
    _print_unknown_hint(name, report.totals.uncertain)


def _print_bounces(bounces: list[tuple[str, str, int]]) -> None:
    """Reports read by ``postduif bounces`` about this campaign, per language."""
    from rich.table import Table

    from postduif.store import BOUNCE_KINDS

    if not bounces:
        return
    table = Table("language", *(f"{kind} bounces" if kind != "complaint" else "complaints"
                                for kind in BOUNCE_KINDS), title="Bounce and complaint reports")
    counts = {(v, k): n for v, k, n in bounces}
    for variant in sorted({v for v, _, _ in bounces}):
        table.add_row(*cells(variant or "-", *(counts.get((variant, k), 0)
                                               for k in BOUNCE_KINDS)))
    out.print(table)


@app.command()
def welcome(
    ctx: typer.Context,
    dry_run_: Annotated[bool, typer.Option(
        "--dry-run", help="Write the due emails to outbox/welcome/ instead of sending.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Say what was sent.")] = False,
    resend_unknown: Annotated[bool, typer.Option(
        help="Also resend emails recorded as sent that may not have arrived.")] = False,
) -> None:
    """Send due confirmation and welcome emails, each once, each in the member's language.

    Quiet when there is nothing to do, so it can run from cron; exit status 1 on failures.

    Example: postduif welcome --verbose
    """
    import asyncio

    from postduif.audience.greetings import Greeter, due, send_greetings, write_greetings
    from postduif.lists import available_lists
    from postduif.send.job import transport_for
    from postduif.store import Store
    from postduif.verp import sending_return_path

    ws = open_workspace(ctx)
    lists = {name: ws.list_def(name) for name in available_lists(ws.settings.lists_dir)}
    with Store.open(ws.settings.database) as store:
        key = _key(ws, dry_run=dry_run_)
        greeter = Greeter(ws, lists, key)
        greetings = due(store, list(lists.values()), resend_unknown=resend_unknown)
        if dry_run_:
            report = write_greetings(ws.settings.outbox_dir / "welcome", greeter, greetings)
            say(out, f"{report.total} due email(s) written to ", relative(report.directory, ws),
                "/; nothing was sent.")
            _outbox_problems(report)
            return
        result = asyncio.run(send_greetings(
            store, greeter, transport_for(ws), greetings,
            envelope_from=sending_return_path(ws.settings, key),
            on_sent=(lambda g: say(out, f"{g.kind} sent to ", g.email, f" ({g.list}, {g.lang})"))
            if verbose else None))
    for greeting, reason in result.failed:
        say(err, f"{greeting.kind} to ", greeting.email, " failed: ", reason)
    if result.unknown:
        say(err, f"{result.unknown} email(s) may not have arrived; resend them with "
            "postduif welcome --resend-unknown")
    if result.failed:
        raise typer.Exit(1)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on (behind your web server).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8026,
) -> None:
    """Answer the links and forms of the site: unsubscribe, confirm, join and sign-up.

    Run it behind a TLS proxy on a host name of its own (deploy/ has a systemd unit, a
    Caddyfile and an nginx site); the site's forms post to it from web.origins.

    Example: postduif serve --port 8026
    """
    from postduif import web

    ws = open_workspace(ctx)
    out.print(f"Listening on http://{host}:{port}/ (Ctrl-C to stop)")
    smtp = ws.settings.smtp
    out.print(f"Confirmation and welcome emails go out at once through {smtp.host}:{smtp.port}"
              if ws.settings.web.send_greetings else
              "web.send_greetings is off: run postduif welcome (e.g. from cron) to send "
              "confirmation and welcome emails", highlight=False)
    web.serve(ws, host=host, port=port)
