"""``postduif serve`` sends confirmation emails itself, seconds after a sign-up.

Real parts only: ``postduif serve`` in a child process, the fault-injecting aiosmtpd server
of tests/smtp_sink.py in another, the store as an SQLite file, HTTP over loopback.
"""

from __future__ import annotations

import email
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path

import httpx

from postduif.audience.greetings import due
from postduif.audience.membership import add_subscriber, sign_up
from postduif.lists import available_lists
from postduif.store import Person, Store
from postduif.workspace import Workspace

from .conftest_smtp import SmtpServer
from .web_support import Serve, free_port


def _point_at(workspace: Path, smtp_port: int) -> None:
    """Send through the test's SMTP server (the sample workspace says 127.0.0.1:1025)."""
    config = workspace / "postduif.toml"
    text = re.sub(r"(?m)^port = \d+", f"port = {smtp_port}", config.read_text(encoding="utf-8"),
                  count=1)
    config.write_text(text, encoding="utf-8")


def _start(serve: Callable[..., Serve], workspace: Path, smtp_port: int,
           retry_seconds: float) -> Serve:
    _point_at(workspace, smtp_port)
    return serve(send_greetings=True, greetings_retry_seconds=retry_seconds)


def _subscribe(served: Serve, address: str, lang: str = "nl") -> None:
    answer = httpx.post(f"{served.url}/{lang}/newsletter/subscribe", data={"email": address},
                        timeout=10)
    assert answer.status_code == 303, answer.text  # to the "check your inbox" page


def _parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _wait_quietly(seconds: float) -> None:
    """Give the background sender time to do what it should not (send a second email)."""
    time.sleep(seconds)


def test_a_sign_up_gets_its_confirmation_within_seconds(
        workspace: Path, smtp_server: Callable[..., SmtpServer],
        serve: Callable[..., Serve]) -> None:
    smtp = smtp_server()
    served = _start(serve, workspace, smtp.port, retry_seconds=300)  # no retry round helps
    started = time.monotonic()
    _subscribe(served, "priya@example.org", "en")
    assert smtp.mailbox.wait_for(1, timeout=10) == 1, served.output()
    assert time.monotonic() - started < 10
    [received] = smtp.mailbox.messages()
    message = _parsed(received.data)
    assert received.rcpt_tos == ("priya@example.org",)
    assert message["Content-Language"] == "en"
    assert "/en/newsletter/confirm/?token=" in message.get_body(("plain",)).get_content()


def test_twenty_sign_ups_of_one_address_send_one_email(
        workspace: Path, smtp_server: Callable[..., SmtpServer],
        serve: Callable[..., Serve]) -> None:
    smtp = smtp_server()
    served = _start(serve, workspace, smtp.port, retry_seconds=0.5)
    for _ in range(20):
        _subscribe(served, "Sam@Example.org")
    assert smtp.mailbox.wait_for(1, timeout=10) == 1
    _wait_quietly(2.5)  # several retry rounds
    assert smtp.mailbox.recipients() == ["sam@example.org"]
    with Store.open(workspace / "lists/postduif.sqlite3") as store:
        events = [(e.event, e.source) for e in store.consent_log("sam@example.org")]
    assert events == [("requested", "web:subscribe")]


def test_a_failing_mail_server_does_not_fail_the_form(
        workspace: Path, smtp_server: Callable[..., SmtpServer],
        serve: Callable[..., Serve]) -> None:
    """451 on the first try: the sign-up stands, and the email goes out on a later round."""
    smtp = smtp_server(faults={"temp_fail_once": ["jin@example.org"]})
    served = _start(serve, workspace, smtp.port, retry_seconds=1)
    _subscribe(served, "jin@example.org", "en")
    assert smtp.mailbox.wait_for(1, timeout=10) == 1, served.output()
    assert "not sent" in served.output()


def test_no_mail_server_at_all_still_takes_the_sign_up(
        workspace: Path, serve: Callable[..., Serve]) -> None:
    served = _start(serve, workspace, free_port(), retry_seconds=0.5)  # nothing listens there
    _subscribe(served, "noor@example.org")
    _wait_quietly(1.5)
    assert served.process.poll() is None  # still serving
    with Store.open(workspace / "lists/postduif.sqlite3") as store:
        subscriber = store.get("noor@example.org")
    membership = subscriber.membership("nieuwsbrief") if subscriber else None
    assert membership is not None and membership.status == "pending"
    assert membership.confirmation_sent_at is None  # still due for the next round
    assert "cannot connect to 127.0.0.1" in served.output()


def test_a_leaver_who_signs_up_again_gets_a_new_confirmation(
        workspace: Path, smtp_server: Callable[..., SmtpServer],
        serve: Callable[..., Serve]) -> None:
    smtp = smtp_server()
    ws = Workspace.open(workspace)
    long_ago = datetime.now(UTC) - timedelta(days=400)
    with Store.open(ws.settings.database, clock=lambda: long_ago) as store:
        add_subscriber(store, ws.list_def("nieuwsbrief"), email="lotte@example.org",
                       language="nl")
        store.mark_sent("lotte@example.org", "nieuwsbrief", "confirmation")
        store.set_status("lotte@example.org", "nieuwsbrief", "unsubscribed",
                         event="unsubscribed", source="test")
        store.forget("gone@example.org", source="test")
    served = _start(serve, workspace, smtp.port, retry_seconds=300)
    _subscribe(served, "lotte@example.org", "en")  # this time from the English page
    assert smtp.mailbox.wait_for(1, timeout=10) == 1, served.output()
    [received] = smtp.mailbox.messages()
    assert received.rcpt_tos == ("lotte@example.org",)
    assert _parsed(received.data)["Content-Language"] == "en"

    _subscribe(served, "gone@example.org")  # asked to be forgotten: kept out, and logged
    deadline = time.monotonic() + 5
    while "not taken" not in served.output() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "a sign-up for nieuwsbrief was not taken: the address is suppressed" in served.output()
    assert "gone@example.org" not in served.output()


def test_confirmations_per_day_is_a_setting(workspace: Path) -> None:
    """The daily limit counts from the last confirmation email, per address."""
    ws = Workspace.open(workspace)
    nieuwsbrief = ws.list_def("nieuwsbrief")
    lists = [ws.list_def(name) for name in available_lists(ws.settings.lists_dir)]
    now = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]
    with Store.open(ws.settings.database, clock=lambda: now[0]) as store:
        person = Person(email="ada@example.org", language="en")
        sign_up(store, nieuwsbrief, person, source="test", resend_after=timedelta(hours=8))
        assert [g.email for g in due(store, lists)] == ["ada@example.org"]
        assert store.claim_sent("ada@example.org", "nieuwsbrief", "confirmation")
        assert not store.claim_sent("ada@example.org", "nieuwsbrief", "confirmation")
        now[0] += timedelta(hours=7)
        sign_up(store, nieuwsbrief, person, source="test", resend_after=timedelta(hours=8))
        assert list(due(store, lists)) == []
        now[0] += timedelta(hours=1)
        sign_up(store, nieuwsbrief, person, source="test", resend_after=timedelta(hours=8))
        assert [g.email for g in due(store, lists)] == ["ada@example.org"]
        sign_up(store, nieuwsbrief, person, source="test", resend_after=None)  # no limit
        assert [g.email for g in due(store, lists)] == ["ada@example.org"]
