"""Expanding Hugo shortcodes into Markdown/HTML before the Markdown is rendered.

Expanding first is what makes ``{{% pull-quote %}} *inner* {{% / pull-quote %}}`` come out as
rendered Markdown. A shortcode is paired when a matching closing tag follows (every spacing the
real site uses: ``{{< /button >}}``, ``{{</button >}}``, ``{{% / pull-quote %}}`` ...), and
self-closing otherwise. Nothing that looks like ``{{<`` or ``{{%`` survives: unknown shortcodes
keep their inner content, stray closing tags are dropped, each with a warning.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path

from postduif.content.fragments import Fragment
from postduif.content.shortcode_handlers import HANDLERS, Call, Context
from postduif.problems import Problem, error, warning

_TAG = re.compile(
    r"\{\{(?P<esc_open>[<%])/\*(?P<escaped>.*?)\*/(?P<esc_close>[>%])\}\}"
    r"|\{\{(?P<delim>[<%])\s*(?P<slash>/)?\s*(?P<name>[\w./-]*)"
    r"(?P<args>(?:[^>%\"`]|\"(?:[^\"\\]|\\.)*\"|`[^`]*`|[>%](?!\}\}))*?)\s*[>%]\}\}",
    re.S,
)
_ARG = re.compile(r"(?:([\w-]+)\s*=\s*)?(\"(?:[^\"\\]|\\.)*\"|`[^`]*`|[^\s\"`]+)")
_LEFTOVER = re.compile(r"\{\{[<%]")
# Code as Markdown reads it: fenced blocks (to their closing fence or the end) and inline spans.
_CODE = re.compile(
    r"^[ ]{0,3}(?P<fence>`{3,}|~{3,})[^\n]*\n.*?(?:^[ ]{0,3}(?P=fence)[ \t]*$|\Z)"
    r"|(?<!`)(?P<ticks>`+)(?!`)(?:[^\n]|\n(?![ \t]*\n))+?(?<!`)(?P=ticks)(?!`)",
    re.M | re.S,
)
# Shortcodes whose whole point is their inner content: written without a closing tag, the
# text meant to be inside them would silently end up after them.
PAIRED = frozenset({"alert", "lead", "pull-quote", "carousel"})


@dataclass(frozen=True)
class Tag:
    start: int
    end: int
    line: int
    name: str
    closing: bool
    self_closing: bool  # written as {{< name />}}
    args: str
    literal: str | None  # an escaped {{</* name */>}} stands for the text {{< name >}}


def expand(body: str, body_line: int, ctx: Context, source: Path,
           problems: list[Problem]) -> Fragment:
    """``body`` with every shortcode replaced by its Markdown/HTML."""
    return _Expander(body, body_line, ctx, source, problems).run()


class _Expander:
    def __init__(self, body: str, body_line: int, ctx: Context, source: Path,
                 problems: list[Problem]) -> None:
        self.body = body
        self.body_line = body_line
        self.ctx = ctx
        self.source = source
        self.problems = problems
        self.newlines = [found.start() for found in re.finditer("\n", body)]
        self.code = [(found.start(), found.end()) for found in _CODE.finditer(body)]
        self.tags = self._tokenize()
        self.pairs = self._match()

    def run(self) -> Fragment:
        return self._range(0, len(self.body), 0, len(self.tags))

    def line_at(self, pos: int) -> int:
        return self.body_line + bisect.bisect_left(self.newlines, pos)

    def in_code(self, pos: int) -> bool:
        """Whether ``pos`` lies in a code block or span, where a shortcode is shown as text."""
        return any(start <= pos < end for start, end in self.code)

    def _tokenize(self) -> list[Tag]:
        tags = []
        for found in _TAG.finditer(self.body):
            if found.group("escaped") is None and self.in_code(found.start()):
                continue
            start, end = self._own_line(found.start(), found.end())
            args = (found.group("args") or "").strip()
            literal = None
            if found.group("escaped") is not None:
                literal = "{{" + found.group("esc_open") + found.group("escaped") \
                    + found.group("esc_close") + "}}"
            tags.append(Tag(start, end, self.line_at(found.start()),
                            found.group("name") or "", bool(found.group("slash")),
                            args.endswith("/"), args.removesuffix("/").strip(), literal))
        return tags

    def _own_line(self, start: int, end: int) -> tuple[int, int]:
        """A tag alone on its line takes the line's indentation with it, so that an indented
        ``{{< carousel-item >}}`` does not turn into an indented code block."""
        line_start = self.body.rfind("\n", 0, start) + 1
        line_end = self.body.find("\n", end)
        line_end = len(self.body) if line_end < 0 else line_end
        if self.body[line_start:start].strip() or self.body[end:line_end].strip():
            return start, end
        return line_start, end

    def _match(self) -> dict[int, int]:
        """Opening tag index -> closing tag index; an opening tag without one is self-closing."""
        pairs: dict[int, int] = {}
        stack: list[int] = []
        for index, tag in enumerate(self.tags):
            if tag.literal is not None or tag.self_closing or not tag.name:
                continue
            if not tag.closing:
                stack.append(index)
                continue
            opener = next((i for i in range(len(stack) - 1, -1, -1)
                           if self.tags[stack[i]].name == tag.name), None)
            if opener is not None:
                pairs[stack[opener]] = index
                del stack[opener:]
        self._unclosed_pairs(pairs)
        return pairs

    def _unclosed_pairs(self, pairs: dict[int, int]) -> None:
        for index, tag in enumerate(self.tags):
            if (tag.name in PAIRED and not tag.closing and not tag.self_closing
                    and tag.literal is None and index not in pairs):
                self._error("unclosed-shortcode", f"shortcode {tag.name!r} is never closed; "
                            f"end its content with a closing tag like {{{{< /{tag.name} >}}}}",
                            tag.line)

    def _range(self, start: int, end: int, first: int, stop: int) -> Fragment:
        parts: list[Fragment] = []
        pos, index = start, first
        while index < stop:
            tag = self.tags[index]
            parts.append(self._text(pos, tag.start))
            if index in self.pairs:
                close = self.pairs[index]
                inner = self._range(tag.end, self.tags[close].start, index + 1, close)
                parts.append(self._call(tag, inner))
                pos, index = self.tags[close].end, close + 1
                continue
            parts.append(self._single(tag))
            pos, index = tag.end, index + 1
        parts.append(self._text(pos, end))
        return Fragment.join(parts)

    def _text(self, start: int, end: int) -> Fragment:
        text = self.body[start:end]
        for found in _LEFTOVER.finditer(text):
            at = start + found.start()
            if self.in_code(at):
                continue
            if "}}" not in self.body[at + 3:].split("{{", 1)[0]:
                self._error("unclosed-shortcode", "shortcode tag is never closed (no '>}}' "
                            "or '%}}' before the next tag)", self.line_at(at))
            else:
                self._warn("malformed-shortcode", "cannot read this shortcode tag; it is "
                           "shown escaped", self.line_at(at))
        return Fragment.verbatim(text, self.line_at(start))

    def _single(self, tag: Tag) -> Fragment:
        if tag.literal is not None:
            return Fragment.generated(tag.literal, tag.line)
        if tag.closing:
            self._warn("stray-shortcode-close",
                       f"closing shortcode tag '/{tag.name}' without an opening one "
                       "(dropped)", tag.line)
            return Fragment.generated("", tag.line)
        return self._call(tag, None)

    def _call(self, tag: Tag, inner: Fragment | None) -> Fragment:
        if not tag.name:
            self._warn("empty-shortcode", "empty shortcode tag (dropped)", tag.line)
            return inner or Fragment.generated("", tag.line)
        named, positional = parse_args(tag.args)
        call = Call(tag.name, named, positional, inner, self.source, tag.line, self.problems)
        handler = HANDLERS.get(tag.name)
        if handler is not None:
            pieces = handler(call, self.ctx)
        else:
            snippet = self.ctx.snippet(tag.name)
            if snippet is None:
                self._warn("unknown-shortcode", f"unknown shortcode {tag.name!r}; only its "
                           "inner content is kept", tag.line)
                return inner or Fragment.generated("", tag.line)
            pieces = ["\n\n", snippet.strip(), "\n\n", inner or ""]
        return Fragment.join(
            piece if isinstance(piece, Fragment) else Fragment.generated(piece, tag.line)
            for piece in pieces)

    def _warn(self, code: str, message: str, line: int) -> None:
        self.problems.append(warning(code, message, self.source, line))

    def _error(self, code: str, message: str, line: int) -> None:
        self.problems.append(error(code, message, self.source, line))


def parse_args(text: str) -> tuple[dict[str, str], list[str]]:
    """Hugo shortcode parameters: ``name="value"`` pairs and positional values."""
    named: dict[str, str] = {}
    positional: list[str] = []
    for found in _ARG.finditer(text):
        key, value = found.group(1), _unquote(found.group(2))
        if key:
            named[key] = value
        else:
            positional.append(value)
    return named, positional


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    if len(value) >= 2 and value[0] == value[-1] == "`":
        return value[1:-1]
    return value
