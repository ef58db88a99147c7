"""Fetching a calendar feed over HTTP, with a copy under ``build/feeds/`` for offline builds.

A feed lives on someone else's server; a build must not fail because that server is down or
the laptop is on a train. Every successful fetch is written to the cache with the time it was
fetched. When fetching fails, the cached copy is used and the caller gets a warning saying how
old it is; without a copy, the failure is a :class:`FeedError` naming the URL. ``max_age`` lets
the preview reuse a recent copy without asking the server on every reload.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from postduif.errors import FeedError

TIMEOUT_SECONDS = 10.0


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
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        raise FeedError(f"calendar feed {url} answered HTTP {exc.response.status_code}",
                        hint="check agenda.feed in the campaign file") from None
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise FeedError(f"calendar feed {url} could not be fetched: {reason}",
                        hint="check agenda.feed and your network") from None
    return response.content


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
