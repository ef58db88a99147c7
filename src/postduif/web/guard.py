"""Guards in front of the site's forms: which origins may post them, and how often one client may.

The site is static and lives on another host name than ``postduif serve`` (a static host has
no server of the group's own to forward paths), so its forms reach the app cross-origin:

* :class:`Cors` answers the browser's preflight and marks the answers a page of an allowed
  origin may read. Origins are compared exactly (scheme, host and port, with the default port
  of the scheme dropped on both sides), so neither ``http://`` nor ``:8443`` nor a look-alike
  host passes. A disallowed origin gets no CORS header at all; its POST is refused with 403.
  Its preflight is refused with 403 too (not a 200 without headers): the browser blocks the
  request either way, and a person testing with curl sees plainly that the origin is wrong.
* :class:`SlidingWindow` counts requests per client: the per-minute rate limit on the form
  endpoints and the daily cap on join requests. The counts live in memory only. That loses
  them on a restart, which is the price of never writing visitors' IP addresses to disk; a
  flood costs its sender a restart of ours at most, and the organisers' approval step stays
  the real gate of the members list. Memory is bounded: beyond ``max_clients`` the client
  seen least recently is forgotten (which can only make the limit milder for it, never
  stricter for someone else).
* :func:`proxy_middleware` takes the client's address from ``X-Forwarded-For`` only when the
  connection comes from a proxy in ``web.trusted_proxies`` (uvicorn's own middleware, applied
  in the app, so the app tested in-process and ``postduif serve`` behave the same); a client
  it names that is not an IP address is refused (:class:`ForwardedAddressOnly`);
  :func:`client_key` counts an IPv6 client by its /64.
* :func:`caught_by_honeypot` spots bots that fill in the hidden field people never see.
* :func:`capped_body` reads a request body only as far as the endpoint's limit.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from postduif.config import WebSettings
from postduif.settings_schema import is_origin
from postduif.web.deadlines import BODY_SECONDS

#: How long a browser may reuse a preflight answer. Chromium caps it at two hours anyway;
#: ten minutes keeps a changed ``web.origins`` from lingering in browsers for long.
PREFLIGHT_MAX_AGE = 600
#: Clients remembered per limit; a client's record is a few dozen floats at most.
MAX_CLIENTS = 10_000
DAY = 24 * 60 * 60
_DEFAULT_PORTS = {"http": 80, "https": 443}

Clock = Callable[[], float]


def normalise_origin(value: str) -> str | None:
    """``scheme://host[:port]`` lower-cased, without the scheme's default port; ``None`` for
    what is not an http(s) origin: ``null``, ``file://``, junk, and a URL with a path, query
    or fragment (``https://www.example.org/evil`` is a URL, no origin a browser sends)."""
    return origin_of(value) if is_origin(value.strip()) else None


def origin_of(url: str) -> str | None:
    """The origin of an http(s) URL (such as the site's base URL), normalised as above."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in _DEFAULT_PORTS or not host or parts.username is not None:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


@dataclass(frozen=True)
class Cors:
    """The origins whose pages may post the forms and read the answers."""

    origins: frozenset[str]

    @classmethod
    def from_settings(cls, web: WebSettings, base_url: str) -> Cors:
        """``web.origins``, or the origin of the site's base URL when none are set."""
        found = ({normalise_origin(origin) for origin in web.origins} if web.origins
                 else {origin_of(base_url)})
        return cls(frozenset(origin for origin in found if origin))

    def allows(self, origin: str) -> bool:
        return normalise_origin(origin) in self.origins

    def refuses(self, origin: str | None) -> bool:
        """A request with an Origin that is not allowed; none at all (curl, a server) is fine."""
        return origin is not None and not self.allows(origin)

    def headers(self, origin: str | None) -> dict[str, str]:
        """Headers for any answer of a form endpoint. ``Vary: Origin`` always, because the
        answer differs by origin and a cache in between must not hand one origin's to another."""
        headers = {"Vary": "Origin"}
        if origin is not None and self.allows(origin):
            headers["Access-Control-Allow-Origin"] = origin
        return headers

    def preflight(self, origin: str | None) -> tuple[int, dict[str, str]]:
        """Status and headers for an ``OPTIONS`` request (see the module docstring)."""
        if origin is None:  # not a browser's preflight: say what the endpoint takes
            return 204, {"Allow": "OPTIONS, POST", "Vary": "Origin"}
        if not self.allows(origin):
            return 403, {"Vary": "Origin"}
        return 204, {
            **self.headers(origin),
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE),
        }


