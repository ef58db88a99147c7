"""The interface strings of the templates (``templates/strings.toml``), one table per language.

Checked once when the renderer starts: a key missing in one language would otherwise surface
only when that language's email is rendered, maybe in the middle of a send.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from postduif.errors import RenderError

Strings = dict[str, Any]
"""One language's table: key -> string (or list of strings, e.g. paragraphs)."""


def load_strings(path: Path) -> dict[str, Strings]:
    """Read and check ``strings.toml``: language -> table, all tables with the same keys."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RenderError("interface strings file is missing", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise RenderError(f"invalid TOML: {exc}", path=path) from None
    tables = {lang: table for lang, table in data.items() if isinstance(table, dict)}
    if not tables or len(tables) != len(data):
        raise RenderError("expected only tables, one per language, such as [nl]", path=path)
    _check_same_keys(path, tables)
    for lang, table in tables.items():
        for key, value in table.items():
            if not _is_text(value):
                raise RenderError(f"[{lang}] {key} must be a string or a list of strings",
                                  path=path)
    return tables


def _check_same_keys(path: Path, tables: dict[str, Strings]) -> None:
    every_key = set().union(*tables.values())
    for lang, table in tables.items():
        missing = sorted(every_key - table.keys())
        if missing:
            raise RenderError(f"[{lang}] lacks {', '.join(missing)}", path=path,
                              hint="every language needs the same keys")


def _is_text(value: object) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(item, str) for item in value))
