"""One page's Markdown body to a sanitised HTML fragment with absolute URLs.

Order matters: HTML comments go first (their TODO notes must not reach readers), shortcodes
next (so ``{{% %}}`` inner Markdown is rendered), then Markdown. Links and images are resolved
on the Markdown tokens and inside raw HTML alike, before sanitising, so that every problem can
still name its source line.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

from postduif.content.fragments import Fragment
from postduif.content.hugo_config import HugoConfig
from postduif.content.images import SiteImage, fitted, real_size
from postduif.content.links import PageLookup, Resolved, resolve, url_fault
from postduif.content.pages import Page
from postduif.content.resources import unpublished_reason
from postduif.content.sanitize import images_and_links, sanitize
from postduif.content.shortcodes import expand
from postduif.problems import Problem, error, warning

MD = MarkdownIt("commonmark", {"linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"])

_COMMENT = re.compile(r"<!--.*?-->", re.S)
_ATTRIBUTE_LINE = re.compile(r"^[ \t]*\{[ \t]*[.#][^{}\n]*\}[ \t]*$", re.M)
_HEADING_ATTRIBUTES = re.compile(r"^([ \t]{0,3}#{1,6}[ \t].*?)[ \t]*\{[ \t]*[.#][^{}\n]*\}[ \t]*$",
                                 re.M)
_HTML_TAG = re.compile(r"<(/?)([A-Za-z][\w-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.S)
_HTML_ATTR = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")


@dataclass(frozen=True)
class PageHtml:
    html: str  # sanitised fragment, shortcodes expanded, every URL absolute
    problems: tuple[Problem, ...]
    images: tuple[tuple[str, str], ...]  # (absolute src, alt)
    links: tuple[str, ...]  # absolute hrefs in document order
    written: tuple[tuple[str, int], ...] = ()
    """``(absolute URL, source line)`` of each link and image as the page writes it, for
    pointing a reader at the line when the published site lacks the target."""
    files: tuple[SiteImage, ...] = ()  # the images that are files of the site


class PageContext:
    """What shortcodes may know while one page is rendered (see ``Context``)."""

    def __init__(self, config: HugoConfig, lookup: PageLookup, page: Page,
                 snippet: Callable[[str, str], str | None]) -> None:
        self._config, self._lookup, self._page, self._snippet = config, lookup, page, snippet

    @property
    def lang(self) -> str:
        return self._page.lang

    @property
    def languages(self) -> Sequence[str]:
        return self._config.languages

    def page_url(self, target: str, lang: str) -> str | None:
        found = self._lookup.get(target, lang)
        return found.url if found else None

    def home_url(self, lang: str) -> str:
        return self._config.home_url(lang)

    def snippet(self, name: str) -> str | None:
        return self._snippet(name, self._page.lang)

    def inline(self, markdown: str) -> str:
        return str(MD.renderInline(markdown))


def render_page(config: HugoConfig, lookup: PageLookup, page: Page,
                snippet: Callable[[str, str], str | None]) -> PageHtml:
    problems: list[Problem] = []
    body = _COMMENT.sub(lambda found: "\n" * found.group().count("\n"), page.body)
    context = PageContext(config, lookup, page, snippet)
    expanded = expand(body, page.body_line, context, page.source, problems)
    text = _HEADING_ATTRIBUTES.sub(r"\1", _ATTRIBUTE_LINE.sub("", expanded.text))
    tokens = MD.parse(text)
    rewriter = _Rewriter(config, lookup, page, expanded, problems)
    rewriter.tokens(tokens)
    clean = sanitize(MD.renderer.render(tokens, MD.options, {})).strip()
    images, links = images_and_links(clean)
    ordered = sorted(problems, key=lambda problem: problem.line or 0)
    return PageHtml(clean, tuple(ordered), images, links, tuple(rewriter.written),
                    tuple(rewriter.files))


class _Rewriter:
    """Makes every href/src absolute in the token stream and reports bad references."""

    def __init__(self, config: HugoConfig, lookup: PageLookup, page: Page,
                 expanded: Fragment, problems: list[Problem]) -> None:
        self.config, self.lookup, self.page = config, lookup, page
        self.expanded, self.problems = expanded, problems
        self.written: list[tuple[str, int]] = []
        self.files: list[SiteImage] = []

    def tokens(self, tokens: list[Token]) -> None:
        line = 0
        for token in tokens:
            if token.map:
                line = token.map[0]
            if token.type == "html_block":
                token.content = self.html(token.content, line, block=True)
            elif token.type == "inline" and token.children:
                self.inline(token.children, line)

    def inline(self, children: list[Token], line: int) -> None:
        for child in children:
            if child.type == "link_open":
                child.attrs["href"] = self.link(str(child.attrs.get("href", "")), line)
            elif child.type == "image":
                src = str(child.attrs.get("src", ""))
                child.attrs.update(self.image(src, child.content, line))
            elif child.type == "html_inline":
                child.content = self.html(child.content, line)
            line += 1 if child.type in ("softbreak", "hardbreak") else child.content.count("\n")

    def url(self, ref: str, line: int) -> str:
        url = resolve(self.config, self.lookup, self.page, ref).url
        self.written.append((url, self.expanded.source_line(line)))
        return url

    def link(self, ref: str, line: int) -> str:
        """A link's absolute URL; one into the site that matches no page gets a warning
        (``radicaldata.org`` written without ``https://`` is the typical case)."""
        found = resolve(self.config, self.lookup, self.page, ref)
        self.written.append((found.url, self.expanded.source_line(line)))
        self.check_url(ref, found.url, line)
        if found.unpublished and found.file is not None:
            reason = unpublished_reason(self.config, found.file, self.page.lang)
            self.problems.append(error("unpublished-link", f"link {ref!r}: {reason}",
                                       self.page.source, self.expanded.source_line(line)))
        elif found.missing:
            self.problems.append(warning(
                "unresolved-link", f"link {ref!r} matches no page of the site; it becomes "
                f"{found.url}", self.page.source, self.expanded.source_line(line)))
        return found.url

    def check_url(self, ref: str, url: str, line: int) -> None:
        """A broken URL is an error (the email would show a link that goes nowhere); a plain
        ``http://`` one a warning (readers' browsers flag it, and it may be tampered with)."""
        where = self.expanded.source_line(line)
        fault = url_fault(url)
        if fault:
            self.problems.append(error("bad-url", f"link {ref!r} is not a valid URL: {fault}",
                                       self.page.source, where))
        elif url[:7].lower() == "http://":
            self.problems.append(warning("insecure-link", f"link {ref!r} is plain http://; "
                                         "use https:// if the site has it",
                                         self.page.source, where))

    def image(self, ref: str, alt: str, line: int, wanted: str = "") -> dict[str, str]:
        """The image's ``src`` made absolute, with ``width`` and ``height`` from the file
        (capped at the email's column, or at the author's smaller ``wanted`` width) when it
        is a file of the site: Outlook draws an image at its attributes, not at its CSS."""
        found = resolve(self.config, self.lookup, self.page, ref, image=True)
        where = self.expanded.source_line(line)
        self.written.append((found.url, where))
        self.image_problems(ref, alt, found, where)
        attrs = {"src": found.url}
        if found.file is not None and not found.missing:
            self.files.append(SiteImage(found.url, found.file, where))
        size = real_size(found.file) if found.file is not None else None
        if size is not None:
            shown = fitted(size, wanted)
            attrs.update(width=str(shown.width), height=str(shown.height))
        return attrs

    def image_problems(self, ref: str, alt: str, found: Resolved, line: int) -> None:
        """An image out of the site, not on the web, or missing is an error; a missing alt
        text is a warning. (A WebP file is no problem: the email shows a rendition.)"""
        scheme = urlsplit(found.url).scheme
        if found.outside or scheme == "file":
            self.report(error, "image-outside-site",
                        f"image {ref!r} points outside the site; it is not read", line)
        elif scheme not in ("http", "https"):
            self.report(error, "image-not-web", f"image {ref!r} is not a web address; mail "
                        "clients do not show it, so it is left out", line)
        elif found.unpublished and found.file is not None:
            self.report(error, "unpublished-image", f"image {ref!r}: "
                        + unpublished_reason(self.config, found.file, self.page.lang), line)
        elif found.missing:
            self.report(error, "missing-image", f"image {ref!r} not found in the page bundle, "
                        "content, static/ or assets/", line)
        if not alt.strip():
            self.report(warning, "missing-alt", f"image {ref!r} has no alt text", line)

    def report(self, kind: Callable[..., Problem], code: str, message: str, line: int) -> None:
        self.problems.append(kind(code, message, self.page.source, line))

    def html(self, content: str, line: int, *, block: bool = False) -> str:
        def replace(found: re.Match[str]) -> str:
            at = line + content.count("\n", 0, found.start())
            return self.tag(found, at, block)
        return _HTML_TAG.sub(replace, content)

    def tag(self, found: re.Match[str], line: int, block: bool) -> str:
        closing, name = found.group(1), found.group(2).lower()
        if name == "iframe":
            link = "" if closing else self.iframe(_attributes(found.group(3)), line)
            return f"<p>{link}</p>" if block and link else link
        if closing or name not in ("a", "img"):
            return found.group(0)
        attrs = _attributes(found.group(3))
        if name == "a" and "href" in attrs:
            attrs["href"] = self.link(attrs["href"], line)
        elif name == "img":
            attrs.update(self.image(attrs.get("src", ""), attrs.get("alt", ""), line,
                                    attrs.get("width", "")))
        return f"<{name}{_render_attributes(attrs)}>"

    def iframe(self, attrs: dict[str, str], line: int) -> str:
        """An embed cannot run in a mail: link to what it shows (``data-tally-src`` too)."""
        src = attrs.get("src") or next(
            (value for key, value in attrs.items() if key.startswith("data-")
             and key.endswith("-src")), "")
        if not src:
            return ""
        url = self.url(src, line)
        label = attrs.get("title") or url
        return f'<a href="{html.escape(url)}">{html.escape(label)}</a>'


def _attributes(text: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for found in _HTML_ATTR.finditer(text):
        value = found.group(2) or ""
        if value[:1] in ("'", '"'):
            value = value[1:-1]
        attrs.setdefault(found.group(1).lower(), html.unescape(value))
    return attrs


def _render_attributes(attrs: dict[str, str]) -> str:
    return "".join(f' {key}="{html.escape(value)}"' for key, value in attrs.items())

