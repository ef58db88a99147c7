"""Deadlines for slow clients, so connections held open cannot pile up in ``postduif serve``.

uvicorn closes an idle keep-alive connection after ``timeout_keep_alive`` seconds, but only
once a response has gone out: a client that connects and sends nothing, or sends its headers a
byte at a time, is waited for indefinitely (uvicorn has no header timeout for h11), and the
app waits as long for a body that trickles in. So:

* :class:`DeadlineH11Protocol` gives every request :data:`HEADERS_SECONDS` to arrive whole,
  counted from the connection's start or the previous response's end, and closes the
  connection when it does not;
* :func:`postduif.web.guard.capped_body` gives the body :data:`BODY_SECONDS` to arrive whole
  (408 when it does not).

A client that goes away in the middle of its body is not an error of ours: the app answers
:class:`~starlette.requests.ClientDisconnect` with a response nobody receives, and logs nothing.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol

#: Seconds a request line and its headers may take to arrive.
HEADERS_SECONDS = 10.0
#: Seconds a request body (64 KB at most) may take to arrive, once the headers are in.
BODY_SECONDS = 10.0
#: Seconds an idle keep-alive connection stays open after a response.
KEEP_ALIVE_SECONDS = 5


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's headers."""

    _deadline: asyncio.TimerHandle | None = None
    _armed_for: object = None  # the request cycle current when the deadline was set

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._armed_for = self.cycle
        self._deadline = self.loop.call_later(HEADERS_SECONDS, self._headers_too_slow)

    def _headers_too_slow(self) -> None:
        """No new request came in whole since the deadline was set: close the connection.
        A request that did come in is in the app's hands (and its body under BODY_SECONDS)."""
        self._deadline = None
        if self.cycle is self._armed_for and not self.transport.is_closing():
            self.transport.close()
