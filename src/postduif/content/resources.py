"""Which files of a page bundle Hugo publishes, where, and which of them a page shows.

The rules are real Hugo's (0.123 on; ``tests/test_hugo_urls.py`` builds sites with the real
binary and checks every URL an email gets against what it published):

* A bundle file has a language: the one in its name (``photo.en.png``), else that of its
  content directory (one directory per language), else the default content language. Its
  *resource name* is its name without the language (``photo.png``); ``photo.nl.png`` stands in
  for ``photo.png`` in Dutch.
* It is published once, beside the page of its own language in its bundle: a shared
  ``photo.png`` beside the default language's page (``/nl/posts/x/photo.png``), which the
  English page shows too. When the bundle has no page in that language, Hugo publishes the
  file nowhere (gohugoio/hugo#12107).
* A page shows, for each resource name, the file in its own language, else the nearest
  language's published one (in the site's language order, the earlier on a tie), taken from
  the bundles of all its translations (``translationKey`` links bundles of other names).
* With ``markup.goldmark.duplicateResourceFiles = true`` every page publishes a copy of each
  file it shows beside itself, whether or not a page of the file's language exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from postduif.content.files import site_file
from postduif.content.hugo_config import HugoConfig


@dataclass(frozen=True)
class BundleFile:
    """One file of a bundle as Hugo sees it."""

    file: Path
    bundle_dir: Path
    name: str  # path below the bundle directory, as published ("photo.en.png")
    resource: str  # the name without its language ("photo.png"): what a page asks for
    lang: str
    named_lang: bool  # the language is in the file's name


def split_language(config: HugoConfig, name: str) -> tuple[str, str | None]:
    """``"img/photo.en.png"`` -> ``("img/photo.png", "en")``; no language -> ``(name, None)``."""
    path = PurePosixPath(name)
    stem, dot, ext = path.name.rpartition(".")
    base, _, lang = stem.rpartition(".")
    if dot and base and lang.lower() in config.languages:
        return str(path.with_name(f"{base}.{ext}")), lang.lower()
    return name, None


def bundle_file(config: HugoConfig, bundle_dir: Path, file: Path) -> BundleFile:
    """What Hugo makes of ``file``, a file below ``bundle_dir``."""
    name = file.relative_to(bundle_dir).as_posix()
    resource, lang = split_language(config, name)
    return BundleFile(file, bundle_dir, name, resource, lang or directory_language(
        config, bundle_dir), lang is not None)


def directory_language(config: HugoConfig, directory: Path) -> str:
    """The language of the files in ``directory``: that of its content directory when each
    language has its own, else the default language."""
    if config.by_directory:
        for lang in config.languages:
            if directory.is_relative_to(config.content_dirs[lang]):
                return lang
    return config.default_language


def variants(config: HugoConfig, bundle_dir: Path, resource: str) -> dict[str, BundleFile]:
    """Language -> the file of ``bundle_dir`` that is ``resource`` in that language; a name
    with the language beats one without (``photo.nl.png`` over ``photo.png`` for ``nl``)."""
    path = PurePosixPath(resource)
    stem, dot, ext = path.name.rpartition(".")
    names = [str(path.with_name(f"{stem}.{lang}.{ext}")) for lang in config.languages] \
        if dot and stem else []
    found: dict[str, BundleFile] = {}
    for name in (*names, resource):
        hit = site_file(config, bundle_dir, config.default_language, name).file
        if hit is not None and hit.parent.is_relative_to(bundle_dir):
            candidate = bundle_file(config, bundle_dir, hit)
            found.setdefault(candidate.lang, candidate)
    return found


def nearest(config: HugoConfig, lang: str, langs: Iterable[str]) -> str | None:
    """The language of ``langs`` Hugo falls back to for a page in ``lang``: itself, else the
    nearest in the site's language order, the earlier one on a tie."""
    order = {name: index for index, name in enumerate(config.languages)}
    here = order.get(lang, 0)
    ranked = sorted(langs, key=lambda other: (abs(order.get(other, len(order)) - here),
                                              order.get(other, len(order))))
    return ranked[0] if ranked else None


def shown(config: HugoConfig, lang: str, bundles: Iterable[Path], resource: str,
          owners: Mapping[tuple[str, Path], object]) -> BundleFile | None:
    """The file a page in ``lang`` shows for ``resource``, from the bundles of its
    translations; ``owners`` holds ``(lang, bundle_dir)`` of every published page. Without
    duplicated resources a file whose own page does not exist is published nowhere, so it
    is not shown either."""
    candidates: dict[str, BundleFile] = {}
    for bundle_dir in bundles:
        for file_lang, found in variants(config, bundle_dir, resource).items():
            if config.duplicate_resources or (file_lang, bundle_dir) in owners:
                candidates.setdefault(file_lang, found)
    best = nearest(config, lang, candidates)
    return candidates[best] if best is not None else None


def unpublished_reason(config: HugoConfig, file: Path, page_lang: str) -> str:
    """Why Hugo publishes ``file`` nowhere, and what to do about it, in one sentence."""
    _, named = split_language(config, file.name)
    lang = named or directory_language(config, file.parent)
    why = "as its name says" if named else (
        "its content directory's language" if config.by_directory
        else "the default language, as its name has none")
    stem, _, ext = file.name.rpartition(".")
    return (f"Hugo publishes {file.name!r} nowhere: a bundle file goes out only beside the "
            f"bundle's {lang} page ({why}), and there is none; add that page, or name the "
            f"file {stem}.{page_lang}.{ext}")
