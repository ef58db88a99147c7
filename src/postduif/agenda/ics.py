"""Events from an RFC 5545 calendar (Gancio, Mobilizon, Nextcloud, Google, Proton).

``recurring-ical-events`` expands RRULE/RDATE/EXDATE into single occurrences, so a weekly
meeting shows each date in the window. A recurring event written in a local zone (``TZID``)
stays at its local hour across a change of daylight saving time; one written in UTC does not:
that is what the calendar says, and the email shows it as the calendar does.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import icalendar
import recurring_ical_events

from postduif.errors import FeedError
from postduif.render import Event

_BRACKETED = re.compile(r"^\[(?P<name>[^\]]+)\]\s*")


def parse_ics(data: bytes, source: str, start: datetime, end: datetime, zone: tzinfo,
              *, gancio: bool = False) -> list[Event]:
    """The occurrences starting in ``[start, end)``, oldest first. ``gancio``: every SUMMARY
    starts with the instance title in brackets, which is dropped."""
    try:
        calendar = icalendar.Calendar.from_ical(data)
        name = str(calendar.get("X-WR-CALNAME") or calendar.get("NAME") or "")
        events = [_event(item, name, gancio, zone)
                  for item in recurring_ical_events.of(calendar).between(start, end)
                  if item.name == "VEVENT"]
    except KeyError as exc:
        raise FeedError(f"calendar feed {source} is not a valid iCalendar file: an event "
                        f"has no {exc.args[0]}") from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise FeedError(f"calendar feed {source} is not a valid iCalendar file: {exc}") from None
    return sorted(events, key=lambda e: e.start)


def _event(item: Any, calendar_name: str, gancio: bool, zone: tzinfo) -> Event:
    start, all_day = _moment(item.get("DTSTART").dt, zone)
    end = _end(item, start, all_day, zone)
    location = str(item.get("LOCATION") or "").strip()
    online = location if location.startswith(("https://", "http://")) else ""
    return Event(
        title=_title(str(item.get("SUMMARY") or ""), calendar_name, gancio),
        start=start,
        end=end,
        all_day=all_day,
        url=str(item.get("URL") or "").strip(),
        location="" if online else location,
        online_url=online,
    )


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
