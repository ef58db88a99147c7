"""An agenda from a calendar feed: a URL (fetched, cached) or a local ``.ics`` file.

The campaign asks one question, :func:`feed_events`: which events start in this window. How a
feed is fetched and kept (``fetch``), read as iCalendar (``ics``) or as Gancio's JSON
(``gancio``) stays in here. Anything the reader should know but that does not stop the build
(an old cached copy, an event without a link) comes back as a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from postduif.agenda.fetch import MAX_BYTES, Fetched, fetch
from postduif.agenda.gancio import feed_url, is_gancio, parse_gancio_json
from postduif.agenda.ics import parse_ics
from postduif.agenda.untrusted import Parsed
from postduif.errors import FeedError
from postduif.render import Event

__all__ = ["FeedEvents", "FeedSource", "feed_events"]

#: The most events an agenda from a feed shows (the earliest ones).
MAX_EVENTS = 200


@dataclass(frozen=True)
class FeedEvents:
    events: tuple[Event, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class FeedSource:
    """Where to read: ``cache_dir`` for fetched copies, ``base_dir`` for a relative file."""

    feed: str
    cache_dir: Path
    base_dir: Path
    max_age: timedelta | None = None
    now: datetime | None = None


def _is_url(feed: str) -> bool:
    return feed.startswith(("https://", "http://"))


def feed_events(source: FeedSource, start: datetime, end: datetime, zone: tzinfo) -> FeedEvents:
    """The feed's events starting in ``[start, end)``; raises :class:`FeedError` naming the
    URL or file when it cannot be read at all."""
    if not _is_url(source.feed):
        path = source.base_dir / source.feed
        try:
            if path.stat().st_size > MAX_BYTES:
                raise FeedError(f"calendar file {path} is larger than {MAX_BYTES // 2**20} MB")
            data = path.read_bytes()
        except OSError as exc:
            raise FeedError(f"calendar file {path} cannot be read: {exc.strerror}") from None
        return _result(parse_ics(data, str(path), start, end, zone), [])
    if is_gancio(source.feed):
        return _gancio(source, start, end, zone)
    fetched = _fetch(source, source.feed)
    return _result(parse_ics(fetched.data, fetched.url, start, end, zone), [fetched.warning])


def _gancio(source: FeedSource, start: datetime, end: datetime, zone: tzinfo) -> FeedEvents:
    """Gancio's JSON (place, address and online links apart); its ICS if the JSON cannot be
    fetched, and the URL as given, read as plain ICS, if the JSON is not Gancio's (a host that
    answers every path with a web page is no Gancio instance)."""
    try:
        fetched = _fetch(source, feed_url(source.feed, "json"))
    except FeedError as json_error:
        return _gancio_ics(source, start, end, zone, json_error)
    try:
        events = parse_gancio_json(fetched.data, fetched.url, start, end)
    except FeedError as not_gancio:
        return _as_plain_ics(source, start, end, zone, not_gancio)
    return _result(events, [fetched.warning])


def _gancio_ics(source: FeedSource, start: datetime, end: datetime, zone: tzinfo,
                json_error: FeedError) -> FeedEvents:
    """The instance's own ICS, when its JSON feed could not be fetched."""
    try:
        fetched = _fetch(source, feed_url(source.feed, "ics"))
    except FeedError:
        raise json_error from None
    events = parse_ics(fetched.data, fetched.url, start, end, zone, gancio=True)
    return _result(events, [f"{json_error.message}; read {fetched.url} instead "
                            f"(no addresses apart from place names)", fetched.warning])


def _as_plain_ics(source: FeedSource, start: datetime, end: datetime, zone: tzinfo,
                  not_gancio: FeedError) -> FeedEvents:
    """The URL the campaign gives, read as an ordinary calendar: its titles keep any bracketed
    prefix, since no Gancio instance put one there."""
    fetched = _fetch(source, source.feed)
    try:
        events = parse_ics(fetched.data, fetched.url, start, end, zone)
    except FeedError as not_ics:
        raise FeedError(f"{not_gancio.message}; and {source.feed} as given is no calendar "
                        f"either: {not_ics.message}",
                        hint="check agenda.feed in the campaign file") from None
    return _result(events, [f"{not_gancio.message}; read {source.feed} as an ordinary "
                            f"iCalendar feed instead", fetched.warning])


def _fetch(source: FeedSource, url: str) -> Fetched:
    return fetch(url, source.cache_dir, max_age=source.max_age, now=source.now)


def _result(parsed: Parsed, warnings: list[str]) -> FeedEvents:
    """The events, at most :data:`MAX_EVENTS` of them, and each warning once."""
    events = parsed.events[:MAX_EVENTS]
    unlinked = [f"event {e.title!r} on {e.start:%Y-%m-%d} has no URL in the feed; the email "
                f"shows it without a link" for e in events if not e.url]
    more = [f"the feed has {len(parsed.events)} events in the agenda's window; the email "
            f"shows the first {MAX_EVENTS}"] if len(parsed.events) > MAX_EVENTS else []
    found = (*warnings, *parsed.warnings, *more, *unlinked)
    return FeedEvents(tuple(events), tuple(dict.fromkeys(w for w in found if w)))
