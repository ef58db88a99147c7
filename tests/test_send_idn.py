"""Internationalised addresses, end to end: one address must never stop everyone's mail.

Real parts only: ``postduif`` in a child process, the aiosmtpd server of tests/smtp_sink.py in
another, offering SMTPUTF8 or not. An internationalised domain (``jose@exämple.org``) goes out
IDNA-encoded, in the envelope and the To header; a local part that is not ASCII
(``zoë@example.org``) goes out with SMTPUTF8 when the server offers it, and is otherwise that
recipient's failure, with the reason, while everyone else gets the mail.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from postduif.audience.membership import add_subscriber
from postduif.store import Store
from postduif.workspace import Workspace

from .conftest_smtp import SmtpServer
from .test_cli_send import CAMPAIGN, run
from .test_web_greetings import _start, _subscribe, _wait_quietly
from .web_support import Serve

IDN_DOMAIN = "jose@ex\u00e4mple.org"  # jose@exämple.org
IDN_WIRE = "jose@xn--exmple-cua.org"
UTF8_LOCAL = "zo\u00eb@example.org"  # zoë@example.org
ASCII = [f"lid{n:02d}@example.org" for n in range(1, 7)]
EVERYONE = [*ASCII, IDN_DOMAIN, UTF8_LOCAL]
NEEDS = "needs SMTPUTF8, which the server does not offer"


def prepare(workspace: Path, server: SmtpServer | None = None) -> str:
    """Point the workspace at ``server``, import everyone as confirmed; the import's output."""
    if server is not None:
        config = workspace / "postduif.toml"
        config.write_text(re.sub(r"(?m)^port = \d+", f"port = {server.port}",
                                 config.read_text(encoding="utf-8")), encoding="utf-8")
    rows = "".join(f"{email},Naam {n},{'en' if n % 2 else 'nl'}\n"
                   for n, email in enumerate(EVERYONE))
    (workspace / "people.csv").write_text(f"email,naam,taal\n{rows}", encoding="utf-8")
    result = run(workspace, "joins", "import", "people.csv", "--list", "nieuwsbrief",
                 "--confirmed")
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def no_traceback(result: object) -> None:
    text = getattr(result, "stdout", "") + getattr(result, "stderr", "")
    assert "Traceback" not in text and "closed database" not in text, text


def test_the_import_says_what_it_accepted(workspace: Path) -> None:
    shown = prepare(workspace)
    assert f"{IDN_DOMAIN}: warning: an internationalised domain: kept as written, mailed to " \
           f"{IDN_WIRE}" in shown
    assert f"{UTF8_LOCAL}: warning: the part before the @ is not ASCII: mail to it goes out only " \
           "through a server that offers SMTPUTF8" in shown
    # Typed in its ASCII form, it is the same subscriber: one address, one person.
    shown_ascii = run(workspace, "subscribers", "show", "JOSE@xn--exmple-cua.org")
    assert shown_ascii.returncode == 0 and IDN_DOMAIN in shown_ascii.stdout


