"""Just enough of a Hugo site's configuration to find its pages and know their public URLs.

Hugo spreads its settings over a root file (``hugo.toml``, ``hugo.yaml``, ``config.toml`` ...)
and ``config/_default/*`` where a file's name says where its keys belong (``languages.nl.toml``
is the ``[languages.nl]`` table, ``params.toml`` is ``[params]``). We read both, merge them,
and keep only what URLs, languages and titles depend on. Keys are matched case-insensitively
because Hugo does (``baseURL`` and ``baseurl`` are the same key).
"""

from __future__ import annotations

import html
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from postduif.errors import ConfigError

DEFAULT_TIMEZONE = "Europe/Amsterdam"
ROOT_CONFIG_NAMES = ("hugo.toml", "hugo.yaml", "hugo.yml", "hugo.json",
                     "config.toml", "config.yaml", "config.yml", "config.json")
CONFIG_SUFFIXES = (".toml", ".yaml", ".yml", ".json")
_LANG_DIR = re.compile(r"^[a-z]{2}$")
_TOML_LINE = re.compile(r"line (\d+)")


@dataclass(frozen=True)
class HugoConfig:
    """The settings of one Hugo site that decide which pages exist and where they are served."""

    root: Path
    base_url: str  # always ends with "/"
    default_language: str
    default_in_subdir: bool
    languages: tuple[str, ...]  # ordered by weight, the default first among equals
    content_dirs: Mapping[str, Path]  # language -> content directory
    titles: Mapping[str, str]  # language -> site title, soft hyphens removed
    timezone: str = DEFAULT_TIMEZONE  # for dates written without an offset
    lowercase_paths: bool = True  # Hugo lowercases page URLs unless disablePathToLower
    duplicate_resources: bool = False  # markup.goldmark.duplicateResourceFiles

    def lang_prefix(self, lang: str) -> str:
        """``"nl/"`` when pages of ``lang`` live in a language subdirectory, else ``""``."""
        if lang != self.default_language or self.default_in_subdir:
            return f"{lang}/"
        return ""

    def home_url(self, lang: str) -> str:
        return f"{self.base_url}{self.lang_prefix(lang)}"

    @property
    def by_directory(self) -> bool:
        """True for the one-content-directory-per-language layout."""
        return len(set(self.content_dirs.values())) > 1


def read_hugo_config(root: Path, *, base_url: str = "", languages: Sequence[str] = (),
                     timezone: str = "") -> HugoConfig:
    """Read the site config under ``root``; the caller's ``base_url``/``languages`` win.

    A site without any config file is fine: the languages then come from the caller or from
    two-letter directories under ``content/``. Raises :class:`ConfigError` for a file that
    cannot be parsed, naming the file and line, and for a site without an absolute base URL.
    """
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"Hugo site directory not found: {root}", path=root)
    raw = _load_merged(root)
    langs_cfg = _lower_keys(raw.get("languages") or {})
    content_root = root / str(raw.get("contentdir") or "content")
    langs, default = _languages(raw, langs_cfg, languages, content_root)
    return HugoConfig(
        root=root,
        base_url=_base_url(root, base_url, str(raw.get("baseurl") or "")),
        default_language=default,
        default_in_subdir=bool(raw.get("defaultcontentlanguageinsubdir", False)),
        languages=langs,
        content_dirs=_content_dirs(root, content_root, langs, langs_cfg),
        titles={lang: _clean_title(langs_cfg.get(lang, {}).get("title") or raw.get("title"))
                for lang in langs},
        timezone=timezone or str(raw.get("timezone") or DEFAULT_TIMEZONE),
        lowercase_paths=not bool(raw.get("disablepathtolower", False)),
        duplicate_resources=bool(((raw.get("markup") or {}).get("goldmark") or {})
                                 .get("duplicateresourcefiles", False)),
    )


def _load_merged(root: Path) -> dict[str, Any]:
    """The config directory's settings with the root config file laid over them."""
    merged: dict[str, Any] = {}
    config_dir = root / "config" / "_default"
    if config_dir.is_dir():
        for path in sorted(config_dir.iterdir()):
            if path.suffix in CONFIG_SUFFIXES and path.is_file():
                _deep_merge(merged, _place(path.stem.lower(), _parse_file(path)))
    for name in ROOT_CONFIG_NAMES:
        path = root / name
        if path.is_file():
            _deep_merge(merged, _lower_keys(_parse_file(path)))
            break
    return merged


