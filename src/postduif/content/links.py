"""Turning the link and image references of a page into the absolute URLs the site serves.

A mail client has no page to resolve relative URLs against, so every reference must become
absolute. The real site writes references in several ways, all handled here:

* ``/join`` - root-relative without language: the page's own language is meant;
* ``/nl/events`` - root-relative with a language: that language's page, also where Hugo puts
  the default language at the root (``defaultContentLanguageInSubdir = false``);
* ``feature.png`` or ``./x.png`` - a file of the page bundle (or of a translation's bundle),
  as Hugo's ``.Resources.Get`` finds it (``photo.png`` is ``photo.en.png`` in English);
* ``events/2025-01-21/flyer.png`` or ``../other/x.png`` - a file of the content directory;
* ``join`` (in a button) - a content path of another page.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote, unquote, urljoin, urlsplit

from postduif.content.files import site_file
from postduif.content.hugo_config import HugoConfig

if TYPE_CHECKING:
    from postduif.content.pages import Page

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"  # letters and digits, hyphens inside (Unicode: IDN hosts)
_HOST = re.compile(rf"^(?:{_LABEL}\.)*{_LABEL}\.?$|^\[[0-9A-Fa-f:.]+\]$")
_BLANK = re.compile(r"\s")


class PageLookup(Protocol):
    """What resolving references needs to know about the other pages of the site."""

    def get(self, path_or_key: str, lang: str) -> Page | None: ...

    def resource(self, page: Page, name: str) -> Path | None: ...

    def file_url(self, page: Page, file: Path) -> str | None: ...

    def has_url(self, url: str) -> bool: ...


@dataclass(frozen=True)
class Resolved:
    url: str
    missing: bool = False  # a site-local reference that matches no file or page
    unpublished: bool = False  # a file of the site that Hugo publishes nowhere
    outside: bool = False  # a file reference leading out of the site: never looked at
    file: Path | None = None  # the site file it names, when there is one


def url_fault(url: str) -> str | None:
    """Why an absolute ``http(s)``/``mailto`` URL cannot work, or ``None``.

    The rule: no raw blank anywhere, none written ``%20`` before the path; for http(s) a host of
    letters, digits, hyphens and dots (or a bracketed IPv6 address) and a numeric port. That
    catches ``https://%20%20https://...`` (two URLs pasted over each other) and
    ``https//example.org``, which a mail client shows as a link that goes nowhere."""
    scheme, _, rest = url.partition(":")
    scheme = scheme.lower()
    if scheme == "mailto":
        return None if "@" in rest and not _BLANK.search(rest) else "not an e-mail address"
    if scheme not in ("http", "https"):
        return None
    if _BLANK.search(url):
        return "it contains a blank"
    host = urlsplit(url).netloc.rpartition("@")[2]
    if "%20" in host:
        return "a blank (%20) where the host name belongs"
    name, colon, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
    if not colon:
        name = host
    if not name or not _HOST.match(name):
        return f"{name!r} is not a host name" if name else "it has no host name"
    if colon and not port.isdigit():
        return f"{port!r} is not a port number"
    return None


def resolve(config: HugoConfig, lookup: PageLookup, page: Page, ref: str, *,
            image: bool = False) -> Resolved:
    """The absolute URL for ``ref`` as written in ``page``; ``missing`` marks a reference
    into the site that matches none of its files (images) or pages (links)."""
    ref = ref.strip()
    if not ref:
        return Resolved(page.url)
    if ref.startswith("//"):
        return Resolved("https:" + ref)
    if _SCHEME.match(ref):
        return Resolved(ref)
    if ref.startswith("#"):
        return Resolved(page.url + ref)
    parts = urlsplit(ref)
    tail = (f"?{parts.query}" if parts.query else "") + (
        f"#{parts.fragment}" if parts.fragment else "")
    path = unquote(parts.path)
    if path.startswith("/"):
        return _rooted(config, lookup, page, path, tail, image)
    return _relative(config, lookup, page, ref, path, tail, image)


def _rooted(config: HugoConfig, lookup: PageLookup, page: Page, path: str, tail: str,
            image: bool) -> Resolved:
    rel = path.strip("/")
    first, last = rel.split("/", 1)[0], rel.rsplit("/", 1)[-1]
    if image or "." in last:
        found = site_file(config, None, page.lang, path)
        return Resolved(config.base_url + quote(rel) + tail, missing=found.file is None,
                        outside=found.outside, file=found.file)
    if not rel:
        url = config.home_url(page.lang)
    elif first in config.languages:  # "/nl/x": the nl page x, wherever Hugo puts nl pages
        rest = rel.split("/", 1)[1] if "/" in rel else ""
        url = config.home_url(first) + (f"{quote(rest)}/" if rest else "")
    else:
        url = f"{config.home_url(page.lang)}{quote(rel)}/"
    return Resolved(url + tail, missing=not lookup.has_url(url))


def _relative(config: HugoConfig, lookup: PageLookup, page: Page, ref: str, path: str,
              tail: str, image: bool) -> Resolved:
    clean = posixpath.normpath(path)
    if clean == ".":
        return Resolved(page.url + tail)
    file = lookup.resource(page, clean)  # Hugo's .Resources.Get first, as its render hooks
    found = site_file(config, page.bundle_dir, page.lang, clean) if file is None else None
    if found is not None and found.file is not None:
        file = found.file
    if file is not None:
        url = lookup.file_url(page, file)
        if url is None:
            return Resolved(urljoin(page.url, ref), missing=True, unpublished=True, file=file)
        return Resolved(url + tail, file=file)
    if found is not None and found.outside and image:
        return Resolved(urljoin(page.url, ref), missing=True, outside=True)
    target = lookup.get(clean, page.lang)
    if target is not None:
        return Resolved(target.url + tail)
    url = urljoin(page.url, ref)
    bare = urlsplit(url)._replace(query="", fragment="").geturl()
    return Resolved(url, missing=image or not lookup.has_url(bare))
