"""The real size of a site's images, and the size an email may show them at.

Desktop Outlook ignores CSS ``max-width`` and draws an ``<img>`` at its ``width`` attribute,
or, without one, at the file's own size: a 2,400 px photo then blows the layout apart. So
every image of the site gets ``width`` and ``height`` attributes, read from the file and
capped at the column of the email; the CSS ``max-width: 100%; height: auto`` stays for every
other client. This is the only module that reads image headers (with ``imagesize``, which
reads just the header); :mod:`postduif.renditions` decodes the images an email needs lighter.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import imagesize

#: The width of the email's text column: ``<mj-body width="600px">`` minus the
#: ``padding="0 28px"`` of ``mj-text`` and of the feature ``mj-image`` in
#: ``templates/layout.mjml.j2`` and ``newsletter.mjml.j2`` (a test reads them back).
COLUMN_WIDTH = 600 - 2 * 28
#: Formats desktop Outlook (Word's HTML engine) does not draw: the email shows a rendition.
OUTLOOK_UNSUPPORTED = (".webp",)


@dataclass(frozen=True)
class Size:
    width: int
    height: int


@dataclass(frozen=True)
class ShownImage:
    """An image as the email shows it: its absolute URL and, for a file of the site, the
    size to draw it at (``None`` for a remote image: its file is never fetched)."""

    url: str
    size: Size | None
    file: Path | None = None  # the site's file (``None`` for a remote image)


@dataclass(frozen=True)
class SiteImage:
    """An image of the page body that is a file of the site: where the email links it, the
    file, and the page line that shows it (for problems with the file itself)."""

    url: str
    file: Path
    line: int | None


def real_size(file: Path) -> Size | None:
    """The pixel size in the file's header; ``None`` for a format imagesize does not know
    (SVG) or a file it cannot read."""
    try:
        width, height = imagesize.get(file)
    except (OSError, ValueError, struct.error):
        return None
    return Size(width, height) if width > 0 and height > 0 else None


def fitted(size: Size, wanted: str = "", limit: int = COLUMN_WIDTH) -> Size:
    """``size`` scaled down (never up) to fit ``limit``, or to a smaller ``wanted`` width
    (an author's ``width="300"``), keeping the aspect ratio."""
    width = min(size.width, limit)
    if wanted.isdigit() and 0 < int(wanted) < width:
        width = int(wanted)
    return Size(width, max(1, round(size.height * width / size.width)))


def outlook_unsupported(ref: str) -> bool:
    """Whether the image at ``ref`` (a URL or file name) is in a format Outlook cannot show."""
    return urlsplit(ref).path.lower().endswith(OUTLOOK_UNSUPPORTED)
