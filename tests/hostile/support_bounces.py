"""Forged and genuine reports for the bounce cases: the mail anyone can send to the return
address, written into a Maildir that ``postduif bounces --from`` reads, and the sends that
make a report plausible (or not).

A report is written as relays write theirs (RFC 3464 ``multipart/report`` with a
``message/delivery-status`` part; RFC 5965 with a ``message/feedback-report`` part), so what
it says is exactly what a forger chooses: the recipients, the status, the date, and
whether it quotes a Message-ID of ours.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from postduif.config import load_settings
from postduif.message import message_id, message_id_key
from postduif.store import Person, Settle, Store
from postduif.verp import ReturnPath

from .support import CAMPAIGN, KEY, Prepare

RETURN = "nieuwsbrief@techwerkers.nl"
DOMAIN = "techwerkers.nl"


def ours(email: str) -> str:
    """The Message-ID of the sample campaign's message to ``email`` (keyed with ``KEY``, the
    POSTDUIF_TOKEN_KEY the cases run with)."""
    return message_id(CAMPAIGN, email, DOMAIN, message_id_key(KEY.encode()))


def unkeyed(email: str) -> str:
    """The Message-ID earlier versions sent to ``email``: an unkeyed digest of the campaign
    name and the address, which anyone who saw one newsletter can compute for any address."""
    digest = hashlib.sha256(f"{CAMPAIGN}\0{email}".encode()).hexdigest()[:24]
    return f"<{CAMPAIGN}.{digest}@{DOMAIN}>"


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def dsn(report_id: str, recipients: Iterable[str], *, status: str = "5.1.1",
        date: datetime | None = None, original: str = "", to: str = RETURN,
        subject: str = "Undelivered Mail Returned to Sender") -> bytes:
    """A delivery status notification naming ``recipients``; ``original``: the Message-ID of
    the enclosed original headers ("" for none, as a forger who has none sends it)."""
    action = "delayed" if status.startswith("4.") else "failed"
    blocks = "".join(f"\nFinal-Recipient: rfc822; {address}\nAction: {action}\n"
                     f"Status: {status}\nDiagnostic-Code: smtp; 550 {status} <{address}>: "
                     "User unknown\n" for address in recipients)
    parts = [("text/plain; charset=us-ascii", "Your message could not be delivered.\n"),
             ("message/delivery-status", f"Reporting-MTA: dns; relay.example.net\n{blocks}")]
    if original:
        parts.append(("text/rfc822-headers", f"From: Techwerkers <{RETURN}>\n"
                      f"Subject: Techwerkers in December\nMessage-ID: {original}\n"))
    return _report(report_id, "delivery-status", date, to, subject, parts)


def arf(report_id: str, recipient: str, *, date: datetime | None = None) -> bytes:
    """A spam complaint (RFC 5965) naming ``recipient``, quoting no message of ours."""
    parts = [("text/plain; charset=us-ascii", "This is an email abuse report.\n"),
             ("message/feedback-report", "Feedback-Type: abuse\nUser-Agent: forged/1.0\n"
              f"Version: 1\nOriginal-Rcpt-To: {recipient}\n")]
    return _report(report_id, "feedback-report", date, RETURN, "Abuse report", parts)


def _report(report_id: str, kind: str, date: datetime | None, to: str, subject: str,
            parts: list[tuple[str, str]]) -> bytes:
    """A ``multipart/report`` as relays write one, with ``parts`` (content type, body)."""
    boundary = "report-boundary-7f3a"
    body = "".join(f"--{boundary}\nContent-Type: {kind_}\n\n{text}\n"
                   for kind_, text in parts)
    return (f"From: Mail Delivery System <MAILER-DAEMON@relay.example.net>\nTo: {to}\n"
            f"Subject: {subject}\nDate: {format_datetime(date or ago(hours=1))}\n"
            f"Message-ID: {report_id}\nMIME-Version: 1.0\n"
            f'Content-Type: multipart/report; report-type="{kind}"; boundary="{boundary}"\n'
            f"\n{body}--{boundary}--\n").encode()


def reports(*raws: bytes, rel: str = "reports") -> Prepare:
    """A Maildir ``rel`` holding ``raws``, one file each, in that order."""
    def prepare(workspace: Path) -> None:
        for sub in ("cur", "new", "tmp"):
            (workspace / rel / sub).mkdir(parents=True, exist_ok=True)
        for n, raw in enumerate(raws):
            (workspace / rel / "new" / f"{n:05d}.report").write_bytes(raw)
    return prepare


def people(*emails: str, sent: datetime | None = None, verp: bool = False) -> Prepare:
    """``emails`` confirmed on the newsletter; with ``sent``, the sample campaign recorded as
    sent to them at that time (as ``send`` records it); ``verp``: ``[bounces] verp = true``."""
    def prepare(workspace: Path) -> None:
        if verp:
            _set_verp(workspace)
        settings = load_settings(workspace)
        with Store.open(settings.database, clock=lambda: sent or datetime.now(UTC)) as store:
            for email in emails:
                store.join(Person(email=email, language="nl"), list="nieuwsbrief",
                           status="confirmed", event="confirmed", source="test: hostile",
                           consent_version="1", default_language="nl")
            if sent is not None:
                store.start_ledger(CAMPAIGN, "nieuwsbrief", ((e, "", "nl") for e in emails))
                claim = store.advance_ledger(CAMPAIGN, None, now=0)
                while claim.row is not None:
                    claim = store.advance_ledger(
                        CAMPAIGN, Settle(claim.row.id, "sent", 250, "ok"), now=0)
    return prepare


def verp_report(report_id: str, email: str, *, rel: str = "reports") -> Prepare:
    """A genuine bounce for the sample campaign's message to ``email`` (sent already),
    delivered to that message's VERP address, with no other trace of the original."""
    def prepare(workspace: Path) -> None:
        with Store.open(load_settings(workspace).database) as store:
            row = next(e.id for e in store.ledger_entries(CAMPAIGN) if e.email == email)
        verp = ReturnPath(RETURN, KEY.encode()).for_message(row)
        raw = dsn(report_id, [email], to=verp)
        (workspace / rel / "new" / f"verp-{report_id.strip('<>')}.report").write_bytes(raw)
    return prepare


def _set_verp(workspace: Path) -> None:
    config = workspace / "postduif.toml"
    text = config.read_text(encoding="utf-8")
    if "\nverp = false" not in text:
        raise AssertionError("the sample postduif.toml has no 'verp = false' line to switch")
    config.write_text(text.replace("\nverp = false", "\nverp = true", 1), encoding="utf-8")