@pytest.mark.parametrize("smtputf8", [True, False], ids=["smtputf8", "no-smtputf8"])
@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "plain"])
def test_send_delivers_idn_and_fails_only_what_the_server_cannot_take(
        workspace: Path, smtp_server: Callable[..., SmtpServer], smtputf8: bool,
        pipelining: bool) -> None:
    server = smtp_server(faults={"smtputf8": smtputf8, "pipelining": pipelining})
    prepare(workspace, server)
    result = run(workspace, "send", CAMPAIGN, "--yes")
    no_traceback(result)
    assert result.returncode == (0 if smtputf8 else 1), result.stdout + result.stderr

    received = {m.rcpt_tos: m for m in server.mailbox.messages()}
    delivered = [*ASCII, IDN_WIRE] + ([UTF8_LOCAL] if smtputf8 else [])
    assert sorted(r for rcpts in received for r in rcpts) == sorted(delivered)
    jose = received[(IDN_WIRE,)]
    assert jose.parsed()["To"].addresses[0].addr_spec == IDN_WIRE
    assert b"xn--exmple-cua.org>" in jose.data.split(b"\r\n\r\n")[0]
    assert "SMTPUTF8" not in jose.mail_options  # an IDN domain alone needs nothing special
    if smtputf8:
        zoe = received[(UTF8_LOCAL,)]
        assert "SMTPUTF8" in zoe.mail_options
        assert f"<{UTF8_LOCAL}>".encode() in zoe.data.split(b"\r\n\r\n")[0]  # RFC 6532
        assert all("SMTPUTF8" not in m.mail_options for m in received.values() if m is not zoe)

    status = run(workspace, "status", CAMPAIGN)
    no_traceback(status)
    if not smtputf8:
        assert UTF8_LOCAL in status.stdout and NEEDS in status.stdout
        with Store.open(workspace / "lists/postduif.sqlite3") as store:
            member = store.get(UTF8_LOCAL)
            assert member is not None  # a failure of ours, not a bounce: nothing suppressed
            assert member.membership("nieuwsbrief").status == "confirmed"  # type: ignore[union-attr]
    again = run(workspace, "send", CAMPAIGN, "--yes")
    assert again.returncode == 0 and "Nothing left to send" in again.stdout
    assert server.mailbox.count() == len(delivered)


def store_a_broken_address(workspace: Path, address: str,
                           instead_of: str = "lid03@example.org") -> None:
    """An address no message can carry, as a store written by an older postduif (or by hand)
    may hold: it goes in below the intake checks, straight into SQLite."""
    database = workspace / "lists/postduif.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE subscribers SET email = ? WHERE email = ?",
                           (address, instead_of))
    connection.close()


BROKEN = "lid\u00f6@exa mple.org"  # a space in the domain: no IDNA form


