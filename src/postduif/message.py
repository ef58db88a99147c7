"""From a rendered message and one recipient to the bytes that go over SMTP.

A :class:`MessageTemplate` is made once per campaign variant: it encodes the headers that are
the same for everyone (From, Subject, List-Id, ...) and holds the rendered parts. Per recipient
it only fills the placeholders, quoted-printable-encodes the two parts with the C-accelerated
``binascii.b2a_qp`` and writes the few personal headers. Building an ``EmailMessage`` per
recipient costs about ten times as much, which would make the sender, not the SMTP server,
the bottleneck of a 10,000-recipient campaign.

The output is multipart/alternative (text first, then HTML), UTF-8, quoted-printable, CRLF line
ends, no line over 998 octets. Every header value passes through :func:`header_safe`, so a
name or subject holding CR/LF cannot inject headers.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr
from urllib.parse import quote

from postduif.addresses import wire_address
from postduif.config import Sender
from postduif.lists import ListDef
from postduif.render import Rendered, html_values, split_placeholders, value_of

#: The first word of the subject of a List-Unsubscribe mail; the token follows it.
UNSUBSCRIBE_SUBJECT = "unsubscribe"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
CRLF = b"\r\n"
_SOFT_BREAK = b"=\r\n"


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str = ""
    lang: str = ""


@dataclass(frozen=True)
class Envelope:
    """Who a campaign's messages come from and what list they belong to."""

    campaign: str
    sender_name: str
    sender_email: str
    reply_to: str
    list_id: str  # e.g. "nieuwsbrief.techwerkers.nl"
    list_name: str
    #: Where the List-Unsubscribe ``mailto:`` goes: the return mailbox ``postduif bounces``
    #: reads, as a plain address (never a VERP one); empty: ``sender_email``.
    unsubscribe_mailbox: str = ""
    #: The key of the Message-IDs' digests (:func:`message_id_key`); empty only for samples.
    id_key: bytes = b""

    @property
    def domain(self) -> str:
        return self.sender_email.rpartition("@")[2]

    @classmethod
    def for_list(cls, campaign: str, sender: Sender, list_def: ListDef, lang: str, *,
                 unsubscribe_mailbox: str = "", id_key: bytes = b"") -> Envelope:
        """The envelope of anything sent to ``list_def``; List-Id is ``<list>.<domain>``."""
        return cls(campaign=campaign, sender_name=sender.name, sender_email=sender.email,
                   reply_to=sender.reply_to, list_id=f"{list_def.name}.{sender.domain}",
                   list_name=list_def.title(lang), unsubscribe_mailbox=unsubscribe_mailbox,
                   id_key=id_key)

    def unsubscribe_mailto(self, token: str) -> str:
        """The ``mailto:`` of List-Unsubscribe: the subject carries the recipient's signed
        unsubscribe token, which ``postduif bounces`` reads and applies like the one-click
        POST (an address alone proves nothing: anyone can send mail as anyone)."""
        mailbox = header_safe(self.unsubscribe_mailbox or self.sender_email)
        return f"mailto:{mailbox}?subject={UNSUBSCRIBE_SUBJECT}%20{quote(token, safe='')}"


def header_safe(value: str) -> str:
    """Collapse control characters (CR, LF, NUL...) to spaces: header injection is impossible."""
    return _CONTROL.sub(" ", value).strip()


def message_id(campaign: str, recipient_email: str, domain: str, key: bytes) -> str:
    """A Message-ID stable per campaign and recipient, so a resend is recognisably the same mail
    (and a bounce that quotes it names both: see ``postduif.bounces.match``)."""
    return f"<{campaign}.{message_digest(campaign, recipient_email, key)}@{domain}>"


def review_message_id(campaign: str, variant: str, domain: str) -> str:
    """A Message-ID of its own for each review copy (``send --to``): random, so neither the
    other languages' copies nor a later round of review share it (receivers drop a message whose
    ID they have seen). Its 16 hex digits never match a recipient's 24 (``bounces`` ignores it)."""
    return f"<{campaign}.review-{variant}.{secrets.token_hex(8)}@{domain}>"


