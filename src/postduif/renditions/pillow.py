"""One email rendition made with Pillow: the only module that imports PIL.

The recipe, in order:

1. decode, refusing an image of more than ``MAX_PIXELS`` before its pixels are read
   (a decompression bomb: a few KB of PNG that unpacks to gigabytes);
2. turn it upright by its EXIF orientation (mail clients do not all read EXIF);
3. convert it to sRGB when it carries another ICC profile (Adobe RGB shown as sRGB looks
   washed out), then drop the profile: an untagged image is sRGB to every client;
4. scale it down (Lanczos) to at most the width asked for, never up;
5. choose the format: PNG when the image has transparency, or when its PNG is no larger than
   a JPEG of it at quality 85 (a flat graphic: few colours, large even areas, sharp edges);
   JPEG otherwise (a photograph, where JPEG is several times smaller). A palette image (or
   one of 256 colours or fewer) stays a palette PNG of its own number of colours: scaling
   blends them into thousands, which are brought back without dithering noise;
6. over the budget, a PNG without transparency becomes a JPEG, one with transparency is
   reduced to 256 colours, a JPEG steps its quality down (``QUALITIES``), and then
   the width steps down (``WIDTH_STEPS``), never below the width the email shows;
7. write no metadata: no EXIF (GPS, camera), XMP, comments or ICC profile.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from postduif.errors import ImageError
from postduif.renditions.recipe import MAX_PIXELS, QUALITIES, WIDTH_STEPS

Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow raises DecompressionBombError at twice this
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass(frozen=True)
class Made:
    """A finished rendition: its format's file suffix, its bytes and its pixel size."""

    suffix: str  # ".jpg" or ".png"
    data: bytes
    width: int
    height: int


def make_rendition(file: Path, width: int, budget: int) -> Made:
    """The rendition of ``file`` at most ``width`` px wide, within ``budget`` bytes where the
    recipe allows; :class:`ImageError` naming ``file`` when it cannot be decoded."""
    decoded, colours = _decoded(file)
    image = _upright_srgb(decoded)
    made = None
    for step in WIDTH_STEPS:
        wanted = max(1, round(width * step))
        made = _encoded(_scaled(image, wanted), budget, colours)
        if len(made.data) <= budget:
            break
    assert made is not None
    return made


def _scaled(image: Image.Image, width: int) -> Image.Image:
    """``image`` at most ``width`` px wide (never scaled up), without its metadata."""
    if image.width > width:
        height = max(1, round(image.height * width / image.width))
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    else:
        image = image.copy()
    image.info = {}  # nothing of the original's metadata may reach the encoder
    return image


def _decoded(file: Path) -> tuple[Image.Image, int]:
    """The image in ``file`` with its pixels loaded, and for a palette image (a flat graphic
    by its author's choice) the number of colours it uses, else 0; or an :class:`ImageError`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as opened:
                if opened.width * opened.height > MAX_PIXELS:
                    raise ImageError(f"image {file} has {opened.width} x {opened.height} "
                                     f"pixels, more than the {MAX_PIXELS:,} postduif decodes "
                                     "(a decompression bomb?); scale it down", path=file)
                opened.load()
                if opened.mode == "P":
                    image = opened.convert("RGBA")
                    return image, len(image.getcolors(256) or range(256))
                return opened.copy(), 0
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"image {file} has too many pixels to decode safely ({exc})",
                         path=file) from None
    except UnidentifiedImageError:
        raise ImageError(f"image {file} is not an image Pillow can read (a damaged file, or "
                         "another format under an image's name)", path=file) from None
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt data
        raise ImageError(f"image {file} cannot be decoded: {exc}", path=file) from None


def _upright_srgb(image: Image.Image) -> Image.Image:
    """Turned by its EXIF orientation; RGB (or grey) in sRGB, RGBA when transparency is used."""
    image = ImageOps.exif_transpose(image)
    alpha = _has_alpha(image)
    icc = image.info.get("icc_profile")
    if icc:
        return _to_srgb(image, icc, "RGBA" if alpha else "RGB")
    mode = "RGBA" if alpha else "L" if image.mode in ("L", "LA") else "RGB"
    return image if image.mode == mode else image.convert(mode)


def _to_srgb(image: Image.Image, icc: bytes, mode: str) -> Image.Image:
    """``image`` from its embedded profile to sRGB; a profile that does not fit the pixels
    (an RGB profile on a CMYK image) is ignored, as browsers ignore it."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image.convert(mode)
    assert converted is not None  # not converted in place, so a new image is returned
    return converted


def _has_alpha(image: Image.Image) -> bool:
    """Whether any pixel is not fully opaque (an alpha channel of only 255 is no transparency)."""
    if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
        return False
    lowest, _ = image.convert("RGBA").getchannel("A").getextrema()
    return bool(lowest < 255)  # type: ignore[operator]  # one band: a (min, max) pair


def _encoded(image: Image.Image, budget: int, colours: int) -> Made:
    """PNG or JPEG by the rule in the module docstring; ``colours``: see :func:`_png`."""
    def made(suffix: str, data: bytes) -> Made:
        return Made(suffix, data, image.width, image.height)

    colours = colours or _colours(image)
    if image.mode == "RGBA":  # transparency: only PNG keeps it
        png = _png(image, colours)
        return made(".png", png if len(png) <= budget else _png(image, colours or 256))
    jpeg = _jpeg(image, QUALITIES[0])
    if colours or len(_png(image, 0, quick=True)) <= 2 * len(jpeg):
        png = _png(image, colours)
        if len(png) <= len(jpeg) and len(png) <= budget:
            return made(".png", png)
    for quality in QUALITIES[1:]:
        if len(jpeg) <= budget:
            break
        jpeg = _jpeg(image, quality)
    return made(".jpg", jpeg)


def _colours(image: Image.Image) -> int:
    """How many colours ``image`` has when that is 256 or fewer, else 0."""
    found = image.getcolors(256)
    return len(found) if found is not None else 0


def _png(image: Image.Image, colours: int, *, quick: bool = False) -> bytes:
    """PNG; with ``colours`` a palette PNG of that many colours (scaling blends a flat
    graphic's few colours into many: they are brought back, without dithering noise).

    ``quick`` is the least compression, to rule PNG out for a photograph without the slow
    full compression: when it is more than twice the JPEG, the best never halves it."""
    if colours:
        image = image.quantize(colours, method=Image.Quantize.FASTOCTREE,
                               dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **({"compress_level": 1} if quick else {"optimize": True}))
    return buffer.getvalue()


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, optimize=True, progressive=True)
    return buffer.getvalue()
