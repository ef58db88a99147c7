"""Lifting a suppression: someone whose address bounced, who complained or who was forgotten
asks to be mailed again. The organiser lifts the block; the person joins again themselves."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from postduif.audience.membership import sign_up
from postduif.lists import ListDef
from postduif.store import Person, Store

from .conftest_smtp import SmtpServer
from .test_cli_people import run
from .test_cli_send import CAMPAIGN, prepare

SAM = "sam@example.org"
SOURCE = "command:subscribers unsuppress: asked by email"


def _confirmed(store: Store, email: str, list_def: ListDef) -> None:
    store.join(Person(email=email, first_name="Sam"), list=list_def.name, status="confirmed",
               event="confirmed", source="test", consent_version=list_def.consent_version,
               default_language="nl")


def test_a_hard_bounce_lifted_lets_them_sign_up_again_with_a_new_confirmation(
        store: Store, nieuwsbrief: ListDef) -> None:
    _confirmed(store, SAM, nieuwsbrief)
    store.set_status(SAM, "nieuwsbrief", "bounced", event="bounced", source="send juni: 5.1.1")
    store.suppress(SAM, reason="bounced", source="send juni: 5.1.1")
    assert sign_up(store, nieuwsbrief, Person(email=SAM), source="web",
                   resend_after=None) == "suppressed"
    lifted = store.unsuppress(SAM, source=SOURCE)
    assert lifted is not None
    suppression, lists = lifted
    assert suppression is not None and suppression.reason == "bounced"
    assert lists == [("nieuwsbrief", "bounced")]
    assert not store.is_suppressed(SAM)
    member = store.get(SAM)
    assert member is not None and member.membership("nieuwsbrief").status == "unsubscribed"
    assert store.consent_log(SAM)[-1].event == "unsuppressed"
    assert store.consent_log(SAM)[-1].source == SOURCE
    # Nobody is put back: the form starts them over, pending until they confirm.
    assert sign_up(store, nieuwsbrief, Person(email=SAM), source="web",
                   resend_after=None) == "restarted"
    member = store.get(SAM)
    assert member is not None and member.membership("nieuwsbrief").status == "pending"


def test_a_forgotten_address_lifted_keeps_no_address_until_they_join(
        store: Store, nieuwsbrief: ListDef) -> None:
    _confirmed(store, SAM, nieuwsbrief)
    store.forget(SAM, source="command:subscribers forget")
    lifted = store.unsuppress(SAM, source=SOURCE)
    assert lifted is not None and lifted[0] is not None and lifted[0].reason == "forgotten"
    assert lifted[1] == []
    assert [e.event for e in store.consent_log(SAM)][-1] == "unsuppressed"
    with sqlite3.connect(store.path) as raw:  # the file itself, not the store's view of it
        held = [row for table in ("subscribers", "consent_log")
                for row in raw.execute(f"SELECT * FROM {table}") if SAM in map(str, row)]
    assert held == []
    assert sign_up(store, nieuwsbrief, Person(email=SAM), source="web",
                   resend_after=None) == "new"


def test_nothing_to_lift_changes_nothing(store: Store, nieuwsbrief: ListDef) -> None:
    _confirmed(store, SAM, nieuwsbrief)
    before = store.consent_log(SAM)
    assert store.unsuppress(SAM, source=SOURCE) is None
    assert store.unsuppress("nobody@example.org", source=SOURCE) is None
    assert store.consent_log(SAM) == before


def test_the_command_after_a_real_5_1_1_names_what_it_lifted(
        workspace: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    """The send path's own hard bounce (a 550 5.1.1 from a real SMTP server) suppresses the
    address; the command lifts it and says so, the relay's words shown as they came."""
    reply = "550 5.1.1 <lid010@example.org>: [bold]no such user[/bold]"
    server = smtp_server(faults={"reject": {"lid010@example.org": reply}})
    prepare(workspace, server)
    assert run(workspace, "send", CAMPAIGN, "--yes").returncode == 1
    shown = run(workspace, "subscribers", "show", "lid010@example.org")
    assert "Suppressed (bounced) since" in shown.stdout and "[bold]no such user" in shown.stdout
    missing = run(workspace, "subscribers", "unsuppress", "lid010@example.org")
    assert missing.returncode == 2 and "--reason" in missing.stderr
    lifted = run(workspace, "subscribers", "unsuppress", "lid010@example.org",
                 "--reason", "asked by email, mailbox fixed")
    assert lifted.returncode == 0, lifted.stderr
    assert "suppression lifted (was bounced since" in lifted.stdout
    assert "[bold]no such user[/bold]" in lifted.stdout  # literally, not as markup
    assert "nieuwsbrief: bounced -> unsubscribed" in lifted.stdout
    assert "join again through the site's form" in lifted.stdout
    again = run(workspace, "subscribers", "unsuppress", "lid010@example.org",
                "--reason", "twice")
    assert again.returncode == 0 and "nothing changed" in again.stdout
    log = run(workspace, "subscribers", "export", "lid010@example.org").stdout
    assert "command:subscribers unsuppress: asked by email, mailbox fixed" in log
