"""What the engine needs from a mail server, whatever carries the bytes.

The engine talks to a :class:`Transport` only, so the SMTP client (``smtp.py``), the in-memory
one used by tests and benchmarks (``memory.py``) and any future one share one contract: a reply
is either success (:class:`Reply`) or one of three failures, and *which* failure decides what
the ledger records. The distinction that matters most is :class:`Unknown`: once DATA has
started, a lost connection may or may not have delivered the message, so the row must not be
retried automatically (that could send twice) nor called failed (it may have arrived).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Reply:
    """A server reply: ``code`` 0 means there was none (connection refused, dropped, timed out)."""

    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}" if self.code else self.text


class DeliveryFailure(Exception):
    """Base of the three ways one message can fail; carries the reply that explains it."""

    def __init__(self, reply: Reply, *, stage: str = "", stalled: bool = False) -> None:
        self.reply = reply
        self.stage = stage  # "connect", "mail", "rcpt" or "data" when the transport knows
        # The server took the connection but gave no reply within the timeout (stopped, hung):
        # every further message would wait as long, so the run pauses at once.
        self.stalled = stalled
        super().__init__(str(reply))


class TemporaryFailure(DeliveryFailure):
    """4xx, 421 or 552, or no reply before DATA: try again later, the message was not taken."""


class PermanentFailure(DeliveryFailure):
    """A 5xx other than 552: the server refused this message for good."""


class Unknown(DeliveryFailure):
    """The connection dropped or timed out after DATA began: the message may have arrived."""

    def __init__(self, reason: str, *, stalled: bool = False) -> None:
        super().__init__(Reply(0, reason), stage="data", stalled=stalled)


@dataclass(frozen=True)
class Outgoing:
    """One message for a connection to deliver; ``tag`` is the caller's (a ledger row id).

    ``message`` is the composed RFC 5322 message with CRLF line ends only: it goes on the wire
    as it is (dot-stuffed), never normalised again.
    """

    tag: int
    sender: str
    recipient: str
    message: bytes


#: What became of one message: the server's acceptance, or the failure that explains it.
Outcome = Reply | DeliveryFailure


class Feed(Protocol):
    """Where a connection takes its messages from, and where it reports each one's outcome."""

    async def next(self, *, wait: bool) -> Outgoing | None:
        """The next message, or None.

        With ``wait`` the feed may sleep (rate limit, retry backoff) and None means there is
        nothing more. Without it the connection asks for a message to send together with the
        end of the one before (pipelining): None means "not right now", never a sleep.
        """
        ...

    def done(self, outgoing: Outgoing, outcome: Outcome) -> None:
        """Called exactly once for every message handed out and sent, in the order handed
        out."""
        ...

    def unsent(self, outgoing: Outgoing) -> None:
        """A message handed out ahead (composed while replies were awaited) that never went
        on the wire: the feed hands it out again first."""
        ...


class Connection(Protocol):
    """One open session to the server, owned by one worker and reused for many messages."""

    async def send(self, sender: str, recipient: str, message: bytes) -> Reply:
        """Deliver ``message`` to ``recipient``; raise a :class:`DeliveryFailure` otherwise.

        Reconnects by itself on the next call after a drop or a 421.
        """
        ...

    async def run(self, feed: Feed) -> None:
        """Deliver everything ``feed`` hands out, reconnecting as needed, until it has no more."""
        ...


async def send_each(connection: Connection, feed: Feed) -> None:
    """:meth:`Connection.run` for a connection that sends one message at a time."""
    while (outgoing := await feed.next(wait=True)) is not None:
        try:
            reply = await connection.send(outgoing.sender, outgoing.recipient, outgoing.message)
        except DeliveryFailure as failure:
            feed.done(outgoing, failure)
        else:
            feed.done(outgoing, reply)


class Transport(Protocol):
    """A mail server to deliver to, through ``connections`` parallel sessions."""

    connections: int

    async def check(self) -> None:
        """Connect, greet, secure and log in once, then close; raise ``SendError`` on failure.

        Run before anything is claimed, so a wrong password or host sends nothing.
        """
        ...

    def connection(self) -> AbstractAsyncContextManager[Connection]:
        """A session for one worker; closed (QUIT) when the worker is done."""
        ...
