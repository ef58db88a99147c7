"""The delivery engine over the in-memory transport and a real (in-process) aiosmtpd server."""

from __future__ import annotations

import asyncio
import os
import random
import re
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from postduif.config import SmtpSettings
from postduif.errors import SendError
from postduif.send import (
    DeliveryReport,
    MemoryTransport,
    PermanentFailure,
    Progress,
    RateLimit,
    Reply,
    RetryPolicy,
    SmtpTransport,
    Target,
    deliver,
    ledger_status,
    start_campaign,
    write_outbox,
)
from postduif.send.ratelimit import RateLimiter
from postduif.send.replies import Verdict, judge
from postduif.store import Person, Store

LIST = "nieuwsbrief"
SENDER = "bounces@techwerkers.example"
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)


def confirm(store: Store, email: str, name: str = "") -> None:
    store.join(Person(email, first_name=name), list=LIST, status="confirmed", event="confirmed",
               source="test", consent_version="v1", default_language="nl")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store.sqlite3") as opened:
        for number in range(1, 13):
            confirm(opened, f"lid{number:02d}@example.org", f"Lid {number}")
        start_campaign(opened, "juni", LIST,
                       ((m.email, m.first_name, "nl" if m.id % 2 else "en")
                        for m in opened.members(LIST)))
        yield opened


def compose(target: Target) -> bytes:
    """A small but real message, so tests can parse what arrived."""
    message = EmailMessage()
    message["From"] = f"Techwerkers <{SENDER}>"
    message["To"] = f"{target.name} <{target.email}>"
    message["Subject"] = f"Nieuwsbrief juni ({target.variant})"
    message.set_content(f"Hoi {target.name},\n\nDit is de nieuwsbrief van juni.\n")
    return message.as_bytes(policy=policy.SMTP)


def run(store: Store, transport: Any, **options: Any) -> DeliveryReport:
    options.setdefault("compose", compose)
    options.setdefault("retry", FAST)
    return asyncio.run(deliver(store, "juni", LIST, transport, envelope_from=SENDER, **options))


def states(store: Store) -> dict[str, str]:
    return {e.email: e.state for e in store.ledger_entries("juni")}


def member_status(store: Store, email: str) -> str:
    subscriber = store.get(email)
    assert subscriber is not None
    membership = subscriber.membership(LIST)
    assert membership is not None
    return membership.status


# -- the happy path -----------------------------------------------------------------------------

def test_every_row_is_sent_once_over_one_connection_per_worker(store: Store) -> None:
    transport = MemoryTransport(connections=3)
    seen: list[Progress] = []
    report = run(store, transport, progress=seen.append)
    assert (report.sent, report.failed, report.remaining, report.interrupted) == (12, 0, 0, False)
    assert transport.checked and transport.opened == 3
    assert sorted(r for _, r, _ in transport.sent) == sorted(states(store))
    assert set(states(store).values()) == {"sent"}
    assert (seen[-1].total, seen[-1].sent, seen[-1].remaining) == (12, 12, 0)
    again = run(store, transport)
    assert (again.sent, transport.delivered) == (0, 12)  # a re-run never sends a sent row


def test_the_composed_bytes_are_what_is_delivered(store: Store) -> None:
    transport = MemoryTransport(connections=2)
    run(store, transport)
    for sender, recipient, data in transport.sent:
        parsed = message_from_bytes(data, policy=policy.default)
        assert sender == SENDER
        assert recipient in parsed["To"]
        assert parsed["Subject"].startswith("Nieuwsbrief juni")


def test_a_failing_check_sends_and_claims_nothing(store: Store) -> None:
    transport = MemoryTransport(check_error=SendError("cannot connect to mail:587: refused"))
    with pytest.raises(SendError, match="mail:587"):
        run(store, transport)
    assert set(states(store).values()) == {"queued"} and transport.opened == 0


def test_a_campaign_that_was_never_started_is_refused(store: Store) -> None:
    with pytest.raises(SendError, match="no recipients yet"):
        asyncio.run(deliver(store, "juli", LIST, MemoryTransport(), compose,
                            envelope_from=SENDER))


# -- replies ------------------------------------------------------------------------------------

def test_a_451_is_retried_and_then_delivered(store: Store) -> None:
    transport = MemoryTransport(faults={"lid03@example.org": [Reply(451, "4.3.0 try later")]})
    report = run(store, transport)
    assert (report.sent, report.failed) == (12, 0)
    entry = next(e for e in store.ledger_entries("juni") if e.email == "lid03@example.org")
    assert (entry.state, entry.attempts) == ("sent", 2)


