"""Where each key of a TOML file sits, so an error about a key can name its line.

tomllib returns plain dicts without positions; campaign files and ``postduif.toml`` both want
"file:line" in their messages, so both ask this one scanner.
"""

from __future__ import annotations

import re

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
