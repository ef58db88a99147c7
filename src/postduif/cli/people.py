"""Commands about people: join requests, lists and subscribers."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from postduif.cli._app import group, out, print_import_report
from postduif.cli._app import open_store as _store
from postduif.cli._json import lists_json
from postduif.cli._show import JsonOption, cells, literal, print_json, say
from postduif.errors import StoreError

if TYPE_CHECKING:  # each command imports the library it calls: --help loads none of it
    from rich.panel import Panel

    from postduif.lists import ListDef
    from postduif.store import BounceEvent, Outcome, Subscriber
    from postduif.workspace import Workspace

joins_app = group("joins", "Import and vet join requests.")
lists_app = group("lists", "Lists and their subscribers.")
subscribers_app = group("subscribers", "One person at a time.")

ListOption = Annotated[str, typer.Option("--list", "-l", help="List name (lists/<name>.toml).")]


def _languages(ws: Workspace) -> tuple[str, ...]:
    return ws.site.config.languages


@joins_app.command("import")
def joins_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="JSON, JSON Lines or CSV file of join requests.")],
    list_name: ListOption = "leden",
    language: Annotated[str, typer.Option(
        help="Language for rows without one (the language of the form's page).")] = "",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report only; write nothing.")] = False,
    confirmed: Annotated[bool, typer.Option(
        "--confirmed", help="They already confirmed elsewhere (for a listmonk export: "
        "postduif migrate listmonk).")
    ] = False,
) -> None:
    """Import join requests; reports added, updated, unchanged and rejected rows.

    Rejected rows are listed with their line and written to <name>.rejects.csv beside FILE;
    importing the same file again changes nothing. Exit status 1 when any row was rejected.

    Example: postduif joins import webhook-log.jsonl --list leden --language nl
    """
    from postduif.audience.joins import import_joins

    with _store(ctx) as (ws, store):
        report = import_joins(store, file, ws.list_def(list_name), language=language,
                              dry_run=dry_run, allowed_languages=_languages(ws),
                              confirmed=confirmed)
    print_import_report(report)
    if report.rejected:
        raise typer.Exit(1)


@joins_app.command("review")
def joins_review(ctx: typer.Context, list_name: ListOption = "leden") -> None:
    """Go through pending join requests one by one: approve, reject or skip.

    Example: postduif joins review --list leden
    """
    from postduif.audience import membership

    if not sys.stdin.isatty():
        raise StoreError("joins review asks questions and needs a terminal",
                         hint="use postduif joins approve EMAIL / joins reject EMAIL in scripts")
    with _store(ctx) as (ws, store):
        list_def = ws.list_def(list_name)
        pending = store.pending(list_def.name)
        say(out, f"{len(pending)} pending request(s) for ", list_def.name)
        for subscriber in pending:
            out.print(_request_panel(subscriber))
            answer = typer.prompt("[a]pprove, [r]eject, [s]kip, [q]uit", default="s").lower()
            if answer.startswith("q"):
                break
            if answer[:1] in ("a", "r"):
                also = membership.decide(store, list_def, subscriber.email,
                                         approve=answer[0] == "a", source="command:joins review",
                                         lists=_also_lists(ws, list_def))
                out.print("approved" if answer[0] == "a" else "rejected")
                _print_also(also)


def _request_panel(s: Subscriber) -> Panel:
    """What the organiser vets: every field as the person typed it, markup and all. The goals
    are the one multi-line field (only LF is stored there): each of its lines is a line here."""
    from rich.panel import Panel
    from rich.text import Text

    first, *more = (s.goals or "-").split("\n")
    lines = [literal((f"{s.first_name} {s.last_name}", "bold"), f" <{s.email}>  ({s.language})"),
             literal("Organisation: ", s.organization or "-"),
             *(literal("Link: ", link) for link in s.social_links),
             literal("Goals: ", first), *(literal("       ", line) for line in more)]
    return Panel(Text("\n").join(lines), expand=False)


@joins_app.command("approve")
def joins_approve(ctx: typer.Context, email: str, list_name: ListOption = "leden") -> None:
    """Approve one pending join request.

    Example: postduif joins approve sam@example.org --list leden
    """
    _decide(ctx, email, list_name, approve=True)


@joins_app.command("reject")
def joins_reject(ctx: typer.Context, email: str, list_name: ListOption = "leden") -> None:
    """Reject one pending join request.

    Example: postduif joins reject spam@example.org --list leden
    """
    _decide(ctx, email, list_name, approve=False)


def _decide(ctx: typer.Context, email: str, list_name: str, *, approve: bool) -> None:
    from postduif.audience import membership
    from postduif.audience.records import normalise_email

    verb = "approve" if approve else "reject"
    with _store(ctx) as (ws, store):
        list_def = ws.list_def(list_name)
        also = membership.decide(store, list_def, email, approve=approve,
                                 source=f"command:joins {verb}", lists=_also_lists(ws, list_def))
    say(out, normalise_email(email), f" {verb}d for ", list_name)
    _print_also(also)


def _also_lists(ws: Workspace, list_def: ListDef) -> dict[str, ListDef]:
    return {name: ws.list_def(name) for name in list_def.also_subscribe}


def _print_also(also: Mapping[str, Outcome]) -> None:
    """What approval did on the lists it also subscribes to (``also_subscribe``)."""
    from postduif.store import Outcome

    for name, outcome in also.items():
        if outcome is Outcome.ADDED:
            say(out, "  also subscribed to ", name)
        elif outcome in (Outcome.UNSUBSCRIBED, Outcome.SUPPRESSED):
            say(out, "  not subscribed to ", name, ": left it earlier, or the address is "
                "suppressed")
        else:
            say(out, "  already on ", name)


@lists_app.command("show")
def lists_show(ctx: typer.Context, list_name: Annotated[str | None, typer.Argument(
        help="One list; without it, every list.")] = None, as_json: JsonOption = False) -> None:
    """Counts per list by status and language.

    Example: postduif lists show nieuwsbrief
    """
    from rich.table import Table

    from postduif.lists import available_lists

    with _store(ctx) as (ws, store):
        names = [list_name] if list_name else available_lists(ws.settings.lists_dir)
        defs = [ws.list_def(name) for name in names]
        counts = store.counts(list_name)
    if as_json:
        print_json(lists_json(defs, counts))
        return
    table = Table("list", "title", "status", "language", "count")
    for list_def in defs:
        rows = [c for c in counts if c[0] == list_def.name] or [(list_def.name, "-", "-", 0)]
        for _, status, language, count in rows:
            table.add_row(*cells(list_def.name,
                                 list_def.title(language if language != "-" else "nl"),
                                 status, language, count))
    out.print(table)


@lists_app.command("export")
def lists_export(
    ctx: typer.Context,
    list_name: Annotated[str, typer.Argument(help="The list to export.")],
    fmt: Annotated[str, typer.Option("--format", help="Only csv for now.")] = "csv",
    status: Annotated[str, typer.Option(help="Membership status to export.")] = "confirmed",
) -> None:
    """Write a list's subscribers as CSV to standard output.

    Example: postduif lists export nieuwsbrief --format csv > nieuwsbrief.csv
    """
    from postduif.csv_out import SafeWriter

    if fmt != "csv":
        raise StoreError(f"unknown format {fmt!r}; only csv is supported")
    with _store(ctx) as (ws, store):
        ws.list_def(list_name)
        writer = SafeWriter(sys.stdout)
        writer.writerow(["email", "first_name", "last_name", "language", "organization",
                         "status", "changed_at"])
        for s in store.members(list_name, status):
            m = s.membership(list_name)
            writer.writerow([s.email, s.first_name, s.last_name,
                             m.language if m else s.language, s.organization,
                             m.status if m else "", m.changed_at if m else ""])


@subscribers_app.command("add")
def subscribers_add(
    ctx: typer.Context,
    email: str,
    list_name: ListOption = "nieuwsbrief",
    name: Annotated[str, typer.Option(help="Full name.")] = "",
    language: Annotated[str, typer.Option(help="nl or en (default: the list's).")] = "",
) -> None:
    """Add one person to a list (pending where the list needs confirmation or approval).

    Example: postduif subscribers add sam@example.org --list nieuwsbrief --language en
    """
    from postduif.audience import membership
    from postduif.audience.joins import refusal
    from postduif.audience.records import normalise_email

    with _store(ctx) as (ws, store):
        outcome = membership.add_subscriber(store, ws.list_def(list_name), email=email,
                                            name=name, language=language,
                                            languages=_languages(ws))
        refused = refusal(store, normalise_email(email), outcome)
    say(out, normalise_email(email), f": {outcome.value}", f": {refused}" * bool(refused))
    warn_lookalike(normalise_email(email))
    if refused:
        raise typer.Exit(1)


@subscribers_app.command("show")
def subscribers_show(ctx: typer.Context, email: str) -> None:
    """Everything about one subscriber, with their memberships.

    Example: postduif subscribers show sam@example.org
    """
    from rich.table import Table

    from postduif.audience.records import normalise_email

    with _store(ctx) as (_, store):
        subscriber = store.get(normalise_email(email))
        bounces = store.bounces_of(normalise_email(email))
        suppression = store.suppression(normalise_email(email))
    if subscriber is None:
        raise StoreError(f"no subscriber {normalise_email(email)}" + (
            f" (the address is suppressed: {suppression.reason} since {suppression.at})"
            if suppression else ""))
    out.print(_request_panel(subscriber))
    if suppression is not None:
        say(out, f"Suppressed ({suppression.reason}) since {suppression.at}: ",
            suppression.source)
    table = Table("list", "status", "language", "changed")
    for m in subscriber.memberships:
        table.add_row(*cells(m.list, m.status, m.language, m.changed_at))
    out.print(table)
    _print_uncertain(subscriber)
    _print_bounces(bounces)


def _print_bounces(bounces: list[BounceEvent]) -> None:
    """Bounce and complaint reports about this person, the relay's reason word for word."""
    if not bounces:
        return
    out.print("Bounce and complaint reports:")
    for b in bounces:
        campaign = f"{b.campaign} ({b.variant or '-'})" if b.campaign else "no campaign"
        say(out, f"  {b.reported_at} {b.kind} ", campaign, f" {b.status or '-'} "
            f"(matched by {b.matched_by}): ", b.reason)


