"""Events from an RFC 5545 calendar (Gancio, Mobilizon, Nextcloud, Google, Proton).

``recurring-ical-events`` expands RRULE/RDATE/EXDATE into single occurrences, so a weekly
meeting shows each date in the window. A recurring event written in a local zone (``TZID``)
stays at its local hour across a change of daylight saving time; one written in UTC does not:
that is what the calendar says, and the email shows it as the calendar does.

Reading is bounded: components nested deeper than :data:`MAX_DEPTH` are refused, a rule
that would make the library work through too many occurrences is left out with a warning
(:mod:`~postduif.agenda.recurrence`), and parsing and expanding together have a time limit
(:mod:`~postduif.agenda.deadline`).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import icalendar

from postduif.agenda.deadline import within
from postduif.agenda.recurrence import expand
from postduif.agenda.untrusted import Parsed, is_web_url, looks_like_url, text, web_link
from postduif.errors import FeedError
from postduif.render import Event

_BRACKETED = re.compile(r"^\[(?P<name>[^\]]+)\]\s*")
_BEGIN_END = re.compile(rb"^(BEGIN|END):", re.MULTILINE | re.IGNORECASE)
#: VCALENDAR > VTIMEZONE > STANDARD is three; a calendar needs no more than a few.
MAX_DEPTH = 8


def parse_ics(data: bytes, source: str, start: datetime, end: datetime, zone: tzinfo,
              *, gancio: bool = False) -> Parsed:
    """The occurrences starting in ``[start, end)``, oldest first. ``gancio``: every SUMMARY
    starts with the instance title in brackets, which is dropped."""
    _check_nesting(data, source)
    parsed = Parsed()
    try:
        parsed.events = within(lambda: _read(data, source, start, end, zone, gancio,
                                             parsed.warnings), source)
    except KeyError as exc:
        raise FeedError(f"calendar feed {source} is not a valid iCalendar file: an event "
                        f"has no {exc.args[0]}") from None
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        raise FeedError(f"calendar feed {source} is not a valid iCalendar file: "
                        f"{text(exc)}") from None
    except MemoryError:
        raise FeedError(f"calendar feed {source} is too large to read in the memory "
                        f"there is", hint="point agenda.feed at a smaller feed") from None
    parsed.events.sort(key=lambda e: e.start)
    return parsed


def _read(data: bytes, source: str, start: datetime, end: datetime, zone: tzinfo,
          gancio: bool, warnings: list[str]) -> list[Event]:
    calendar = icalendar.Calendar.from_ical(data)
    name = str(calendar.get("X-WR-CALNAME") or calendar.get("NAME") or "")
    return [_event(item, name, gancio, zone, source, warnings)
            for item in expand(calendar, source, start, end, warnings)]


def _check_nesting(data: bytes, source: str) -> None:
    """Components nest a few levels deep (VCALENDAR, VEVENT, VALARM); icalendar's parser
    takes quadratic time on deep nesting, so a feed nested deeper is refused before it."""
    depth = 0
    for found in _BEGIN_END.finditer(data):
        depth += 1 if found[1].upper() == b"BEGIN" else -1
        if depth > MAX_DEPTH:
            raise FeedError(f"calendar feed {source} is not a valid iCalendar file: its "
                            f"components nest more than {MAX_DEPTH} deep")


def _event(item: Any, calendar_name: str, gancio: bool, zone: tzinfo, source: str,
           warnings: list[str]) -> Event:
    start, all_day = _moment(item.get("DTSTART").dt, zone)
    title = _title(text(item.get("SUMMARY") or ""), calendar_name, gancio)
    location, online = _place(str(item.get("LOCATION") or "").strip(), title, source, warnings)
    return Event(
        title=title,
        start=start,
        end=_end(item, start, all_day, zone),
        all_day=all_day,
        url=web_link(item.get("URL"), "its URL", title, source, warnings),
        location=location,
        online_url=online,
    )


def _place(location: str, title: str, source: str, warnings: list[str]) -> tuple[str, str]:
    """The place shown as text, and the online link when the LOCATION is a web link; a
    LOCATION that is a link of another kind is neither."""
    if is_web_url(location):
        return "", location
    if looks_like_url(location):
        web_link(location, "its LOCATION", title, source, warnings)
        return "", ""
    return text(location), ""


def _moment(value: date | datetime, zone: tzinfo) -> tuple[datetime, bool]:
    """An aware datetime, and whether the calendar gave a date only (an all-day event)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)), False
    return datetime.combine(value, time(0), zone), True


def _end(item: Any, start: datetime, all_day: bool, zone: tzinfo) -> datetime | None:
    """The end, or ``None`` when it adds nothing (no DTEND, a one-day all-day event)."""
    prop = item.get("DTEND")
    if prop is None:
        return None
    end, _ = _moment(prop.dt, zone)
    if all_day:  # DTEND of an all-day event is the day after the last one
        end -= timedelta(days=1)
        return end if end.date() > start.date() else None
    return end if end > start else None


def _title(summary: str, calendar_name: str, gancio: bool) -> str:
    """Gancio writes "[<instance title>] <title>"; the email already says whose agenda it is.
    Other calendars keep a bracketed start unless it is the calendar's own name."""
    found = _BRACKETED.match(summary)
    if found and (gancio or found["name"].strip() == calendar_name.strip()):
        return summary[found.end():].strip()
    return summary.strip()
