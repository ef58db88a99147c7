"""Both unsubscribe methods honoured: List-Unsubscribe's ``mailto:`` as a reader's client uses it.

A campaign is really sent (to the aiosmtpd server of ``smtp_sink``), its List-Unsubscribe
``mailto:`` taken from the message a subscriber got, the mail their client would send built
from it and delivered into the real Dovecot of ``imap_server``, and ``postduif bounces`` run
against that mailbox as an organiser runs it. Also: the footer names the reply address, and
``check`` warns when the links in emails point at the static site.
"""

from __future__ import annotations

import email
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import policy
from email.header import Header
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from postduif.audience.tokens import make_token, read_token
from postduif.bounces.classify import classify
from postduif.bounces.model import Kind
from postduif.bounces.unsubscribe import read_request
from postduif.store import Store

from .conftest_smtp import SmtpServer
from .imap_server import PASSWORD, ImapAccount
from .test_cli_bounces import point_at, snapshot, statuses
from .test_cli_send import CAMPAIGN, KEY, run

STORE = "lists/postduif.sqlite3"
RETURN = "retour@techwerkers.nl"
EVA, JO = "eva@example.org", "jo@example.org"


def prepare(workspace: Path, server: SmtpServer, *, verp: bool = True) -> None:
    """Eva and Jo on the newsletter, Eva on the members list too; the campaign sent; the
    return mailbox a plain address of its own, with VERP on."""
    config = workspace / "postduif.toml"
    text = re.sub(r"(?m)^port = \d+", f"port = {server.port}", config.read_text("utf-8"),
                  count=1)
    text = text.replace('address = ""', f'address = "{RETURN}"', 1)
    config.write_text(text.replace("verp = false", f"verp = {str(verp).lower()}"), "utf-8")
    (workspace / "people.csv").write_text(f"email,naam,taal\n{EVA},Eva,nl\n{JO},Jo,en\n",
                                          encoding="utf-8")
    assert run(workspace, "joins", "import", "people.csv", "--list", "nieuwsbrief",
               "--confirmed").returncode == 0
    assert run(workspace, "subscribers", "add", EVA, "--list", "leden").returncode == 0
    sent = run(workspace, "send", CAMPAIGN, "--yes")
    assert sent.returncode == 0, sent.stderr


def received(server: SmtpServer, address: str) -> tuple[str, EmailMessage]:
    """The MAIL FROM and the message ``address`` got."""
    [found] = [m for m in server.mailbox.messages() if m.rcpt_tos == (address,)]
    return found.mail_from, found.parsed()


def mailto_of(msg: EmailMessage) -> tuple[str, str]:
    """(address, subject) of the message's List-Unsubscribe ``mailto:``."""
    links = [part.strip().strip("<>") for part in str(msg["List-Unsubscribe"]).split(",")]
    [mailto] = [link for link in links if link.startswith("mailto:")]
    parts = urlsplit(mailto)
    return parts.path, parse_qs(parts.query)["subject"][0]


