"""The benches' SMTP sink: accepts every message and counts it; stdlib only, in its own process.

Why not tests/smtp_sink.py: that one is aiosmtpd (the test extra), and aiosmtpd neither
advertises PIPELINING nor is fast enough to be the ceiling Postfix's smtp-source is measured
against. This one is an ``asyncio.Protocol`` that reads commands from its buffer in order, so
commands that arrive together (RFC 2920 pipelining) are answered together, in order, in one
write.

``--delay-ms N`` makes it behave like a server N ms away: every reply is sent N ms after its
command arrived, in order (not N ms after the previous reply), so a pipelined group is answered
together one round trip later and a client that waits for each reply pays N ms per command.
The loop waits with ``select``, not epoll: epoll counts whole milliseconds and asyncio rounds
its timers up, so a reply due in 9.4 ms left after 10 (0.5 ms late on average, 5 % of a 10 ms
round trip). How late the replies did go out is in the count file, and the bench prints it.
``--no-pipelining`` leaves PIPELINING out of the EHLO reply (a client must then wait for
each reply; that is its plain path). Like Postfix, it advertises SIZE, 8BITMIME and SMTPUTF8
(aiosmtplib's ``sendmail`` then measures each message before its MAIL: a real relay costs
that too).

Run: python bench/smtp_sink.py --port 0 --count-file counts.json [--delay-ms 10]
It prints ``LISTENING <port>`` once it accepts connections; on SIGTERM it writes
``{"messages": N, "sessions": M, "late_ms_median": ..., "late_ms_p90": ...}`` to the count
file and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import selectors
import signal
import statistics
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
END = b"\r\n.\r\n"


@dataclass
class Counts:
    messages: int = 0
    sessions: int = 0
    late: list[float] = field(default_factory=list)  # seconds each delayed reply was late

    def summary(self) -> dict[str, float]:
        """What the count file says: the counts, and how late the delayed replies went out
        (this machine's timers wake a few tenths of a millisecond late; a link does not)."""
        late_ms = sorted(1000 * s for s in self.late) or [0.0]
        return {"messages": self.messages, "sessions": self.sessions,
                "late_ms_median": statistics.median(late_ms),
                "late_ms_p90": late_ms[int(0.9 * (len(late_ms) - 1))]}


class Session(asyncio.Protocol):
    """One SMTP session: MAIL, RCPT, DATA, RSET, NOOP, QUIT; every message accepted."""

    def __init__(self, counts: Counts, delay: float, pipelining: bool) -> None:
        self.counts = counts
        self.delay = delay
        self.pipelining = pipelining
        self.buffer = bytearray()
        self.in_data = False
        self.at_data_start = False
        self.scan_from = 0
        self.sender = False
        self.recipients = 0
        self.closing = False
        self.pending: deque[tuple[float, bytes]] = deque()  # (when due, reply) with a delay
        self.timer: asyncio.TimerHandle | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.counts.sessions += 1
        self.send([b"220 bench-sink ESMTP\r\n"])

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        replies: list[bytes] = []
        while not self.closing and self.step(replies):
            pass
        if replies:
            self.send(replies)

    def step(self, replies: list[bytes]) -> bool:
        """Handle one command or one message body from the buffer; False when it needs more."""
        if self.in_data:
            return self.take_body(replies)
        end = self.buffer.find(b"\n")
        if end < 0:
            return False
        line = bytes(self.buffer[:end + 1])
        del self.buffer[:end + 1]
        replies.append(self.command(line.rstrip(b"\r\n")))
        return True

    def take_body(self, replies: list[bytes]) -> bool:
        if self.at_data_start and self.buffer[:3] == b".\r\n":  # an empty message
            end = 3
        else:
            found = self.buffer.find(END, self.scan_from)
            if found < 0:
                self.scan_from = max(0, len(self.buffer) - len(END) + 1)
                self.at_data_start = self.at_data_start and len(self.buffer) < 3
                return False
            end = found + len(END)
        del self.buffer[:end]
        self.in_data = self.at_data_start = False
        self.scan_from = 0
        self.sender, self.recipients = False, 0
        self.counts.messages += 1
        replies.append(b"250 2.0.0 Ok: queued\r\n")
        return True

    def command(self, line: bytes) -> bytes:
        verb = line[:4].upper()
        if verb == b"EHLO":
            extensions = [b"PIPELINING"] * self.pipelining + [
                b"8BITMIME", b"SMTPUTF8", b"ENHANCEDSTATUSCODES", b"SIZE 52428800"]
            return b"".join([b"250-bench-sink\r\n"] + [b"250-" + e + b"\r\n"
                                                       for e in extensions[:-1]]
                            + [b"250 " + extensions[-1] + b"\r\n"])
        if verb == b"HELO":
            return b"250 bench-sink\r\n"
        if verb == b"MAIL":
            self.sender, self.recipients = True, 0
            return b"250 2.1.0 Ok\r\n"
        if verb == b"RCPT":
            if not self.sender:
                return b"503 5.5.1 MAIL first\r\n"
            self.recipients += 1
            return b"250 2.1.5 Ok\r\n"
        if verb == b"DATA":
            if not self.recipients:
                return b"503 5.5.1 RCPT first\r\n"
            self.in_data = self.at_data_start = True
            return b"354 End data with <CR><LF>.<CR><LF>\r\n"
        if verb == b"RSET":
            self.sender, self.recipients = False, 0
            return b"250 2.0.0 Ok\r\n"
        if verb == b"NOOP":
            return b"250 2.0.0 Ok\r\n"
        if verb == b"QUIT":
            self.closing = True
            return b"221 2.0.0 Bye\r\n"
        return b"500 5.5.2 Unknown command\r\n"

    def send(self, replies: list[bytes]) -> None:
        """Write the replies now, or ``delay`` after their commands arrived (in order)."""
        if not self.delay:
            self.write(b"".join(replies))
            return
        loop = asyncio.get_running_loop()
        self.pending.append((loop.time() + self.delay, b"".join(replies)))
        if self.timer is None:
            self.timer = loop.call_at(self.pending[0][0], self.flush)

    def flush(self) -> None:
        loop = asyncio.get_running_loop()
        due = []
        now = loop.time()
        while self.pending and self.pending[0][0] <= now:
            when, reply = self.pending.popleft()
            self.counts.late.append(now - when)
            due.append(reply)
        self.write(b"".join(due))
        self.timer = loop.call_at(self.pending[0][0], self.flush) if self.pending else None

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        if data and not self.transport.is_closing():
            self.transport.write(data)
        if self.closing and not self.pending:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()


async def serve(port: int, count_file: Path, delay: float, pipelining: bool) -> None:
    counts = Counts()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Session(counts, delay, pipelining), HOST, port)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print(f"LISTENING {server.sockets[0].getsockname()[1]}", flush=True)
    await stop.wait()
    server.close()
    count_file.write_text(json.dumps(counts.summary()), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--count-file", type=Path, required=True)
    parser.add_argument("--delay-ms", type=float, default=0.0,
                        help="answer each command this long after it arrived")
    parser.add_argument("--no-pipelining", action="store_true",
                        help="do not advertise PIPELINING")
    args = parser.parse_args()
    def select_loop() -> asyncio.AbstractEventLoop:
        return asyncio.SelectorEventLoop(selectors.SelectSelector())
    with asyncio.Runner(loop_factory=select_loop) as runner:
        runner.run(serve(args.port, args.count_file, args.delay_ms / 1000,
                         not args.no_pipelining))
    sys.exit(0)


if __name__ == "__main__":
    main()
