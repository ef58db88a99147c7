"""Where each key of a TOML file sits, so an error about a key can name its line.

tomllib returns plain dicts without positions; campaign files, list files and ``postduif.toml``
all want "file:line" in their messages, so all ask this one scanner.
"""

from __future__ import annotations

import re
import tomllib

_KEY_LINE = re.compile(r"^\s*(?:\[(?P<table>[\w.-]+)\]|(?P<key>[\w-]+)\s*=)")


def key_lines(text: str) -> dict[str, int]:
    """Map ``key`` and ``table.key`` to their 1-based line (tables to their header's line)."""
    lines: dict[str, int] = {}
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        match = _KEY_LINE.match(line)
        if not match:
            continue
        if match["table"]:
            table = match["table"]
            lines.setdefault(table, number)
        else:
            lines.setdefault(f"{table}.{match['key']}" if table else match["key"], number)
    return lines


def error_line(exc: tomllib.TOMLDecodeError | UnicodeDecodeError) -> int | None:
    """The line tomllib names in its message ("... (at line 3, column 8)"), for "file:line"."""
    match = re.search(r"at line (\d+)", str(exc))
    return int(match.group(1)) if match else None