def client_mail(sender: str, to: str, subject: str | Header, body: str = "") -> bytes:
    """The mail a reader's client sends for a ``mailto:``: their From, the subject as given."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject if isinstance(subject, str) else "ENCODED"
    msg["Date"] = "Wed, 02 Dec 2026 09:00:00 +0100"
    msg["Message-ID"] = make_msgid(domain="mail.example.org")
    msg.set_content(body or "This message was sent to unsubscribe.\n")
    raw = msg.as_bytes(policy=policy.SMTP)
    if isinstance(subject, Header):  # encoded words as the client folded them, kept as they are
        raw = raw.replace(b"Subject: ENCODED", b"Subject: " + subject.encode("\r\n").encode())
    return raw


def consent(workspace: Path, address: str) -> list[tuple[str, str, str]]:
    with Store.open(workspace / STORE) as store:
        return [(e.list, e.event, e.source) for e in store.consent_log(address)]


def test_a_readers_mailto_unsubscribes_them_once_through_the_real_mailbox(
        workspace: Path, imap_account: ImapAccount,
        smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server()
    prepare(workspace, server)
    mail_from, msg = received(server, EVA)
    to, subject = mailto_of(msg)
    assert to == RETURN, "the mailto goes to the plain return mailbox"
    assert mail_from != RETURN and mail_from.startswith("retour+"), "while MAIL FROM is VERP"
    one_click = parse_qs(urlsplit(str(msg["List-Unsubscribe"]).split("<")[1].split(">")[0])
                         .query)["token"][0]
    assert subject == f"unsubscribe {one_click}", "the same token as the one-click link"
    assert read_token(KEY.encode(), one_click, action="unsubscribe") == (EVA, "nieuwsbrief")
    leden_before = statuses(workspace, EVA)["leden"]

    request = client_mail(f"Eva <{EVA}>", to, subject)
    imap_account.deliver(request)
    point_at(workspace, imap_account, "none")
    env = {"POSTDUIF_BOUNCES_PASSWORD": PASSWORD}
    before = snapshot(workspace)
    dry = run(workspace, "bounces", "--dry-run", "--json", env=env)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["unsubscribes"] == 1
    assert json.loads(dry.stdout)["not_understood"] == []
    assert snapshot(workspace) == before, "a dry run changes nothing"
    assert imap_account.folder_count("INBOX") == 1

    real = run(workspace, "bounces", env=env)
    assert real.returncode == 0, real.stderr
    assert "unsubscribes by mail 1" in real.stdout
    assert statuses(workspace, EVA) == {"nieuwsbrief": "unsubscribed", "leden": leden_before}
    assert statuses(workspace, JO) == {"nieuwsbrief": "confirmed"}
    [(lst, event, source)] = [c for c in consent(workspace, EVA) if c[1] == "unsubscribed"]
    assert (lst, event) == ("nieuwsbrief", "unsubscribed")
    assert source.startswith("mailto:unsubscribe")
    assert imap_account.folder_count("postduif-processed") == 1
    assert imap_account.folder_count("INBOX") == 0

    after = snapshot(workspace)
    imap_account.deliver(request)  # the client sent it twice
    again = run(workspace, "bounces", "--json", env=env)
    report = json.loads(again.stdout)
    assert (report["unsubscribes"], report["already_handled"]) == (0, 1), report
    assert snapshot(workspace) == after, "the second run changes nothing"

    dry_send = run(workspace, "send", CAMPAIGN, "--dry-run")
    assert dry_send.returncode == 0, dry_send.stderr
    written = " ".join(p.read_text("utf-8", "replace")
                       for p in (workspace / "outbox" / CAMPAIGN).glob("*.eml"))
    assert EVA not in written and JO in written


def test_a_mail_without_a_valid_token_is_listed_and_changes_nothing(
        workspace: Path, imap_account: ImapAccount,
        smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server()
    prepare(workspace, server, verp=False)
    _, msg = received(server, EVA)
    to, subject = mailto_of(msg)
    token = subject.split()[1]
    forged = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    expired = make_token(KEY.encode(), action="unsubscribe", email=EVA, list="nieuwsbrief",
                         ttl=timedelta(days=1), now=datetime.now(UTC) - timedelta(days=30))
    other_key = make_token(b"someone-elses-key-0123456789", action="unsubscribe", email=EVA,
                           list="nieuwsbrief", ttl=timedelta(days=30))
    confirm = make_token(KEY.encode(), action="confirm", email=EVA, list="nieuwsbrief",
                         ttl=timedelta(days=30))
    mails = {
        "forged": client_mail(EVA, to, f"unsubscribe {forged}"),
        "expired": client_mail(EVA, to, f"unsubscribe {expired}"),
        "other key": client_mail(EVA, to, f"unsubscribe {other_key}"),
        "confirm token": client_mail(EVA, to, f"unsubscribe {confirm}"),
        "no token": client_mail(f"Eva [bold]de Boer[/bold] <{EVA}>", to,
                                "Re: [red]unsubscribe[/red] me please",
                                "Please take me off the list. Eva"),
    }
    imap_account.deliver(*mails.values())
    point_at(workspace, imap_account, "tls")
    env = {"POSTDUIF_BOUNCES_PASSWORD": PASSWORD}
    before = snapshot(workspace)

    result = run(workspace, "bounces", "--json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["unsubscribes"] == 0
    listed = report["not_understood"]
    assert len(listed) == len(mails)
    assert [u["from"] for u in listed].count(EVA) == 4
    assert sum("Eva [bold]de Boer[/bold]" in u["from"] for u in listed) == 1
    assert sum("has expired" in u["why"] for u in listed) == 1
    assert sum("without a valid token" in u["why"] for u in listed) == 4
    [by_hand] = [u for u in listed if u["subject"] == "Re: [red]unsubscribe[/red] me please"]
    assert "no unsubscribe token" in by_hand["why"]
    assert snapshot(workspace) == before
    assert statuses(workspace, EVA)["nieuwsbrief"] == "confirmed"
    assert imap_account.folder_count("INBOX") == len(mails), "kept for an organiser"

    shown = run(workspace, "bounces", "--dry-run", env=env).stdout
    assert "Re: [red]unsubscribe[/red] me please: asks to unsubscribe" in shown
    assert re.search(r"me please: asks to unsubscribe .*; from: \"?Eva \[bold\]de Boer\[/bold\]",
                     shown), shown
    assert "5 not understood, left in the mailbox" in shown
    quiet = run(workspace, "bounces", "--quiet", env=env)
    assert "no unsubscribe token" in quiet.stdout, "cron mail shows what needs an organiser"


def test_what_clients_make_of_the_mailto_is_read(workspace: Path,
                                                 smtp_server: Callable[..., SmtpServer]) -> None:
    """Re:/Fwd: in front, RFC 2047 (split mid-token), left percent-encoded, in the body;
    never a token quoted in a reply, nor a bounce or auto-reply quoting the newsletter."""
    server = smtp_server()
    prepare(workspace, server, verp=False)
    _, msg = received(server, JO)
    to, subject = mailto_of(msg)
    token = subject.split()[1]
    encoded = Header(f"Re: {subject} ✓", "utf-8", maxlinelen=40)
    assert len(encoded.encode().splitlines()) > 1, "the token is split over encoded words"
    newsletter = msg.get_body(("plain",))
    assert newsletter is not None
    quoted = "\n".join("> " + line for line in newsletter.get_content().splitlines())
    read = {
        "re": client_mail(JO, to, f"Re: {subject}"),
        "fwd": client_mail(JO, to, f"Fwd: RE: {subject}"),
        "rfc 2047": client_mail(JO, to, encoded),
        "percent": client_mail(JO, to, f"unsubscribe%20{token}"),
        "body": client_mail(JO, to, "Unsubscribe", f"unsubscribe {token}\n"),
    }
    for what, raw in read.items():
        notice = classify(raw)
        assert notice.kind is Kind.UNSUBSCRIBE, what
        assert read_request(KEY.encode(), notice.tokens) == (JO, "nieuwsbrief"), what

    plain = msg.get_body(("plain",))
    assert plain is not None and token in plain.get_content(), \
        "the newsletter's own text holds the token (in its link)"
    reply = client_mail(JO, to, f"Re: {msg['Subject']}", f"Thanks!\n\n{quoted}\n")
    forward = client_mail(JO, to, "Fwd: nieuws", f"Look at this:\n\n{plain.get_content()}")
    assert classify(reply).kind is not Kind.UNSUBSCRIBE
    assert classify(forward).kind is not Kind.UNSUBSCRIBE, "a link is not a request"
    bounce = _bounce_quoting(msg.as_bytes(policy=policy.SMTP))
    assert classify(bounce).kind is Kind.HARD


def _bounce_quoting(original: bytes) -> bytes:
    """A DSN enclosing the whole newsletter, List-Unsubscribe and its mailto included."""
    return (b"From: MAILER-DAEMON@relay.example\r\nTo: " + RETURN.encode() + b"\r\n"
            b"Subject: Undelivered Mail\r\nMessage-ID: <dsn-1@relay.example>\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/report; "
            b"report-type=delivery-status; boundary=b1\r\n\r\n--b1\r\n"
            b"Content-Type: text/plain\r\n\r\nNot delivered.\r\n--b1\r\n"
            b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.example\r\n"
            b"\r\nFinal-Recipient: rfc822; " + JO.encode() + b"\r\nAction: failed\r\n"
            b"Status: 5.1.1\r\n\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\n"
            + original + b"\r\n--b1--\r\n")


def test_the_footer_names_the_reply_address(workspace: Path) -> None:
    """Newsletter, confirmation and welcome emails, HTML and text: the reply address, never
    the sender's or the return mailbox."""
    config = workspace / "postduif.toml"
    config.write_text(config.read_text("utf-8").replace('address = ""', f'address = "{RETURN}"',
                                                        1), "utf-8")
    for reply_to, contact in (("hey@techwerkers.nl", "hey@techwerkers.nl"),
                              ("", "nieuwsbrief@techwerkers.nl")):
        text = re.sub(r'(?m)^reply_to = "[^"]*"', f'reply_to = "{reply_to}"',
                      config.read_text("utf-8"))
        config.write_text(text, "utf-8")
        for raw in _emails(workspace):
            msg = email.message_from_bytes(raw, policy=policy.default)
            assert isinstance(msg, EmailMessage)
            html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
            plain = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            assert f'href="mailto:{contact}"' in html, msg["Subject"]
            assert contact in plain
            assert RETURN not in html + plain
            if reply_to:
                assert "nieuwsbrief@techwerkers.nl" not in html + plain


