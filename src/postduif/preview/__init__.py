"""``postduif preview``: a local web server where reviewers look at every campaign.

Each campaign is shown in each language, at desktop and phone width, as HTML, plain text,
headers and raw source, for a sample recipient with and without a name. Pages rebuild and reload
themselves when a content, template or campaign file changes; a build error is shown in the
page. Parts:

* :mod:`postduif.preview.builds` builds and caches campaigns (no web framework),
* :mod:`postduif.preview.site_files` finds the workspace files behind the email's image
  addresses, so images show before their page is published,
* :mod:`postduif.preview.app` is the Starlette app with its routes and file watcher,
* this module runs it: :func:`serve` on 127.0.0.1 with uvicorn, or :func:`get` in-process.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import webbrowser
from typing import Any
from urllib.parse import quote, urlsplit

import uvicorn

from postduif.campaign import resolve_campaign
from postduif.errors import PostduifError
from postduif.preview.app import create_app
from postduif.workspace import Workspace

__all__ = ["HOST", "create_app", "get", "serve"]

HOST = "127.0.0.1"


def serve(ws: Workspace, *, campaign: str | None = None, port: int = 8025,
          open_browser: bool = False) -> None:
    """Serve the preview on ``127.0.0.1:port`` until interrupted (Ctrl-C).

    ``campaign`` (a name or file) is the page opened with ``open_browser``; it must exist, but
    may be broken: showing what is wrong is the preview's job. A port already in use is a
    :class:`PostduifError`, not a traceback.
    """
    path = f"/c/{quote(resolve_campaign(ws.settings, campaign).stem)}" if campaign else "/"
    try:
        sock = socket.create_server((HOST, port))
    except OSError as exc:
        raise PostduifError(f"cannot listen on {HOST}:{port}: {os.strerror(exc.errno or 0)}",
                            hint="pass another --port") from None
    server = uvicorn.Server(uvicorn.Config(create_app(ws), log_level="warning",
                                           timeout_graceful_shutdown=2))
    if open_browser:
        url = f"http://{HOST}:{sock.getsockname()[1]}{path}"
        threading.Thread(target=_open_when_started, args=(server, url), daemon=True).start()
    with sock:
        server.run(sockets=[sock])


def _open_when_started(server: uvicorn.Server, url: str) -> None:
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    if server.started:
        webbrowser.open(url)


def get(ws: Workspace, path: str) -> tuple[int, str]:
    """Answer one GET for ``path`` (e.g. ``/c/NAME/nl/text``) in-process, without a port.

    The app is called directly through ASGI, so scripts can read any preview page or part.
    """
    return asyncio.run(_call(create_app(ws, watch=False), path))


async def _call(app: Any, path: str) -> tuple[int, str]:
    """A minimal ASGI client: one GET request, the whole response body collected."""
    parts = urlsplit(path)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": parts.path or "/", "raw_path": (parts.path or "/").encode(),
        "query_string": parts.query.encode(), "root_path": "",
        "headers": [(b"host", HOST.encode())], "client": (HOST, 0), "server": (HOST, 80),
    }
    status, body = 500, bytearray()
    done = asyncio.Event()
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                done.set()

    await app(scope, receive, send)
    return status, body.decode("utf-8", errors="replace")