def test_temporary_failures_become_final_after_the_last_attempt(store: Store) -> None:
    deferrals = [Reply(452, "4.2.2 mailbox full")] * 5
    report = run(store, MemoryTransport(faults={"lid04@example.org": deferrals}))
    assert (report.sent, report.failed, report.bounced) == (11, 1, 0)
    [failure] = ledger_status(store, "juni").failures
    assert (failure.email, failure.state, failure.code) == ("lid04@example.org", "failed", 452)
    assert "after 3 attempts" in failure.reply
    assert member_status(store, "lid04@example.org") == "confirmed"


def test_an_unknown_mailbox_bounces_and_is_suppressed(store: Store) -> None:
    faults = {"lid05@example.org": [Reply(550, "5.1.1 no such user")],
              "lid06@example.org": [Reply(550, "mailbox unavailable")],
              "lid07@example.org": [Reply(554, "5.6.0 message content rejected")]}
    report = run(store, MemoryTransport(faults=faults))
    assert (report.sent, report.failed, report.bounced) == (9, 3, 2)
    assert member_status(store, "lid05@example.org") == "bounced"
    assert member_status(store, "lid06@example.org") == "bounced"
    assert member_status(store, "lid07@example.org") == "confirmed"
    assert [store.suppression(f"lid0{n}@example.org") is not None for n in (5, 6, 7)] == [
        True, True, False]
    suppression = store.suppression("lid05@example.org")
    assert suppression is not None and suppression.reason == "bounced"
    assert suppression.source == "send juni: 5.1.1 no such user"


def test_a_policy_refusal_pauses_the_campaign_with_the_rest_queued(store: Store) -> None:
    refusal = Reply(550, "5.7.1 sending rate exceeded for this account")
    transport = MemoryTransport(connections=1, faults={"lid03@example.org": [refusal]})
    report = run(store, transport)
    assert report.paused == str(refusal)
    assert (report.sent, report.failed, report.remaining) == (2, 0, 10)
    assert states(store)["lid03@example.org"] == "queued"
    assert ledger_status(store, "juni").paused == str(refusal)
    resumed = run(store, transport)
    assert (resumed.sent, resumed.paused, ledger_status(store, "juni").paused) == (10, None, None)


def test_a_connection_lost_after_data_leaves_the_row_unknown(store: Store) -> None:
    report = run(store, MemoryTransport(faults={"lid08@example.org": ["drop"]}))
    assert (report.sent, report.unknown) == (11, 1)
    assert states(store)["lid08@example.org"] == "unknown"


@pytest.mark.parametrize(("reply", "stage", "verdict"), [
    (Reply(550, "5.1.1 user unknown"), "rcpt", Verdict.BOUNCE),
    (Reply(553, "mailbox name not allowed"), "rcpt", Verdict.BOUNCE),
    (Reply(550, "5.7.1 relaying denied"), "rcpt", Verdict.POLICY),
    (Reply(554, "5.7.0 message refused as spam"), "data", Verdict.POLICY),
    (Reply(553, "sender address rejected"), "mail", Verdict.POLICY),
    (Reply(554, "transaction failed"), "data", Verdict.FAIL),
    (Reply(550, "5.2.1 mailbox disabled"), "rcpt", Verdict.FAIL),
])
def test_permanent_replies_are_judged_by_their_enhanced_code(reply: Reply, stage: str,
                                                             verdict: Verdict) -> None:
    assert judge(PermanentFailure(reply, stage=stage)) is verdict


# -- claiming rows in batches ---------------------------------------------------------------------

def commits_during(store: Store, action: Any) -> int:
    """How many transactions the store commits while ``action()`` runs."""
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    try:
        action()
    finally:
        store._conn.set_trace_callback(None)
    return sum(1 for sql in statements if sql.strip().upper() == "COMMIT")


@pytest.mark.parametrize("batch", [1, 4])
def test_a_connection_claims_batch_rows_per_commit(store: Store, batch: int) -> None:
    commits = commits_during(store, lambda: run(store, MemoryTransport(connections=1),
                                                batch=batch))
    assert set(states(store).values()) == {"sent"}
    # Before the run: unknown rows checked; then one commit per claim; the last outcomes.
    assert 12 // batch <= commits <= 12 // batch + 3


