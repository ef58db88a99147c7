"""``postduif serve``: the small web app behind the links in emails and the site's forms.

The Hugo site is static, so the unsubscribe, confirmation and preference links in emails and
the join and newsletter forms need something that answers them. Organisers run this app on a
host name of its own behind a TLS proxy (``deploy/`` has a systemd unit and a Caddy site), and
the site's forms post to it cross-origin (see :mod:`postduif.web.app` for the routes). Parts:

* :mod:`postduif.web.app` is the Starlette app with its routes and pages,
* :mod:`postduif.web.greetings` sends confirmation and welcome emails in the background,
* :mod:`postduif.web.preferences` is the preference page (language and lists) linked from
  every newsletter's footer,
* :mod:`postduif.web.deadlines` times out slow clients (headers, body, idle connections),
* :mod:`postduif.web.guard` holds the guards of the site's forms: CORS, rate limits, honeypot,
  the client's address behind a trusted proxy,
* this module runs it with uvicorn: :func:`serve`.
"""

from __future__ import annotations

import logging
import os
import socket
import sys

import uvicorn

from postduif.errors import PostduifError
from postduif.web.app import MAX_BODY_BYTES, MEMBERS_LIST, NEWSLETTER_LIST, create_app
from postduif.web.deadlines import KEEP_ALIVE_SECONDS, DeadlineH11Protocol
from postduif.workspace import Workspace

__all__ = ["HOST", "MAX_BODY_BYTES", "MEMBERS_LIST", "NEWSLETTER_LIST", "PORT", "create_app",
           "serve"]

#: Only the reverse proxy on this machine should reach the app.
HOST = "127.0.0.1"
PORT = 8026


def serve(ws: Workspace, *, host: str = HOST, port: int = PORT) -> None:
    """Serve the app on ``host:port`` until interrupted.

    The app is built first, so a missing token key or list stops it before it listens. The
    access log is off: request lines carry tokens, and a token carries an e-mail address.
    """
    app = create_app(ws)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host.strip("[]"), port), family=family)
    except OSError as exc:
        raise PostduifError(f"cannot listen on {host}:{port}: {os.strerror(exc.errno or 0)}",
                            hint="pass another port, or stop what is using it") from None
    _log_to_stderr()
    # proxy_headers=False: uvicorn would believe X-Forwarded-For from 127.0.0.1 by default;
    # the app does that itself, for web.trusted_proxies only (see postduif.web.guard).
    # Slow clients: see postduif.web.deadlines (headers, body, keep-alive all have a deadline).
    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False,
                            proxy_headers=False, timeout_graceful_shutdown=5,
                            http=DeadlineH11Protocol, timeout_keep_alive=KEEP_ALIVE_SECONDS)
    with sock:
        uvicorn.Server(config).run(sockets=[sock])


def _log_to_stderr() -> None:
    """The background sender's lines (counts and failures, never addresses) on stderr."""
    logger = logging.getLogger("postduif.serve")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
