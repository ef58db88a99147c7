"""The weight of an email's images: the bytes a reader's client downloads to show them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from postduif.renditions.model import EmailImage, Rendition


@dataclass(frozen=True)
class ImageWeight:
    """One email's images: renditions where used, originals otherwise. Images on other hosts
    are never fetched, so their bytes are unknown: they are counted apart, not weighed."""

    images: tuple[EmailImage, ...]  # the site's images, each URL once

    @classmethod
    def of(cls, images: Iterable[EmailImage]) -> ImageWeight:
        return cls(tuple(dict.fromkeys(images)))

    @property
    def local(self) -> tuple[EmailImage, ...]:
        return tuple(image for image in self.images if not image.remote)

    @property
    def total(self) -> int:
        return sum({image.shown_url: image.size for image in self.local}.values())

    @property
    def remote(self) -> int:
        return sum(image.remote for image in self.images)

    @property
    def renditions(self) -> tuple[Rendition, ...]:
        return tuple(dict.fromkeys(image.rendition for image in self.images
                                   if image.rendition is not None))

    @property
    def not_made(self) -> tuple[Rendition, ...]:
        return tuple(r for r in self.renditions if not r.made)

    def heaviest(self, count: int = 3) -> tuple[EmailImage, ...]:
        return tuple(sorted(self.local, key=lambda image: -image.size)[:count])

    def summary(self) -> str:
        """``1.2 MB in 4 images (2 renditions, 1 not made yet); 1 remote not weighed``."""
        text = f"{size_text(self.total)} in {_count(len(self.local), 'image')}"
        if self.renditions:
            made = f", {len(self.not_made)} not made yet" if self.not_made else ""
            text += f" ({_count(len(self.renditions), 'rendition')}{made})"
        if self.remote:
            text += f"; {self.remote} on other hosts not weighed (never fetched)"
        return text


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def size_text(size: int) -> str:
    """``870 KB`` or ``1.4 MB`` (1 KB = 1,024 bytes, as the budget settings count)."""
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{size / 1024:.0f} KB"