def test_a_row_is_sending_on_disk_before_its_message_is_composed(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commits wait for the disk off the event loop (a thread fsyncs the WAL): still, no
    worker gets a row before the fsync that follows the commit making it ``sending``."""
    events: list[tuple[str, int]] = []  # ("sending", row) / ("commit", 0) / ("fsync", 0) / ...
    fsync = os.fsync

    def observed_fsync(fd: int) -> None:
        fsync(fd)
        events.append(("fsync", 0))

    def trace(sql: str) -> None:
        if sql.strip().upper() == "COMMIT":
            events.append(("commit", 0))
        elif (found := re.search(r"SET state = 'sending'.* WHERE id = (\d+)", sql, re.S)):
            events.append(("sending", int(found.group(1))))

    def composing(target: Target) -> bytes:
        events.append(("compose", target.id))
        return compose(target)
    monkeypatch.setattr(os, "fsync", observed_fsync)
    store._conn.set_trace_callback(trace)
    try:
        report = run(store, MemoryTransport(connections=3, latency=0.001), compose=composing,
                     batch=2)
    finally:
        store._conn.set_trace_callback(None)
    assert report.sent == 12
    composed = [index for index, (kind, _) in enumerate(events) if kind == "compose"]
    assert len(composed) == 12
    for index in composed:
        row = events[index][1]
        claimed = events.index(("sending", row))
        committed = next(i for i in range(claimed, len(events)) if events[i][0] == "commit")
        assert committed < index, f"row {row} composed before its claim was committed"
        assert ("fsync", 0) in events[committed:index], f"row {row} composed before the fsync"


def test_no_more_than_batch_rows_per_connection_are_ever_sending(store: Store) -> None:
    in_flight: list[int] = []

    def counting(target: Target) -> bytes:
        counts = {state: n for _, state, n in store.ledger_counts("juni") if state == "sending"}
        in_flight.append(sum(counts.values()))
        return compose(target)
    report = run(store, MemoryTransport(connections=2, latency=0.001), compose=counting, batch=3)
    assert report.sent == 12
    assert max(in_flight) <= 2 * 3
    assert max(in_flight) > 2  # it did claim ahead
    assert "sending" not in states(store).values()


def test_rows_claimed_but_not_sent_go_back_to_the_queue(store: Store) -> None:
    refusal = Reply(550, "5.7.1 sending rate exceeded")
    transport = MemoryTransport(connections=1, faults={"lid02@example.org": [refusal]})
    report = run(store, transport, batch=8)
    assert report.paused == str(refusal) and report.sent == 1
    entries = {e.email: e for e in store.ledger_entries("juni")}
    assert [e.state for e in entries.values()].count("queued") == 11
    assert entries["lid05@example.org"].attempts == 0  # claimed, never tried: not counted


# -- resuming -----------------------------------------------------------------------------------

def test_a_row_left_sending_by_a_crash_is_unknown_until_resend_is_asked(store: Store) -> None:
    crashed = store.advance_ledger("juni", None, now=0.0).row  # claimed, then "killed"
    assert crashed is not None
    transport = MemoryTransport()
    report = run(store, transport)
    assert (report.sent, states(store)[crashed.email]) == (11, "unknown")
    assert crashed.email not in {r for _, r, _ in transport.sent}
    resent = run(store, transport, resend_unknown=True)
    assert (resent.sent, states(store)[crashed.email]) == (1, "sent")


def test_an_unsubscribe_during_the_campaign_is_honoured(store: Store) -> None:
    def unsubscribing(target: Target) -> bytes:
        if target.email == "lid01@example.org":
            store.set_status("lid10@example.org", LIST, "unsubscribed", event="unsubscribed",
                             source="one-click")
        return compose(target)
    transport = MemoryTransport(connections=1)
    report = run(store, transport, compose=unsubscribing)
    assert (report.sent, report.skipped) == (11, 1)
    assert states(store)["lid10@example.org"] == "skipped"
    assert "lid10@example.org" not in {r for _, r, _ in transport.sent}


def test_the_stop_event_finishes_messages_in_flight_and_reports_interrupted(
        store: Store) -> None:
    stop = asyncio.Event()
    composed: list[str] = []

    def stopping(target: Target) -> bytes:
        composed.append(target.email)
        if len(composed) == 5:
            stop.set()
        return compose(target)
    transport = MemoryTransport(connections=4, latency=0.02)
    report = run(store, transport, compose=stopping, stop=stop)
    assert report.interrupted
    assert report.sent == len(composed) == transport.delivered  # nothing abandoned in flight
    assert 5 <= report.sent < 12 and report.remaining == 12 - report.sent
    assert "sending" not in states(store).values()


def test_two_deliveries_of_one_campaign_cannot_run_at_once(store: Store, tmp_path: Path) -> None:
    async def both() -> None:
        first = asyncio.create_task(deliver(store, "juni", LIST, MemoryTransport(latency=0.05),
                                            compose, envelope_from=SENDER))
        await asyncio.sleep(0.02)
        with Store.open(tmp_path / "store.sqlite3") as second, \
                pytest.raises(SendError, match=r"being sent by another process \(pid \d+\)"):
            await deliver(second, "juni", LIST, MemoryTransport(), compose,
                          envelope_from=SENDER)
        assert (await first).sent == 12
    asyncio.run(both())
    assert run(store, MemoryTransport()).sent == 0  # the lock was released


# -- rate limit and backoff ---------------------------------------------------------------------

def test_the_rate_limit_spaces_messages_and_caps_each_hour() -> None:
    now = [0.0]
    limiter = RateLimiter(RateLimit(per_second=10, per_hour=3), clock=lambda: now[0])
    assert [round(limiter.reserve(), 3) for _ in range(3)] == [0.0, 0.1, 0.2]
    assert limiter.reserve() == pytest.approx(3600.0)  # the fourth waits for the window
    unlimited = RateLimiter(RateLimit(), clock=lambda: now[0])
    assert {unlimited.reserve() for _ in range(100)} == {0.0}


def test_backoff_grows_with_jitter_and_respects_the_cap() -> None:
    policy_ = RetryPolicy(base_delay=1.0, max_delay=10.0)
    rng = random.Random(4)
    delays = [[policy_.delay(attempt, rng) for _ in range(50)] for attempt in (1, 2, 3, 8)]
    bounds = [(0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (5.0, 10.0)]
    for drawn, (low, high) in zip(delays, bounds, strict=True):
        assert all(low <= d <= high for d in drawn)
        assert len(set(drawn)) > 1  # jittered, not all at once


def test_a_rate_limited_delivery_takes_the_time_it_must(store: Store) -> None:
    rates: list[float] = []
    report = run(store, MemoryTransport(connections=4), rate=RateLimit(per_second=200),
                 progress=lambda p: rates.append(p.rate))
    assert report.sent == 12
    assert rates[-1] <= 200 * 1.1  # 12 messages at 200/s take at least 55 ms


# -- dry run ------------------------------------------------------------------------------------

def targets(count: int) -> Iterator[Target]:
    for number in range(1, count + 1):
        yield Target(number, f"lid{number:02d}@example.org", f"Lid {number}",
                     "nl" if number % 3 else "en")


def test_the_outbox_holds_every_message_and_an_index(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox" / "juni"
    report = write_outbox(outbox, targets(7), compose)
    files = sorted(p.name for p in outbox.glob("*.eml"))
    assert len(files) == report.total == 7 and report.counts == {"nl": 5, "en": 2}
    assert files[0] == "00001-lid01@example.org.eml"
    index = (outbox / "index.html").read_text(encoding="utf-8")
    for name in files:
        assert f'href="{name}"' in index
    assert "Nieuwsbrief juni (en)" in index
    parsed = message_from_bytes((outbox / files[2]).read_bytes(), policy=policy.default)
    assert parsed["To"] == "Lid 3 <lid03@example.org>"
    assert report.files[:2] == (outbox / files[0], outbox / files[1])


def test_a_new_outbox_replaces_the_old_whole_and_a_failed_one_changes_nothing(
        tmp_path: Path) -> None:
    outbox = tmp_path / "juni"
    write_outbox(outbox, targets(5), compose)
    write_outbox(outbox, targets(2), compose)
    assert len(list(outbox.glob("*.eml"))) == 2

    def interrupted(target: Target) -> bytes:
        if target.id == 2:
            raise KeyboardInterrupt  # Ctrl-C halfway: the run fails, not one recipient
        return compose(target)
    with pytest.raises(KeyboardInterrupt):
        write_outbox(outbox, targets(4), interrupted)
    assert len(list(outbox.glob("*.eml"))) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["juni"]  # no staging left behind


def test_a_message_that_cannot_be_composed_is_that_recipients_failure(tmp_path: Path) -> None:
    def broken(target: Target) -> bytes:
        if target.id == 2:
            raise ValueError("no message can carry this address")
        return compose(target)
    report = write_outbox(tmp_path / "juni", targets(4), broken)
    assert (report.total, report.failed) == (3, 1)
    assert report.failures == (
        ("lid02@example.org", "cannot compose the message: no message can carry this address"),)
    assert len(list((tmp_path / "juni").glob("*.eml"))) == 3
    index = (tmp_path / "juni" / "index.html").read_text(encoding="utf-8")
    assert "failed: cannot compose the message" in index and "3 messages. 1 failed." in index


def test_html_in_a_name_or_subject_is_escaped_in_the_index(tmp_path: Path) -> None:
    odd = Target(1, "x@example.org", "<script>alert(1)</script>", "nl")
    write_outbox(tmp_path / "o", [odd], compose)
    assert "<script>" not in (tmp_path / "o" / "index.html").read_text(encoding="utf-8")


# -- a real SMTP server -------------------------------------------------------------------------

class Recorder:
    """An aiosmtpd handler keeping what arrived and from which client port."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.peers: set[Any] = set()
        self.greeted: list[Any] = []  # every session's client port, at its EHLO

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        session.host_name = hostname
        self.greeted.append(session.peer)
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.peers.add(session.peer)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 Ok: queued"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def smtp_settings(port: int, *, username: str = "", connections: int = 4) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, security="none", username=username,
                        password_env="POSTDUIF_TEST_SMTP_PASSWORD", timeout=5.0, ca_file="",
                        connections=connections, rate_per_second=0, rate_per_hour=0)


