"""The plain data a template sees: no recipients, headers, SQL or Hugo files.

The campaign layer fills these from content and settings; the renderer only reads them. They are
frozen so one :class:`EmailContext` can be rendered, cached and compared safely.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Event:
    """One agenda item, shown with its date formatted in the section's language."""

    title: str
    start: datetime
    """Timezone-aware; shown in the renderer's time zone."""
    location: str
    """A place name, "Online", a URL (shown as a link) or ""."""
    url: str
    """Absolute URL of the event page ("" when a calendar feed gives none)."""
    summary: str = ""
    end: datetime | None = None
    """Timezone-aware, or ``None`` when the source gives no end."""
    all_day: bool = False
    """Only the date matters (an all-day calendar entry); the time is not shown."""
    address: str = ""
    """Street address of the place, when the source keeps it apart from the place name."""
    online_url: str = ""
    """Where to join online, when the source gives it apart from the location."""


@dataclass(frozen=True)
class Section:
    """One language's part of an email (a bilingual newsletter has two)."""

    lang: str
    title: str
    body_html: str
    """Already sanitised HTML fragment with absolute URLs; inserted as is."""
    page_url: str
    """Web version of this page in this language, or "" when there is none."""
    events: tuple[Event, ...] = ()
    alternates: Mapping[str, str] = field(default_factory=dict)
    """Other language -> URL of that language's version of the page."""
    image_url: str = ""
    image_alt: str = ""
    image_caption: str = ""
    image_width: int = 0
    """The width to show the image at (its own, at most the column); 0 when unknown."""


@dataclass(frozen=True)
class EmailContext:
    """Everything needed to render one email once per campaign and language."""

    template: str
    """Name of the template pair ``templates/<template>.mjml.j2`` and ``.txt.j2``."""
    lang: str
    """Language of the interface strings (the first section's language when bilingual)."""
    subject: str
    preheader: str
    sections: tuple[Section, ...]
    sender_name: str
    sender_email: str
    contact_email: str
    """The footer's "write to" address: the reply address (``sender.reply_to``, else
    ``sender.email``), never the return mailbox that bounce reports go to."""
    postal_address: str
    site_title: str
    site_url: str
    list_title: str
    """Why the recipient gets this, e.g. "de nieuwsbrief van Techwerkers"."""
    list_titles: Mapping[str, str] = field(default_factory=dict)
    """The list's title per language, for the footer of a bilingual email (else list_title)."""


@dataclass(frozen=True)
class Rendered:
    """A rendered email that still holds personal placeholders (see :func:`personalise`)."""

    lang: str
    """The context's language, or e.g. "nl+en" for a bilingual email."""
    subject: str
    preheader: str
    html: str
    """Complete HTML document with CSS inlined."""
    text: str
    """Plain-text alternative."""
    greeting_named: str
    """Greeting with a ``{name}`` slot, e.g. "Hoi {name},"."""
    greeting_anonymous: str
    """Greeting for a recipient without a known name, e.g. "Hoi,"."""
