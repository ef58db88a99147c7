"""Delivery against a real SMTP server (a child process) that fails on purpose.

Each test runs the real :class:`~postduif.send.SmtpTransport` and :func:`~postduif.send.deliver`
over a socket to ``tests/smtp_sink.py``, with subscribers in a real store, and then checks
three things against each other: what the engine reported, what the ledger recorded, and what
the server actually received (every received message is parsed back and inspected).

Every test runs twice: against a server that advertises PIPELINING (RFC 2920: postduif then
sends MAIL, RCPT and DATA in one write, and a message's end with the next one's envelope) and
against one that does not (one command per round trip).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from postduif.audience.tokens import read_token
from postduif.errors import SendError
from postduif.message import message_id, message_id_key
from postduif.send import (
    DeliveryReport,
    RetryPolicy,
    SmtpTransport,
    deliver,
    ledger_status,
    start_campaign,
)
from postduif.store import Person, Store

from .conftest_smtp import Received, SmtpServer
from .send_child import (
    TOKEN_KEY,
    Campaign,
    add_subscribers,
    load_campaign,
    person,
    smtp_settings,
    targets,
)

StartServer = Callable[..., SmtpServer]
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.02, max_delay=0.1)
SUBSCRIBERS = 12


class Sending:
    """A campaign snapshotted into a fresh store, ready to deliver to one server."""

    def __init__(self, workspace: Path, tmp_path: Path, count: int = SUBSCRIBERS) -> None:
        self.campaign = load_campaign(workspace)
        self.store = Store.open(tmp_path / "store.sqlite3")
        self.people = {p.email: p for p in (person(n) for n in range(1, count + 1))}
        add_subscribers(self.store, list(self.people.values()))
        start_campaign(self.store, self.campaign.name, self.campaign.list,
                       targets(self.store, self.campaign))

    def deliver(self, server: SmtpServer, *, timeout: float = 5.0, username: str = "",
                password: str | None = None, **options: Any) -> DeliveryReport:
        settings = smtp_settings(server.host, server.port, timeout=timeout, username=username)
        transport = SmtpTransport(settings, password=password)
        c = self.campaign
        return asyncio.run(deliver(self.store, c.name, c.list, transport, c.compose,
                                   envelope_from=c.sender, retry=FAST_RETRY, **options))

    def states(self) -> dict[str, str]:
        """Ledger state of every row that is not plainly sent or queued, by address."""
        return {f.email: f.state for f in ledger_status(self.store, self.campaign.name).failures}

    def totals(self) -> Any:
        return ledger_status(self.store, self.campaign.name).totals

    def membership_status(self, email: str) -> str:
        subscriber = self.store.get(email)
        assert subscriber is not None
        membership = subscriber.membership(self.campaign.list)
        assert membership is not None
        return membership.status


@pytest.fixture
def sending(workspace: Path, tmp_path: Path) -> Sending:
    return Sending(workspace, tmp_path)


@pytest.fixture(params=["pipelined", "plain"])
def fault_server(request: pytest.FixtureRequest, smtp_server: StartServer) -> StartServer:
    """``smtp_server``, advertising PIPELINING or not (the test runs once each way)."""
    pipelining = request.param == "pipelined"

    def start(faults: dict[str, Any] | None = None) -> SmtpServer:
        return smtp_server(faults={**(faults or {}), "pipelining": pipelining})
    start.pipelining = pipelining  # type: ignore[attr-defined]
    return start


def addresses(*numbers: int) -> list[str]:
    return [person(n).email for n in numbers]


def received_once(server: SmtpServer) -> Counter[str]:
    return Counter(server.mailbox.recipients())


# -- the messages as received -----------------------------------------------------------------

def check_received(message: Received, campaign: Campaign, people: dict[str, Person]) -> None:
    """Everything the issue promises about one message, read back from the server's copy."""
    assert len(message.rcpt_tos) == 1
    rcpt = message.rcpt_tos[0]
    someone = people[rcpt]
    assert message.mail_from == campaign.sender
    raw_lines = message.data.split(b"\r\n")
    assert all(len(line) <= 998 for line in raw_lines), "a line is longer than 998 octets"
    assert b"\n" not in message.data.replace(b"\r\n", b""), "a bare LF in the message"
    msg = message.parsed()
    _check_headers(msg, rcpt, someone, campaign)
    _check_parts(msg, someone, campaign)


def _variant(someone: Person, campaign: Campaign) -> str:
    return campaign.routing[someone.language or "nl"]


