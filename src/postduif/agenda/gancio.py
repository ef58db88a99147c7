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
from urllib.parse import quote, urlsplit, urlunsplit

from postduif.agenda.untrusted import Parsed, is_web_url, looks_like_url, text, web_link
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


def parse_gancio_json(data: bytes, url: str, start: datetime, end: datetime) -> Parsed:
    """The events starting in ``[start, end)``, oldest first."""
    items = _json(data, url)
    if not isinstance(items, list):
        raise FeedError(f"Gancio feed {url} is not the JSON Gancio serves: expected a JSON "
                        f"array of events")
    parsed = Parsed()
    for number, item in enumerate(items, 1):
        try:
            event = _event(item, _instance(url), url, parsed.warnings)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise FeedError(f"Gancio feed {url} is not the JSON Gancio serves: event "
                            f"{number}: {text(exc)}") from None
        if start <= event.start < end:
            parsed.events.append(event)
    parsed.events.sort(key=lambda e: e.start)
    return parsed


def _json(data: bytes, url: str) -> object:
    if data.lstrip()[:1] == b"<":
        raise FeedError(f"Gancio feed {url} is not the JSON Gancio serves: it answered a web "
                        f"page")
    try:
        return json.loads(data)
    except RecursionError:
        raise FeedError(f"Gancio feed {url} is not the JSON Gancio serves: it is nested too "
                        f"deeply to read") from None
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        where = f", line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise FeedError(f"Gancio feed {url} is not the JSON Gancio serves: it is not JSON at "
                        f"all{where}") from None


def _instance(url: str) -> str:
    return feed_url(url, "json").rsplit("/feed/", 1)[0]


def _event(item: dict[str, Any], instance: str, url: str, warnings: list[str]) -> Event:
    place = item.get("place") or {}
    title = text(item["title"])
    online = [web_link(link, "an online location", title, url, warnings)
              for link in _strings(item.get("online_locations"))]
    in_person = text(place.get("name") or "").lower() != "online"
    slug = quote(str(item.get("slug") or item["id"]), safe="")
    return Event(
        title=title,
        start=_time(item["start_datetime"]),
        end=_time(item["end_datetime"]) if item.get("end_datetime") else None,
        url=f"{instance}/event/{slug}",
        location=_place_name(place.get("name"), title, url, warnings) if in_person else "",
        address=text(place.get("address") or "") if in_person else "",
        online_url=next((link for link in online if link), ""),
    )


def _strings(value: object) -> list[str]:
    """Gancio's list of online locations; anything else is not one."""
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("online_locations must be a list of links")
    return value


def _place_name(name: object, title: str, url: str, warnings: list[str]) -> str:
    """The place's name as text; a name that is a link of another kind than http(s) is
    dropped like any such link."""
    shown = text(name or "")
    if looks_like_url(shown) and not is_web_url(shown):
        return web_link(shown, "its place", title, url, warnings)
    return shown


#: Gancio's times are Unix seconds; anything outside the years 1970 to 9999 is not one.
_LAST_SECOND = 253402300799


def _time(seconds: object) -> datetime:
    if (not isinstance(seconds, int | float) or isinstance(seconds, bool)
            or not 0 <= seconds <= _LAST_SECOND):  # also false for NaN
        raise ValueError(f"a time must be Unix seconds, not {text(repr(seconds))[:40]}")
    return datetime.fromtimestamp(seconds, UTC)