def _print_uncertain(subscriber: Subscriber) -> None:
    """Greetings recorded as sent without the server's 250 (a killed ``welcome``)."""
    for m in subscriber.memberships:
        for kind in ("confirmation", "welcome"):
            at = m.uncertain(kind)
            if at is not None:
                out.print(f"{m.list}: {kind} sent at {at} — may not have arrived "
                          "(postduif welcome --resend-unknown sends it again)", highlight=False)


@subscribers_app.command("search")
def subscribers_search(ctx: typer.Context, text: str) -> None:
    """Find subscribers by address, name or organisation.

    Example: postduif subscribers search devries
    """
    from rich.table import Table

    with _store(ctx) as (_, store):
        found = store.search(text)
    table = Table("email", "name", "organisation", "lists")
    for s in found:
        table.add_row(*cells(s.email, f"{s.first_name} {s.last_name}".strip(), s.organization,
                             ", ".join(f"{m.list} ({m.status})" for m in s.memberships)))
    out.print(table)


@subscribers_app.command("unsubscribe")
def subscribers_unsubscribe(
    ctx: typer.Context, email: str,
    list_name: Annotated[str | None, typer.Option(
        "--list", "-l", help="Only this list (default: every list).")] = None,
) -> None:
    """Unsubscribe someone from one list or from all.

    Example: postduif subscribers unsubscribe sam@example.org --list nieuwsbrief
    """
    from postduif.audience import membership

    with _store(ctx) as (_, store):
        changed = membership.unsubscribe(store, email, [list_name] if list_name else None,
                                         source="command:subscribers unsubscribe")
    say(out, "unsubscribed from: ", ", ".join(changed) or "nothing (already unsubscribed)")