def _check_headers(msg: EmailMessage, rcpt: str, someone: Person, campaign: Campaign) -> None:
    variant = _variant(someone, campaign)
    sender = msg["From"].addresses
    assert len(sender) == 1 and sender[0].addr_spec == campaign.sender
    assert sender[0].display_name == "Techwerkers"
    to = msg["To"].addresses
    assert len(to) == 1 and to[0].addr_spec == rcpt
    assert to[0].display_name == f"{someone.first_name} {someone.last_name}".strip()
    assert msg["Subject"] == campaign.rendered[variant].subject
    assert msg["Date"].datetime is not None
    assert msg["Message-ID"] == message_id(campaign.name, rcpt, campaign.sender_domain,
                                           message_id_key(TOKEN_KEY))
    assert msg["Message-ID"].endswith(f"@{campaign.sender_domain}>")
    assert msg["Content-Language"] == variant
    assert msg["List-Id"].endswith(f"<{campaign.list}.{campaign.sender_domain}>")
    _check_unsubscribe(msg, rcpt, campaign)


def _check_unsubscribe(msg: EmailMessage, rcpt: str, campaign: Campaign) -> None:
    links = [part.strip().strip("<>") for part in str(msg["List-Unsubscribe"]).split(",")]
    https = [link for link in links if link.startswith("https://")]
    mailto = [link for link in links if link.startswith("mailto:")]
    assert len(https) == 1 and len(mailto) == 1, links
    token = parse_qs(urlsplit(https[0]).query)["token"][0]
    assert read_token(TOKEN_KEY, token, action="unsubscribe") == (rcpt, campaign.list)
    assert mailto[0].startswith(f"mailto:{campaign.sender}")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def _check_parts(msg: EmailMessage, someone: Person, campaign: Campaign) -> None:
    assert msg.get_content_type() == "multipart/alternative"
    parts = msg.get_payload()
    assert isinstance(parts, list)
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    for part in parts:
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
    rendered = campaign.rendered[_variant(someone, campaign)]
    greeting = (rendered.greeting_named.format(name=someone.first_name) if someone.first_name
                else rendered.greeting_anonymous)
    text, html = (p.get_content() for p in parts)
    assert greeting in text
    assert "%%" not in text and "%%" not in html, "a placeholder was left unfilled"
    assert "</html>" in html.lower()


# -- the faults -------------------------------------------------------------------------------

def test_a_clean_run_delivers_every_message_once_and_well_formed(
        sending: Sending, fault_server: StartServer) -> None:
    server = fault_server()
    report = sending.deliver(server)
    assert (report.sent, report.failed, report.unknown) == (SUBSCRIBERS, 0, 0)
    assert received_once(server) == Counter(sending.people.keys())
    for message in server.mailbox.messages():
        check_received(message, sending.campaign, sending.people)
    # Pipelined exactly when the server offers it: RCPT sent before MAIL's reply came.
    pipelined = {m.pipelined for m in server.mailbox.messages()}
    assert pipelined == {fault_server.pipelining}  # type: ignore[attr-defined]
    # Both languages went out, each to the right people.
    languages = Counter(m.parsed()["Content-Language"] for m in server.mailbox.messages())
    assert set(languages) == {"nl", "en"}


def test_451_once_is_retried_and_delivered(sending: Sending, fault_server: StartServer) -> None:
    flaky = addresses(2, 5)
    server = fault_server(faults={"temp_fail_once": flaky})
    report = sending.deliver(server)
    assert report.sent == SUBSCRIBERS and report.failed == 0
    assert received_once(server) == Counter(sending.people.keys())
    assert sending.totals().sent == SUBSCRIBERS
    for message in server.mailbox.messages():
        check_received(message, sending.campaign, sending.people)


def test_451_after_data_is_retried_and_delivered(sending: Sending,
                                                  fault_server: StartServer) -> None:
    server = fault_server(faults={"temp_fail_once_data": addresses(3)})
    report = sending.deliver(server)
    assert report.sent == SUBSCRIBERS
    assert received_once(server) == Counter(sending.people.keys())


def test_550_bounces_those_recipients_and_sends_the_rest(sending: Sending,
                                                         fault_server: StartServer) -> None:
    unknown_users = addresses(4, 9)
    server = fault_server(faults={
        "reject": {email: "550 5.1.1 no such user here" for email in unknown_users}})
    report = sending.deliver(server)
    assert (report.sent, report.failed, report.bounced) == (SUBSCRIBERS - 2, 2, 2)
    expected = Counter(e for e in sending.people if e not in unknown_users)
    assert received_once(server) == expected
    failures = {f.email: f for f in ledger_status(sending.store, sending.campaign.name).failures}
    assert set(failures) == set(unknown_users)
    for email in unknown_users:
        assert failures[email].state == "failed"
        assert failures[email].code == 550 and "5.1.1" in failures[email].reply
        assert sending.membership_status(email) == "bounced"
    assert sending.membership_status(person(1).email) == "confirmed"


