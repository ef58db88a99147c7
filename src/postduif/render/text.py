"""Plain-text alternative of an HTML fragment, for the text/plain part of an email.

A small :mod:`html.parser` writer rather than a library: the well-known converter (html2text) is
GPL-licensed and emits Markdown escapes, and the others either drop link targets or do not wrap.
What it guarantees: headings underlined (h1 ``=``, h2 ``-``) or upper-cased (h3-h6, but a
``<url>`` in them keeps its case), paragraphs separated by a blank line, lists as ``- `` /
``1. ``, blockquotes as ``> ``, links as ``text <url>``, images as ``[alt] <url>``, entities
decoded, lines wrapped at ``width`` but never inside a word, so never inside a URL.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from html.parser import HTMLParser

_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "li", "main", "nav", "ol",
    "p", "pre", "section", "summary", "table", "tr", "ul",
})
_SKIPPED = frozenset({"head", "iframe", "noscript", "script", "style", "template", "title"})
_SPACE = re.compile(r"[ \t\n\r\f\v]+")  # not \s: a no-break space must keep words together
_LINE_BREAK = "\n"
_URL = re.compile(r"(<[A-Za-z][\w+.-]*:[^<>\s]+>)")  # a link target as written after its text


def wrap(text: str, width: int = 72, first: str = "", rest: str = "") -> str:
    """Wrap one paragraph at ``width`` without breaking words, URLs or hyphenated names."""
    lines = textwrap.wrap(text, width=width, initial_indent=first, subsequent_indent=rest,
                          break_long_words=False, break_on_hyphens=False)
    return "\n".join(lines) if lines else first.rstrip()


def html_to_text(html: str, width: int = 72) -> str:
    """Convert an HTML fragment (or document) to readable, wrapped plain text."""
    writer = _Writer(width)
    writer.feed(html)
    writer.close()
    return writer.result()


@dataclass
class _List:
    ordered: bool
    next_number: int = 1


@dataclass
class _Link:
    href: str
    start: int  # index in the inline buffer where the link text begins


class _Writer(HTMLParser):
    """Collects inline text into a buffer and turns it into a wrapped block at each block tag."""

    def __init__(self, width: int) -> None:
        super().__init__(convert_charrefs=True)
        self.width = width
        self.blocks: list[tuple[str, bool, int]] = []  # (text, is list item, quote depth)
        self.inline: list[str] = []
        self.quote_depth = 0
        self.lists: list[_List] = []
        self.bullet = ""  # marker for the first line of the current list item
        self.links: list[_Link] = []
        self.skip_depth = 0
        self.pre_depth = 0
        self.heading = 0

    # -- parser callbacks -------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skip_depth += 1
            return
        attr = {name: value or "" for name, value in attrs}
        if tag in _BLOCKS:
            self.flush()
            self._open_block(tag)
        elif tag == "br":
            self.inline.append(_LINE_BREAK)
        elif tag == "hr":
            self.flush()
            self._emit("-" * min(self.width, 24))
        elif tag in ("td", "th"):
            self.inline.append(" ")
        elif tag == "a":
            self.links.append(_Link(attr.get("href", "").strip(), len(self.inline)))
        elif tag == "img":
            self.inline.append(_image_text(attr.get("alt", ""), attr.get("src", "")))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr", "img"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag == "a" and self.links:
            self._close_link(self.links.pop())
        elif tag in _BLOCKS:
            self.flush()
            self._close_block(tag)

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            self.inline.append(data)

    # -- block structure --------------------------------------------------------------------

    def _open_block(self, tag: str) -> None:
        if tag == "blockquote":
            self.quote_depth += 1
        elif tag in ("ul", "ol"):
            self.lists.append(_List(ordered=tag == "ol"))
        elif tag == "li" and self.lists:
            current = self.lists[-1]
            self.bullet = f"{current.next_number}. " if current.ordered else "- "
            current.next_number += 1
        elif tag == "pre":
            self.pre_depth += 1
        elif tag[0] == "h" and tag[1:].isdigit():
            self.heading = int(tag[1:])

    def _close_block(self, tag: str) -> None:
        if tag == "blockquote":
            self.quote_depth = max(0, self.quote_depth - 1)
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        elif tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)
        elif tag[0] == "h" and tag[1:].isdigit():
            self.heading = 0

    def _close_link(self, link: _Link) -> None:
        label = _SPACE.sub(" ", "".join(self.inline[link.start:])).strip()
        target = link.href
        if not target or target.startswith("#") or target.startswith("javascript:"):
            return
        shown = target.removeprefix("mailto:")
        if label in (target, shown):
            return
        self.inline.append(f" <{target}>" if label else target)

    def flush(self) -> None:
        """Turn the inline buffer into one block, wrapped with the current prefixes."""
        raw = "".join(self.inline)
        self.inline.clear()
        for link in self.links:  # a link spanning blocks: its label restarts in the new block
            link.start = 0
        if self.pre_depth:
            text = raw.strip("\n")
            if text.strip():
                self._emit("\n".join(self._prefix() + line for line in text.split("\n")))
            return
        lines = [_SPACE.sub(" ", part).strip() for part in raw.split(_LINE_BREAK)]
        lines = [line for line in lines if line]
        if not lines:
            return
        if self.heading:
            self._emit(self._heading("\n".join(lines)))
            return
        first, rest = self._prefix(), self._prefix(continuation=True)
        wrapped = [wrap(lines[0], self.width, first + self.bullet, rest)]
        wrapped += [wrap(line, self.width, rest, rest) for line in lines[1:]]
        self._emit("\n".join(wrapped), in_list=bool(self.bullet))
        self.bullet = ""

    def _heading(self, text: str) -> str:
        prefix = self._prefix()
        if self.heading > 2:
            return wrap(_upper_outside_urls(text), self.width, prefix, prefix)
        underline = "=" if self.heading == 1 else "-"
        longest = max(len(line) for line in text.split("\n"))
        return f"{prefix}{text}\n{prefix}{underline * min(longest, self.width)}"

    def _prefix(self, continuation: bool = False) -> str:
        indent = "  " * max(0, len(self.lists) - 1)
        if continuation and self.lists:
            indent += " " * len(self.bullet or "- ")
        return "> " * self.quote_depth + indent

    def _emit(self, text: str, in_list: bool = False) -> None:
        self.blocks.append((text, in_list, self.quote_depth))

    def result(self) -> str:
        """The blocks joined: list items line by line, other blocks by a blank line."""
        self.flush()
        out: list[str] = []
        previous_in_list, previous_depth = False, 0
        for text, in_list, depth in self.blocks:
            if out and in_list and previous_in_list:
                out.append("\n")
            elif out:  # inside a quote the blank line keeps its ">" so the quote stays one piece
                out.append("\n" + ("> " * min(depth, previous_depth)).rstrip() + "\n")
            out.append(text)
            previous_in_list, previous_depth = in_list, depth
        return "".join(out) + ("\n" if out else "")


def _upper_outside_urls(text: str) -> str:
    """Upper-case a heading but not its ``<url>`` parts: paths are case-sensitive."""
    return "".join(part if _URL.fullmatch(part) else part.upper() for part in _URL.split(text))


def _image_text(alt: str, src: str) -> str:
    alt = _SPACE.sub(" ", alt).strip()
    shown = f"[{alt}]" if alt else ""
    if src.startswith(("http://", "https://")):
        shown = f"{shown} <{src}>" if shown else f"<{src}>"
    return f" {shown} " if shown else ""
