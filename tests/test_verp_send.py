"""The envelope sender of real sends: ``[bounces] address``, and with ``verp`` one per message.

``send`` and ``welcome`` run as real processes against the aiosmtpd server of ``smtp_sink``;
what the server saw as MAIL FROM is then matched back, without any original header, the way
a report delivered to that address would be.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from postduif.bounces.match import Matcher
from postduif.bounces.model import Failure, Kind, Notice
from postduif.store import Store
from postduif.verp import ReturnPath

from .conftest_smtp import SmtpServer
from .test_cli_send import CAMPAIGN, KEY, PEOPLE, prepare, run


def configure(workspace: Path, **bounces: str) -> None:
    config = workspace / "postduif.toml"
    text = config.read_text(encoding="utf-8")
    for key, value in bounces.items():
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", text, count=1)
    config.write_text(text, encoding="utf-8")


def bare(address: str, at: str) -> Notice:
    """A report that says nothing but where it was delivered: no address, no Message-ID."""
    return Notice(key="<r@relay>", kind=Kind.HARD, failures=(Failure("", Kind.HARD, "5.0.0",
                  "550 no such user"),), original_message_ids=(), delivered_to=(address,),
                  subject="failure notice", date=None, why=at)


def test_without_verp_every_message_comes_from_the_bounces_address(
        workspace: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server()
    configure(workspace, address='"bounces@techwerkers.nl"')
    prepare(workspace, server)
    assert run(workspace, "send", CAMPAIGN, "--yes").returncode == 0
    assert {m.mail_from for m in server.mailbox.messages()} == {"bounces@techwerkers.nl"}
    assert {m.parsed()["From"].addresses[0].addr_spec for m in server.mailbox.messages()} == {
        "nieuwsbrief@techwerkers.nl"}


def test_with_verp_each_message_has_its_own_signed_return_path(
        workspace: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server()
    configure(workspace, address='"bounces@techwerkers.nl"', verp="true")
    prepare(workspace, server)
    result = run(workspace, "send", CAMPAIGN, "--yes")
    assert result.returncode == 0, result.stderr
    received = {m.rcpt_tos[0]: m.mail_from for m in server.mailbox.messages()}
    assert len(received) == len(PEOPLE) == len(set(received.values()))
    path = ReturnPath("bounces@techwerkers.nl", KEY.encode())
    with Store.open(workspace / "lists/postduif.sqlite3") as store:
        rows = {e.email: e for e in store.ledger_entries(CAMPAIGN)}
        for email, mail_from in received.items():
            assert mail_from == path.for_message(rows[email].id)
            assert len(mail_from.partition("@")[0]) <= 64
        email = PEOPLE[5][0]
        [match] = Matcher(store, path, []).match(bare(received[email], "verp"))
        assert (match.by, match.email, match.campaign, match.variant) == (
            "verp", email, CAMPAIGN, rows[email].variant)


def test_greetings_get_a_verp_return_path_too(
        workspace: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server()
    configure(workspace, verp="true")
    prepare(workspace, server)
    assert run(workspace, "subscribers", "add", "nieuw@example.org").returncode == 0
    assert run(workspace, "welcome").returncode == 0
    [message] = server.mailbox.messages()
    assert message.mail_from.startswith("nieuwsbrief+c")
    with Store.open(workspace / "lists/postduif.sqlite3") as store:
        path = ReturnPath("nieuwsbrief@techwerkers.nl", KEY.encode())
        [match] = Matcher(store, path, ["nieuwsbrief"]).match(bare(message.mail_from, "verp"))
    assert (match.by, match.email, match.campaign) == (
        "verp", "nieuw@example.org", "confirmation-nieuwsbrief")


def test_verp_without_a_token_key_is_an_error_before_sending(
        workspace: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server()
    configure(workspace, verp="true")
    prepare(workspace, server)
    result = run(workspace, "send", CAMPAIGN, "--yes", env={"POSTDUIF_TOKEN_KEY": ""})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "POSTDUIF_TOKEN_KEY" in result.stderr and server.mailbox.count() == 0
