"""The values that cross the renditions package: an email's image and its rendition."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Rendition:
    """An email copy of a site image, published with the site from its ``static/`` tree."""

    url: str  # where the email links it: <baseURL>email/<name>
    file: Path  # where it is written: <site>/static/email/<name>
    source: Path  # the site's image it is made from
    reasons: tuple[str, ...]  # why the original would not do ("1920 px wide", "WebP")
    size: int  # bytes
    width: int
    height: int
    asked: int = 0  # the width it was made for (twice the shown width): remade from this

    @property
    def made(self) -> bool:
        """Whether its file exists (``build``, ``send`` and ``preview`` write it)."""
        return self.file.is_file()


@dataclass(frozen=True)
class EmailImage:
    """One image an email shows, and what a reader downloads for it."""

    url: str  # the original's URL, as the page links it
    file: Path | None  # the site's file; ``None`` for an image on another host (not fetched)
    size: int  # bytes downloaded: the rendition's, else the original's; 0 when remote
    rendition: Rendition | None = None

    @property
    def shown_url(self) -> str:
        """The URL the email links: the rendition's, else the original's."""
        return self.rendition.url if self.rendition is not None else self.url

    @property
    def remote(self) -> bool:
        return self.file is None
