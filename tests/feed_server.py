"""A calendar server on 127.0.0.1 for the agenda tests: python's http.server in a thread.

It serves the feed fixtures at the paths real servers use (``/remote.php/dav/...`` for a
Nextcloud-style ICS, ``/feed/ics`` and ``/feed/json`` for Gancio), counts the requests per path
(without the query) so a test can see whether a feed was fetched again, and can be told to
answer a path with an error status or be stopped to simulate a build without network.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from pathlib import Path

from .http_support import LocalServer

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
ROUTES = {
    "/remote.php/dav/public-calendars/techwerkers": ("agenda.ics", "text/calendar"),
    "/feed/ics": ("gancio.ics", "text/calendar"),
    "/feed/json": ("gancio.json", "application/json"),
}


class FeedServer(LocalServer):
    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.failing: dict[str, int] = {}  # path -> HTTP status to answer instead
        self.files: dict[str, Path] = {path: FEEDS / name for path, (name, _) in ROUTES.items()}
        super().__init__(self._handler())

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path = self.path.split("?", 1)[0]
                server.hits[path] = server.hits.get(path, 0) + 1
                status = server.failing.get(path, 200 if path in ROUTES else 404)
                body = server.files[path].read_bytes() if status == 200 else b"no"
                self.send_response(status)
                self.send_header("Content-Type", ROUTES[path][1] if status == 200 else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: pytest shows the test's own output only."""

        return Handler
