"""A real SMTP server on 127.0.0.1 that misbehaves on purpose, run in its own process.

The send tests need a server that fails the way real ones do (a 451 that clears on retry, a 550
for an unknown user, a 421 mid-session, a connection that drops after DATA, a server that stops
answering), and the resume test must be able to SIGKILL the *sender* while the server keeps
counting. So the server lives in a child process and writes every accepted message to a mailbox
directory that the tests read back.

Run it as a script::

    python tests/smtp_sink.py --port 0 --faults faults.json --mailbox DIR
    python tests/smtp_sink.py --port 0 --sink --count-file counts.json   # the bench's fast sink

It prints ``LISTENING <port>`` on stdout once it accepts connections (``--port 0`` picks a free
port). :func:`serve` is the same entry point for ``multiprocessing`` (spawn).

Faults (JSON object, every key optional):

- ``temp_fail_once``: addresses answered ``451 4.3.0`` at their first RCPT, accepted later;
- ``temp_fail_once_data``: the same, but the 451 comes after the message data;
- ``reject``: ``{address: "550 5.1.1 ..."}`` answered at RCPT, every time;
- ``policy_block``: ``{address: "554 5.7.1 ..."}`` answered at RCPT, every time;
- ``drop_after_data``: addresses whose first message is read whole, then the socket is closed
  without a reply (the sender cannot know whether it arrived: it did not);
- ``drop_after_reply``: addresses whose first message is stored and answered ``250``, then the
  socket is closed (the message arrived; whatever the client sent after it did not);
- ``refuse_mail``: the first N MAIL commands get ``451 4.3.2`` (the RCPT and DATA that a
  pipelining client sent behind them then get ``503``: no delivery);
- ``close_421_after``: after N messages in one session, the next MAIL gets ``421`` and a close;
- ``stall_after``: after N accepted messages in total the server stops answering anything;
- ``auth``: ``{"user": ..., "password": ...}``: AUTH PLAIN/LOGIN required (no TLS on loopback);
- ``delay_ms``: wait this long between storing a message and answering its data;
- ``smtputf8``: offer SMTPUTF8 (RFC 6531, aiosmtpd's ``enable_SMTPUTF8``): UTF-8 addresses in
  MAIL and RCPT when MAIL asks for it; without it aiosmtpd refuses a MAIL that asks (501);
- ``pipelining``: advertise PIPELINING (RFC 2920) in the EHLO reply. aiosmtpd reads pipelined
  commands in order anyway, but does not say so; each stored envelope records whether the
  client sent its RCPT before the MAIL was answered (``pipelined``).

Mailbox layout: ``NNNNNNNN.json`` (envelope: mail_from, rcpt_tos, mail_options) then
``NNNNNNNN.eml`` (the message bytes as received), each written to a temporary name and renamed,
so a reader that lists ``*.eml`` only ever sees complete messages with their envelope already
in place.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"
READY = "LISTENING"


@dataclass
class Faults:
    temp_fail_once: set[str] = field(default_factory=set)
    temp_fail_once_data: set[str] = field(default_factory=set)
    reject: dict[str, str] = field(default_factory=dict)
    policy_block: dict[str, str] = field(default_factory=dict)
    drop_after_data: set[str] = field(default_factory=set)
    drop_after_reply: set[str] = field(default_factory=set)
    refuse_mail: int = 0
    close_421_after: int = 0
    stall_after: int = 0
    auth: dict[str, str] | None = None
    delay_ms: int = 0
    pipelining: bool = False
    smtputf8: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Faults:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault(s): {', '.join(sorted(unknown))}")
        lowered = {k: v if k == "auth" else _lower(v) for k, v in data.items()}
        for key in ("temp_fail_once", "temp_fail_once_data", "drop_after_data",
                    "drop_after_reply"):
            if key in lowered:
                lowered[key] = set(lowered[key])
        return cls(**lowered)


def _lower(value: Any) -> Any:
    """Addresses compare case-insensitively, like the store keys them."""
    if isinstance(value, list):
        return [v.lower() for v in value]
    if isinstance(value, dict):
        return {k.lower(): v for k, v in value.items()}
    return value


class Mailbox:
    """Writes each accepted message as a numbered file pair; atomic per file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.count = len(list(directory.glob("*.eml")))

    def store(self, mail_from: str, rcpt_tos: list[str], data: bytes, *,
              pipelined: bool = False, mail_options: list[str] | None = None) -> None:
        self.count += 1
        stem = f"{self.count:08d}"
        envelope = json.dumps({"mail_from": mail_from, "rcpt_tos": rcpt_tos,
                               "pipelined": pipelined,
                               "mail_options": mail_options or []}).encode()
        self._write(self.directory / f"{stem}.json", envelope)
        self._write(self.directory / f"{stem}.eml", data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        temp = path.with_name(f".{path.name}.tmp")
        temp.write_bytes(data)
        temp.rename(path)


class FaultyHandler:
    """aiosmtpd handler hooks; each hook may answer with a fault instead of the usual reply."""

    def __init__(self, faults: Faults, mailbox: Mailbox) -> None:
        self.faults = faults
        self.mailbox = mailbox
        self.accepted = 0
        self.stalled = False
        self._temp_failed: set[str] = set()
        self._dropped: set[str] = set()
        self._mail_refused = 0

    async def _stall_if_stalled(self) -> None:
        """A stalled server never answers again; the client's timeout has to notice."""
        if self.stalled:
            await asyncio.Event().wait()

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope,
                          hostname: str, responses: list[str]) -> list[str]:
        await self._stall_if_stalled()
        session.host_name = hostname
        if self.faults.pipelining:
            return [responses[0], "250-PIPELINING", *responses[1:]]
        return responses

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        await self._stall_if_stalled()
        limit = self.faults.close_421_after
        if limit and getattr(session, "sink_accepted", 0) >= limit:
            await _close_with(server, "421 4.7.0 too many messages in this session, closing")
        if self._mail_refused < self.faults.refuse_mail:
            self._mail_refused += 1
            return "451 4.3.2 not now, try again"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        # The client's next command is already here before this reply went out: pipelined.
        session.sink_pipelined = bool(server._reader._buffer)
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        await self._stall_if_stalled()
        key = address.lower()
        if key in self.faults.reject:
            return self.faults.reject[key]
        if key in self.faults.policy_block:
            return self.faults.policy_block[key]
        if key in self.faults.temp_fail_once and key not in self._temp_failed:
            self._temp_failed.add(key)
            return "451 4.3.0 temporary failure, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        rcpts = [r.lower() for r in envelope.rcpt_tos]
        if self.faults.stall_after and self.accepted >= self.faults.stall_after:
            self.stalled = True
        await self._stall_if_stalled()
        dropping = [r for r in rcpts if r in self.faults.drop_after_data - self._dropped]
        if dropping:
            self._dropped.update(dropping)
            await _close_with(server, None)
        data_fail = [r for r in rcpts
                     if r in self.faults.temp_fail_once_data - self._temp_failed]
        if data_fail:
            self._temp_failed.update(data_fail)
            return "451 4.3.0 temporary failure after data, try again later"
        content = envelope.original_content or b""
        self.mailbox.store(envelope.mail_from or "", list(envelope.rcpt_tos), content,
                           pipelined=getattr(session, "sink_pipelined", False),
                           mail_options=list(envelope.mail_options))
        self.accepted += 1
        session.sink_accepted = getattr(session, "sink_accepted", 0) + 1
        queued = f"250 2.0.0 OK queued as {self.mailbox.count:08d}"
        closing = [r for r in rcpts if r in self.faults.drop_after_reply - self._dropped]
        if closing:
            self._dropped.update(closing)
            await _close_with(server, queued)
        if self.faults.delay_ms:
            # Stored first, answered later, like a real server: a sender killed in between
            # leaves a message that arrived but that its ledger cannot know about.
            await asyncio.sleep(self.faults.delay_ms / 1000)
        return queued