def test_421_mid_session_reconnects_and_delivers_each_once(
        workspace: Path, tmp_path: Path, fault_server: StartServer) -> None:
    sending = Sending(workspace, tmp_path, count=30)
    server = fault_server(faults={"close_421_after": 3})
    report = sending.deliver(server)
    assert report.sent == 30 and report.failed == report.unknown == 0
    assert received_once(server) == Counter(sending.people.keys())
    assert max(received_once(server).values()) == 1


def test_a_connection_dropped_after_data_leaves_the_row_unknown(
        sending: Sending, fault_server: StartServer) -> None:
    dropped = person(6).email
    server = fault_server(faults={"drop_after_data": [dropped]})
    report = sending.deliver(server)
    assert report.unknown == 1 and report.sent == SUBSCRIBERS - 1
    assert sending.states() == {dropped: "unknown"}
    assert dropped not in received_once(server)

    again = sending.deliver(server)  # a plain re-run reports it but does not resend it
    assert again.sent == 0
    assert sending.states() == {dropped: "unknown"}
    assert server.mailbox.count() == SUBSCRIBERS - 1

    resent = sending.deliver(server, resend_unknown=True)
    assert resent.sent == 1
    assert sending.states() == {}
    assert received_once(server) == Counter(sending.people.keys())


def test_a_stalled_server_times_out_and_the_run_ends(sending: Sending,
                                                     fault_server: StartServer) -> None:
    server = fault_server(faults={"stall_after": 5})
    started = time.monotonic()
    report = sending.deliver(server, timeout=0.5)
    assert time.monotonic() - started < 30
    arrived = received_once(server)
    assert sum(arrived.values()) == 5
    states = sending.states()
    totals = sending.totals()
    # What the server accepted is recorded as sent, and nothing else is.
    assert totals.sent == 5 and report.sent == 5
    unknown = {e for e, s in states.items() if s == "unknown"}
    assert 1 <= len(unknown) <= 4, states  # the messages whose DATA timed out
    assert not unknown & set(arrived)
    assert totals.total == SUBSCRIBERS
    # An outage is nobody's fault: the rest stay queued for a resume, and the run says why.
    assert totals.queued + totals.unknown == SUBSCRIBERS - 5
    assert totals.failed == 0
    assert report.paused is not None and "stopped answering" in report.paused


def test_a_wrong_password_sends_nothing(sending: Sending, fault_server: StartServer) -> None:
    server = fault_server(faults={"auth": {"user": "postduif", "password": "juist"}})
    with pytest.raises(SendError) as raised:
        sending.deliver(server, username="postduif", password="fout")
    assert f"{server.host}:{server.port}" in str(raised.value)
    assert server.mailbox.count() == 0
    assert sending.totals().queued == SUBSCRIBERS

    report = sending.deliver(server, username="postduif", password="juist")
    assert report.sent == SUBSCRIBERS
    assert received_once(server) == Counter(sending.people.keys())


def test_a_policy_block_pauses_the_campaign(sending: Sending, fault_server: StartServer) -> None:
    blocked = person(2).email
    reply = "554 5.7.1 message refused: sender blocked by policy"
    server = fault_server(faults={"policy_block": {blocked: reply}})
    report = sending.deliver(server)
    assert report.paused is not None and "5.7.1" in report.paused
    arrived = received_once(server)
    assert blocked not in arrived
    totals = sending.totals()
    assert totals.failed == 0 and totals.unknown == 0
    assert totals.sent == sum(arrived.values()) == report.sent
    assert totals.queued == SUBSCRIBERS - totals.sent >= 1
    assert report.remaining == totals.queued
    assert sending.membership_status(blocked) == "confirmed"


def test_a_refused_mail_is_no_delivery_and_is_retried(sending: Sending,
                                                     fault_server: StartServer) -> None:
    """The RCPT and DATA pipelined behind a refused MAIL get 503: nothing is delivered, the
    session is reset, and each message arrives once on a later attempt."""
    server = fault_server(faults={"refuse_mail": 3})
    report = sending.deliver(server)
    assert (report.sent, report.failed, report.unknown) == (SUBSCRIBERS, 0, 0)
    assert received_once(server) == Counter(sending.people.keys())
    retried = [e for e in sending.store.ledger_entries(sending.campaign.name) if e.attempts > 1]
    assert len(retried) == 3


def test_a_drop_after_the_final_reply_delivers_that_message_and_resends_nothing(
        sending: Sending, fault_server: StartServer) -> None:
    """The 250 arrived, then the connection closed: that row is sent; the envelope that was
    pipelined behind it had no data yet, so its row is retried, not unknown."""
    closing = person(4).email
    server = fault_server(faults={"drop_after_reply": [closing]})
    report = sending.deliver(server)
    assert (report.sent, report.failed, report.unknown) == (SUBSCRIBERS, 0, 0)
    assert sending.states() == {}
    assert received_once(server) == Counter(sending.people.keys())
