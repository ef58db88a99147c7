"""Finding a Hugo site's pages and reading each into a :class:`Page`.

Both multilingual layouts are handled: one ``content/`` with the language in the file name
(``index.nl.md``; no suffix means the default language) and one content directory per language.
A broken page becomes a :class:`~postduif.problems.Problem` and is skipped, never an exception,
so one typo cannot hide the rest of the site.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote

from postduif.content.cover import Cover, CoverSource, find_cover
from postduif.content.dates import site_timezone, to_datetime
from postduif.content.files import CONTENT_SUFFIXES as CONTENT_SUFFIXES  # re-exported
from postduif.content.frontmatter import FrontMatter, FrontMatterError, split_front_matter
from postduif.content.hugo_config import HugoConfig
from postduif.problems import Problem, error, warning

DATE_KEYS = ("eventDate", "date")  # an event's own date beats its publication date
END_KEYS = ("eventEnd",)


@dataclass(frozen=True, eq=False)
class Page:
    """One page in one language, as Hugo would publish it.

    Compared and hashed by identity (``params`` is a dict), so pages can key dicts and sets.
    """

    source: Path
    lang: str
    path: str  # content path without language: "posts/2026-feb", "" for the home page
    translation_key: str
    section: str
    kind: str  # "page" or "section" (an _index file)
    title: str
    summary: str
    date: datetime | None
    end: datetime | None
    draft: bool
    params: Mapping[str, Any]
    body: str
    body_line: int
    url: str
    bundle_dir: Path | None
    cover: Cover | None = None  # the hero image, found as the site's layout finds it


@dataclass(frozen=True)
class SourceFile:
    """Where a content file sits in the site, before it is read."""

    source: Path
    lang: str
    path: str
    kind: str
    bundle_dir: Path | None


def discover(config: HugoConfig) -> Iterator[SourceFile]:
    """Every content file of every language, in a stable order."""
    seen: set[Path] = set()
    for lang in config.languages:
        content_dir = config.content_dirs[lang]
        if content_dir in seen or not content_dir.is_dir():
            continue
        seen.add(content_dir)
        dir_lang = lang if config.by_directory else None
        yield from _walk(config, content_dir, dir_lang)


def _walk(config: HugoConfig, content_dir: Path, dir_lang: str | None) -> Iterator[SourceFile]:
    for dirpath, dirnames, filenames in os.walk(content_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        files = sorted(f for f in filenames if f.endswith(CONTENT_SUFFIXES)
                       and not f.startswith("."))
        here = Path(dirpath)
        rel = here.relative_to(content_dir).as_posix()
        rel = "" if rel == "." else rel
        parsed = [(name, *_split_name(name, config)) for name in files]
        leaf = any(base == "index" for _, base, _ in parsed)
        for name, base, suffix_lang in parsed:
            if leaf and base != "index":
                continue  # Markdown files inside a leaf bundle are its resources, not pages
            lang = dir_lang or suffix_lang or config.default_language
            yield _source_file(here / name, lang, rel, base)
        if leaf:
            dirnames[:] = []  # nothing below a leaf bundle is a page either


def _split_name(name: str, config: HugoConfig) -> tuple[str, str | None]:
    """``"index.nl.md"`` -> ``("index", "nl")``; an unknown suffix stays part of the name."""
    stem = name.rsplit(".", 1)[0]
    base, _, suffix = stem.rpartition(".")
    if base and suffix.lower() in config.languages:
        return base, suffix.lower()
    return stem, None


def _source_file(source: Path, lang: str, rel_dir: str, base: str) -> SourceFile:
    if base in ("index", "_index"):
        kind = "section" if base == "_index" else "page"
        return SourceFile(source, lang, rel_dir, kind, source.parent)
    path = f"{rel_dir}/{base}" if rel_dir else base
    return SourceFile(source, lang, path, "page", None)


def read_page(config: HugoConfig, found: SourceFile,
              problems: list[Problem]) -> Page | None:
    """The page in ``found``, or ``None`` (with an error in ``problems``) if it is unreadable."""
    try:
        raw = found.source.read_bytes()
    except OSError as exc:
        problems.append(error("unreadable", f"cannot read page: {exc}", found.source))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        problems.append(error("encoding", f"page is not valid UTF-8 ({exc.reason} at byte "
                              f"{exc.start})", found.source, line))
        return None
    if "\x00" in text:
        # Valid UTF-8 but a NUL: a binary file or a broken save. Markdown would turn it into
        # U+FFFD silently, so the email would show a stray character nobody wrote.
        line = text.count("\n", 0, text.index("\x00")) + 1
        problems.append(error("encoding", "page contains a NUL byte (a binary file?)",
                              found.source, line))
        return None
    try:
        matter = split_front_matter(text)
    except FrontMatterError as exc:
        problems.append(error("front-matter", exc.message, found.source, exc.line))
        return None
    return _page(config, found, matter, problems)


def _page(config: HugoConfig, found: SourceFile, matter: FrontMatter,
          problems: list[Problem]) -> Page:
    params = matter.params
    tz = site_timezone(config.timezone)
    title = _text(params.get("title"))
    if not title:
        problems.append(warning("missing-title", "page has no title", found.source,
                                matter.key_lines.get("title", 1)))
        title = _fallback_title(found)
    return Page(
        source=found.source,
        lang=found.lang,
        path=found.path,
        translation_key=_text(params.get("translationKey")) or found.path,
        section=found.path.split("/", 1)[0],
        kind=found.kind,
        title=title,
        summary=_text(params.get("summary")) or _text(params.get("description")),
        date=_date(params, DATE_KEYS, tz, found.source, matter, problems),
        end=_date(params, END_KEYS, tz, found.source, matter, problems),
        draft=_is_true(params.get("draft")),
        params=params,
        body=matter.body,
        body_line=matter.body_line,
        url=page_url(config, found.lang, found.path, found.kind, params),
        bundle_dir=found.bundle_dir,
        cover=find_cover(CoverSource(config, found.source, found.lang, found.bundle_dir, params,
                                     matter.key_lines), problems),
    )


def page_url(config: HugoConfig, lang: str, path: str, kind: str,
             params: Mapping[str, Any]) -> str:
    """The absolute permalink Hugo gives a page: front matter ``url``, else ``slug``, else
    its content path, under the language prefix."""
    prefix = config.lang_prefix(lang)
    custom = _text(params.get("url"))
    if custom:
        if "://" in custom:
            return custom
        custom = custom.strip("/")
        if prefix and (custom + "/").startswith(prefix):
            prefix = ""  # already written with its language, as Hugo docs suggest
        return _with_slash(f"{config.base_url}{prefix}{quote(custom)}")
    slug = _text(params.get("slug"))
    if slug and kind == "page" and path:
        path = path.rpartition("/")[0] + "/" + slug if "/" in path else slug
    if config.lowercase_paths:
        path = path.lower()
    path = path.replace(" ", "-")
    return f"{config.base_url}{prefix}{quote(path)}/" if path else f"{config.base_url}{prefix}"


def _with_slash(url: str) -> str:
    last = url.rsplit("/", 1)[-1]
    return url if url.endswith("/") or "." in last else url + "/"


def _date(params: Mapping[str, Any], keys: tuple[str, ...], tz: tzinfo, source: Path,
          matter: FrontMatter, problems: list[Problem]) -> datetime | None:
    for key in keys:
        if params.get(key) in (None, ""):
            continue
        try:
            return to_datetime(params[key], tz)
        except ValueError as exc:
            problems.append(warning("bad-date", f"front matter {key!r}: {exc}", source,
                                    matter.key_lines.get(key)))
    return None


def _fallback_title(found: SourceFile) -> str:
    name = found.path.rsplit("/", 1)[-1] or found.source.parent.name
    return name.replace("-", " ").replace("_", " ").strip().capitalize()


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")
