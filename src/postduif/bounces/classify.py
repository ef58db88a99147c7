"""One message from the return mailbox -> a :class:`~postduif.bounces.model.Notice`.

Whatever arrives at the envelope sender is outside input: standard reports, relays' own formats,
vacation replies, spam and broken MIME. :func:`classify` reads the report itself and nothing
else (matching it to a campaign is ``match``'s job) and never raises: a message it cannot read
is ``Kind.UNKNOWN`` with ``why`` saying what was missing, so it stays in the mailbox for an
organiser instead of stopping the run.

The order matters. An RFC 3464 delivery-status part or an RFC 5965 feedback report is the
strongest evidence, so it is read first (a DSN often carries ``Auto-Submitted`` too). Headers
only vacation programs set come next; then ``flufl.bounce``'s detectors for the older text
formats, before the weaker ``Auto-Submitted: auto-replied``, which Exim puts on its bounces.
Only a message that is none of these can be a reader's unsubscribe request (``unsubscribe``):
a bounce or an auto-reply may quote the newsletter, and with it the reader's token.
"""

from __future__ import annotations

import email
import email.errors
import email.header
import email.utils
import hashlib
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC
from email.message import Message

import flufl.bounce

from postduif.bounces import unsubscribe
from postduif.bounces.model import Failure, Kind, Notice