def message_digest(campaign: str, recipient_email: str, key: bytes) -> str:
    """The recipient's part of :func:`message_id`: 24 hex digits, the address not readable.
    Keyed, because a report that quotes it is taken as proof that we mailed that person:
    anyone could compute an unkeyed digest for any address and campaign name."""
    text = f"{campaign}\0{recipient_email.lower()}".encode()
    return hmac.new(key, text, hashlib.sha256).hexdigest()[:24]


def message_id_key(secret: bytes) -> bytes:
    """The Message-IDs' key, derived from the token key with an ``info`` of its own (never the
    links' or VERP's key)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"postduif message-id v1: HMAC-SHA256").derive(secret)


def personal_values(rendered: Rendered, recipient: Recipient, *, unsubscribe_url: str,
                    confirm_url: str = "", preferences_url: str = "") -> dict[str, str]:
    """The placeholder values for one recipient; a missing name gives the anonymous greeting."""
    first_name = recipient.name.split()[0] if recipient.name.strip() else ""
    greeting = (rendered.greeting_named.format(name=first_name) if first_name
                else rendered.greeting_anonymous)
    return {
        "GREETING": greeting,
        "FIRST_NAME": first_name,
        "EMAIL": recipient.email,
        "UNSUBSCRIBE_URL": unsubscribe_url,
        "CONFIRM_URL": confirm_url,
        "PREFERENCES_URL": preferences_url,
    }


def _header(name: str, value: str) -> bytes:
    """One header, RFC 2047-encoded and folded when it is not plain short ASCII."""
    value = header_safe(value)
    if value.isascii() and len(name) + len(value) < 76:
        return f"{name}: {value}".encode("ascii") + CRLF
    charset = "us-ascii" if value.isascii() else "utf-8"  # long ASCII is folded, not encoded
    encoded = Header(value, charset, header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}".encode("ascii") + CRLF


def _address(name: str, email: str) -> str:
    """``Name <local@domain>``: the name RFC 2047-encoded when not ASCII, the domain IDNA.

    A local part that is not ASCII stays UTF-8 (RFC 6532): such a message only goes out
    with SMTPUTF8, where UTF-8 headers are allowed (see ``postduif.addresses``)."""
    address = wire_address(header_safe(email))
    if address.isascii():
        return formataddr((header_safe(name), address), charset="utf-8")
    shown = formataddr((header_safe(name), ""), charset="utf-8")
    return f"{shown.removesuffix('<>')}<{address}>" if shown else address


def _address_header(name: str, value: str) -> bytes:
    """An address header; one with a UTF-8 local part is written as UTF-8, not encoded
    (RFC 2047 encoding an address would make it unreadable to every server)."""
    if value.isascii():
        return _header(name, value)
    return f"{name}: {value}".encode() + CRLF


def _one_line_end(text: str) -> str:
    """Every line end as LF: CRLF, and a lone CR too (an old Mac file, a stray ``\\r`` in a
    string), which ``b2a_qp`` would otherwise pass through bare."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _qp(text: str) -> bytes:
    """Quoted-printable with CRLF line ends: lines of at most 76 octets, whatever the input.

    The SMTP transport writes the message as it is, without normalising line ends again, so
    this is where "CRLF and nothing else" is made true for every part.
    """
    data = binascii.b2a_qp(_one_line_end(text).encode("utf-8"), istext=True)
    return data.replace(b"\n", CRLF)


class _EncodedPart:
    """One MIME part, quoted-printable-encoded once except for the personal values.

    The part is cut at its placeholders; the pieces between them are encoded once per
    campaign, and per recipient only the values are, each piece joined to the next by a soft
    line break (``=`` CRLF, which decodes to nothing). Lines stay within QP's 76 octets
    however long the values are, and the decoded text is exactly the filled-in part.
    """

    def __init__(self, subtype: str, document: str) -> None:
        self.head = (f"Content-Type: text/{subtype}; charset=\"utf-8\"\r\n"
                     "Content-Transfer-Encoding: quoted-printable\r\n\r\n").encode()
        pieces = split_placeholders(_one_line_end(document))
        self.constants = [_qp(text) for text in pieces[0::2]]
        self.fields = pieces[1::2]

    def render(self, values: dict[str, str]) -> bytes:
        chunks = [self.constants[0]]
        for field, constant in zip(self.fields, self.constants[1:], strict=True):
            chunks += [_qp(value_of(values, field)), constant]
        return self.head + _SOFT_BREAK.join(chunks) + CRLF