def test_a_message_that_cannot_be_composed_fails_alone(
        workspace: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server(faults={"smtputf8": True})
    prepare(workspace, server)
    store_a_broken_address(workspace, BROKEN)

    dry = run(workspace, "send", CAMPAIGN, "--dry-run")
    no_traceback(dry)
    assert dry.returncode == 1
    assert f"{BROKEN}: cannot compose the message" in dry.stderr
    outbox = workspace / "outbox" / CAMPAIGN
    assert len(list(outbox.glob("*.eml"))) == len(EVERYONE) - 1
    index = (outbox / "index.html").read_text(encoding="utf-8")
    assert "failed: cannot compose the message" in index
    assert f"{UTF8_LOCAL} (needs SMTPUTF8)" in index

    sent = run(workspace, "send", CAMPAIGN, "--yes")
    no_traceback(sent)
    assert sent.returncode == 1
    expected = sorted([e for e in ASCII if e != "lid03@example.org"] + [IDN_WIRE, UTF8_LOCAL])
    assert sorted(server.mailbox.recipients()) == expected
    status = run(workspace, "status", CAMPAIGN).stdout
    assert BROKEN in status and "cannot compose the message" in status
    with Store.open(workspace / "lists/postduif.sqlite3") as store:
        states = {state: n for _, state, n in store.ledger_counts(CAMPAIGN) if n}
    assert states.get("failed") == 1 and "sending" not in states and "queued" not in states


def test_dry_run_of_idn_recipients_writes_them_and_says_what_they_need(workspace: Path) -> None:
    prepare(workspace)
    result = run(workspace, "send", CAMPAIGN, "--dry-run")
    no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert "1 message(s) to an address whose part before the @ is not ASCII" in result.stderr
    outbox = workspace / "outbox" / CAMPAIGN
    assert len(list(outbox.glob("*.eml"))) == len(EVERYONE)
    [jose] = outbox.glob("*jos*.eml")
    assert b"xn--exmple-cua.org" in jose.read_bytes().split(b"\r\n\r\n")[0]


@pytest.mark.parametrize("smtputf8", [True, False], ids=["smtputf8", "no-smtputf8"])
def test_welcome_greets_everyone_it_can(workspace: Path,
                                        smtp_server: Callable[..., SmtpServer],
                                        smtputf8: bool) -> None:
    server = smtp_server(faults={"smtputf8": smtputf8})
    prepare(workspace, server)  # imported as confirmed: already welcomed
    for address in ("ana@example.org", "pep@ex\u00e4mple.org", "\u00e5sa@example.org",
                    "bad@example.org"):
        added = run(workspace, "subscribers", "add", address, "--language", "en")
        assert added.returncode == 0, added.stderr
    store_a_broken_address(workspace, BROKEN, instead_of="bad@example.org")
    dry = run(workspace, "welcome", "--dry-run")
    no_traceback(dry)
    assert dry.returncode == 1 and "3 due email(s)" in dry.stdout
    assert f"{BROKEN}: cannot compose the message" in dry.stderr

    result = run(workspace, "welcome")
    no_traceback(result)
    delivered = ["ana@example.org", "pep@xn--exmple-cua.org"] + (
        ["\u00e5sa@example.org"] if smtputf8 else [])
    assert sorted(server.mailbox.recipients()) == sorted(delivered)
    assert result.returncode == 1  # the broken address, each time
    assert f"confirmation to {BROKEN} failed: not sent: cannot compose" in result.stderr
    utf8_failed = f"confirmation to \u00e5sa@example.org failed: not sent: {NEEDS}"
    assert (utf8_failed in result.stderr) is not smtputf8


def test_serve_greets_later_sign_ups_after_one_it_cannot_send(
        workspace: Path, smtp_server: Callable[..., SmtpServer],
        serve: Callable[..., Serve]) -> None:
    """A greeting that cannot be composed, or needs SMTPUTF8 the server lacks, fails alone:
    the worker goes on, round after round, and every later sign-up gets its confirmation."""
    smtp = smtp_server()  # no SMTPUTF8
    ws = Workspace.open(workspace)
    with Store.open(ws.settings.database) as store:
        add_subscriber(store, ws.list_def("nieuwsbrief"), email="bad@example.org",
                       language="nl")
    store_a_broken_address(workspace, BROKEN, instead_of="bad@example.org")
    served = _start(serve, workspace, smtp.port, retry_seconds=0.5)
    for address in (UTF8_LOCAL, IDN_DOMAIN, "priya@example.org"):
        _subscribe(served, address, "en")
    assert smtp.mailbox.wait_for(2, timeout=15) == 2, served.output()
    _wait_quietly(1.5)  # a few more rounds, each meeting the two that cannot go
    assert sorted(smtp.mailbox.recipients()) == [IDN_WIRE, "priya@example.org"]
    [jose] = [m for m in smtp.mailbox.messages() if m.rcpt_tos == (IDN_WIRE,)]
    assert jose.parsed()["To"].addresses[0].addr_spec == IDN_WIRE
    assert served.process.poll() is None
    log = served.output()
    assert "not sent" in log and "Traceback" not in log and "unexpected error" not in log
    _subscribe(served, "late@example.org")
    assert smtp.mailbox.wait_for(3, timeout=10) == 3, served.output()


def test_review_copies_to_idn_addresses(workspace: Path,
                                        smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server()  # no SMTPUTF8
    prepare(workspace, server)
    sent = run(workspace, "send", CAMPAIGN, "--to", IDN_DOMAIN)
    no_traceback(sent)
    assert sent.returncode == 0, sent.stderr
    assert server.mailbox.recipients() == [IDN_WIRE, IDN_WIRE]  # nl and en
    refused = run(workspace, "send", CAMPAIGN, "--to", UTF8_LOCAL)
    no_traceback(refused)
    assert refused.returncode == 1
    assert f"Error: --to {UTF8_LOCAL}: the " in refused.stderr and NEEDS in refused.stderr
    assert server.mailbox.count() == 2
