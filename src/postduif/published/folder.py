"""The offline check: is each URL's file in Hugo's output folder (``public/``)?

Only the site's URLs can be looked up; the caller decides what the others are (external
links, which only the online check can try).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from postduif.published.scope import published_file, site_path
from postduif.published.status import State, UrlStatus


def check_folder(public: Path, base_url: str, urls: Iterable[str]) -> list[UrlStatus]:
    """One status per distinct URL of the site (``base_url``), in the order first given;
    URLs of other hosts are left out."""
    found = []
    for url in dict.fromkeys(urls):
        path = site_path(base_url, url)
        if path is not None:
            found.append(_lookup(public, url, path))
    return found


def _lookup(public: Path, url: str, path: str) -> UrlStatus:
    target = published_file(public, path)
    if target is None:
        return UrlStatus(url, State.MISSING, f"the path leads out of {public}")
    if target.is_file():
        return UrlStatus(url, State.OK)
    return UrlStatus(url, State.MISSING, f"{_shown(public, target)} does not exist")


def _shown(public: Path, target: Path) -> str:
    """``target`` as the reader knows it: under the folder they named."""
    try:
        return str(public / target.relative_to(public.resolve()))
    except ValueError:
        return str(target)