async def _close_with(server: SMTP, reply: str | None) -> None:
    """Optionally answer, then close the socket and wait to be cancelled by connection_lost."""
    if reply:
        await server.push(reply)
    if server.transport is not None:
        server.transport.close()
    await asyncio.Event().wait()


def _authenticator(expected: dict[str, str]) -> Any:
    def check(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
              auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == expected["user"]
              and auth_data.password.decode() == expected["password"])
        return AuthResult(success=ok, handled=False)
    return check


def smtp_factory(faults: Faults, mailbox_dir: Path) -> tuple[FaultyHandler, Any]:
    handler = FaultyHandler(faults, Mailbox(mailbox_dir))
    auth_kwargs: dict[str, Any] = {}
    if faults.auth:
        auth_kwargs = {"authenticator": _authenticator(faults.auth), "auth_required": True,
                       "auth_require_tls": False}

    def make() -> SMTP:
        return SMTP(handler, hostname="sink.test", data_size_limit=None, timeout=600,
                    enable_SMTPUTF8=faults.smtputf8, **auth_kwargs)
    return handler, make


# -- the fast sink ----------------------------------------------------------------------------

class SinkProtocol(asyncio.Protocol):
    """Just enough SMTP to accept and discard mail as fast as one Python process can.

    aiosmtpd reads DATA a line at a time; at bench speeds that makes the *server* the
    bottleneck, and the ceiling measured with smtp-source would be aiosmtpd's, not the
    client's. This parser looks for the end-of-data marker in whole buffers instead.
    """

    def __init__(self, totals: dict[str, int], append: Any) -> None:
        self.totals = totals
        self.append = append
        self.buffer = bytearray()
        self.in_data = False
        self.scanned = 0  # how far the buffer was searched for the end of data already
        self.quitting = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(b"220 sink.test ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        replies: list[bytes] = []
        while self._step(replies):
            pass
        if self.transport is None:
            return
        if replies:
            self.transport.write(b"".join(replies))
        if self.quitting:
            self.transport.close()

    def _step(self, replies: list[bytes]) -> bool:
        if self.quitting:
            return False
        if self.in_data:
            end = self.buffer.find(b"\r\n.\r\n", self.scanned)
            if end < 0:
                self.scanned = max(0, len(self.buffer) - 4)
                return False
            self._accept(memoryview(self.buffer)[:end + 2])
            del self.buffer[:end + 5]
            self.in_data = False
            self.scanned = 0
            replies.append(b"250 2.0.0 OK\r\n")
            return True
        end = self.buffer.find(b"\r\n")
        if end < 0:
            return False
        line = bytes(self.buffer[:end])
        del self.buffer[:end + 2]
        replies.append(self._command(line))
        return True

    def _command(self, line: bytes) -> bytes:
        verb = line[:4].upper()
        if verb == b"EHLO":
            return b"250-sink.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        if verb == b"DATA":
            self.in_data = True
            # A message that is empty ends right after the 354, with "." as its first line.
            self.buffer[:0] = b"\r\n"
            return b"354 End data with <CR><LF>.<CR><LF>\r\n"
        if verb == b"QUIT":
            self.quitting = True
            return b"221 Bye\r\n"
        return b"250 OK\r\n"

    def _accept(self, data: memoryview) -> None:
        message = data[2:]  # the CRLF put in front at DATA
        self.totals["messages"] += 1
        self.totals["bytes"] += len(message)
        if self.append is not None:
            self.append.write(message)
            self.append.write(b"\r\n")
        data.release()
        message.release()


# -- running ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Config:
    port: int = 0
    faults: dict[str, Any] = field(default_factory=dict)
    mailbox: str = ""
    sink: bool = False
    count_file: str = ""
    append: str = ""


async def _serve(config: Config, ready: Callable[[int], object]) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    totals = {"messages": 0, "bytes": 0}
    handler: FaultyHandler | None = None
    with contextlib.ExitStack() as stack:
        if config.sink:
            append = stack.enter_context(open(config.append, "ab")) if config.append else None
            server = await loop.create_server(lambda: SinkProtocol(totals, append),
                                              HOST, config.port)
        else:
            handler, make = smtp_factory(Faults.from_json(config.faults), Path(config.mailbox))
            server = await loop.create_server(make, HOST, config.port)
        ready(server.sockets[0].getsockname()[1])
        await stop.wait()
        server.close()
    if handler is not None:
        totals["messages"] = handler.accepted
    if config.count_file:
        Path(config.count_file).write_text(json.dumps(totals), encoding="utf-8")


def _print_ready(port: int) -> None:
    print(f"{READY} {port}", flush=True)


def serve(config: Config, ready: Any = None) -> None:
    """Entry point for a child process; ``ready`` (e.g. a Queue) receives the port."""
    # Requiring AUTH without TLS is deliberate here (loopback only); keep stderr for real errors.
    warnings.filterwarnings("ignore", category=UserWarning, module="aiosmtpd")
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    asyncio.run(_serve(config, ready.put if ready is not None else _print_ready))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--faults", type=Path, help="JSON file with the faults to inject")
    parser.add_argument("--mailbox", type=Path, help="directory for accepted messages")
    parser.add_argument("--sink", action="store_true", help="fast accept-and-discard mode")
    parser.add_argument("--count-file", type=Path, help="write totals here on SIGTERM")
    parser.add_argument("--append", type=Path, help="sink mode: append messages to this file")
    args = parser.parse_args(argv)
    if not args.sink and args.mailbox is None:
        parser.error("--mailbox is required unless --sink is given")
    faults = json.loads(args.faults.read_text(encoding="utf-8")) if args.faults else {}
    serve(Config(port=args.port, faults=faults, mailbox=str(args.mailbox or ""),
                 sink=args.sink, count_file=str(args.count_file or ""),
                 append=str(args.append or "")))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
