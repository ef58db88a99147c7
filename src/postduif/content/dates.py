"""Front matter dates as timezone-aware datetimes.

Hugo accepts more than ``datetime.fromisoformat`` does: the real site has ``T9:00`` (an unpadded
hour, which YAML happens to parse but TOML and quoted strings do not), plain dates and dates
without an offset. Anything without an offset is local time in the site's timezone.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

_DATE = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[Tt ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<oh>\d{2}):?(?P<om>\d{2})?)?$"
)


@lru_cache(maxsize=8)
def site_timezone(name: str) -> tzinfo:
    return ZoneInfo(name)


def to_datetime(value: object, tz: tzinfo) -> datetime | None:
    """``value`` as an aware datetime; ``None`` for an absent or empty value.

    Raises :class:`ValueError` for a value that is present but is not a date.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    if isinstance(value, str):
        return _parse(value.strip(), tz)
    raise ValueError(f"not a date: {value!r}")


def _parse(text: str, tz: tzinfo) -> datetime:
    found = _DATE.match(text)
    if not found:
        raise ValueError(f"not a date: {text!r}")
    year, month, day, hour, minute, second, fraction = found.groups()[:7]
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    zone: tzinfo = tz
    if found.group("utc"):
        zone = UTC
    elif found.group("sign"):
        offset = timedelta(hours=int(found.group("oh")), minutes=int(found.group("om") or 0))
        zone = timezone(offset if found.group("sign") == "+" else -offset)
    return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                    int(second or 0), micro, tzinfo=zone)
