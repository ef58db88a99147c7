"""SMTP delivery through aiosmtplib; the only module that imports it.

Each worker owns one :class:`_SmtpConnection` and keeps its session open across messages:
connecting, STARTTLS and AUTH cost several round trips, far more than one message does. What
failed, and *when*, decides the exception (see ``transport.py``): a failure before DATA means
the message was not taken and is temporary; a lost connection or a timeout after DATA began is
:class:`~postduif.send.transport.Unknown`, because the server may have queued the message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiosmtplib

from postduif.config import SmtpSettings
from postduif.errors import SendError
from postduif.send.replies import failure_for
from postduif.send.transport import Connection, Reply, TemporaryFailure, Unknown

SECURITY = ("starttls", "tls", "none")
CRLF = b"\r\n"
QUIT_TIMEOUT = 2.0  # at most, for a goodbye: a stalled server must not hold up the end of a run


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
                 local_hostname: str | None = None) -> None:
        if settings.security not in SECURITY:
            raise SendError(f"unknown SMTP security {settings.security!r}; expected one of "
                            f"{', '.join(SECURITY)}")
        self.settings = settings
        self.connections = settings.connections
        self._password = password
        self._local_hostname = local_hostname

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    async def open(self) -> aiosmtplib.SMTP:
        """A connected, secured and logged-in client (aiosmtplib errors escape)."""
        s = self.settings
        client = aiosmtplib.SMTP(hostname=s.host, port=s.port, use_tls=s.security == "tls",
                                 start_tls=s.security == "starttls", timeout=s.timeout,
                                 cert_bundle=s.ca_file or None,
                                 local_hostname=self._local_hostname)
        await client.connect()
        if s.username:
            try:
                await client.login(s.username, self._password or "")
            except BaseException:
                client.close()
                raise
        return client

    async def check(self) -> None:
        """Connect and log in once; a :class:`SendError` names the server and what failed."""
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
        await _quit(client)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        session = _SmtpConnection(self)
        try:
            yield session
        finally:
            await session.close()


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


async def _data(client: aiosmtplib.SMTP, payload: bytes) -> aiosmtplib.SMTPResponse:
    """DATA, then the prepared ``payload`` in one write, then its reply."""
    start = await client.execute_command(b"DATA")
    if start.code != 354:
        raise aiosmtplib.SMTPDataError(start.code, start.message)
    protocol = client.protocol
    if protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    protocol.write(payload)
    response = await protocol.read_response(timeout=client.timeout)
    if response.code != 250:
        raise aiosmtplib.SMTPDataError(response.code, response.message)
    return response


class _SmtpConnection:
    def __init__(self, transport: SmtpTransport) -> None:
        self._transport = transport
        self._client: aiosmtplib.SMTP | None = None

    async def send(self, sender: str, recipient: str, message: bytes) -> Reply:
        client = await self._connected()
        await self._envelope(client, sender, recipient)
        try:
            response = await _data(client, wire_data(message))
        except aiosmtplib.SMTPResponseException as exc:
            await self._after_refusal(client, exc.code)
            raise failure_for(Reply(exc.code, exc.message), stage="data") from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._drop()
            raise Unknown(_describe(exc), stalled=_stalled(exc)) from None
        return Reply(response.code, response.message)

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        self._drop()
        try:
            self._client = await self._transport.open()
        except aiosmtplib.SMTPResponseException as exc:
            raise failure_for(Reply(exc.code, exc.message), stage="connect") from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(Reply(0, _describe(exc)), stage="connect",
                                   stalled=_stalled(exc)) from None
        return self._client

    async def _envelope(self, client: aiosmtplib.SMTP, sender: str, recipient: str) -> None:
        """MAIL FROM and RCPT TO; nothing is delivered yet, so every failure is a clean one."""
        stage = "mail"
        try:
            await client.mail(sender)
            stage = "rcpt"
            await client.rcpt(recipient)
        except aiosmtplib.SMTPResponseException as exc:
            await self._after_refusal(client, exc.code)
            raise failure_for(Reply(exc.code, exc.message), stage=stage) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._drop()
            raise TemporaryFailure(Reply(0, _describe(exc)), stage=stage,
                                   stalled=_stalled(exc)) from None

    async def _after_refusal(self, client: aiosmtplib.SMTP, code: int) -> None:
        """Make the session usable for the next message: RSET, or reconnect after a 421."""
        if code == 421:
            self._drop()
            return
        try:
            await client.rset()
        except (aiosmtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def close(self) -> None:
        if self._client is not None and self._client.is_connected:
            await _quit(self._client)
        self._client = None