# flufl.bounce logs every detector it runs, and a detector's exception at ERROR level; without a
# handler of its own the latter would reach stderr through logging's last resort.
logging.getLogger("flufl.bounce").addHandler(logging.NullHandler())

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_MESSAGE_ID_LINE = re.compile(rb"^message-id:[ \t]*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
_FOLD = re.compile(r"\r?\n(?=[ \t])")
# Subjects Outlook and Exchange give out-of-office replies, in the languages members write in.
_OOF_SUBJECT = re.compile(r"^\s*(automatic reply|auto(matic)?[ -]?reply|automatisch antwoord|"
                          r"out of (the )?office|afwezig|abwesend|abwesenheit|"
                          r"r[ée]ponse automatique|absence)\b", re.IGNORECASE)
# RFC 3464, and RFC 6533's form for internationalised addresses (UTF-8 in the fields).
_STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
_BLANK_LINE = re.compile(r"\r?\n[ \t]*\r?\n")
_REASON_LINES = 5  # lines of a text bounce kept as the reason, from the one naming the address
_REASON_CHARS = 500


def classify(raw: bytes) -> Notice:
    """What the message ``raw`` says; ``Kind.UNKNOWN`` (with ``why``) for anything unreadable."""
    key = "sha256:" + hashlib.sha256(raw).hexdigest()
    try:
        return _classify(raw, key)
    except Exception as error:  # noqa: BLE001 - outside input must never stop the run
        return Notice(key=key, kind=Kind.UNKNOWN, failures=(), original_message_ids=(),
                      delivered_to=(), subject="", date=None,
                      why=f"cannot be parsed as a mail message ({type(error).__name__})")


def _classify(raw: bytes, fallback_key: str) -> Notice:
    if not raw.strip():
        return _notice(Message(), fallback_key, Kind.UNKNOWN, (), why="the message is empty")
    msg = email.message_from_bytes(raw)
    if not msg.keys():
        return _notice(msg, fallback_key, Kind.UNKNOWN, (),
                       why="no mail headers (not a mail message)")
    key = _first_id(_header(msg, "Message-ID")) or fallback_key
    reports = [part for part in msg.walk() if part.get_content_type() in _STATUS_TYPES]
    if reports:
        return _dsn(msg, key, reports)
    feedback = [part for part in msg.walk()
                if part.get_content_type() == "message/feedback-report"]
    if feedback:
        return _complaint(msg, key, feedback[0])
    if _vacation(msg):
        return _notice(msg, key, Kind.AUTO_REPLY, ())
    try:
        failures = _text_bounce(msg)
    except Exception as error:  # noqa: BLE001 - its heuristics trip over broken headers
        return _notice(msg, key, Kind.UNKNOWN, (), why="the text-bounce detectors cannot read "
                       f"it ({type(error).__name__} in flufl.bounce)")
    if failures:
        kind = Kind.HARD if any(f.kind is Kind.HARD for f in failures) else Kind.SOFT
        return _notice(msg, key, kind, failures, raw=raw)
    if _auto_submitted(msg) == "auto-replied":
        return _notice(msg, key, Kind.AUTO_REPLY, ())
    return _request_or_unknown(msg, key)


def _request_or_unknown(msg: Message, key: str) -> Notice:
    """A reader's unsubscribe mail (List-Unsubscribe's mailto), else not understood; one
    that asks to unsubscribe without a token says so, for the organiser who reads it."""
    subject, text = _header(msg, "Subject"), _text(msg)
    tokens = unsubscribe.tokens_in(subject, [text], [_text(msg, "html")])
    if tokens:
        return _notice(msg, key, Kind.UNSUBSCRIBE, (), tokens=tokens)
    if unsubscribe.asks_to_unsubscribe(subject, [text]):
        return _notice(msg, key, Kind.UNKNOWN, (), why=unsubscribe.NO_TOKEN)
    return _notice(msg, key, Kind.UNKNOWN, (),
                   why="no delivery-status part, no feedback report, no bounce text found")


def _notice(msg: Message, key: str, kind: Kind, failures: tuple[Failure, ...], *,
            raw: bytes = b"", why: str = "", tokens: tuple[str, ...] = ()) -> Notice:
    notice = Notice(key=key, kind=kind, failures=failures,
                    original_message_ids=_original_ids(msg, raw),
                    delivered_to=_delivered_to(msg), subject=_header(msg, "Subject"),
                    date=_date(msg), why=why, sender=_header(msg, "From"), tokens=tokens)
    if key.startswith("sha256:"):  # no Message-ID: the bytes' hash is the key already
        return notice
    return replace(notice, key=f"{key} {_content_hash(notice)}", legacy_key=key)


def _content_hash(notice: Notice) -> str:
    """What a report says, hashed: two reports sharing a Message-ID (a relay's reuse, or a
    forger's) are told apart, while the same report read twice (from IMAP, then from a copy
    with other line ends) keeps its key."""
    said = repr((notice.kind.value, notice.failures, notice.original_message_ids,
                 notice.delivered_to, notice.subject, notice.date, notice.sender,
                 notice.tokens))
    return "sha256:" + hashlib.sha256(said.encode("utf-8", "surrogatepass")).hexdigest()[:16]


# --- RFC 3464 delivery status notifications ---------------------------------------------------

def _dsn(msg: Message, key: str, reports: list[Message]) -> Notice:
    """One failure per recipient block that failed or was delayed; delivered ones change
    nothing, so a DSN that reports only success is an automatic reply."""
    blocks = [block for report in reports for block in _status_blocks(report)]
    recipients = [block for block in blocks if _recipient(block)]
    if not recipients:
        return _notice(msg, key, Kind.UNKNOWN, (),
                       why="delivery-status part without a Final-Recipient")
    failures = tuple(f for f in map(_dsn_failure, recipients) if f is not None)
    if not failures:
        return _notice(msg, key, Kind.AUTO_REPLY, ())
    kind = Kind.HARD if any(f.kind is Kind.HARD for f in failures) else Kind.SOFT
    return _notice(msg, key, kind, failures)


def _blocks(report: Message) -> list[Message]:
    """The parts of a multipart, the header blocks of a message/delivery-status part, or the
    enclosed message of a message/rfc822 part: what the email package parsed it into."""
    payload = report.get_payload()
    return [block for block in payload if isinstance(block, Message)] \
        if isinstance(payload, list) else []


def _status_blocks(report: Message) -> list[Message]:
    """The per-message and per-recipient header blocks of a delivery-status part. The email
    package splits message/delivery-status into them, but reads a global one as a single
    message whose body holds the blocks after the first."""
    blocks = _blocks(report)
    if report.get_content_type() == "message/global-delivery-status" and blocks:
        rest = blocks[0].get_payload(decode=True)  # bytes: the fields are UTF-8
        if isinstance(rest, bytes):
            blocks += [email.message_from_string(text) for text in
                       _BLANK_LINE.split(rest.decode("utf-8", "replace")) if text.strip()]
    return blocks


def _recipient(block: Message) -> str:
    """The address a per-recipient block is about, without its ``rfc822;`` address type."""
    for name in ("Final-Recipient", "Original-Recipient"):
        value = _header(block, name)
        address = value.split(";", 1)[1] if ";" in value else value
        address = address.strip().strip("<>").strip()
        if address:
            return address
    return ""


def _dsn_failure(block: Message) -> Failure | None:
    action = _header(block, "Action").lower()
    status = _status(_header(block, "Status"))
    if action.startswith("delayed"):
        kind = Kind.SOFT
    elif action.startswith(("fail", "error")):  # "error": OpenSMTPD's non-standard word
        kind = Kind.SOFT if status.startswith("4.") else Kind.HARD
    else:  # delivered, relayed, expanded: not a failure
        return None
    return Failure(address=_recipient(block), kind=kind, status=status,
                   reason=_header(block, "Diagnostic-Code"))


def _status(value: str) -> str:
    match = _STATUS.search(value)
    return match.group() if match else ""


# --- RFC 5965 feedback reports (complaints) ---------------------------------------------------

def _complaint(msg: Message, key: str, report: Message) -> Notice:
    fields = next(iter(_blocks(report)), Message())
    addresses = _addresses(fields.get_all("Original-Rcpt-To") or [])
    if not addresses:
        addresses = [a for original in _originals(msg)
                     for a in _addresses(original.get_all("To") or [])]
    reason = "Feedback-Type: " + (_header(fields, "Feedback-Type") or "(none)")
    if agent := _header(fields, "User-Agent"):
        reason += f"; User-Agent: {agent}"
    # Many feedback loops redact the recipient: then one failure without an address, which
    # ``match`` ties to a subscriber through the enclosed Message-ID or the VERP address.
    failures = tuple(Failure(address=a, kind=Kind.COMPLAINT, status="", reason=reason)
                     for a in _unique(addresses) or [""])
    return _notice(msg, key, Kind.COMPLAINT, failures)


# --- auto-replies -----------------------------------------------------------------------------

def _vacation(msg: Message) -> bool:
    """Headers that vacation programs set and mail servers' bounces do not."""
    if msg.get("X-Autoreply") is not None or msg.get("X-Autorespond") is not None:
        return True
    if _header(msg, "Precedence").lower() == "auto_reply":
        return True
    return (msg.get("X-Auto-Response-Suppress") is not None
            and bool(_OOF_SUBJECT.match(_header(msg, "Subject"))))


def _auto_submitted(msg: Message) -> str:
    return _header(msg, "Auto-Submitted").split(";", 1)[0].strip().lower()


# --- older text bounces, through flufl.bounce -------------------------------------------------

def _text_bounce(msg: Message) -> tuple[Failure, ...]:
    """flufl.bounce's detectors find the addresses; the lines naming each are its reason."""
    temporary, permanent = flufl.bounce.all_failures(msg)
    text = _text(msg)
    found = [(a, Kind.HARD) for a in sorted(permanent)]
    found += [(a, Kind.SOFT) for a in sorted(temporary - permanent)]
    failures = []
    for address_bytes, kind in found:
        address = address_bytes.decode("ascii", "replace")
        reason = _lines_about(text, address)
        failures.append(Failure(address=address, kind=kind, status=_status(reason),
                                reason=reason))
    return tuple(failures)


def _text(msg: Message, subtype: str = "plain") -> str:
    """The text/plain (or ``subtype``) parts of the message, not those of an enclosed
    original, decoded."""
    texts = []
    for part in _parts_outside_originals(msg):
        if part.get_content_type() == f"text/{subtype}":
            body = part.get_payload(decode=True)
            if isinstance(body, bytes):
                texts.append(body.decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(texts)


def _parts_outside_originals(msg: Message) -> Iterator[Message]:
    yield msg
    if msg.get_content_maintype() == "multipart":
        for part in _blocks(msg):
            yield from _parts_outside_originals(part)


def _lines_about(text: str, address: str) -> str:
    """The line naming ``address`` and the lines after it up to a blank one, joined."""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if address.lower() in line.lower():
            kept = [line.strip()]
            for following in lines[number + 1:number + _REASON_LINES]:
                if not following.strip():
                    break
                kept.append(following.strip())
            return " ".join(kept)[:_REASON_CHARS]
    return ""


# --- what every notice carries ----------------------------------------------------------------

def _original_ids(msg: Message, raw: bytes) -> tuple[str, ...]:
    """The reported-on mail's Message-ID: from its enclosed headers, else (text bounces) a
    Message-ID line quoted in the body, else the report's In-Reply-To and References."""
    own = _first_id(_header(msg, "Message-ID"))
    ids = [i for original in _originals(msg) if (i := _first_id(_header(original, "Message-ID")))]
    if not ids and raw:
        ids = [m.decode("ascii", "replace") for m in _MESSAGE_ID_LINE.findall(raw)]
    if not ids:
        ids = _MESSAGE_ID.findall(_header(msg, "In-Reply-To") + " " + _header(msg, "References"))
    return tuple(i for i in _unique(ids) if i != own)


def _originals(msg: Message) -> Iterator[Message]:
    """The enclosed original: a message/rfc822 part or a text/rfc822-headers part's headers."""
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            yield from _blocks(part)
        elif kind == "text/rfc822-headers":
            body = part.get_payload(decode=True)
            if isinstance(body, bytes):
                yield email.message_from_bytes(body)


def _delivered_to(msg: Message) -> tuple[str, ...]:
    values = [v for name in ("Delivered-To", "X-Original-To", "Envelope-To", "To")
              for v in msg.get_all(name) or []]
    return tuple(_unique(a.lower() for a in _addresses(values)))


def _addresses(values: Iterable[object]) -> list[str]:
    texts = [_decoded(v) for v in values]
    return [address for _, address in email.utils.getaddresses(texts) if "@" in address]


def _date(msg: Message) -> float | None:
    value = _header(msg, "Date")
    try:
        moment = email.utils.parsedate_to_datetime(value)
        if moment.tzinfo is None:  # "-0000": the time is UTC, the zone unknown (RFC 5322 3.3)
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _header(msg: Message, name: str) -> str:
    """A header's value as text (see :func:`_decoded`); "" when it is missing."""
    value = msg.get(name)
    return "" if value is None else _decoded(value)


def _decoded(value: object) -> str:
    """Header text: raw UTF-8 (RFC 6532, which the email package keeps as surrogate escapes)
    read as UTF-8, RFC 2047 words decoded, folding undone."""
    if isinstance(value, email.header.Header):  # how the email package keeps 8-bit bytes
        value = "".join(_chunk_text(chunk, charset)
                        for chunk, charset in email.header.decode_header(value))
    text = _FOLD.sub("", str(value))
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    try:
        return str(email.header.make_header(email.header.decode_header(text)))
    except (LookupError, UnicodeError, ValueError, email.errors.HeaderParseError):
        return text


def _chunk_text(chunk: bytes | str, charset: str | None) -> str:
    if isinstance(chunk, str):
        return chunk
    try:
        return chunk.decode(charset if charset and charset != "unknown-8bit" else "utf-8",
                            "replace")
    except LookupError:
        return chunk.decode("utf-8", "replace")


def _first_id(value: str) -> str:
    match = _MESSAGE_ID.search(value)
    return match.group() if match else value.strip()


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
