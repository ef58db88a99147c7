"""Events from a Gancio instance's ``/feed/json``.

Gancio's ICS feed joins place name and address into one LOCATION ("Naam - Straat 1, Stad"),
gives one online link at most, and prefixes every title with the instance's name. Its JSON
feed keeps the place name, the address and every online location apart, so the email can
show the address under the place and link the online meeting. That is why a Gancio feed URL
(``.../feed/ics`` or ``.../feed/json``) is read through ``/feed/json``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from postduif.errors import FeedError
from postduif.render import Event

FEED_SUFFIXES = ("/feed/ics", "/feed/json")


def is_gancio(url: str) -> bool:
    return urlsplit(url).path.rstrip("/").endswith(FEED_SUFFIXES)


def feed_url(url: str, kind: str) -> str:
    """The instance's ``/feed/<kind>`` with the same query (tags, places, collection)."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/").rsplit("/feed/", 1)[0] + f"/feed/{kind}"
    return urlunsplit(parts._replace(path=path))


def parse_gancio_json(data: bytes, url: str, start: datetime, end: datetime) -> list[Event]:
    """The events starting in ``[start, end)``, oldest first."""
    if data.lstrip()[:1] == b"<":
        raise FeedError(f"Gancio feed {url} is not the JSON Gancio serves: it answered a web "
                        f"page")
    try:
        items = json.loads(data)
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        where = f", line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise FeedError(f"Gancio feed {url} is not the JSON Gancio serves: it is not JSON at "
                        f"all{where}") from None
    try:
        if not isinstance(items, list):
            raise ValueError("expected a JSON array of events")
        events = [_event(item, _instance(url)) for item in items]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise FeedError(f"Gancio feed {url} is not the JSON Gancio serves: {exc}") from None
    return sorted((e for e in events if start <= e.start < end), key=lambda e: e.start)


def _instance(url: str) -> str:
    return feed_url(url, "json").rsplit("/feed/", 1)[0]


def _event(item: dict[str, Any], instance: str) -> Event:
    place = item.get("place") or {}
    online = [str(u) for u in item.get("online_locations") or [] if u]
    in_person = str(place.get("name") or "").strip().lower() != "online"
    return Event(
        title=str(item["title"]).strip(),
        start=_time(item["start_datetime"]),
        end=_time(item["end_datetime"]) if item.get("end_datetime") else None,
        url=f"{instance}/event/{item.get('slug') or item['id']}",
        location=str(place.get("name") or "").strip() if in_person else "",
        address=str(place.get("address") or "").strip() if in_person else "",
        online_url=online[0] if online else "",
    )


def _time(seconds: object) -> datetime:
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        raise ValueError(f"a time must be Unix seconds, not {seconds!r}")
    return datetime.fromtimestamp(seconds, UTC)