@pytest.fixture
def server() -> Iterator[tuple[Recorder, int]]:
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield recorder, controller.port
    finally:
        controller.stop()


def send_to_recipients(tmp_path: Path, count: int, transport: SmtpTransport, *,
                       batch: int) -> DeliveryReport:
    """A new store with ``count`` confirmed recipients (ontvanger00, ...), sent to."""
    with Store.open(tmp_path / "smtp.sqlite3") as store:
        for number in range(count):
            confirm(store, f"ontvanger{number:02d}@example.net", f"Ontvanger {number}")
        start_campaign(store, "juni", LIST,
                       ((m.email, m.first_name, "nl") for m in store.members(LIST)))
        return asyncio.run(deliver(store, "juni", LIST, transport, compose,
                                   envelope_from=SENDER, batch=batch))


def test_twenty_messages_over_four_smtp_connections_arrive_intact(
        tmp_path: Path, server: tuple[Recorder, int]) -> None:
    recorder, port = server
    transport = SmtpTransport(smtp_settings(port), password=None, local_hostname="sender.test")
    report = send_to_recipients(tmp_path, 20, transport, batch=5)
    assert (report.sent, report.failed, report.unknown) == (20, 0, 0)
    assert len(recorder.peers) == 4  # four sessions, each claiming five and sending them
    received = sorted(recorder.messages, key=lambda m: m[1])
    assert [rcpt for _, rcpt, _ in received] == [[f"ontvanger{n:02d}@example.net"]
                                                for n in range(20)]
    for mail_from, [rcpt], content in received:
        parsed = message_from_bytes(content, policy=policy.default)
        assert mail_from == SENDER and rcpt in parsed["To"]
        assert "Dit is de nieuwsbrief van juni." in parsed.get_content()


