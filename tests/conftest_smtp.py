"""pytest fixtures for the fault-injecting SMTP server of :mod:`tests.smtp_sink`.

``smtp_server(faults={...})`` starts ``tests/smtp_sink.py`` as a child process on a free port of
127.0.0.1, waits until it prints that it listens, and returns a :class:`SmtpServer` (host, port,
mailbox reader). Every server a test started is killed when the test ends.
"""

from __future__ import annotations

import email
import email.policy
import json
import selectors
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

SINK_SCRIPT = Path(__file__).with_name("smtp_sink.py")
START_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Received:
    """One message as the server accepted it: the envelope and the raw bytes."""

    number: int
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    pipelined: bool  # its RCPT came before its MAIL was answered
    mail_options: tuple[str, ...] = ()  # MAIL FROM's parameters (SMTPUTF8, ...)

    def parsed(self) -> EmailMessage:
        message = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


class MailboxReader:
    """Reads the server's mailbox directory; only complete messages are ever visible."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def count(self) -> int:
        return sum(1 for _ in self.directory.glob("*.eml"))

    def messages(self) -> list[Received]:
        received = []
        for path in sorted(self.directory.glob("*.eml")):
            envelope = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            received.append(Received(int(path.stem), envelope["mail_from"],
                                     tuple(envelope["rcpt_tos"]), path.read_bytes(),
                                     envelope["pipelined"],
                                     tuple(envelope.get("mail_options", ()))))
        return received

    def recipients(self) -> list[str]:
        """Every envelope recipient of every accepted message, lower-cased, with repeats."""
        return [r.lower() for m in self.messages() for r in m.rcpt_tos]

    def wait_for(self, count: int, timeout: float = 30.0) -> int:
        """Block until at least ``count`` messages arrived; returns the count seen."""
        deadline = time.monotonic() + timeout
        seen = self.count()
        while seen < count and time.monotonic() < deadline:
            time.sleep(0.01)
            seen = self.count()
        return seen


@dataclass
class SmtpServer:
    host: str
    port: int
    mailbox: MailboxReader
    process: subprocess.Popen[str]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


def start_smtp_server(directory: Path, faults: dict[str, Any] | None = None) -> SmtpServer:
    """Start the fault server in a child process and wait until it accepts connections."""
    directory.mkdir(parents=True, exist_ok=True)
    faults_file = directory / "faults.json"
    faults_file.write_text(json.dumps(faults or {}), encoding="utf-8")
    mailbox = directory / "mailbox"
    process, port = _spawn("--faults", str(faults_file), "--mailbox", str(mailbox))
    return SmtpServer("127.0.0.1", port, MailboxReader(mailbox), process)


@dataclass
class RawSink:
    """The fast sink (``--sink``), keeping every message's DATA bytes exactly as they came over
    the wire (still dot-stuffed), each followed by CRLF, in one file."""

    port: int
    process: subprocess.Popen[str]
    record: Path

    def stop(self) -> bytes:
        """Stop the server (SIGTERM: it closes the file) and return what it recorded."""
        self.process.terminate()
        self.process.wait(timeout=10)
        return self.record.read_bytes()


def start_raw_sink(directory: Path) -> RawSink:
    directory.mkdir(parents=True, exist_ok=True)
    record = directory / "wire.bin"
    process, port = _spawn("--sink", "--append", str(record))
    return RawSink(port, process, record)


def _spawn(*arguments: str) -> tuple[subprocess.Popen[str], int]:
    """``tests/smtp_sink.py`` on a free port of 127.0.0.1, once it accepts connections."""
    process = subprocess.Popen([sys.executable, str(SINK_SCRIPT), "--port", "0", *arguments],
                               stdout=subprocess.PIPE, text=True)
    line = _read_line(process, START_TIMEOUT_S)
    if not line.startswith("LISTENING "):
        process.kill()
        raise RuntimeError(f"the SMTP sink did not start: {line!r}")
    return process, int(line.split()[1])


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The child's first stdout line; a child that never prints is killed, not waited for."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            process.kill()
            raise RuntimeError(f"the SMTP sink printed nothing within {timeout:.0f} s")
    return process.stdout.readline().strip()


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[Callable[..., SmtpServer]]:
    """A factory: ``smtp_server(faults={...})`` -> a running server, killed after the test."""
    started: list[SmtpServer] = []

    def start(faults: dict[str, Any] | None = None) -> SmtpServer:
        server = start_smtp_server(tmp_path / f"smtp{len(started)}", faults)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


__all__ = ["MailboxReader", "RawSink", "Received", "SmtpServer", "smtp_server", "start_raw_sink",
           "start_smtp_server"]
