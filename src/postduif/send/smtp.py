"""SMTP delivery through aiosmtplib; the only module that imports it.

Each worker owns one :class:`_SmtpConnection` and keeps its session open across messages:
connecting, STARTTLS and AUTH cost several round trips, far more than one message does.
aiosmtplib connects, secures, logs in and parses replies; what this module adds is the
smallest layer that lets several commands share one round trip (RFC 2920 PIPELINING, when the
server advertises it): MAIL, RCPT and DATA go out in one write, and a message's data with its
final "." goes out together with the next message's MAIL, RCPT and DATA. aiosmtplib 5.1
cannot do that itself: its protocol parses only the first reply in a buffer and drops data that
arrives while no command waits, so :class:`_InOrder` keeps every reply, in order.

What failed, and *when*, decides the outcome (see ``transport.py``): a refusal or a lost
connection before a message's final "." was written means the message was not taken (a
refused MAIL or RCPT makes the DATA that follows fail too, and that is no delivery); a lost
connection or a timeout after it is :class:`~postduif.send.transport.Unknown`, because the
server may have queued the message.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiosmtplib
from aiosmtplib.email import quote_address
from aiosmtplib.protocol import MAX_RESPONSE_LENGTH, SMTPProtocol

from postduif.addresses import NEEDS_SMTPUTF8, needs_smtputf8, wire_address
from postduif.config import SmtpSettings
from postduif.errors import SendError
from postduif.send.replies import failure_for
from postduif.send.transport import (
    DeliveryFailure,
    Feed,
    Outcome,
    Outgoing,
    PermanentFailure,
    Reply,
    TemporaryFailure,
    Unknown,
)

SECURITY = ("starttls", "tls", "none")
CRLF = b"\r\n"
QUIT_TIMEOUT = 2.0  # at most, for a goodbye: a stalled server must not hold up the end of a run
_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")  # in an address: command injection
_PLAIN = re.compile(r"[^\s<>()\[\]\\,;:\"@]+@[^\s<>()\[\]\\,;:\"@]+")  # local@domain, nothing odd


def _describe(exc: BaseException) -> str:
    """A short reason for a failure that carries no reply."""
    text = str(exc) or type(exc).__name__
    if _stalled(exc):
        return f"timed out: {text}"
    return text


def _stalled(exc: BaseException) -> bool:
    """No reply within ``[smtp] timeout`` (the server is stopped or hung, not refusing)."""
    return isinstance(exc, aiosmtplib.SMTPTimeoutError)


class SmtpTransport:
    """An SMTP server as configured in ``[smtp]``; security is always explicit."""

    def __init__(self, settings: SmtpSettings, *, password: str | None,
                 local_hostname: str | None = None, pipelining: bool = True) -> None:
        if settings.security not in SECURITY:
            raise SendError(f"unknown SMTP security {settings.security!r}; expected one of "
                            f"{', '.join(SECURITY)}")
        self.settings = settings
        self.connections = settings.connections
        self._password = password
        self._local_hostname = local_hostname
        # Pipeline when the server advertises PIPELINING; False sends one command per round
        # trip whatever it offers (to compare the two, or for a server that gets it wrong).
        self.pipelining = pipelining
        self._checked: aiosmtplib.SMTP | None = None  # check()'s session, for a connection

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    async def open(self) -> aiosmtplib.SMTP:
        """A connected, secured, logged-in and greeted client (aiosmtplib errors escape)."""
        s = self.settings
        client = aiosmtplib.SMTP(hostname=s.host, port=s.port, use_tls=s.security == "tls",
                                 start_tls=s.security == "starttls", timeout=s.timeout,
                                 cert_bundle=s.ca_file or None,
                                 local_hostname=self._local_hostname)
        await client.connect()
        try:
            if s.username:
                await client.login(s.username, self._password or "")
            if client.is_ehlo_or_helo_needed:
                await _greet(client)
        except BaseException:
            client.close()
            raise
        return client

    async def check(self) -> None:
        """Connect and log in once; a :class:`SendError` names the server and what failed.

        The session stays open for the next :meth:`connection` to send on: connecting,
        STARTTLS and AUTH cost several round trips, which over a slow link add up to more than
        a message does."""
        s = self.settings
        if s.username and self._password is None:
            raise SendError(f"no SMTP password for {s.username} at {self.where}",
                            hint=f"set the environment variable {s.password_env}")
        try:
            client = await self.open()
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise SendError(f"{self.where} refused the login as {s.username}: "
                            f"{exc.code} {exc.message}",
                            hint=f"check the username and {s.password_env}") from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise SendError(f"cannot connect to {self.where} ({s.security}): {_describe(exc)}",
                            hint="check host, port and security in [smtp]") from None
        if self._checked is not None:
            await _quit(self._checked)
        self._checked = client

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[_SmtpConnection]:
        checked, self._checked = self._checked, None
        session = _SmtpConnection(self, checked)
        try:
            yield session
        finally:
            await session.close()


async def _greet(client: aiosmtplib.SMTP) -> None:
    """EHLO, or HELO for a server that does not speak ESMTP (aiosmtplib's own fallback)."""
    try:
        await client.ehlo()
    except aiosmtplib.SMTPHeloError:
        await client.helo()


async def _quit(client: aiosmtplib.SMTP) -> None:
    """Say goodbye politely, but never fail over it."""
    try:
        await client.quit(timeout=min(QUIT_TIMEOUT, client.timeout or QUIT_TIMEOUT))
    except (aiosmtplib.SMTPException, OSError):
        client.close()


def wire_data(message: bytes) -> bytes:
    """What goes on the wire after DATA's 354: ``message`` dot-stuffed and terminated.

    The message comes from the composer with CRLF line ends only (``message.py`` makes that
    true, ``tests/test_compose.py`` proves it for every variant), so one ``bytes.replace``
    does what aiosmtplib's ``data()`` does with two regexes over the whole body (normalise
    line ends, then double every line-leading ".") in a tenth of the time, with the same bytes.
    """
    if not message.endswith(CRLF):
        message += CRLF
    stuffed = message.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    return stuffed + b".\r\n"


def _command(verb: bytes, address: str, *, utf8: bool = False) -> bytes:
    """``MAIL FROM:<...>`` or ``RCPT TO:<...>``; a control character could smuggle commands.

    The domain goes out IDNA-encoded (``xn--...``); a local part that is not ASCII only with
    ``utf8`` (the server offers SMTPUTF8 and MAIL FROM asks for it). A plain address (what the
    store keeps) is quoted as it is; anything else goes through aiosmtplib's parser, which
    costs a tenth of a millisecond per message.
    """
    address = wire_address(address)
    quoted = (f"<{address}>" if _PLAIN.fullmatch(address) else quote_address(address))
    data = quoted.encode("utf-8" if utf8 else "ascii")
    if _CONTROL.search(data):
        raise ValueError(f"control character in the address {address!r}")
    return verb + data + CRLF


# -- reading every reply ------------------------------------------------------------------------

class _InOrder(SMTPProtocol):
    """aiosmtplib's protocol, but every reply that arrives is kept, in order.

    Replies to pipelined commands arrive together in one buffer; aiosmtplib's own
    ``data_received`` would parse the first and drop the rest. The parsing itself stays
    aiosmtplib's (``_read_response_from_buffer``).
    """

    def __init__(self, client: aiosmtplib.SMTP) -> None:
        def lost(protocol: SMTPProtocol) -> None:
            if client.protocol is protocol:
                client.close()
        super().__init__(loop=client.loop, connection_lost_callback=lost)
        self._replies: deque[aiosmtplib.SMTPResponse] = deque()
        self._arrived: asyncio.Event = asyncio.Event()
        self._ended: BaseException | None = None  # no more replies will come, and why

    def data_received(self, data: bytes) -> None:
        self._buffer.extend(data)
        try:
            while (reply := self._read_response_from_buffer()) is not None:
                self._replies.append(reply)
        except aiosmtplib.SMTPResponseException as exc:  # a malformed reply: nothing after it
            self._end(exc)
        if len(self._buffer) > MAX_RESPONSE_LENGTH:
            self._end(aiosmtplib.SMTPResponseException(-1, "Response too long"))
        self._arrived.set()

    def eof_received(self) -> bool:
        self._end(aiosmtplib.SMTPServerDisconnected("Unexpected EOF received"))
        return super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._end(aiosmtplib.SMTPServerDisconnected("Connection lost"))
        super().connection_lost(exc)

    def _end(self, exc: BaseException) -> None:
        self._ended = self._ended or exc
        self._arrived.set()

    async def read_response(self, timeout: float | None = None) -> aiosmtplib.SMTPResponse:
        """The oldest reply not yet read, waiting at most ``timeout`` seconds for it.

        Replies to a pipelined round arrive together: only the first one is waited for (a
        timer per reply would be most of the cost of reading the rest)."""
        if not self._replies and self._ended is None:
            try:
                async with asyncio.timeout(timeout):
                    while not self._replies and self._ended is None:
                        self._arrived.clear()
                        await self._arrived.wait()
            except TimeoutError:
                raise aiosmtplib.SMTPReadTimeoutError(
                    "Timed out waiting for server response") from None
        if self._replies:
            return self._replies.popleft()
        assert self._ended is not None
        raise self._ended


def _take_over(client: aiosmtplib.SMTP) -> _InOrder:
    """Put an :class:`_InOrder` protocol under ``client``'s transport (asyncio's
    ``set_protocol``), after aiosmtplib has connected, secured, logged in and greeted."""
    transport, old = client.transport, client.protocol
    if transport is None or old is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    protocol = _InOrder(client)
    protocol.connection_made(transport)
    transport.set_protocol(protocol)
    client.protocol = protocol
    return protocol


# -- one connection -----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Ready:
    """A message with the bytes that follow its DATA, prepared before its round: while the
    previous round's replies are on their way, so that when they come only a write is left."""

    outgoing: Outgoing
    data: bytes

    @classmethod
    def of(cls, outgoing: Outgoing | None) -> _Ready | None:
        return None if outgoing is None else cls(outgoing, wire_data(outgoing.message))


@dataclass
class _Step:
    """One command of a round and the message its reply belongs to."""

    outgoing: Outgoing | None  # None: an RSET
    stage: str  # "end" (the data and its final "."), "rset", "mail", "rcpt" or "data"
    command: bytes


class _Session:
    """An open, greeted client with the in-order protocol, and what the server offers."""

    def __init__(self, client: aiosmtplib.SMTP, *, pipelining: bool) -> None:
        self.client = client
        self.protocol = _take_over(client)
        self.pipelining = pipelining and client.supports_extension("pipelining")
        self.dirty = False  # a refused envelope may have left a transaction open: RSET first
        self.broken = False  # the server's state is not known: close rather than go on

    def write(self, data: bytes) -> None:
        self.protocol.write(data)

    async def reply(self) -> Reply:
        response = await self.protocol.read_response(timeout=self.client.timeout)
        return Reply(response.code, response.message)


class _SmtpConnection:
    def __init__(self, transport: SmtpTransport, checked: aiosmtplib.SMTP | None) -> None:
        self._transport = transport
        self._checked = checked  # a session open already (the transport's check), if any
        self._session: _Session | None = None

    async def send(self, sender: str, recipient: str, message: bytes) -> Reply:
        one = _One(Outgoing(0, sender, recipient, message))
        await self.run(one)
        if isinstance(one.outcome, DeliveryFailure):
            raise one.outcome
        assert one.outcome is not None
        return one.outcome

    async def run(self, feed: Feed) -> None:
        """Each message opens a transaction; while its DATA is accepted, its data goes out
        with the next message's envelope (when the server pipelines), a round trip each."""
        outgoing = _Ready.of(await feed.next(wait=True))
        while outgoing is not None:
            session = await self._connected(feed, outgoing.outgoing)
            ready, ahead = (None, None) if session is None else await self._round(
                session, feed, None, outgoing)
            while ready is not None and session is not None:
                ready, ahead = await self._round(session, feed, ready, ahead)
            outgoing = _Ready.of(await feed.next(wait=True))

    async def _connected(self, feed: Feed, outgoing: Outgoing) -> _Session | None:
        """The open session, reconnecting if needed; a failure is ``outgoing``'s outcome."""
        session = self._session
        if session is not None and session.client.is_connected:
            return session
        self._drop()
        checked, self._checked = self._checked, None
        if checked is not None and not checked.is_connected:
            checked = None
        try:
            self._session = _Session(checked or await self._transport.open(),
                                     pipelining=self._transport.pipelining)
        except aiosmtplib.SMTPResponseException as exc:
            feed.done(outgoing, failure_for(Reply(exc.code, exc.message), stage="connect"))
            return None
        except (aiosmtplib.SMTPException, OSError) as exc:
            feed.done(outgoing, TemporaryFailure(Reply(0, _describe(exc)), stage="connect",
                                                 stalled=_stalled(exc)))
            return None
        return self._session

    async def _round(self, session: _Session, feed: Feed, ending: _Ready | None,
                     opening: _Ready | None) -> tuple[_Ready | None, _Ready | None]:
        """The data of ``ending`` (its DATA got 354) and the envelope of ``opening``: one
        write when pipelining, else command by command. Every message's outcome goes to
        ``feed``. Returns ``opening`` when its DATA got 354 and its data is due next, and,
        when pipelining, the message after it, composed while this round's replies were on
        their way (so composing is off the round trip's critical path)."""
        ready, ahead = await self._exchange(session, feed, ending, opening)
        if ready is None and ahead is not None:
            feed.unsent(ahead.outgoing)
            ahead = None
        return ready, ahead

    async def _exchange(self, session: _Session, feed: Feed, ending: _Ready | None,
                        opening: _Ready | None) -> tuple[_Ready | None, _Ready | None]:
        steps = _steps(session, feed, ending, opening)
        if opening is not None and (not steps or steps[-1].outgoing is not opening.outgoing):
            opening = None  # an address SMTP cannot carry: already reported
        refused: DeliveryFailure | None = None  # the opening's first refusal
        ahead: _Ready | None = None
        written = 0  # steps[:written] are on the wire
        for index, step in enumerate(steps):
            if written <= index:
                if refused is not None:  # plain: nothing more for a refused envelope
                    break
                chunk = steps[index:] if session.pipelining else [step]
                try:
                    session.write(b"".join(s.command for s in chunk))
                except aiosmtplib.SMTPException as exc:  # closed before it went out
                    self._lost(feed, steps, index, exc, refused, sent=False)
                    return None, ahead
                written = index + len(chunk)
                if session.pipelining and opening is not None and ahead is None:
                    ahead = _Ready.of(await feed.next(wait=False))
            try:
                reply = await session.reply()
            except (aiosmtplib.SMTPException, OSError) as exc:
                self._lost(feed, steps, index, exc, refused, sent=True)
                return None, ahead
            refused = self._answer(session, feed, step, reply, refused)
            if reply.code == 421:  # the server closes: nothing later in the round is answered
                self._closing(feed, steps[index + 1:], reply, refused)
                return None, ahead
        if opening is not None and refused is not None:
            self._after_refusal(session, feed, refused, opening)
            return None, ahead
        return opening, ahead

    def _answer(self, session: _Session, feed: Feed, step: _Step, reply: Reply,
                refused: DeliveryFailure | None) -> DeliveryFailure | None:
        """Act on one reply; returns the opening's refusal so far."""
        if step.stage == "end":
            assert step.outgoing is not None
            feed.done(step.outgoing, reply if reply.code == 250
                      else failure_for(reply, stage="data"))
            return refused
        if step.stage == "rset":
            session.dirty = session.broken = reply.code != 250
            return refused if reply.code == 250 else TemporaryFailure(reply, stage="mail")
        expected = 354 if step.stage == "data" else 250
        if refused is None and reply.code not in (expected, 251):
            session.dirty = True
            return failure_for(reply, stage=step.stage)
        if refused is not None and reply.code == 354:
            session.broken = True  # DATA accepted after a refusal: see _after_refusal
        return refused

    def _after_refusal(self, session: _Session, feed: Feed, refused: DeliveryFailure,
                       opening: _Ready) -> None:
        """A refused envelope; the next one starts with RSET. If its DATA still got 354
        (RFC 2920 allows that when every RCPT failed), or RSET was refused, the session is
        closed instead: a transaction left without its final "." delivers nothing."""
        feed.done(opening.outgoing, refused)
        if session.broken:
            self._drop()

    def _lost(self, feed: Feed, steps: list[_Step], index: int, exc: BaseException,
              refused: DeliveryFailure | None, *, sent: bool) -> None:
        """The connection failed while ``steps[index:]`` were unanswered: a message whose data
        was written is unknown; one that only had its envelope out was not taken."""
        self._drop()
        stalled = _stalled(exc)
        reason = _describe(exc)
        reported: set[int] = set()
        for step in steps[index:]:
            outgoing = step.outgoing
            if outgoing is None or id(outgoing) in reported:
                continue
            reported.add(id(outgoing))
            if step.stage == "end" and sent:
                feed.done(outgoing, Unknown(reason, stalled=stalled))
            elif step.stage == "end" or refused is None:
                feed.done(outgoing, TemporaryFailure(Reply(0, reason), stage=step.stage,
                                                     stalled=stalled))
            else:
                feed.done(outgoing, refused)

    def _closing(self, feed: Feed, rest: list[_Step], reply: Reply,
                 refused: DeliveryFailure | None) -> None:
        """A 421: the server closes; whatever is still unanswered was not taken."""
        self._drop()
        reported: set[int] = set()
        for step in rest:
            outgoing = step.outgoing
            if outgoing is None or id(outgoing) in reported:
                continue
            reported.add(id(outgoing))
            feed.done(outgoing, refused or TemporaryFailure(reply, stage=step.stage))

    def _drop(self) -> None:
        if self._session is not None:
            self._session.client.close()
            self._session = None

    async def close(self) -> None:
        session = None if self._session is None else self._session.client
        for client in (self._checked, session):
            if client is not None and client.is_connected:
                await _quit(client)
        self._checked = self._session = None


def _steps(session: _Session, feed: Feed, ending: _Ready | None,
           opening: _Ready | None) -> list[_Step]:
    """The commands of one round, in the order their replies come back.

    An address that cannot go into a command (a control character, not an address, a local
    part that is not ASCII when the server does not offer SMTPUTF8) fails its message here,
    before anything is written; the run goes on with the next.
    """
    steps = []
    if ending is not None:
        steps.append(_Step(ending.outgoing, "end", ending.data))
    if opening is None:
        return steps
    message = opening.outgoing
    try:
        envelope = _envelope(session, message)
    except ValueError as exc:
        feed.done(message, PermanentFailure(Reply(0, f"not sent: {exc}"), stage="rcpt"))
        return steps
    if session.dirty:
        steps.append(_Step(None, "rset", b"RSET\r\n"))
    return steps + envelope


def _envelope(session: _Session, message: Outgoing) -> list[_Step]:
    """MAIL, RCPT and DATA of ``message``; MAIL asks for SMTPUTF8 when an address needs it,
    and a server that does not offer it cannot take the message (:class:`ValueError`)."""
    utf8 = needs_smtputf8(message.sender) or needs_smtputf8(message.recipient)
    if utf8 and not session.client.supports_extension("smtputf8"):
        raise ValueError(NEEDS_SMTPUTF8)
    mail = _command(b"MAIL FROM:", message.sender, utf8=utf8)
    if utf8:
        mail = mail.removesuffix(CRLF) + b" SMTPUTF8" + CRLF
    return [_Step(message, "mail", mail),
            _Step(message, "rcpt", _command(b"RCPT TO:", message.recipient, utf8=utf8)),
            _Step(message, "data", b"DATA\r\n")]


class _One:
    """A feed of a single message, for :meth:`_SmtpConnection.send`."""

    def __init__(self, outgoing: Outgoing) -> None:
        self._left: Outgoing | None = outgoing
        self.outcome: Outcome | None = None

    async def next(self, *, wait: bool) -> Outgoing | None:
        outgoing, self._left = self._left, None
        return outgoing

    def unsent(self, outgoing: Outgoing) -> None:
        self._left = outgoing

    def done(self, outgoing: Outgoing, outcome: Outcome) -> None:
        self.outcome = outcome