@subscribers_app.command("export")
def subscribers_export(ctx: typer.Context, email: str) -> None:
    """Print everything held about one person as JSON (right of access).

    Example: postduif subscribers export sam@example.org > sam.json
    """
    from postduif.audience.records import normalise_email

    with _store(ctx) as (_, store):
        data = store.export_person(normalise_email(email))
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@subscribers_app.command("forget")
def subscribers_forget(
    ctx: typer.Context, email: str,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a person; keep only a salted hash so no import adds them back unnoticed.

    Example: postduif subscribers forget sam@example.org --yes
    """
    from postduif.audience.records import normalise_email

    address = normalise_email(email)
    if not yes:
        typer.confirm(f"Erase everything about {address}?", abort=True)
    with _store(ctx) as (_, store):
        found = store.forget(address, source="command:subscribers forget")
    say(out, address, " forgotten" if found else " was not in the store; suppressed anyway")


@subscribers_app.command("unsuppress")
def subscribers_unsuppress(
    ctx: typer.Context, email: str,
    reason: Annotated[str, typer.Option(
        help="Why, for the consent log (e.g. 'asked by email, mailbox fixed').")],
) -> None:
    """Lift a suppression (hard bounce, complaint, forget, listmonk blocklist) and bounced or
    complained memberships, for someone who asked to be mailed again; they then join again
    through the site's form.

    Example: postduif subscribers unsuppress sam@example.org --reason "asked by email"
    """
    from postduif.audience.records import normalise_email

    address = normalise_email(email)
    if not reason.strip():
        raise typer.BadParameter("say why, for the consent log", param_hint="--reason")
    with _store(ctx) as (_, store):
        lifted = store.unsuppress(
            address, source=f"command:subscribers unsuppress: {reason.strip()}"[:500])
    if lifted is None:
        say(out, address, " is neither suppressed nor bounced or complained on a list; "
            "nothing changed")
        return
    suppression, lists = lifted
    if suppression is not None:
        say(out, address, f": suppression lifted (was {suppression.reason} since "
            f"{suppression.at}: ", suppression.source, ")")
    else:
        say(out, address, ": was not suppressed")
    for list_name, status in lists:
        say(out, "  ", list_name, f": {status} -> unsubscribed")
    say(out, "They can join again through the site's form, which sends a new confirmation "
        "email (ticking a list on their preference page does the same).")


@subscribers_app.command("confirm")
def subscribers_confirm(ctx: typer.Context, token: str) -> None:
    """Confirm a subscription with the token from a confirmation email (double opt-in).

    Example: postduif subscribers confirm eyJ2Ijox...Qk
    """
    from postduif.audience import membership
    from postduif.audience.tokens import token_key
    from postduif.lists import available_lists

    with _store(ctx) as (ws, store):
        lists: dict[str, ListDef] = {n: ws.list_def(n)
                                     for n in available_lists(ws.settings.lists_dir)}
        email, list_name = membership.confirm(store, token_key(ws.settings.token_key_env),
                                              token, lists)
    say(out, email, " confirmed for ", list_name)


def warn_lookalike(email: str) -> None:
    """Warn the organiser who added an address that may imitate another, or that needs
    SMTPUTF8; it is added all the same (it may be real), as an import adds it with the same
    notes."""
    from postduif.audience.records import address_notes

    for note in address_notes(email):
        say(out, "warning: ", email, ": ", note)
