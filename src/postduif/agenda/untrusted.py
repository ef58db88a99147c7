"""What a feed's values may become in an email: text, and links over http(s) only.

A calendar feed is written by whoever can post an event on someone else's server. Its titles
and places are shown as text (the templates escape them, also inside attributes); its links
(an event's URL, an online location) become ``href``s, so only an ``http(s)`` URL with a host
gets through: ``javascript:``, ``data:`` and every other scheme is dropped with a warning
naming the feed, never made clickable. Text is cut at :data:`MAX_TEXT` characters, control
characters become spaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from postduif.render import Event

#: The longest title, place or address shown; a longer one is cut with an ellipsis.
MAX_TEXT = 300
#: The longest link kept (browsers and mail clients handle about this much).
MAX_URL = 2000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
#: A value that starts like a URL ("javascript:alert(1)", "data:text/html,..."), not like a
#: place ("Zaal: 3", "Online: see the website").
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(?!\s)")


@dataclass
class Parsed:
    """The events read from a feed, and what the organiser should know about them."""

    events: list[Event] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def text(value: object) -> str:
    """``value`` as one line of shown text."""
    shown = _CONTROL.sub(" ", str(value)).strip()
    return shown if len(shown) <= MAX_TEXT else shown[:MAX_TEXT - 1].rstrip() + "…"


def is_web_url(value: str) -> bool:
    """An ``http(s)`` URL with a host and nothing a browser would read otherwise."""
    if len(value) > MAX_URL or _CONTROL.search(value) or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def looks_like_url(value: str) -> bool:
    return bool(_SCHEME.match(value.strip()))


def web_link(value: object, what: str, title: str, source: str, warnings: list[str]) -> str:
    """``value`` when it is a web link; else "" and a warning (unless it is empty)."""
    link = str(value or "").strip()
    if not link or is_web_url(link):
        return link
    warnings.append(f"calendar feed {source}: event {title!r}: {what} {_short(link)} is no "
                    f"http(s) link; the email leaves it out")
    return ""


def _short(value: str) -> str:
    """A value from the feed, quoted and short enough for one line of a message."""
    return repr(value if len(value) <= 80 else value[:77] + "...")
