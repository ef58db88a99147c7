"""SIGKILL the sender of a campaign whose list mixes ASCII and internationalised addresses.

The approach of ``test_send_resume.py``: ``tests/send_child.py`` in its own process, the
aiosmtpd server in another (a small delay between storing and answering, so kills land while
messages are in flight), killed at several points, then resumed until done. Afterwards every
ASCII recipient got the mail exactly once (only a row the ledger marked unknown may still be
owed it, and ``--resend-unknown`` sends those); every IDN recipient was delivered, its domain
IDNA-encoded, or, for a local part that is not ASCII on a server without SMTPUTF8, failed with
that reason. No kill and no such address stops the others.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from postduif.send import ledger_status, start_campaign
from postduif.store import Person, Store

from .conftest_smtp import SmtpServer
from .send_child import add_subscribers, load_campaign, person, targets
from .test_send_resume import finish, ledger, start_sender

ASCII_COUNT = 600
IDN_COUNT = 40  # half with an IDN domain, half with a local part that is not ASCII
KILL_AT = (80, 300)
NEEDS = "not sent: needs SMTPUTF8, which the server does not offer"


def idn_people() -> tuple[list[Person], dict[str, str]]:
    """The IDN subscribers, and the address each is received as (domain IDNA-encoded)."""
    people, wire = [], {}
    for n in range(IDN_COUNT // 2):
        domain_idn = f"jose{n:02d}@ex\u00e4mple.org"
        local_utf8 = f"zo\u00eb{n:02d}@example.org"
        people += [Person(email=domain_idn, language="nl"), Person(email=local_utf8,
                                                                   language="en")]
        wire[domain_idn] = domain_idn.replace("ex\u00e4mple.org", "xn--exmple-cua.org")
        wire[local_utf8] = local_utf8
    return people, wire


@pytest.mark.parametrize("smtputf8", [True, False], ids=["smtputf8", "no-smtputf8"])
def test_killed_sends_with_idn_recipients_resume(
        workspace: Path, tmp_path: Path, smtp_server: Callable[..., SmtpServer],
        smtputf8: bool) -> None:
    campaign = load_campaign(workspace)
    store_path = tmp_path / "store.sqlite3"
    ascii_people = [person(n) for n in range(1, ASCII_COUNT + 1)]
    idn, wire = idn_people()
    mixed = [p for pair in zip(ascii_people[:IDN_COUNT], idn, strict=True) for p in pair]
    with Store.open(store_path) as store:
        add_subscribers(store, mixed + ascii_people[IDN_COUNT:])
        total = start_campaign(store, campaign.name, campaign.list, targets(store, campaign))
        assert total == ASCII_COUNT + IDN_COUNT
    server = smtp_server(faults={"delay_ms": 4, "pipelining": True, "smtputf8": smtputf8})

    for point in KILL_AT:
        sender = start_sender(workspace, store_path, server)
        assert server.mailbox.wait_for(point, timeout=40) >= point
        assert sender.poll() is None, "the sender finished before it could be killed"
        os.kill(sender.pid, signal.SIGKILL)
        sender.wait(timeout=10)
    finish(start_sender(workspace, store_path, server))

    _, unknown = ledger(store_path, campaign.name)
    received = Counter(server.mailbox.recipients())
    assert max(received.values()) == 1, "something was sent twice without being asked"
    owed = {p.email for p in ascii_people} - set(received)
    assert owed <= unknown, "an ASCII recipient was neither delivered nor marked unknown"

    finish(start_sender(workspace, store_path, server, "--resend-unknown"))
    received = Counter(server.mailbox.recipients())
    for someone in ascii_people:
        times = received[someone.email]
        assert times == 1 or (times == 2 and someone.email in unknown), (someone.email, times)
    utf8_local = {email for email in wire if not email.split("@")[0].isascii()}
    for email, on_the_wire in wire.items():
        expected = 0 if (email in utf8_local and not smtputf8) else 1
        assert received[on_the_wire.lower()] in (
            {expected, 2} if email in unknown else {expected}), email
    with Store.open(store_path) as store:
        status = ledger_status(store, campaign.name)
    failed = {f.email: f.reply for f in status.failures if f.state == "failed"}
    assert failed == ({} if smtputf8 else dict.fromkeys(utf8_local, NEEDS))
    assert status.totals.sending == 0 and status.totals.uncertain == 0
