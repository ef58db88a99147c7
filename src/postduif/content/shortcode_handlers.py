"""What each shortcode the site uses becomes in an e-mail.

Handlers return Markdown/HTML pieces; URLs are left as the author wrote them (``join``,
``SW-1A.png``) because resolving and checking them happens once, after Markdown, for every link
and image alike. Block-level output is surrounded by blank lines so that Markdown inside it is
still rendered (a CommonMark HTML block ends at a blank line).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from postduif.content.fragments import Fragment
from postduif.problems import Problem, error, warning

Piece = str | Fragment

# Forms cannot work in a mail; these sentences send the reader to the page with the form.
FORM_LINKS = {
    "join": {
        "nl": "Meld je aan via het formulier op onze website",
        "en": "Sign up with the form on our website",
        "de": "Melde dich über das Formular auf unserer Website an",
    },
    "newsletter": {
        "nl": "Schrijf je in voor de nieuwsbrief op onze website",
        "en": "Subscribe to the newsletter on our website",
        "de": "Abonniere den Newsletter auf unserer Website",
    },
}
YOUTUBE_ALT = "YouTube video"


class Context(Protocol):
    """What handlers may ask about the page being rendered and its site."""

    @property
    def lang(self) -> str: ...

    @property
    def languages(self) -> Sequence[str]: ...

    def page_url(self, target: str, lang: str) -> str | None: ...

    def home_url(self, lang: str) -> str: ...

    def snippet(self, name: str) -> str | None: ...

    def inline(self, markdown: str) -> str: ...


@dataclass
class Call:
    """One shortcode occurrence: its parameters, inner content and where it was written."""

    name: str
    named: dict[str, str]
    positional: list[str]
    inner: Fragment | None
    source: Path
    line: int
    problems: list[Problem]

    def param(self, name: str, position: int | None = None) -> str:
        if name in self.named:
            return self.named[name]
        if position is not None and position < len(self.positional):
            return self.positional[position]
        return ""

    def inner_text(self) -> str:
        return self.inner.text.strip() if self.inner else ""

    def error(self, code: str, message: str) -> None:
        self.problems.append(error(code, message, self.source, self.line))

    def warning(self, code: str, message: str) -> None:
        self.problems.append(warning(code, message, self.source, self.line))


Handler = Callable[[Call, Context], list[Piece]]


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def _block(call: Call, opening: str, closing: str) -> list[Piece]:
    """``opening``, the inner Markdown (still rendered), ``closing``."""
    return [f"\n\n{opening}\n\n", call.inner or "", f"\n\n{closing}\n\n"]


def _one_line(call: Call, ctx: Context) -> str:
    """The inner content as inline HTML, for elements that cannot hold paragraphs."""
    return ctx.inline(" ".join(call.inner_text().split()))


def button(call: Call, ctx: Context) -> list[Piece]:
    href = call.param("href", 0)
    label = _one_line(call, ctx) if call.inner_text() else html.escape(call.param("text") or href)
    return [button_html(href, label)]


def button_html(href: str, label: str) -> str:
    """A button desktop Outlook draws: its colour and padding on a table cell, as MJML's own
    ``mj-button`` does (Outlook ignores padding and background on a link). The template's
    ``td.button`` and ``a.button`` styles colour it; sanitize.py lets exactly this through."""
    return ('<table class="button" role="presentation" border="0" cellpadding="0" '
            f'cellspacing="0"><tr><td class="button"><a class="button" href="{_attr(href)}">'
            f"{label}</a></td></tr></table>")


def alert(call: Call, ctx: Context) -> list[Piece]:
    return _block(call, '<div class="alert">', "</div>")


def lead(call: Call, ctx: Context) -> list[Piece]:
    return [f'\n\n<p class="lead">{_one_line(call, ctx)}</p>\n\n']


def pull_quote(call: Call, ctx: Context) -> list[Piece]:
    return _block(call, '<blockquote class="pull-quote">', "</blockquote>")


def figure(call: Call, ctx: Context) -> list[Piece]:
    attrs = f'src="{_attr(call.param("src", 0))}" alt="{_attr(call.param("alt"))}"'
    for name in ("title", "width", "height"):
        if call.param(name):
            attrs += f' {name}="{_attr(call.param(name))}"'
    image = f"<img {attrs}>"
    if call.param("link"):
        image = f'<a href="{_attr(call.param("link"))}">{image}</a>'
    caption = call.param("caption") or call.inner_text()
    if caption:
        image += f"<figcaption>{ctx.inline(caption)}</figcaption>"
    return [f"\n\n<figure>{image}</figure>\n\n"]


def youtube(call: Call, ctx: Context) -> list[Piece]:
    """A video cannot play in a mail: its thumbnail, linked to the video."""
    video = call.param("id", 0)
    if not video:
        call.error("bad-shortcode", "youtube shortcode without a video id")
        return []
    thumbnail = f"https://img.youtube.com/vi/{video}/hqdefault.jpg"
    link = f"https://www.youtube.com/watch?v={video}"
    return [f'\n\n<p><a href="{_attr(link)}"><img src="{_attr(thumbnail)}" '
            f'alt="{YOUTUBE_ALT}"></a></p>\n\n']


def relref(call: Call, ctx: Context) -> list[Piece]:
    """The absolute URL of another page, in this page's language unless ``lang`` says other."""
    target, _, anchor = call.param("path", 0).partition("#")
    lang = call.param("lang") or ctx.lang
    url = ctx.page_url(target, lang)
    if url is None:
        call.error("unknown-ref", f"{call.name}: no page {target!r} in language {lang!r}")
        return [ctx.home_url(lang)]
    return [url + (f"#{anchor}" if anchor else "")]


def carousel(call: Call, ctx: Context) -> list[Piece]:
    return ["\n\n", call.inner or "", "\n\n"]


def carousel_item(call: Call, ctx: Context) -> list[Piece]:
    alt = call.param("alt") or call.param("caption")
    return [f'\n\n<p><img src="{_attr(call.param("image", 0))}" alt="{_attr(alt)}"></p>\n\n']


def _form_link(form: str, lang: str, call: Call, ctx: Context) -> list[Piece]:
    """Keep the text around a form, and point to the page where the form works."""
    url = ctx.page_url(form, lang) or f"{ctx.home_url(lang)}{form}/"
    labels = FORM_LINKS[form]
    label = labels.get(ctx.lang) or labels["en"]
    return [call.inner or "", f"\n\n{button_html(url, html.escape(label))}\n\n"]


def join_form(call: Call, ctx: Context) -> list[Piece]:
    return _form_link("join", ctx.lang, call, ctx)


def _newsletter(lang: str) -> Handler:
    def handler(call: Call, ctx: Context) -> list[Piece]:
        return _form_link("newsletter", lang if lang in ctx.languages else ctx.lang, call, ctx)
    return handler


HANDLERS: dict[str, Handler] = {
    "button": button,
    "alert": alert,
    "lead": lead,
    "pull-quote": pull_quote,
    "figure": figure,
    "youtube": youtube,
    "relref": relref,
    "ref": relref,
    "carousel": carousel,
    "carousel-item": carousel_item,
    "join-form": join_form,
    "newsletter-nl": _newsletter("nl"),
    "newsletter-en": _newsletter("en"),
}
