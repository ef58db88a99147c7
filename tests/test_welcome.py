"""Confirmation and welcome emails: due once, in the member's language, never twice."""

from __future__ import annotations

import asyncio
import email
from email import policy
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from postduif.audience.greetings import Greeter, WelcomeReport, due, send_greetings
from postduif.audience.membership import add_subscriber, confirm, decide
from postduif.lists import ListDef, available_lists
from postduif.message import message_id, message_id_key
from postduif.send import MemoryTransport, Reply
from postduif.store import Store
from postduif.workspace import Workspace

KEY = b"welcome-test-key-0123456789"


def setup(workspace: Path) -> tuple[Workspace, Store, dict[str, ListDef]]:
    ws = Workspace.open(workspace)
    store = Store.open(ws.settings.database)
    lists = {name: ws.list_def(name) for name in available_lists(ws.settings.lists_dir)}
    return ws, store, lists


def run(ws: Workspace, store: Store, lists: dict[str, ListDef],
        transport: MemoryTransport) -> WelcomeReport:
    greeter = Greeter(ws, lists, KEY)
    return asyncio.run(send_greetings(store, greeter, transport, due(store, list(lists.values())),
                                      envelope_from=ws.settings.sender.email))


def parse(raw: bytes) -> email.message.EmailMessage:
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


def test_confirmation_then_welcome_each_once_in_their_language(workspace: Path) -> None:
    ws, store, lists = setup(workspace)
    add_subscriber(store, lists["nieuwsbrief"], email="priya@example.org",
                   name="Priya Raman", language="en")
    first = MemoryTransport(1)
    report = run(ws, store, lists, first)
    assert report.sent == {"confirmation": 1, "welcome": 0}
    [(_, rcpt, raw)] = first.sent
    msg = parse(raw)
    assert rcpt == "priya@example.org" and msg["Content-Language"] == "en"
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    link = next(part.split('"', 1)[0] for part in html.split('href="')[1:]
                if "/confirm/" in part.split('"', 1)[0])
    assert link.startswith(f"{ws.settings.web.public_url}en/")

    assert run(ws, store, lists, MemoryTransport(1)).sent == {"confirmation": 0, "welcome": 0}
    assert msg["Message-ID"] == message_id("confirmation-nieuwsbrief", "priya@example.org",
                                           ws.settings.sender.domain, message_id_key(KEY))

    token = parse_qs(urlsplit(link.replace("&amp;", "&")).query)["token"][0]
    confirm(store, KEY, token, lists)
    second = MemoryTransport(1)
    assert run(ws, store, lists, second).sent == {"confirmation": 0, "welcome": 1}
    assert parse(second.sent[0][2])["Subject"].startswith("Welcome")
    assert run(ws, store, lists, MemoryTransport(1)).sent == {"confirmation": 0, "welcome": 0}


def test_approved_member_gets_a_dutch_welcome_and_a_refusal_is_retried(workspace: Path) -> None:
    ws, store, lists = setup(workspace)
    add_subscriber(store, lists["leden"], email="daan@example.org", name="Daan",
                   language="nl")
    assert run(ws, store, lists, MemoryTransport(1)).sent["confirmation"] == 0  # waits for vetting
    decide(store, lists["leden"], "daan@example.org", approve=True, source="test", lists=lists)
    refused = MemoryTransport(1, faults={"daan@example.org": [Reply(451, "4.3.0 try later")]})
    report = run(ws, store, lists, refused)
    assert report.sent["welcome"] == 0 and len(report.failed) == 1
    ok = MemoryTransport(1)
    assert run(ws, store, lists, ok).sent["welcome"] == 1
    assert parse(ok.sent[0][2])["Subject"].startswith("Welkom")


def test_an_unknown_outcome_is_not_sent_again(workspace: Path) -> None:
    ws, store, lists = setup(workspace)
    add_subscriber(store, lists["nieuwsbrief"], email="jin@example.org",
                   language="en")
    dropped = MemoryTransport(1, faults={"jin@example.org": ["drop"]})
    assert len(run(ws, store, lists, dropped).failed) == 1
    assert run(ws, store, lists, MemoryTransport(1)).sent["confirmation"] == 0


def test_an_address_that_does_not_exist_is_marked_bounced_not_retried(workspace: Path) -> None:
    ws, store, lists = setup(workspace)
    add_subscriber(store, lists["nieuwsbrief"], email="nobody@example.org", language="nl")
    dead = MemoryTransport(1, faults={"nobody@example.org": [
        Reply(550, "5.1.1 <nobody@example.org>: Recipient address rejected")]})
    report = run(ws, store, lists, dead)
    assert [reason for _, reason in report.failed] == [
        "bounced, not retried: 550 5.1.1 <nobody@example.org>: Recipient address rejected"]
    nobody = store.get("nobody@example.org")
    membership = nobody.membership("nieuwsbrief") if nobody else None
    assert membership is not None and membership.status == "bounced"
    assert run(ws, store, lists, MemoryTransport(1)).sent["confirmation"] == 0