class SlidingWindow:
    """At most ``limit`` hits per client in any ``window`` seconds (``limit`` 0: no limit).

    Exact, not approximate: each client keeps the times of its last ``limit`` hits. The lock
    makes a check and its record one step, also when called from worker threads.
    """

    def __init__(self, limit: int, window: float, *, clock: Clock = time.monotonic,
                 max_clients: int = MAX_CLIENTS) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_clients = max_clients
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, client: str) -> float:
        """Record a hit and return 0, or, when the client is over the limit, record nothing
        and return the seconds until it may try again."""
        if self.limit <= 0:
            return 0.0
        with self._lock:
            now = self.clock()
            hits = self._hits.get(client)
            if hits is None:
                hits = self._hits[client] = deque(maxlen=self.limit)
                while len(self._hits) > self.max_clients:
                    self._hits.popitem(last=False)
            self._hits.move_to_end(client)
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(hits[0] + self.window - now, 0.001)
            hits.append(now)
            return 0.0

    def __len__(self) -> int:
        return len(self._hits)


class Guard:
    """Everything that stands between a visitor and the form endpoints, from ``[web]``."""

    def __init__(self, web: WebSettings, base_url: str, *, clock: Clock = time.monotonic
                 ) -> None:
        self.cors = Cors.from_settings(web, base_url)
        self.per_minute = SlidingWindow(web.requests_per_minute, 60, clock=clock)
        self.joins_per_day = SlidingWindow(web.join_requests_per_day, DAY, clock=clock)
        self.honeypot = web.honeypot


def retry_after(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))


def client_address(request: Request) -> str:
    """The key the limits count a client under (see :func:`client_key`): the socket peer, or
    the address a trusted proxy says the request came from."""
    return client_key(request.client.host if request.client else "unknown")


def client_key(host: str) -> str:
    """An IPv4 address as it is; an IPv6 address as its /64 network.

    A home connection or a rented server gets a whole /64, so counting single IPv6 addresses
    would let one sender rotate through more addresses than the limiter could remember.
    """
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def caught_by_honeypot(data: Mapping[str, object], field: str) -> bool:
    """A filled-in honeypot field: people never see it, so only a bot fills it in."""
    return bool(field) and data.get(field) not in (None, "")


def proxy_middleware(trusted_proxies: Iterable[str]) -> list[Middleware]:
    """uvicorn's ``ProxyHeadersMiddleware`` for the trusted proxies, or nothing without them.

    ``postduif serve`` switches uvicorn's own proxy handling off (it would trust 127.0.0.1 by
    default, and every request reaches the app from 127.0.0.1 behind a local proxy), so this is
    the only place ``X-Forwarded-For`` is believed.
    """
    trusted = list(trusted_proxies)
    if not trusted:
        return []
    return [Middleware(ProxyHeadersMiddleware, trusted_hosts=trusted),
            Middleware(ForwardedAddressOnly)]


class ForwardedAddressOnly:
    """Refuses (400) a request whose client, as a trusted proxy names it in
    ``X-Forwarded-For``, is not an IP address (``evil``, ``unknown``, ``1.2.3.4:80x``).

    uvicorn takes any text there as the client's "address", so each made-up value would be a
    fresh client to the rate limits. A proxy that forwards such a header is misconfigured or
    relays what a client wrote; either way the request cannot be counted, so it is refused.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] == "http" and client is not None and not _is_ip(client[0]):
            answer = PlainTextResponse("X-Forwarded-For does not name an IP address\n",
                                       status_code=400, headers={"Connection": "close"})
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class TooLarge(Exception):
    """The request body is larger than the endpoint reads."""


class TooSlow(Exception):
    """The request body did not arrive whole within :data:`~postduif.web.deadlines.BODY_SECONDS`
    (the app answers 408 for every endpoint, see :func:`postduif.web.app.create_app`)."""


async def capped_body(request: Request, limit: int) -> bytes:
    """The body, read at most ``limit`` bytes far: a huge or endless body is refused with
    :class:`TooLarge` (at once when Content-Length says so), never held whole in memory; one
    that trickles in is cut off with :class:`TooSlow`. A client that leaves halfway raises
    starlette's ``ClientDisconnect``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    body = bytearray()
    try:
        async with asyncio.timeout(BODY_SECONDS):
            async for chunk in request.stream():
                body.extend(chunk)
                if len(body) > limit:
                    raise TooLarge
    except TimeoutError:
        raise TooSlow from None
    return bytes(body)
