"""``postduif bounces``: one pass over the return mailbox, from settings to the report.

Opens the store and the mailbox (``[bounces]`` over IMAP, or a Maildir or mbox given on the
command line), and hands every report to ``effects.process`` with ``classify`` and a
``Matcher``. VERP ids are checked with the token key whenever it is set, also after
``bounces.verp`` was switched off (reports about earlier campaigns still carry them); with
``verp = true`` and no key the command stops, since it could not tell a real id from a forged
one. Our Message-IDs are keyed with it as well, and unsubscribe requests by mail need it: without
it, reports match by the address alone, requests are listed, and the report says why, once.
"""

from __future__ import annotations

from pathlib import Path

from postduif.audience.tokens import token_key
from postduif.bounces.classify import classify
from postduif.bounces.effects import BounceReport, process
from postduif.bounces.mailbox import open_mailbox
from postduif.bounces.match import Matcher
from postduif.errors import TokenError
from postduif.lists import available_lists
from postduif.store import Store
from postduif.verp import ReturnPath
from postduif.workspace import Workspace


def read_reports(ws: Workspace, path: Path | None, *, dry_run: bool) -> BounceReport:
    """Handle every report in the mailbox; with ``dry_run`` report only, change nothing."""
    settings = ws.settings
    key, unchecked = _token_key(ws)
    return_path = None if key is None else ReturnPath(settings.return_path, key)
    lists = available_lists(settings.lists_dir)
    with Store.open(settings.database) as store, \
            open_mailbox(settings.bounces, path) as mailbox:
        matcher = Matcher(store, return_path, lists, token_key=key,
                          verp=settings.bounces.verp)
        report = process(store, mailbox, classify, matcher, settings.bounces, dry_run=dry_run)
    report.unchecked = unchecked
    return report


def _token_key(ws: Workspace) -> tuple[bytes | None, str]:
    """The token key, or None and why (then our Message-IDs, VERP ids and unsubscribe
    requests cannot be checked)."""
    settings = ws.settings
    try:
        return token_key(settings.token_key_env), ""
    except TokenError as exc:
        if settings.bounces.verp:
            raise TokenError(f"bounces.verp is true, but {exc.message}: VERP ids cannot be "
                             "checked without it", hint=exc.hint) from None
        return None, (f"{exc.message}: Message-IDs, VERP addresses and unsubscribe tokens of "
                      "ours cannot be checked without it, so reports match by the address "
                      "alone and unsubscribe mails are listed")
