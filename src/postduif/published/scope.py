"""Which URLs belong to the site (Hugo's baseURL, also with a sub-path) and which file of its
output folder serves one.

A host written with or without ``www.`` and over ``http`` or ``https`` is the same site: the
static host redirects between them, and Hugo publishes one folder for all of them.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit


def host_of(url: str) -> str:
    """The URL's host name, lower case, without a leading ``www.``."""
    return (urlsplit(url).hostname or "").removeprefix("www.")


def same_site(url: str, other: str) -> bool:
    return urlsplit(other).scheme in ("http", "https") and host_of(url) == host_of(other)


def site_path(base_url: str, url: str) -> str | None:
    """The percent-decoded path of ``url`` below ``base_url``'s path ("nl/posts/x.png",
    "" for the home page, a trailing "/" kept), or ``None`` when ``url`` is not the site's."""
    if not base_url or not same_site(base_url, url):
        return None
    base = urlsplit(base_url).path.rstrip("/") + "/"
    path = urlsplit(url).path or "/"
    if not (path + "/").startswith(base):
        return None
    return unquote(path[len(base):]) if len(path) >= len(base) else ""


def published_file(public: Path, path: str) -> Path | None:
    """The file of the output folder ``public`` that a server answers ``path`` with: the
    file itself, or ``index.html`` for a folder ("nl/posts/" and "nl/posts" alike); ``None``
    for a path that climbs out of the folder ("../../etc/passwd")."""
    root = public.resolve()
    target = (root / path).resolve()
    if target != root and not target.is_relative_to(root):
        return None
    return target / "index.html" if path.endswith("/") or path == "" or target.is_dir() \
        else target
