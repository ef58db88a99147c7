"""A page's images as its email shows them: each ``<img>`` of the body and the cover image
pointed at its rendition where one is needed, and the bytes a reader downloads for them."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from postduif.content import Page, Site
from postduif.content.images import COLUMN_WIDTH, Size, fitted
from postduif.errors import ImageError
from postduif.problems import Problem, error
from postduif.renditions.folder import Renditions
from postduif.renditions.model import EmailImage

_IMG = re.compile(r"<img\b[^>]*>", re.I)
_ATTR = re.compile(r'\s([\w-]+)="([^"]*)"')


@dataclass(frozen=True)
class PageImages:
    """What :func:`page_images` found for one page."""

    body_html: str  # the page's HTML with rendition URLs (and their heights) swapped in
    cover: EmailImage | None
    cover_width: int  # the width to show the cover at; 0 when unknown
    images: tuple[EmailImage, ...]  # cover first, then the body's, each linked URL once
    problems: tuple[Problem, ...]  # images that cannot be made into renditions


def page_images(renditions: Renditions, site: Site, page: Page) -> PageImages:
    """The page's body and cover as the email shows them (see the module docstring)."""
    problems: list[Problem] = []
    rendered = site.render(page)
    files = {found.url: found for found in rendered.files}
    images: dict[str, EmailImage] = {}  # by the URL the email links: one image shown at
    cover, width = _cover(renditions, site, page, problems)  # two widths has two renditions
    if cover is not None:
        images[cover.shown_url] = cover

    def swap(tag: re.Match[str]) -> str:
        attrs = {name: html.unescape(value) for name, value in _ATTR.findall(tag.group(0))}
        src = attrs.get("src", "")
        found = files.get(src)
        if found is None:
            if not src.startswith(site.config.base_url):  # a missing file is an error already
                images.setdefault(src, EmailImage(src, None, 0))
            return tag.group(0)
        shown = int(attrs["width"]) if attrs.get("width", "").isdigit() else COLUMN_WIDTH
        try:
            image = renditions.image(src, found.file, shown, site.config.base_url)
        except ImageError as exc:
            problems.append(error("image-rendition", exc.message, page.source, found.line))
            return tag.group(0)
        images.setdefault(image.shown_url, image)
        return _swapped(attrs, image) if image.rendition is not None else tag.group(0)

    body = _IMG.sub(swap, rendered.html)
    return PageImages(body, cover, width, tuple(images.values()), tuple(problems))


def _cover(renditions: Renditions, site: Site, page: Page,
           problems: list[Problem]) -> tuple[EmailImage | None, int]:
    shown = site.cover_image(page)
    if shown is None or page.cover is None:
        return None, 0
    width = shown.size.width if shown.size is not None else 0
    if shown.file is None:
        return EmailImage(shown.url, None, 0), width
    try:
        image = renditions.image(shown.url, shown.file, width or COLUMN_WIDTH,
                                 site.config.base_url)
    except ImageError as exc:
        problems.append(error("image-rendition", exc.message, page.source, page.cover.line))
        return EmailImage(shown.url, shown.file, 0), width
    shown_size = _shown_size(image, width)
    return image, shown_size.width if shown_size is not None else width


def _swapped(attrs: dict[str, str], image: EmailImage) -> str:
    """The ``<img>`` tag pointing at the rendition, its height from the rendition's own
    proportions (an EXIF orientation may have turned it)."""
    wanted = int(attrs["width"]) if attrs.get("width", "").isdigit() else 0
    attrs["src"] = image.shown_url
    shown = _shown_size(image, wanted)
    if shown is not None:
        attrs.update(width=str(shown.width), height=str(shown.height))
    return "<img" + "".join(f' {name}="{html.escape(value)}"' for name, value in attrs.items()) \
        + ">"


def _shown_size(image: EmailImage, wanted: int) -> Size | None:
    """The size to draw a rendition at: at most the column, or the smaller ``wanted``;
    ``None`` without a rendition of known size."""
    found = image.rendition
    if found is None or found.width <= 0 or found.height <= 0:
        return None
    return fitted(Size(found.width, found.height), str(wanted))
