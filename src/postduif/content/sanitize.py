"""Reducing page HTML to what mail clients render, and reading back its images and links.

The site is built with goldmark ``unsafe = true``, so pages carry raw HTML (iframes, scripts,
Tailwind classes). A mail keeps only simple formatting; the few classes that our shortcodes
emit on purpose survive so the mail template can style them.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

TAGS = {
    "p", "a", "strong", "em", "b", "i", "u", "s", "del", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "img", "figure", "figcaption",
    "br", "hr", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption",
    "code", "pre", "span", "div", "sup", "sub",
}
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height", "title"},
    "ol": {"start"},
    "th": {"colspan", "rowspan", "style"},
    "td": {"colspan", "rowspan", "style"},
    "p": {"style"},
    "figcaption": {"style"},
}
CLASSES = {"a": {"button"}, "div": {"alert"}, "p": {"lead"}, "blockquote": {"pull-quote"},
           "table": {"button"}, "td": {"button"}}
#: The button shortcode's table (shortcode_handlers.button_html) is a layout table: these exact
#: values keep Outlook from adding spacing and screen readers from announcing a table.
TABLE_VALUES = {"table": {"role": {"presentation"}, "border": {"0"}, "cellpadding": {"0"},
                          "cellspacing": {"0"}}}
DROP_WITH_CONTENT = {"script", "style", "template", "textarea", "select", "title"}

_CLEANER = nh3.Cleaner(
    tags=TAGS,
    clean_content_tags=DROP_WITH_CONTENT,
    attributes=ATTRIBUTES,
    allowed_classes=CLASSES,
    tag_attribute_values=TABLE_VALUES,
    filter_style_properties={"text-align"},
    url_schemes={"http", "https", "mailto", "tel"},
    link_rel=None,
    strip_comments=True,
)
# Whatever slipped through as text must not look like a shortcode to the next Hugo-aware tool.
_SHORTCODE_LOOK = re.compile(r"\{\{(?=<|%|&lt;)")


def sanitize(html: str) -> str:
    return _SHORTCODE_LOOK.sub("{&#123;", _CLEANER.clean(html))


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[tuple[str, str]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "img" and values.get("src"):
            self.images.append((values["src"], values.get("alt", "")))
        elif tag == "a" and values.get("href"):
            self.links.append(values["href"])


def images_and_links(html: str) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """``(src, alt)`` of every image and every link target, in document order."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return tuple(collector.images), tuple(collector.links)