def _emails(workspace: Path) -> list[bytes]:
    """A newsletter and the two greetings, composed as they are sent."""
    from postduif.audience.greetings import Greeter, Greeting
    from postduif.build import envelope
    from postduif.send.compose import Composer
    from postduif.workspace import Workspace

    ws = Workspace.open(workspace)
    plan = ws.plan(ws.campaign(CAMPAIGN))
    compose = Composer(ws.render(plan), envelope(ws, plan), list_name="nieuwsbrief",
                       unsubscribe_url=ws.settings.unsubscribe_url,
                       preferences_url=ws.settings.preferences_url,
                       base_url=ws.site.config.base_url, token_key=KEY.encode())
    lists = {"nieuwsbrief": ws.list_def("nieuwsbrief")}
    greeter = Greeter(ws, lists, KEY.encode())

    class Target:
        email, name, variant = JO, "Jo", "en"

    return [compose(Target()), *(greeter.compose(Greeting(kind, JO, "Jo", "nieuwsbrief", lang))
                                 for kind in ("confirmation", "welcome") for lang in ("nl", "en"))]


def _link_warnings(workspace: Path, *args: str) -> list[dict[str, object]]:
    result = run(workspace, "check", *args, "--json")
    assert result.returncode == 0, result.stderr  # warnings alone do not fail
    return [p for p in json.loads(result.stdout)["problems"]
            if p["code"] == "links-on-static-site"]


