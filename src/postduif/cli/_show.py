"""Printing values that came from outside (files, the join form, the store, a server) literally.

Rich reads ``[bold]`` and ``[link=...]`` in a printed string as markup, so a join request could
hide a link from the organiser vetting it; a CR, an ESC or a bidi control in a value can
overwrite a line, move the cursor or reverse the text around it. Every command builds its output
with :func:`literal`: a ``rich.text.Text`` (never parsed as markup, never highlighted) in which
those characters are shown as escapes (``\\r``, ``\\n``, ``\\x1b``, ``\\u202e``).
"""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # rich is imported on the first line printed through it (see Output)
    from rich.console import Console
    from rich.text import Text

# C0 and C1 controls, DEL, line and paragraph separators, and the bidi controls that reorder text.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
                      "\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

JsonOption = Annotated[bool, typer.Option(
    "--json", help="Print JSON with the keys README documents, for scripts.")]
Part = object | tuple[object, str]


def visible(value: object) -> str:
    """``str(value)`` with every control character written as its escape, on one line."""
    return _CONTROL.sub(_escape, str(value))


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def literal(*parts: Part) -> Text:
    """One line of output from parts: a ``(value, style)`` pair is postduif's own emphasis
    around a value; anything else is a value, shown as it is."""
    from rich.text import Text

    text = Text()
    for part in parts:
        if isinstance(part, tuple):
            text.append(visible(part[0]), style=part[1])
        else:
            text.append(visible(part))
    return text


def print_json(data: object) -> None:
    """``--json`` output: one JSON document on standard output, for scripts and cron jobs."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


class Output:
    """Standard output or standard error, through a rich ``Console`` made on first use.

    ``postduif --version`` and ``--help`` print nothing through rich, so they need not import
    it: rich's console, text and tables were a fifth of their start-up (bench/startup.py).
    """

    def __init__(self, *, stderr: bool = False) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
        return self._console

    def print(self, *objects: object, markup: bool | None = None,
              highlight: bool | None = None, soft_wrap: bool | None = None) -> None:
        """``Console.print`` with the options postduif's own lines use."""
        self.console.print(*objects, markup=markup, highlight=highlight, soft_wrap=soft_wrap)


def say(output: Output, *parts: Part) -> None:
    """Print one :func:`literal` line, never wrapped (a long address stays on its line)."""
    output.print(literal(*parts), soft_wrap=True)


def cells(*values: object) -> list[Text]:
    """A table row of values, each shown literally (rich parses a plain string cell as markup)."""
    return [literal(value) for value in values]