class MessageTemplate:
    """The shared part of one variant's messages, encoded once."""

    def __init__(self, rendered: Rendered, envelope: Envelope, *,
                 date: datetime | None = None) -> None:
        self.rendered = rendered
        self.envelope = envelope
        self._fixed_date = None if date is None else _header("Date", format_datetime(date))
        self._clock: tuple[int, bytes] = (-1, b"")  # (second, its Date header line)
        self.boundary = "=_postduif_" + hashlib.sha256(
            (envelope.campaign + rendered.lang).encode()).hexdigest()[:20]
        self._text = _EncodedPart("plain", rendered.text)
        self._html = _EncodedPart("html", rendered.html)
        self._common = b"".join([
            _address_header("From", _address(envelope.sender_name, envelope.sender_email)),
            (_address_header("Reply-To", _address("", envelope.reply_to))
             if envelope.reply_to else b""),
            _header("Subject", rendered.subject),
            _header("Content-Language", rendered.lang.replace("+", ", ")),
            _header("List-Id", f"{header_safe(envelope.list_name)} <{envelope.list_id}>"),
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
            b"MIME-Version: 1.0\r\n",
            f'Content-Type: multipart/alternative; boundary="{self.boundary}"\r\n'.encode(),
        ])

    def render(self, recipient: Recipient, *, unsubscribe_url: str, unsubscribe_token: str = "",
               confirm_url: str = "", preferences_url: str = "", msgid: str = "") -> bytes:
        """The complete message for one recipient, ready for SMTP as it is: every line ends in
        CRLF (no bare CR or LF anywhere), and so does the message. List-Unsubscribe offers
        the ``mailto:`` only with the recipient's token (without one it could not be acted on).
        ``msgid`` replaces the recipient's stable Message-ID (a review copy has its own)."""
        values = personal_values(self.rendered, recipient, unsubscribe_url=unsubscribe_url,
                                 confirm_url=confirm_url, preferences_url=preferences_url)
        env = self.envelope
        unsubscribe = f"<{header_safe(unsubscribe_url)}>"
        if unsubscribe_token:
            unsubscribe += f",\r\n <{env.unsubscribe_mailto(unsubscribe_token)}>"
        boundary = self.boundary.encode()
        return b"".join([
            _address_header("To", _address(recipient.name, recipient.email)),
            self._date(),
            _header("Message-ID",
                    msgid or message_id(env.campaign, recipient.email, env.domain, env.id_key)),
            f"List-Unsubscribe: {unsubscribe}\r\n".encode(),
            self._common,
            CRLF,
            b"--", boundary, CRLF, self._text.render(values),
            b"--", boundary, CRLF, self._html.render(html_values(values)),
            b"--", boundary, b"--", CRLF,
        ])


    def _date(self) -> bytes:
        """The Date header: the template's date, or now (made once a second, not once a
        message: formatting a date is a tenth of the cost of composing)."""
        if self._fixed_date is not None:
            return self._fixed_date
        second = int(time.time())
        if self._clock[0] != second:
            now = datetime.fromtimestamp(second).astimezone()
            self._clock = (second, _header("Date", format_datetime(now)))
        return self._clock[1]


def build_message(rendered: Rendered, recipient: Recipient, envelope: Envelope, *,
                  unsubscribe_url: str, unsubscribe_token: str = "", confirm_url: str = "",
                  preferences_url: str = "", date: datetime | None = None) -> bytes:
    """One message without keeping a template: for samples and single sends."""
    return MessageTemplate(rendered, envelope, date=date).render(
        recipient, unsubscribe_url=unsubscribe_url, unsubscribe_token=unsubscribe_token,
        confirm_url=confirm_url, preferences_url=preferences_url)