def test_check_is_silent_when_the_links_go_to_serve(workspace: Path) -> None:
    """The sample: [links] at {public_url}, [web] public_url serve's own host."""
    assert _link_warnings(workspace, CAMPAIGN) == []
    assert _link_warnings(workspace, "--all") == []


def test_check_warns_when_a_link_points_at_the_static_site(workspace: Path) -> None:
    config = workspace / "postduif.toml"
    sample = config.read_text("utf-8")
    lines = sample.splitlines()
    number = next(n for n, line in enumerate(lines, 1) if line.startswith("unsubscribe = "))
    config.write_text(sample.replace(
        'unsubscribe = "{public_url}', 'unsubscribe = "{base_url}', 1), "utf-8")
    [warning] = _link_warnings(workspace, CAMPAIGN)
    assert warning["severity"] == "warning" and warning["line"] == number
    assert warning["path"] == str(config.resolve()) or warning["path"] == str(config)
    message = str(warning["message"])
    assert message.startswith("links.unsubscribe points at www.techwerkers.nl")
    assert "public_url" in message

    # No public_url: {public_url} is the site's URL, so every link is on the static site.
    config.write_text(sample.replace('public_url = "https://lists.techwerkers.nl/"',
                                     'public_url = ""', 1), "utf-8")
    assert sorted(str(w["message"]).split()[0] for w in _link_warnings(workspace, "--all")) == [
        "links.confirm", "links.preferences", "links.unsubscribe"]

    # The site's host forwards serve's paths, and public_url says so: nothing to warn about.
    config.write_text(sample.replace('public_url = "https://lists.techwerkers.nl/"',
                                     'public_url = "https://www.techwerkers.nl/"', 1), "utf-8")
    assert _link_warnings(workspace, CAMPAIGN) == []


def test_public_url_fills_the_links_and_bad_links_are_refused(workspace: Path) -> None:
    from postduif.config import load_settings
    from postduif.errors import ConfigError

    settings = load_settings(workspace)
    assert settings.unsubscribe_url == (
        "https://lists.techwerkers.nl/{lang}/newsletter/unsubscribe/?token={token}")
    config = workspace / "postduif.toml"
    sample = config.read_text("utf-8")
    for old, new, words in (
            ("{public_url}{lang}/newsletter/confirm/?token={token}",
             "{public_url}{lang}/newsletter/confirm/", "has no {token}"),
            ("{public_url}{lang}/newsletter/confirm/", "{site}{lang}/newsletter/confirm/",
             "may use only"),
            ('public_url = "https://lists.techwerkers.nl/"', 'public_url = "lists.nl"',
             "web.public_url")):
        config.write_text(sample.replace(old, new, 1), "utf-8")
        try:
            load_settings(workspace)
        except ConfigError as exc:
            assert words in exc.message and exc.line is not None, exc
        else:
            raise AssertionError(f"{new!r} was accepted")
