"""Fetching a calendar feed over HTTP, with a copy under ``build/feeds/`` for offline builds.

A feed lives on someone else's server; a build must not fail because that server is down or
the laptop is on a train. Every successful fetch is written to the cache with the time it was
fetched. When fetching fails, the cached copy is used and the caller gets a warning saying how
old it is; without a copy, the failure is a :class:`FeedError` naming the URL. ``max_age`` lets
the preview reuse a recent copy without asking the server on every reload.

The server is someone else's, so every fetch is bounded: the whole of it, redirects included,
within :data:`FETCH_SECONDS` (a server that drips a byte at a time is cut off, not waited for
read by read), at most :data:`MAX_BYTES` read (streamed, so a huge feed is refused without
being held in memory), and redirects only within the feed's own origin.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import SplitResult, urldefrag, urljoin, urlsplit

import httpx

from postduif.errors import FeedError

#: One connect, read or write; the whole fetch, redirects included, within FETCH_SECONDS.
TIMEOUT_SECONDS = 10.0
FETCH_SECONDS = 20.0
#: The largest feed read (decoded); a bigger one is refused as soon as that shows.
MAX_BYTES = 4 * 2**20
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Fetched:
    url: str
    data: bytes
    fetched_at: datetime
    warning: str = ""
    """Set when this is an old copy because the server could not be reached."""


def fetch(url: str, cache_dir: Path, *, max_age: timedelta | None = None,
          now: datetime | None = None, timeout: float = TIMEOUT_SECONDS) -> Fetched:
    """The feed at ``url``: fresh, or the cached copy when it is younger than ``max_age`` or
    when the server fails."""
    now = now or datetime.now(UTC)
    cached = _read_cache(url, cache_dir)
    if cached is not None and max_age is not None and now - cached.fetched_at < max_age:
        return cached
    try:
        data = _get(url, timeout)
    except FeedError as exc:
        if cached is None:
            raise
        return Fetched(url, cached.data, cached.fetched_at,
                       f"{exc.message}; using the copy fetched {_age(now - cached.fetched_at)}"
                       f" ago ({cached.fetched_at:%Y-%m-%d %H:%M} UTC)")
    fresh = Fetched(url, data, now)
    _write_cache(fresh, cache_dir)
    return fresh


def _get(url: str, timeout: float) -> bytes:
    """The body at ``url``, all of it within :data:`FETCH_SECONDS` and :data:`MAX_BYTES`."""
    try:
        return asyncio.run(_within(url, timeout))
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        reason = str(exc) or type(exc).__name__
        raise FeedError(f"calendar feed {url} could not be fetched: {reason}",
                        hint="check agenda.feed and your network") from None


async def _within(url: str, timeout: float) -> bytes:
    try:
        async with asyncio.timeout(FETCH_SECONDS):
            return await _follow(url, timeout)
    except TimeoutError:
        raise FeedError(f"calendar feed {url} was not fetched within {FETCH_SECONDS:g} s "
                        f"(a slow or dripping server)",
                        hint="check agenda.feed; a calendar feed answers in seconds") from None


async def _follow(url: str, timeout: float) -> bytes:
    """GET ``url``, following redirects by hand within its own origin (see :func:`redirect`)."""
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False,
                                 headers={"Accept-Encoding": "gzip, deflate"}) as client:
        current, seen = url, {url}
        for _ in range(MAX_REDIRECTS + 1):
            async with client.stream("GET", current) as response:
                if not response.is_redirect:
                    return await _body(url, response)
                current = redirect(url, current, response.headers.get("Location", ""), seen)
        raise FeedError(f"calendar feed {url} redirects more than {MAX_REDIRECTS} times",
                        hint="check agenda.feed in the campaign file")


def redirect(url: str, current: str, location: str, seen: set[str]) -> str:
    """Where a redirect from ``current`` leads, if it may be followed: within the feed's own
    origin (scheme, host and port), or from http to https on the same host and https's
    default port. Anything else could point a build at another server (an internal one)."""
    target = urldefrag(urljoin(current, location)).url
    if not location or not _may_follow(urlsplit(current), urlsplit(target)):
        raise FeedError(f"calendar feed {url} redirects to {target or 'nowhere'}, outside its "
                        f"own origin; only one on the same host and port, or to https, is followed",
                        hint="put the address it redirects to in agenda.feed, if you trust it")
    if target in seen:
        raise FeedError(f"calendar feed {url} redirects in a loop at {target}",
                        hint="check agenda.feed in the campaign file")
    seen.add(target)
    return target


def _may_follow(here: SplitResult, there: SplitResult) -> bool:
    try:
        upgrade = (here.scheme, there.scheme) == ("http", "https") and there.port in (None, 443)
        return _origin(here) == _origin(there) or (upgrade and here.hostname == there.hostname)
    except ValueError:  # a port that is no port
        return False


def _origin(parts: SplitResult) -> tuple[str, str | None, int | None]:
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, parts.hostname, parts.port or default


async def _body(url: str, response: httpx.Response) -> bytes:
    """The decoded body, refused as soon as it (or its announced length) exceeds the cap;
    decompression is bounded too, so a small gzip bomb cannot grow past it."""
    if response.is_error:
        raise FeedError(f"calendar feed {url} answered HTTP {response.status_code}",
                        hint="check agenda.feed in the campaign file")
    announced = response.headers.get("Content-Length", "")
    if announced.isdigit() and int(announced) > MAX_BYTES:
        raise _too_big(url, f"it announces {int(announced):,} bytes")
    decoder = _decoder(url, response.headers.get("Content-Encoding", "identity"))
    body = bytearray()
    async for chunk in response.aiter_raw():
        body += decoder(chunk, MAX_BYTES + 1 - len(body))
        if len(body) > MAX_BYTES:
            raise _too_big(url, "it sent more")
    return bytes(body)


def _decoder(url: str, encoding: str) -> Callable[[bytes, int], bytes]:
    """A function from a raw chunk and the room left to at most that many decoded bytes."""
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return lambda chunk, room: chunk
    if name not in ("gzip", "x-gzip", "deflate"):
        raise FeedError(f"calendar feed {url} answered in an encoding postduif does not read "
                        f"({encoding!r})", hint="check agenda.feed in the campaign file")
    inflate = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib, told by its header

    def decode(chunk: bytes, room: int) -> bytes:
        try:
            return inflate.decompress(inflate.unconsumed_tail + chunk, max(room, 1))
        except zlib.error as exc:
            raise FeedError(f"calendar feed {url} sent a damaged {name} body: {exc}") from None
    return decode


def _too_big(url: str, detail: str) -> FeedError:
    return FeedError(f"calendar feed {url} is larger than {MAX_BYTES // 2**20} MB ({detail}); "
                     f"it was not read", hint="point agenda.feed at a smaller feed, e.g. one "
                     "filtered by tag or place")


def _cache_paths(url: str, cache_dir: Path) -> tuple[Path, Path]:
    """A readable, unique file name per URL: host and path, plus a short hash of the URL."""
    readable = re.sub(r"[^A-Za-z0-9.-]+", "-", url.split("://", 1)[-1]).strip("-")[:60]
    stem = f"{readable}-{hashlib.sha256(url.encode()).hexdigest()[:10]}"
    return cache_dir / f"{stem}.feed", cache_dir / f"{stem}.json"


def _read_cache(url: str, cache_dir: Path) -> Fetched | None:
    body, meta = _cache_paths(url, cache_dir)
    try:
        fetched_at = datetime.fromisoformat(json.loads(meta.read_text("utf-8"))["fetched_at"])
        return Fetched(url, body.read_bytes(), fetched_at)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no copy, or a damaged one: as good as none


def _write_cache(fetched: Fetched, cache_dir: Path) -> None:
    body, meta = _cache_paths(fetched.url, cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    body.write_bytes(fetched.data)
    meta.write_text(json.dumps({"url": fetched.url,
                                "fetched_at": fetched.fetched_at.isoformat()}), "utf-8")


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} hours"
    return f"{hours // 24} days"
