"""List definitions: ``lists/<name>.toml``, one file per list.

A list definition says what people signed up for (title and description per language), how
they join (single or double opt-in, organiser approval) and which templates greet them. The
subscribers themselves live in the store; this module only reads the definitions.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from postduif.errors import ConfigError
from postduif.toml_lines import error_line


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

    def title(self, lang: str) -> str:
        """The title in ``lang``, falling back to the list's default language, then its name."""
        return self.titles.get(lang) or self.titles.get(self.default_language) or self.name


def list_path(lists_dir: Path, name: str) -> Path:
    return lists_dir / f"{name}.toml"


def load_list(lists_dir: Path, name: str) -> ListDef:
    path = list_path(lists_dir, name)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = ", ".join(available_lists(lists_dir)) or "none"
        raise ConfigError(f"no list named {name!r} (known lists: {known})", path=path) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=path, line=error_line(exc)) from None
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
    )


def available_lists(lists_dir: Path) -> list[str]:
    return sorted(p.stem for p in lists_dir.glob("*.toml"))
