"""SIGKILL the sender at several points of a 2,000-recipient campaign, then resume until done.

The sender is ``tests/send_child.py`` in its own process (4 connections); the server is the
fault server in another, with a small delay between storing each message and answering it, so
a kill usually lands while messages have arrived but their 250 has not been read: exactly the
rows the ledger must call "unknown". Each connection claims ``BATCH`` rows per commit, so a kill
leaves at most ``BATCH`` x ``CONNECTIONS`` rows unknown (the bound README and ``status`` state).
Afterwards nobody may be missing, and the only people who got the newsletter twice must be
rows the ledger marked unknown. The run goes once pipelined (the server advertises PIPELINING)
and once plain.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from postduif.send import ledger_status, start_campaign
from postduif.store import Store

from .conftest_smtp import SmtpServer
from .send_child import add_subscribers, load_campaign, person, targets

RECIPIENTS = 2000
CONNECTIONS = 4
BATCH = 8
KILL_AT = (100, 700, 1500)  # messages arrived at the server
CHILD = Path(__file__).with_name("send_child.py")


def start_sender(workspace: Path, store: Path, server: SmtpServer,
                 *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(workspace), str(store), server.host, str(server.port),
         "--connections", str(CONNECTIONS), "--batch", str(BATCH), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(sender: subprocess.Popen[str]) -> dict[str, object]:
    out, err = sender.communicate(timeout=60)
    assert sender.returncode == 0, err
    report: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return report


def ledger(store_path: Path, campaign: str) -> tuple[int, set[str]]:
    """(rows still "sending", addresses marked unknown) as another process sees the ledger."""
    with Store.open(store_path) as store:
        status = ledger_status(store, campaign)
        unknown = {f.email.lower() for f in status.failures if f.state == "unknown"}
        return status.totals.sending, unknown


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "plain"])
def test_killed_sends_resume_without_losing_or_doubling_anyone(
        workspace: Path, tmp_path: Path, smtp_server: Callable[..., SmtpServer],
        pipelining: bool) -> None:
    campaign = load_campaign(workspace)
    store_path = tmp_path / "store.sqlite3"
    everyone = [person(n) for n in range(1, RECIPIENTS + 1)]
    with Store.open(store_path) as store:
        add_subscribers(store, everyone)
        assert start_campaign(store, campaign.name, campaign.list,
                              targets(store, campaign)) == RECIPIENTS
    server = smtp_server(faults={"delay_ms": 4, "pipelining": pipelining})
    started = time.monotonic()

    in_flight_at_kills = []
    for point in KILL_AT:
        sender = start_sender(workspace, store_path, server)
        seen = server.mailbox.wait_for(point, timeout=40)
        assert sender.poll() is None, "the sender finished before it could be killed"
        assert seen >= point
        os.kill(sender.pid, signal.SIGKILL)
        sender.wait(timeout=10)
        sending, _ = ledger(store_path, campaign.name)
        in_flight_at_kills.append(sending)
        assert sending <= BATCH * CONNECTIONS, f"{sending} rows were in flight at one kill"
    assert server.mailbox.count() < RECIPIENTS, "the kills came too late to test anything"

    assert sum(in_flight_at_kills) >= 1, "no kill landed while a message was in flight"

    finish(start_sender(workspace, store_path, server))
    _, unknown = ledger(store_path, campaign.name)
    assert len(unknown) <= BATCH * CONNECTIONS * len(KILL_AT)
    assert len(unknown) == sum(in_flight_at_kills)
    before_resend = Counter(server.mailbox.recipients())
    assert max(before_resend.values()) == 1, "something was sent twice without being asked"

    report = finish(start_sender(workspace, store_path, server, "--resend-unknown"))
    assert report["sent"] == len(unknown)
    received = Counter(server.mailbox.recipients())
    assert set(received) == {p.email for p in everyone}, "someone never got the newsletter"
    twice = {email for email, times in received.items() if times > 1}
    assert twice <= unknown
    assert max(received.values()) <= 2
    assert sum(received.values()) == RECIPIENTS + len(twice)
    sending, still_unknown = ledger(store_path, campaign.name)
    assert sending == 0 and not still_unknown
    assert time.monotonic() - started < 90
    print(f"in flight at the kills: {in_flight_at_kills}; received twice: {len(twice)}")
