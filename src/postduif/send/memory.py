"""A transport that keeps messages in memory: for tests, and to measure the engine alone.

Faults can be scripted per recipient, in order of attempts, so a test can say "451 once, then
accept" or "drop the connection after DATA" without a server.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

from postduif.send.replies import failure_for
from postduif.send.transport import Connection, Feed, Reply, Unknown, send_each

#: A scripted outcome: a refusing reply, or ``"drop"`` (connection lost after DATA: unknown).
Fault = Reply | str
ACCEPTED = Reply(250, "2.0.0 Ok: queued")


class MemoryTransport:
    """Accepts everything not scripted otherwise; ``keep=False`` counts without storing."""

    def __init__(self, connections: int = 4, *,
                 faults: Mapping[str, Sequence[Fault]] | None = None,
                 check_error: Exception | None = None, latency: float = 0.0,
                 keep: bool = True) -> None:
        self.connections = connections
        self.sent: list[tuple[str, str, bytes]] = []
        self.delivered = 0
        self.opened = 0  # sessions opened, to check that each worker keeps one
        self.checked = False
        self._faults = {email: deque(script) for email, script in (faults or {}).items()}
        self._check_error = check_error
        self._latency = latency
        self._keep = keep

    async def check(self) -> None:
        if self._check_error is not None:
            raise self._check_error
        self.checked = True

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        self.opened += 1
        yield _MemoryConnection(self)

    def _next_fault(self, recipient: str) -> Fault | None:
        script = self._faults.get(recipient)
        return script.popleft() if script else None

    def _accept(self, sender: str, recipient: str, message: bytes) -> None:
        self.delivered += 1
        if self._keep:
            self.sent.append((sender, recipient, message))


class _MemoryConnection:
    def __init__(self, transport: MemoryTransport) -> None:
        self._transport = transport

    async def run(self, feed: Feed) -> None:
        await send_each(self, feed)

    async def send(self, sender: str, recipient: str, message: bytes) -> Reply:
        # Always yield once, as a real server round trip would, so workers interleave.
        await asyncio.sleep(self._transport._latency)
        fault = self._transport._next_fault(recipient)
        if fault == "drop":
            raise Unknown("connection lost after DATA (scripted)")
        if isinstance(fault, Reply):
            raise failure_for(fault, stage="rcpt")
        self._transport._accept(sender, recipient, message)
        return ACCEPTED
