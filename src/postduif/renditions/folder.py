"""Which images get a rendition, what it is called, and writing it into the site's ``static/``.

A rendition is named by a hash of its source's bytes and of the recipe's parameters, so the
name changes exactly when the rendition would: a file already in the folder is reused, never
made again, and an edited image gets a new name (a mail already sent keeps its old one).
Planning only reads (``check`` plans too); :meth:`Renditions.write` is the one writer, and
writes each file whole (a temporary file renamed into place).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from postduif.config import ImageSettings
from postduif.content.images import OUTLOOK_UNSUPPORTED, real_size
from postduif.errors import ImageError
from postduif.renditions.model import EmailImage, Rendition
from postduif.renditions.recipe import RECIPE

if TYPE_CHECKING:
    from postduif.renditions.pillow import Made

#: What Pillow decodes and a rendition can replace. GIF is left alone (a rendition would stop
#: its animation), and SVG is no bitmap.
RASTER = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
SUFFIXES = (".jpg", ".png")


class Renditions:
    """The renditions of one workspace's images, made once per process and kept on disk.

    An image whose rendition turned out no lighter than itself leaves an empty marker file
    named like the rendition in ``unused_dir`` (the workspace's ``build/renditions/``, never
    the published ``static/``), so the next command does not decode and encode it again only
    to throw the result away.
    """

    def __init__(self, settings: ImageSettings, unused_dir: Path | None = None) -> None:
        self.settings = settings
        self.unused_dir = unused_dir
        self._made: dict[str, Made | None] = {}  # name -> made in memory; None: not lighter

    def image(self, url: str, file: Path, shown_width: int, base_url: str) -> EmailImage:
        """What the email shows for the site's ``file`` (at ``url``) drawn ``shown_width``
        px wide, on the site at ``base_url``: a rendition when the original needs one and
        the rendition is lighter (or the original's format is one Outlook does not show);
        :class:`ImageError` when the file cannot be read or decoded."""
        try:
            size = file.stat().st_size
        except OSError as exc:
            raise ImageError(f"cannot read image {file}: {exc.strerror}", path=file) from None
        reasons = self.reasons(file, size, shown_width)
        found = self._rendition(file, size, 2 * shown_width) if reasons else None
        if found is None:
            return EmailImage(url, file, size)
        rendition = _published(found, reasons, base_url + self.settings.url_path)
        return EmailImage(url, file, rendition.size, rendition)

    def reasons(self, file: Path, size: int, shown_width: int) -> tuple[str, ...]:
        """Why the original will not do in an email, read from its name, size and header."""
        suffix = file.suffix.lower()
        if suffix not in RASTER:
            return ()
        found = []
        if suffix in OUTLOOK_UNSUPPORTED:
            found.append(f"{suffix[1:].upper()}, which desktop Outlook does not show")
        real = real_size(file)
        if real is not None and real.width > 2 * shown_width:
            found.append(f"{real.width} px wide, shown at {shown_width} px")
        if size > self.settings.budget_bytes:
            found.append(f"{size / 1024:.0f} KB, over the {self.settings.budget_bytes // 1024} "
                         "KB budget")
        return tuple(found)

    def _rendition(self, file: Path, size: int, width: int) -> Rendition | None:
        """The rendition of ``file`` (its ``url`` still without the site's address), or
        ``None`` when it would be no lighter than the original and Outlook shows that."""
        name = self._name(file, width)
        for suffix in SUFFIXES:
            existing = self.settings.renditions_dir / (name + suffix)
            if existing.is_file():
                return _described(existing, file, width)
        if name not in self._made and not self._known_unused(name):
            from postduif.renditions.pillow import make_rendition  # Pillow, only when needed

            made = make_rendition(file, width, self.settings.budget_bytes)
            needed = file.suffix.lower() in OUTLOOK_UNSUPPORTED or len(made.data) < size
            self._made[name] = made if needed else None
            if not needed:
                self._mark_unused(name)
        made_now = self._made[name]
        if made_now is None:
            return None
        target = self.settings.renditions_dir / (name + made_now.suffix)
        return Rendition(target.name, target, file, (), len(made_now.data), made_now.width,
                         made_now.height, width)

    def _known_unused(self, name: str) -> bool:
        """Whether an earlier run found this rendition no lighter than its original."""
        if self.unused_dir is None or not (self.unused_dir / name).is_file():
            return False
        self._made[name] = None
        return True

    def _mark_unused(self, name: str) -> None:
        """Remember that the rendition ``name`` is not used; a cache, so a folder that cannot
        be written only costs the next run the same work again."""
        if self.unused_dir is None:
            return
        try:
            self.unused_dir.mkdir(parents=True, exist_ok=True)
            (self.unused_dir / name).touch()
        except OSError:
            pass

    def _name(self, file: Path, width: int) -> str:
        recipe = f"postduif rendition {RECIPE} width={width} budget={self.settings.budget_bytes}"
        digest = hashlib.sha256(recipe.encode() + b"\0")
        try:
            digest.update(file.read_bytes())
        except OSError as exc:
            raise ImageError(f"cannot read image {file}: {exc.strerror}", path=file) from None
        return digest.hexdigest()[:24]

    def write(self, renditions: Iterable[Rendition]) -> list[Path]:
        """Write the renditions not on disk yet; the files written. :class:`ImageError`
        (naming the file and the cause) when the folder cannot be written."""
        written = []
        for rendition in dict.fromkeys(renditions):
            if rendition.made:
                continue
            made = self._made.get(rendition.file.stem)
            data = made.data if made is not None else self._remake(rendition)
            _write_whole(rendition.file, data, rendition.source)
            written.append(rendition.file)
        return written

    def _remake(self, rendition: Rendition) -> bytes:
        """The bytes of a rendition this object did not make: planned by another, or found
        on disk and removed since."""
        from postduif.renditions.pillow import make_rendition

        return make_rendition(rendition.source, rendition.asked, self.settings.budget_bytes).data


def _described(existing: Path, source: Path, asked: int) -> Rendition:
    """A rendition found on disk, made by an earlier run."""
    real = real_size(existing)
    width, height = (real.width, real.height) if real is not None else (0, 0)
    return Rendition(existing.name, existing, source, (), existing.stat().st_size, width, height,
                     asked)


def _published(rendition: Rendition, reasons: tuple[str, ...], base: str) -> Rendition:
    """``rendition`` with its address on the site (``base`` is where renditions_dir is
    published) and why the original would not do."""
    return replace(rendition, url=base + rendition.file.name, reasons=reasons)


def _write_whole(target: Path, data: bytes, source: Path) -> None:
    """``data`` into ``target`` through a temporary file beside it, renamed into place: a
    reader (or a deploy) never sees half a file, and a failure leaves nothing behind."""
    temporary = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        temporary = Path(name)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        temporary.chmod(0o644)  # mkstemp makes it private; the site publishes it
        temporary.replace(target)
    except OSError as exc:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise ImageError(f"cannot write the email rendition {target} of {source}: "
                         f"{exc.strerror or exc}", path=target,
                         hint=f"make {target.parent} writable, or set [images] "
                         "renditions_dir in postduif.toml") from None
