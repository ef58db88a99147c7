"""Per-recipient values, kept out of the expensive rendering.

Templates write a placeholder such as ``%%UNSUBSCRIBE_URL%%`` wherever a recipient's own value
belongs. Jinja, MJML and the CSS inliner all run once per campaign and language. The sender
cuts each part at its placeholders once (:func:`split_placeholders`) and per recipient only
encodes the values (:func:`value_of`, :func:`html_values`); :func:`personalise` fills a whole
document at once, for previews and tests, with the same values and escaping.
The ``%%NAME%%`` form was chosen because MJML, html5ever and URL handling leave it untouched, also
inside ``href`` attributes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

from postduif.errors import RenderError
from postduif.render.model import Rendered

PERSONAL_FIELDS: tuple[str, ...] = (
    "GREETING", "FIRST_NAME", "EMAIL", "UNSUBSCRIBE_URL", "CONFIRM_URL", "PREFERENCES_URL",
)

_PLACEHOLDER = re.compile("%%(" + "|".join(PERSONAL_FIELDS) + ")%%")


def placeholder(field: str) -> str:
    """The marker a template writes for ``field``, e.g. ``%%UNSUBSCRIBE_URL%%``."""
    if field not in PERSONAL_FIELDS:
        known = ", ".join(PERSONAL_FIELDS)
        raise RenderError(f"unknown personal field {field!r}", hint=f"known fields: {known}")
    return f"%%{field}%%"


def fields_used(rendered: Rendered) -> frozenset[str]:
    """The personal fields that occur in a rendered email (what a sender must supply)."""
    return frozenset(_PLACEHOLDER.findall(rendered.html) + _PLACEHOLDER.findall(rendered.text))


def personalise(rendered: Rendered, values: Mapping[str, str]) -> tuple[str, str]:
    """Return ``(html, text)`` with every placeholder replaced by the recipient's value.

    Values are HTML-escaped (quotes too, so they are safe inside attributes) for the HTML part and
    inserted raw in the text part. A placeholder without a value raises :class:`RenderError`.
    """
    return fill(rendered.html, html_values(values)), fill(rendered.text, values)


def html_values(values: Mapping[str, str]) -> dict[str, str]:
    """The values as they go into HTML: escaped, quotes too, so safe inside attributes."""
    return {name: html.escape(value, quote=True) for name, value in values.items()}


def split_placeholders(document: str) -> list[str]:
    """``[text, FIELD, text, FIELD, ..., text]``: the document cut at its placeholders."""
    return _PLACEHOLDER.split(document)


def value_of(values: Mapping[str, str], field: str) -> str:
    try:
        return values[field]
    except KeyError:
        raise RenderError(f"no value for personal field {field}",
                          hint="pass it to personalise() for every recipient") from None


def fill(document: str, values: Mapping[str, str]) -> str:
    """Replace every placeholder in ``document``; values are inserted as given."""
    return _PLACEHOLDER.sub(lambda match: value_of(values, match.group(1)), document)
