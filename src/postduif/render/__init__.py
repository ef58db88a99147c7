"""Email rendering: templates + plain data -> HTML and text with personal placeholders.

This package knows nothing about recipients, headers, SQL or Hugo files. The campaign layer
builds an :class:`EmailContext`; :class:`Renderer` turns it into a :class:`Rendered` once per
campaign and language; the placeholders left in it are filled per recipient by
``postduif.message.MessageTemplate`` (pieces from :func:`split_placeholders`), or for a whole
document at once by :func:`personalise`.
"""

from postduif.render.model import EmailContext, Event, Rendered, Section
from postduif.render.personal import (
    PERSONAL_FIELDS,
    fields_used,
    html_values,
    personalise,
    placeholder,
    split_placeholders,
    value_of,
)
from postduif.render.renderer import Renderer
from postduif.render.text import html_to_text

__all__ = [
    "PERSONAL_FIELDS",
    "EmailContext",
    "Event",
    "Rendered",
    "Renderer",
    "Section",
    "fields_used",
    "html_to_text",
    "html_values",
    "personalise",
    "placeholder",
    "split_placeholders",
    "value_of",
]
