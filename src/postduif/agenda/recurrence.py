"""Recurring events expanded without letting a feed's rule run away.

``recurring-ical-events`` (through dateutil) walks a rule from its DTSTART, one step per
period, and gathers every occurrence in the window in a list: ``FREQ=SECONDLY`` without an
end is millions of dates in a month and a half, and a fine rule that started in 1970 is
billions of steps before the window even begins. So before expanding, each rule's work is
estimated from its DTSTART, FREQ, INTERVAL and BY-parts up to the window's end; one above
:data:`MAX_STEPS` is left out with a warning. A rule that never matches (February 30th) is
walked to the year 9999 by dateutil whatever its UNTIL, so the caller runs the expansion
within a time limit (:mod:`postduif.agenda.deadline`). Of what is left, each event shows at
most :data:`MAX_OCCURRENCES` dates.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any

import icalendar
import recurring_ical_events

from postduif.agenda.untrusted import text

#: The most steps one rule may take from its DTSTART to the window's end.
MAX_STEPS = 100_000
#: The most dates one event shows in the agenda.
MAX_OCCURRENCES = 100
_PERIOD_SECONDS = {"SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600, "DAILY": 86400,
                   "WEEKLY": 7 * 86400, "MONTHLY": 28 * 86400, "YEARLY": 365 * 86400}
#: BY-parts that can give more than one occurrence per period (an upper bound of the work).
_EXPANDING = ("BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY", "BYMONTHDAY", "BYYEARDAY",
              "BYWEEKNO", "BYMONTH")


def expand(calendar: icalendar.Calendar, source: str, start: datetime, end: datetime,
           warnings: list[str]) -> list[Any]:
    """The VEVENT occurrences starting in ``[start, end)``, bounded as the module says."""
    left_out = {id(event): why for event, why in _runaways(calendar, end)}
    for event in calendar.walk("VEVENT"):
        if id(event) in left_out:
            warnings.append(f"calendar feed {source}: event "
                            f"{text(event.get('SUMMARY') or '')!r} {left_out[id(event)]}; "
                            f"the email leaves it out")
    calendar.subcomponents = [c for c in calendar.subcomponents if id(c) not in left_out]
    items = recurring_ical_events.of(calendar).between(start, end)
    return _capped([item for item in items if item.name == "VEVENT"], source, warnings)


def _runaways(calendar: icalendar.Calendar, end: datetime) -> Iterator[tuple[Any, str]]:
    for event in calendar.walk("VEVENT"):
        rules = event.get("RRULE")
        for rule in rules if isinstance(rules, list) else [rules] if rules else []:
            why = _too_much(rule, event.get("DTSTART"), end)
            if why:
                yield event, why
                break


def _too_much(rule: object, dtstart: Any, end: datetime) -> str:
    """Why the rule may not be expanded ("" when it may)."""
    if not isinstance(rule, icalendar.vRecur):
        return "has an RRULE that cannot be read"
    freq = (rule.get("FREQ") or [""])[0]
    interval = (rule.get("INTERVAL") or [1])[0]
    if freq not in _PERIOD_SECONDS or not isinstance(interval, int) or interval < 1:
        return f"has an RRULE with FREQ={freq} and INTERVAL={interval}, which is no rule"
    first = _aware(getattr(dtstart, "dt", None))
    until = _aware((rule.get("UNTIL") or [None])[0])
    last = min(end, until) if until else end
    if first is None:
        return "repeats without a DTSTART"
    periods = max((last - first).total_seconds(), 0) / (_PERIOD_SECONDS[freq] * interval) + 1
    steps = periods * math.prod(len(rule.get(part) or [1]) for part in _EXPANDING)
    count = (rule.get("COUNT") or [None])[0]
    if isinstance(count, int):
        steps = min(steps, count)
    if steps <= MAX_STEPS:
        return ""
    return (f"repeats {freq} from {first:%Y-%m-%d}: about {steps:,.0f} dates to work out up to "
            f"{end:%Y-%m-%d}, more than {MAX_STEPS:,}")


def _aware(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), UTC)
    return None


def _capped(items: list[Any], source: str, warnings: list[str]) -> list[Any]:
    """At most :data:`MAX_OCCURRENCES` occurrences of each event (by UID), the first ones."""
    seen: dict[str, int] = {}
    kept = []
    for item in items:
        uid = str(item.get("UID") or id(item))
        seen[uid] = seen.get(uid, 0) + 1
        if seen[uid] <= MAX_OCCURRENCES:
            kept.append(item)
        elif seen[uid] == MAX_OCCURRENCES + 1:
            warnings.append(f"calendar feed {source}: event {text(item.get('SUMMARY') or '')!r}"
                            f" repeats more than {MAX_OCCURRENCES} times in the agenda's window;"
                            f" the email shows the first {MAX_OCCURRENCES}")
    return kept
