"""Commands that move subscribers over from another tool (for now: listmonk)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from postduif.cli._app import group, open_store, print_import_report

# listmonk.LANGUAGE_ATTRIBUTES, written out so that --help need not import the migration
# (tests/test_startup.py keeps the two the same).
LANGUAGE_ATTRIBUTE_HELP = ("Attribute key holding the language; repeatable (default: lang, "
                           "language, taal, locale).")

migrate_app = group("migrate", "Move subscribers over from another tool.")


@migrate_app.command("listmonk")
def listmonk(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="listmonk's subscriber export of one list (CSV).")],
    list_name: Annotated[str, typer.Option("--list", "-l", help="The list to import into.")],
    language: Annotated[str, typer.Option(
        help="Everyone's language (one export per language); else from attributes.")] = "",
    language_attribute: Annotated[list[str] | None, typer.Option(
        "--language-attribute", metavar="KEY",
        help=LANGUAGE_ATTRIBUTE_HELP)] = None,
    unsubscribed: Annotated[bool, typer.Option(
        "--unsubscribed", help="FILE holds the list's unsubscribed subscriptions (listmonk's "
        "subscription status filter): nobody in it is mailed.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report only; write nothing.")] = False,
) -> None:
    """Import listmonk's subscriber export of one list, honouring each subscriber's status.

    enabled: confirmed since created_at. disabled: unsubscribed. blocklisted: unsubscribed
    from every list and never added again. Reports like joins import (rejected rows with their
    line, also in <name>.rejects.csv); importing the same file again changes nothing. Exit
    status 1 when any row was rejected.

    Example: postduif migrate listmonk nieuwsbrief-nl.csv --list nieuwsbrief --language nl
    """
    from postduif.audience.listmonk import LANGUAGE_ATTRIBUTES, migrate_listmonk

    with open_store(ctx) as (ws, store):
        report = migrate_listmonk(store, file, ws.list_def(list_name), language=language,
                                  language_attributes=language_attribute or LANGUAGE_ATTRIBUTES,
                                  unsubscribed=unsubscribed, dry_run=dry_run,
                                  allowed_languages=ws.site.config.languages)
    print_import_report(report)
    if report.rejected:
        raise typer.Exit(1)
