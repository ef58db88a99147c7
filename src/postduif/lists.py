"""List definitions: ``lists/<name>.toml``, one file per list.

A list definition says what people signed up for (title and description per language), how
they join (single or double opt-in, organiser approval) and which templates greet them. The
subscribers themselves live in the store; this module only reads the definitions.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from postduif.errors import ConfigError
from postduif.toml_lines import error_line, key_lines

KEYS = ("name", "optin", "approval", "welcome_template", "confirm_template", "default_language",
        "consent_version", "also_subscribe", "title", "description")


@dataclass(frozen=True)
class ListDef:
    name: str
    source: Path
    titles: Mapping[str, str]
    descriptions: Mapping[str, str]
    optin: str  # "single" or "double"
    approval: bool
    welcome_template: str
    confirm_template: str
    default_language: str
    consent_version: str
    #: Lists an approved request also subscribes to (confirmed): the site's join page promises
    #: members the newsletter, so approving a member keeps that promise.
    also_subscribe: tuple[str, ...] = ()

    def title(self, lang: str) -> str:
        """The title in ``lang``, falling back to the list's default language, then its name."""
        return self.titles.get(lang) or self.titles.get(self.default_language) or self.name


def list_path(lists_dir: Path, name: str) -> Path:
    return lists_dir / f"{name}.toml"


def load_list(lists_dir: Path, name: str) -> ListDef:
    path = list_path(lists_dir, name)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        known = ", ".join(available_lists(lists_dir)) or "none"
        raise ConfigError(f"no list named {name!r} (known lists: {known})", path=path) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=path, line=error_line(exc)) from None
    _refuse_unknown(data, path, text)
    optin = str(data.get("optin", "double"))
    if optin not in ("single", "double"):
        raise ConfigError("optin must be 'single' or 'double'", path=path)
    return ListDef(
        name=str(data.get("name", name)),
        source=path,
        titles=dict(data.get("title", {})),
        descriptions=dict(data.get("description", {})),
        optin=optin,
        approval=bool(data.get("approval", False)),
        welcome_template=str(data.get("welcome_template", "welcome")),
        confirm_template=str(data.get("confirm_template", "confirm")),
        default_language=str(data.get("default_language", "nl")),
        consent_version=str(data.get("consent_version", "")),
        also_subscribe=_also_subscribe(data, lists_dir, path, text),
    )


def _also_subscribe(data: Mapping[str, object], lists_dir: Path, path: Path,
                    text: str) -> tuple[str, ...]:
    also = data.get("also_subscribe", [])
    line = key_lines(text).get("also_subscribe")
    if not isinstance(also, list) or not all(isinstance(n, str) for n in also):
        raise ConfigError('also_subscribe must be a list of list names, like ["nieuwsbrief"]',
                          path=path, line=line)
    for other in also:
        if not list_path(lists_dir, other).is_file():
            known = ", ".join(available_lists(lists_dir))
            raise ConfigError(f"also_subscribe names {other!r}, which is no list (known lists: "
                              f"{known})", path=path, line=line)
    return tuple(also)


def _refuse_unknown(data: Mapping[str, object], path: Path, text: str) -> None:
    """A misspelt key would otherwise be ignored without a word."""
    for key in data:
        if key not in KEYS:
            near = difflib.get_close_matches(key, KEYS, n=1)
            hint = f"; did you mean {near[0]}?" if near else f" (known: {', '.join(KEYS)})"
            raise ConfigError(f"unknown key {key!r}{hint}", path=path,
                              line=key_lines(text).get(key))


def available_lists(lists_dir: Path) -> list[str]:
    return sorted(p.stem for p in lists_dir.glob("*.toml"))
