"""Hostile clients against a real ``postduif serve`` process, over real sockets.

A client that leaves halfway through its body is no error (nothing at ERROR, no traceback in
serve's log, which anyone could otherwise flood); a client that sends its headers or its body
a byte at a time, or nothing at all, is cut off within the deadlines of
:mod:`postduif.web.deadlines`, so held connections cannot pile up; a trusted proxy naming a
client that is not an IP address is refused; an Origin with a path is no origin.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from postduif.web.deadlines import BODY_SECONDS, HEADERS_SECONDS
from tests.web_support import JOIN, Serve

SLACK = 3.0  # seconds beyond a deadline before a test calls it missed
BODY = json.dumps(JOIN).encode()
HEAD = (b"POST /nl/join HTTP/1.1\r\nHost: lists.example.org\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n")


def connect(server: Serve) -> socket.socket:
    parts = urlsplit(server.url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    return sock


def closed_within(sock: socket.socket, seconds: float, drip: bytes = b"") -> float:
    """Seconds until the server closes ``sock`` (sending ``drip`` a byte a second meanwhile);
    fails when it is still open after ``seconds``."""
    start = time.monotonic()
    sock.settimeout(1.0)
    sent = 0
    while time.monotonic() - start < seconds:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - start
        except TimeoutError:
            pass
        except ConnectionError:
            return time.monotonic() - start
        if drip:
            try:
                sock.sendall(drip[sent % len(drip):sent % len(drip) + 1])
            except ConnectionError:
                return time.monotonic() - start
            sent += 1
    raise AssertionError(f"the connection was still open after {seconds:.0f} s")


def answer_status(server: Serve, headers: dict[str, str] | None = None,
                  body: dict[str, str] | None = None) -> int:
    """A well-behaved join request's status (a fresh address each time)."""
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.request("POST", "/nl/join", json.dumps(body or JOIN),
                           {"Content-Type": "application/json", **(headers or {})})
        return connection.getresponse().status
    finally:
        connection.close()


def clean_log(server: Serve) -> None:
    output = server.output()
    assert "Traceback" not in output, output
    assert " ERROR " not in output and "ERROR:" not in output, output


def test_a_client_leaving_mid_body_leaves_no_trace_in_the_log(
        serve: Callable[..., Serve]) -> None:
    server = serve()
    for path in (b"/nl/join", b"/nl/newsletter/subscribe", b"/nl/newsletter/preferences/?t"):
        for _ in range(5):
            with connect(server) as sock:
                sock.sendall(HEAD.replace(b"/nl/join", path) % len(BODY) + BODY[:40])
                time.sleep(0.05)
    time.sleep(0.5)
    assert answer_status(server) == 200  # still serving
    clean_log(server)


def test_headers_sent_a_byte_at_a_time_are_cut_off(serve: Callable[..., Serve]) -> None:
    server = serve()
    with connect(server) as sock:
        took = closed_within(sock, HEADERS_SECONDS + SLACK, drip=HEAD % len(BODY))
    assert took >= HEADERS_SECONDS - 1
    with connect(server) as silent:  # connects and says nothing
        closed_within(silent, HEADERS_SECONDS + SLACK)
    clean_log(server)


def test_the_next_requests_headers_have_a_deadline_too(serve: Callable[..., Serve]) -> None:
    """After one answer on a kept-alive connection, dripping the next request's headers
    (each byte would reset uvicorn's keep-alive timer) is cut off as well."""
    server = serve()
    with connect(server) as sock:
        sock.sendall(HEAD % len(BODY) + BODY)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        closed_within(sock, HEADERS_SECONDS + SLACK, drip=HEAD % len(BODY))
    clean_log(server)


def test_a_body_sent_a_byte_at_a_time_is_cut_off(serve: Callable[..., Serve]) -> None:
    server = serve()
    with connect(server) as sock:
        sock.sendall(HEAD % len(BODY) + BODY[:10])
        start = time.monotonic()
        sock.settimeout(1.0)
        answer = b""
        for byte in BODY[10:]:
            with contextlib.suppress(TimeoutError):
                answer += sock.recv(4096)
            if answer or time.monotonic() - start > BODY_SECONDS + SLACK:
                break
            sock.sendall(bytes([byte]))
        assert answer.startswith(b"HTTP/1.1 408"), answer
        closed_within(sock, SLACK)
    clean_log(server)


def test_many_held_connections_do_not_pile_up(serve: Callable[..., Serve]) -> None:
    server = serve()
    held = [connect(server) for _ in range(300)]
    try:
        for sock in held:
            sock.sendall(b"POST /nl/join HTTP/1.1\r\nHost: x\r\n")
        assert answer_status(server) == 200  # others are still served meanwhile
        start = time.monotonic()
        for sock in held:
            closed_within(sock, HEADERS_SECONDS + SLACK - (time.monotonic() - start))
    finally:
        for sock in held:
            sock.close()
    assert answer_status(server, body={**JOIN, "email": "later@example.org"}) == 200
    clean_log(server)


def test_a_trusted_proxys_made_up_client_is_refused(serve: Callable[..., Serve]) -> None:
    server = serve(trusted_proxies=["127.0.0.1"], requests_per_minute=2)
    codes = [answer_status(server, {"X-Forwarded-For": f"client-{n}"},
                           {**JOIN, "email": f"p{n}@example.org"}) for n in range(4)]
    assert codes == [400, 400, 400, 400]
    real = [answer_status(server, {"X-Forwarded-For": "203.0.113.9"},
                          {**JOIN, "email": f"q{n}@example.org"}) for n in range(3)]
    assert real == [200, 200, 429]
    clean_log(server)


def test_an_origin_with_a_path_is_no_origin(serve: Callable[..., Serve]) -> None:
    server = serve(origins=["https://www.techwerkers.nl"])
    assert answer_status(server, {"Origin": "https://www.techwerkers.nl"}) == 200
    for origin in ("https://www.techwerkers.nl/evil", "https://www.techwerkers.nl/",
                   "https://www.techwerkers.nl?x=1"):
        assert answer_status(server, {"Origin": origin}) == 403, origin
    clean_log(server)
