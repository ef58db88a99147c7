"""Which image a page shows as its hero (cover) image, found the way the site's layout finds it.

Posts name their hero image in two styles: ``feature`` (with ``featureAlt``) or ``cover``
(with ``coverAlt`` and ``coverCaption``), and some name none and rely on a bundle file called
``feature.png`` or ``cover.jpg``. The Techwerkers layout (``layouts/posts/single.html``)
resolves them in this order, and so does postduif, so the email shows the image the web page
shows:

* ``cover``: the file named by front matter ``cover``, else the first bundle image whose name
  contains ``cover``;
* ``feature``: the file named by ``feature``, else the first bundle image whose name contains
  ``feature``, else ``cover``;
* the alt text is ``featureAlt``, else ``coverAlt``; the caption is ``coverCaption``;
* as a last resort Hugo's own ``images`` (its first entry, the page's social-media image).

A name in front matter that matches no file is an error on its line when the layout would show
that file (the page would go out without the image its author chose); the order above then goes
on with the next candidate. A missing ``cover`` beside a feature image is only a warning: the
layout shows the feature image first, whether or not the ``cover`` file exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from postduif.content.files import SiteFile, site_file
from postduif.content.hugo_config import HugoConfig
from postduif.content.resources import split_language, variants
from postduif.problems import Problem, error, warning

#: The files Hugo treats as image resources of a bundle.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".svg")


@dataclass(frozen=True)
class Cover:
    """A page's hero image as written: ``ref`` resolves like an image in the page's body."""

    ref: str
    alt: str
    caption: str
    key: str  # the front matter key that named it, "" for a bundle file found by its name
    line: int | None  # that key's line


@dataclass(frozen=True)
class CoverSource:
    """What finding a cover needs to know about one content file."""

    config: HugoConfig
    source: Path
    lang: str
    bundle_dir: Path | None
    params: Mapping[str, Any]
    key_lines: Mapping[str, int]


def find_cover(page: CoverSource, problems: list[Problem]) -> Cover | None:
    """The page's hero image in the site layout's order, or ``None`` when it has none."""
    images = _bundle_images(page)
    cover_problems: list[Problem] = []
    feature_problems: list[Problem] = []
    named_cover = _named(page, "cover", images, cover_problems)
    feature = _named(page, "feature", images, feature_problems) or _first(images, "feature")
    problems += [_as_unused(problem, feature) for problem in cover_problems]
    problems += feature_problems
    shown = feature or named_cover or _first(images, "cover")
    chosen = shown or _named(page, "images", images, problems)
    if chosen is None:
        return None
    ref, key = chosen
    return Cover(ref, _text(page.params.get("featureAlt")) or _text(page.params.get("coverAlt")),
                 _text(page.params.get("coverCaption")), key, page.key_lines.get(key))


def _as_unused(problem: Problem, feature: tuple[str, str] | None) -> Problem:
    """A missing ``cover`` file matters only when the layout would show it: the feature image
    (named, or a file matching ``*feature*``) comes first, so beside one it is a warning."""
    if feature is None or problem.code != "missing-cover-image":
        return problem
    return warning(problem.code, f"{problem.message.split('; the site shows')[0]}; the site "
                   f"does not use it, as it shows the feature image {feature[0]!r} (and so does "
                   "the email)", problem.path, problem.line)


def _named(page: CoverSource, key: str, images: list[str],
           problems: list[Problem]) -> tuple[str, str] | None:
    """``(ref, key)`` for the file front matter ``key`` names, if it exists."""
    value = page.params.get(key)
    if isinstance(value, list):  # Hugo's ``images`` is a list
        value = value[0] if value else None
    ref = written = _text(value)
    if not ref:
        return None
    if "://" in ref or ref.startswith("//"):
        return ref, key
    line = page.key_lines.get(key)
    found = _bundle_resource(page, unquote(ref)) or site_file(
        page.config, page.bundle_dir, page.lang, unquote(ref))
    if found.file is None and key == "images" and not ref.startswith("/") and not found.outside:
        ref = "/" + ref  # Hugo publishes ``images`` entries from static/ (absURL)
        found = site_file(page.config, None, page.lang, ref)
    if found.outside:
        problems.append(error("image-outside-site", f"front matter {key} {written!r} points "
                              "outside the site; it is not read", page.source, line))
    elif found.file is None:
        instead = _first(images, key)
        hint = f"; the site shows {instead[0]!r} instead" if instead else ""
        problems.append(error("missing-cover-image", f"front matter {key} names "
                              f"{written!r}, but there is no such file beside the page (nor in "
                              f"content/, static/ or assets/){hint}", page.source, line))
    else:
        return ref, key
    return None


def _bundle_resource(page: CoverSource, ref: str) -> SiteFile | None:
    """The bundle file ``ref`` names as a resource: ``photo.png`` is there when only
    ``photo.en.png`` is (the site asks for it by its name without language)."""
    if page.bundle_dir is None or ref.startswith("/"):
        return None
    resource, _ = split_language(page.config, ref)
    found = variants(page.config, page.bundle_dir, resource)
    return SiteFile(next(iter(found.values())).file) if found else None


def _bundle_images(page: CoverSource) -> list[str]:
    """The bundle's images that may be its cover (by their name), as resource names without
    language (``feature.png`` for ``feature.en.png``: the site resolves it per language), in
    Hugo's order (by name); a symbolic link that leads out of the site is not one of them."""
    if page.bundle_dir is None:
        return []
    try:
        names = sorted(entry.name for entry in page.bundle_dir.iterdir())
    except OSError:
        return []
    found = [name for name in names if name.lower().endswith(IMAGE_SUFFIXES)
             and ("cover" in name.lower() or "feature" in name.lower())
             and site_file(page.config, page.bundle_dir, page.lang, name).file is not None]
    return sorted(dict.fromkeys(split_language(page.config, name)[0] for name in found))


def _first(images: list[str], word: str) -> tuple[str, str] | None:
    """The first image whose name contains ``word`` (Hugo's ``Match "*word*"``)."""
    name = next((name for name in images if word in name.lower()), None)
    return (name, "") if name else None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()
