"""A hostile calendar server on 127.0.0.1, and the sample campaign's agenda pointed at it.

The server answers what a feed's host could: a body that drips a byte every few seconds, one
of 50 MB (with and without announcing it), a small gzip body that inflates to 100 MB,
redirects to another port or host and in a loop, and any body a case gives it. It counts what
it sent per path, so a case can tell a client stopped reading early.
"""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
from collections.abc import Callable, Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from ..http_support import LocalServer
from .support import CAMPAIGN, Around, replace_line

DRIP_SECONDS = 5.0
HUGE = 50 * 2**20
CHUNK = 64 * 1024
CAMPAIGN_FILE = f"campaigns/{CAMPAIGN}.toml"
ICS_START = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hostile//EN\r\n"


def calendar(*events: str) -> bytes:
    """An iCalendar file of ``events`` (VEVENT bodies without BEGIN/END)."""
    body = "".join(f"BEGIN:VEVENT\r\nDTSTAMP:20261101T000000Z\r\n{e}END:VEVENT\r\n"
                   for e in events)
    return ICS_START + body.encode() + b"END:VCALENDAR\r\n"


@cache
def gzip_bomb() -> bytes:
    """About 100 KB of gzip that inflates to 100 MB of spaces."""
    return gzip.compress(b" " * (100 * 2**20), compresslevel=9)


class Handler(BaseHTTPRequestHandler):
    """Answers from its server's :meth:`HostileFeeds.answers`, else its bodies, else 404."""

    protocol_version = "HTTP/1.1"
    feeds: HostileFeeds

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = self.path.split("?", 1)[0]
        answer = self.feeds.answers().get(path)
        try:
            if answer is not None:
                answer(self)
            elif path in self.feeds.bodies:
                body, kind = self.feeds.bodies[path]
                self.headers_of(200, {"Content-Type": kind, "Content-Length": str(len(body))})
                self.send(path, body)
            else:
                self.headers_of(404, {"Content-Length": "0"})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: what a bounded fetch does

    def headers_of(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def send(self, path: str, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()
        self.feeds.sent[path] = self.feeds.sent.get(path, 0) + len(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: pytest shows the test's own output only."""


Answer = Callable[[Handler], None]


class HostileFeeds(LocalServer):
    def __init__(self, bodies: dict[str, tuple[bytes, str]] | None = None) -> None:
        self.bodies = dict(bodies or {})  # path -> (body, content type)
        self.sent: dict[str, int] = {}
        self.stopping = threading.Event()
        super().__init__(type("BoundHandler", (Handler,), {"feeds": self}), poll=0.05)

    def stop(self) -> None:
        self.stopping.set()
        super().stop()

    def answers(self) -> dict[str, Answer]:
        """The paths with a behaviour rather than a body."""
        port = self.port
        return {
            "/drip.ics": self._drip,
            "/huge.ics": lambda h: self._huge(h, "/huge.ics", announce=False),
            "/announced.ics": lambda h: self._huge(h, "/announced.ics", announce=True),
            "/bomb.ics": self._bomb,
            "/other-port.ics": _redirect(f"http://127.0.0.1:{port + 1}/feed.ics"),
            "/other-host.ics": _redirect(f"http://localhost:{port}/feed.ics"),
            "/loop-a.ics": _redirect("/loop-b.ics"),
            "/loop-b.ics": _redirect("/loop-a.ics"),
            "/moved.ics": _redirect("/feed.ics"),
        }

    def _drip(self, handler: Handler) -> None:
        handler.headers_of(200, {"Content-Type": "text/calendar", "Transfer-Encoding": "chunked"})
        while not self.stopping.is_set():
            handler.send("/drip.ics", b"1\r\n \r\n")  # one byte, chunked
            time.sleep(DRIP_SECONDS)

    def _huge(self, handler: Handler, path: str, *, announce: bool) -> None:
        headers = {"Content-Type": "text/calendar"}
        headers |= {"Content-Length": str(HUGE)} if announce else {"Connection": "close"}
        handler.headers_of(200, headers)
        handler.send(path, ICS_START)
        line = b"X-PADDING:" + b"x" * 60 + b"\r\n"
        chunk = line * (CHUNK // len(line))
        for _ in range((HUGE - len(ICS_START)) // len(chunk)):
            if self.stopping.is_set():
                return
            handler.send(path, chunk)
        handler.close_connection = True

    def _bomb(self, handler: Handler) -> None:
        body = gzip_bomb()
        handler.headers_of(200, {"Content-Type": "text/calendar", "Content-Encoding": "gzip",
                                 "Content-Length": str(len(body))})
        handler.send("/bomb.ics", body)


def _redirect(location: str) -> Answer:
    def answer(handler: Handler) -> None:
        handler.headers_of(302, {"Location": location, "Content-Length": "0"})
    return answer


def point_agenda_at(workspace: Path, feed: str) -> None:
    """The sample campaign's agenda reads ``feed`` (a URL, or a file beside the campaign)."""
    replace_line(CAMPAIGN_FILE, "days = ", f'days = 45\nfeed = "{feed}"')(workspace)


def serving(path: str, bodies: dict[str, tuple[bytes, str]] | None = None) -> Around:
    """While the steps run: a hostile server, and the agenda pointed at its ``path``."""
    @contextlib.contextmanager
    def around(workspace: Path) -> Iterator[HostileFeeds]:
        server = HostileFeeds(bodies)
        point_agenda_at(workspace, server.url(path))
        try:
            yield server
        finally:
            server.stop()
    return around