def _place(stem: str, data: dict[str, Any]) -> dict[str, Any]:
    """Where the keys of ``config/_default/<stem>.*`` belong in the merged config."""
    data = _lower_keys(data)
    if stem in ("hugo", "config"):
        return data
    key, _, lang = stem.partition(".")
    if not lang:
        return {key: data}
    if key == "languages":
        return {"languages": {lang: data}}
    return {"languages": {lang: {key: data}}}  # e.g. menus.nl.toml


def _parse_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read Hugo config: {exc}", path=path) from exc
    try:
        data: Any
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text) or {}
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        raise ConfigError(f"invalid TOML: {exc}", path=path,
                          line=int(found.group(1)) if found else None) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"invalid YAML: {exc}", path=path,
                          line=mark.line + 1 if mark else None) from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc.msg}", path=path, line=exc.lineno) from exc
    if not isinstance(data, dict):
        raise ConfigError("a Hugo config file must hold a table of settings", path=path)
    return data


def _languages(raw: Mapping[str, Any], langs_cfg: Mapping[str, Any], given: Sequence[str],
               content_root: Path) -> tuple[tuple[str, ...], str]:
    """The site's languages in order, and the default one."""
    configured_default = str(raw.get("defaultcontentlanguage") or "").lower()
    if given:
        names = list(dict.fromkeys(lang.lower() for lang in given))
    elif langs_cfg:
        names = list(langs_cfg)
    else:
        names = _language_dirs(content_root) or [configured_default or "en"]
    default = configured_default if configured_default in names else names[0]

    def order(item: tuple[int, str]) -> tuple[int, bool, int]:
        index, lang = item
        settings = langs_cfg.get(lang) or {}
        return int(settings.get("weight") or 0), lang != default, index

    ranked = sorted(enumerate(names), key=order)
    return tuple(lang for _, lang in ranked), default


def _language_dirs(content_root: Path) -> list[str]:
    if not content_root.is_dir():
        return []
    return sorted(p.name for p in content_root.iterdir() if p.is_dir() and _LANG_DIR.match(p.name))


def _content_dirs(root: Path, content_root: Path, langs: Sequence[str],
                  langs_cfg: Mapping[str, Any]) -> dict[str, Path]:
    """Per-language ``contentDir`` settings, else ``content/<lang>`` when every language has
    one, else the shared ``content/`` of the file-name-suffix layout."""
    configured = {lang: (langs_cfg.get(lang) or {}).get("contentdir") for lang in langs}
    if any(configured.values()):
        return {lang: root / str(configured[lang] or content_root) for lang in langs}
    if all((content_root / lang).is_dir() for lang in langs):
        return {lang: content_root / lang for lang in langs}
    return {lang: content_root for lang in langs}


def _base_url(root: Path, given: str, configured: str) -> str:
    """The site's absolute base URL with exactly one trailing slash: the caller's (postduif.toml
    ``[site] base_url``), else Hugo's ``baseURL``. A mail client has no page to resolve a
    relative link against, so a site without one, or with a path only (``/``), is an error."""
    url = (given or configured).strip()
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return url.rstrip("/") + "/"
    where = _config_file(root)
    problem = f"its baseURL {url!r} is not an absolute http(s) address" if url else \
        "it has no baseURL"
    raise ConfigError(
        f"the Hugo site's links cannot work in an email: {problem}", path=where,
        hint=f"set baseURL = \"https://...\" in {where.name} (Hugo's setting), or base_url "
        "under [site] in postduif.toml")


def _config_file(root: Path) -> Path:
    """The file that holds (or should hold) the site's root settings."""
    for name in ROOT_CONFIG_NAMES:
        if (root / name).is_file():
            return root / name
    return root / ROOT_CONFIG_NAMES[0]


def _clean_title(value: Any) -> str:
    """Site titles use ``&shy;`` to hint line breaks on the web; a mail subject wants none."""
    if value is None:
        return ""
    return html.unescape(str(value)).replace("\u00ad", "").strip()


def _lower_keys(data: Any) -> Any:
    if isinstance(data, dict):
        return {str(key).lower(): _lower_keys(value) for key, value in data.items()}
    return data


def _deep_merge(target: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = value
