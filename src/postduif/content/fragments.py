"""Text that remembers which source line each of its lines came from.

Shortcodes are expanded before Markdown, which changes the number of lines; problems found
later (a missing image, say) must still name the line of the original file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Fragment:
    text: str
    lines: tuple[int, ...]  # source line of each line of ``text``

    @classmethod
    def verbatim(cls, text: str, line: int) -> Fragment:
        """Source text starting at ``line``: its lines follow the file."""
        return cls(text, tuple(range(line, line + text.count("\n") + 1)))

    @classmethod
    def generated(cls, text: str, line: int) -> Fragment:
        """Text made by a shortcode: every line of it belongs to the shortcode's line."""
        return cls(text, (line,) * (text.count("\n") + 1))

    @classmethod
    def join(cls, parts: Iterable[Fragment]) -> Fragment:
        """Concatenate; the first line of each part continues the last line of the one before."""
        texts: list[str] = []
        lines: list[int] = []
        for part in parts:
            texts.append(part.text)
            lines.extend(part.lines if not lines else part.lines[1:])
        return cls("".join(texts), tuple(lines))

    def source_line(self, index: int) -> int:
        """The source line of line ``index`` (0-based) of the text."""
        if not self.lines:
            return 1
        return self.lines[min(max(index, 0), len(self.lines) - 1)]