def test_the_session_that_checked_the_server_is_the_first_to_send(
        tmp_path: Path, server: tuple[Recorder, int]) -> None:
    """Connecting and greeting cost round trips: the check's session is not thrown away."""
    recorder, port = server
    transport = SmtpTransport(smtp_settings(port, connections=2), password=None)
    assert send_to_recipients(tmp_path, 6, transport, batch=3).sent == 6
    assert len(recorder.greeted) == 2 and set(recorder.greeted) == recorder.peers


def test_a_closed_port_is_reported_with_host_and_port_before_anything_is_claimed(
        store: Store) -> None:
    port = free_port()
    transport = SmtpTransport(smtp_settings(port), password=None)
    with pytest.raises(SendError, match=f"cannot connect to 127.0.0.1:{port}"):
        run(store, transport)
    assert set(states(store).values()) == {"queued"}


class Gatekeeper:
    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"juist"
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535


@pytest.mark.parametrize(("password", "sent"), [("fout", 0), ("juist", 12)])
def test_a_wrong_password_sends_nothing(store: Store, password: str, sent: int) -> None:
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(),
                            authenticator=Gatekeeper(), auth_require_tls=False)
    controller.start()
    try:
        transport = SmtpTransport(smtp_settings(controller.port, username="redactie"),
                                  password=password)
        if sent:
            assert run(store, transport).sent == sent
        else:
            with pytest.raises(SendError, match=r"refused the login as redactie: 535"):
                run(store, transport)
            assert set(states(store).values()) == {"queued"}
    finally:
        controller.stop()
    assert len(recorder.messages) == sent
