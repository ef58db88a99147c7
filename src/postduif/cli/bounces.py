"""``postduif bounces``: read the return mailbox and print what it changed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from postduif.cli._app import app, err, open_workspace, out
from postduif.cli._json import bounces_json
from postduif.cli._show import JsonOption, print_json, say

if TYPE_CHECKING:
    from postduif.bounces.effects import BounceReport

LISTED_PER_REPORT = 10  # addresses of one report listed in the text output


@app.command()
def bounces(
    ctx: typer.Context,
    from_: Annotated[Path | None, typer.Option(
        "--from", help="A Maildir folder or mbox file instead of the [bounces] IMAP mailbox.")]
    = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Report what would change; change nothing, move nothing.")] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print nothing unless a report needs an organiser (for cron).")]
    = False,
    as_json: JsonOption = False,
) -> None:
    """Read bounce and complaint reports: hard bounces and complaints stop mail to the
    address, soft bounces count, auto-replies change nothing; readers' unsubscribe mails
    (List-Unsubscribe's mailto) with a valid token unsubscribe them; reports not understood
    stay in the mailbox and are listed. Running it again changes nothing.

    Example: postduif bounces --from ~/Maildir/.bounces --dry-run
    """
    from postduif.bounces.run import read_reports  # IMAP and bounce parsing: only loaded here

    report = read_reports(open_workspace(ctx), from_, dry_run=dry_run)
    if report.unchecked:
        say(err, "Warning: ", report.unchecked)
    if as_json:
        print_json(bounces_json(report))
    elif report.needs_organiser or not quiet:
        _print(report)


def _print(report: BounceReport) -> None:
    dry = " (dry run: nothing changed)" if report.dry_run else ""
    say(out, report.mailbox, f": {report.messages} message(s){dry}")
    say(out, f"hard bounces {report.hard}, soft bounces {report.soft}, "
        f"complaints {report.complaints}")
    if report.soft_to_hard:
        say(out, f"{report.soft_to_hard} of the soft bounces reached bounces.soft_limit and "
            "count as hard")
    if report.before_lift:
        say(out, f"{report.before_lift} of the hard bounces and complaints were reported before "
            "an organiser lifted the address's suppression: recorded, not applied")
    say(out, f"auto-replies ignored {report.auto_replies}, not ours {report.not_ours}, "
        f"already handled {report.already_handled}")
    if report.unsubscribes:
        say(out, f"unsubscribes by mail {report.unsubscribes} (List-Unsubscribe's mailto, "
            "with a valid token)")
    if report.by_address:
        say(out, f"{report.by_address} matched by the address alone (the report holds no "
            "VERP address or Message-ID of ours)")
    if report.listed:
        say(out, f"{len(report.listed)} named by the address alone and not applied (a report "
            "by itself proves nothing), for an organiser to judge:")
    _print_listed(report)
    if report.not_understood:
        say(out, f"{len(report.not_understood)} not understood, left in the mailbox:")
    for unread in report.not_understood:
        sender = ("; from: ", unread.sender) if unread.sender else ()
        say(out, "  ", unread.handle, ": ", unread.subject or "(no subject)", ": ", unread.why,
            *sender)


def _print_listed(report: BounceReport) -> None:
    """Each address not applied, at most ``LISTED_PER_REPORT`` of one report: a forged report
    naming thousands must not bury the rest of the output (``--json`` has every one)."""
    shown: Counter[str] = Counter()
    for listed in report.listed:
        shown[listed.handle] += 1
        if shown[listed.handle] <= LISTED_PER_REPORT:
            sender = ("; from: ", listed.sender) if listed.sender else ()
            say(out, "  ", listed.handle, ": ", listed.address, " (", listed.kind, "): ",
                listed.subject or "(no subject)", ": ", listed.why, *sender)
    for handle, count in shown.items():
        if count > LISTED_PER_REPORT:
            say(out, "  ", handle, f": and {count - LISTED_PER_REPORT} more addresses named by "
                "the same report (bounces --json lists every one)")
