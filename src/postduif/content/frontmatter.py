"""Split a content file into front matter and body, keeping line numbers.

YAML (``---``) and TOML (``+++``) front matter go through python-frontmatter's handlers: their
boundary pattern finds the fences, their ``load`` parses what lies between. The handlers are
given here rather than guessed (``frontmatter.parse`` strips the text, which would shift every
line), so every finding can still point at a line of the source file: where the parser stopped,
where a key sits, where the Markdown body begins. JSON front matter (``{``) is one JSON value
read with :mod:`json`: python-frontmatter's JSON handler ends it at the first line holding only
``}``, which cuts a nested object in half.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from typing import Any

import yaml
from frontmatter.default_handlers import BaseHandler, YAMLHandler

try:
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class _Loader(_BaseLoader):
    """YAML without timestamp conversion: PyYAML raises on ``2026-99-99`` and accepts less
    than Hugo does, so dates stay text for :mod:`postduif.content.dates` to read."""


def _timestamp_as_text(loader: _Loader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


class _YamlHandler(YAMLHandler):
    def load(self, fm: str, **kwargs: object) -> Any:
        return super().load(fm, Loader=_Loader)


class _TomlHandler(BaseHandler):
    """python-frontmatter's own TOML handler needs the ``toml`` package; tomllib will do."""

    FM_BOUNDARY = re.compile(r"^\+{3,}\s*$", re.MULTILINE)
    START_DELIMITER = END_DELIMITER = "+++"

    def load(self, fm: str) -> dict[str, Any]:
        return tomllib.loads(fm)


_HANDLERS: dict[str, BaseHandler] = {"-": _YamlHandler(), "+": _TomlHandler()}
_KEY_LINE = re.compile(r"^[\"']?([A-Za-z_][\w-]*)[\"']?\s*[:=]")
#: tomllib's position, counted inside the front matter: the message names the file's line instead.
_TOML_POSITION = re.compile(r" \(at line (\d+), column \d+\)$")


class FrontMatterError(Exception):
    """Front matter that cannot be parsed, with the (1-based) line of the source file."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class FrontMatter:
    params: dict[str, Any]
    body: str
    body_line: int  # 1-based line of the file where ``body`` starts
    key_lines: dict[str, int]  # top-level key -> 1-based line of the file


def split_front_matter(text: str) -> FrontMatter:
    """Parse YAML (``---``), TOML (``+++``) or JSON (``{``) front matter off ``text``."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    handler = _HANDLERS.get(text[:1])
    if handler is not None and handler.detect(text):
        return _fenced(text, handler)
    if text.startswith("{"):
        return _json(text)
    return FrontMatter({}, text, 1, {})


def _fenced(text: str, handler: BaseHandler) -> FrontMatter:
    """The handler's boundary pattern finds the fences; the lines between are the front
    matter, the line after the closing one starts the body."""
    assert handler.FM_BOUNDARY is not None
    fences = list(handler.FM_BOUNDARY.finditer(text))
    if len(fences) < 2:
        raise FrontMatterError(f"front matter opened with {handler.START_DELIMITER!r} is "
                               "never closed", 1)
    closing = fences[1]  # its \s* may run over line ends: only where it starts counts
    source = text[text.index("\n") + 1:closing.start()].removesuffix("\n")
    closing_line = text.count("\n", 0, closing.start()) + 1
    params = _load(handler, source, closing_line)
    key_lines: dict[str, int] = {}
    for number, line in enumerate(source.split("\n"), start=2):
        found = _KEY_LINE.match(line)
        if found:
            key_lines.setdefault(found.group(1), number)
    newline = text.find("\n", closing.start())
    body = text[newline + 1:] if newline >= 0 else ""
    return FrontMatter(params, body, closing_line + 1, key_lines)


def _load(handler: BaseHandler, source: str, closing_line: int) -> dict[str, Any]:
    if isinstance(handler, _YamlHandler):
        return _parse_yaml(handler, source)
    return _parse_toml(handler, source, closing_line)


def _parse_yaml(handler: BaseHandler, source: str) -> dict[str, Any]:
    try:
        data = handler.load(source)
    except yaml.YAMLError as exc:
        mark = _error_mark(exc, len(source))
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise FrontMatterError(f"invalid YAML front matter: {problem}", line) from exc
    return _mapping(data, 1)


def _error_mark(exc: yaml.YAMLError, length: int) -> yaml.Mark | None:
    """Where to point for a YAML error: an error found only at the end of the front matter
    (an unclosed ``[``) is better shown where the unclosed thing started."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return None
    problem, context = exc.problem_mark, exc.context_mark
    if context is not None and (problem is None or problem.index >= length):
        return context
    return problem


def _parse_toml(handler: BaseHandler, source: str, closing_line: int) -> dict[str, Any]:
    try:
        data = handler.load(source)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_POSITION.search(str(exc))
        line = int(found.group(1)) + 1 if found else closing_line
        problem = _TOML_POSITION.sub("", str(exc))
        raise FrontMatterError(f"invalid TOML front matter: {problem}", line) from exc
    return _mapping(data, 1)


def _json(text: str) -> FrontMatter:
    try:
        data, end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        raise FrontMatterError(f"invalid JSON front matter: {exc.msg}", exc.lineno) from exc
    rest = text[end:]
    newline = rest.find("\n")
    body = rest[newline + 1:] if newline >= 0 else ""
    body_line = text[:end].count("\n") + (2 if newline >= 0 else 1)
    return FrontMatter(_mapping(data, 1), body, body_line, {})


def _mapping(data: Any, line: int) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FrontMatterError("front matter must be a mapping of keys to values", line)
    return {str(key): value for key, value in data.items()}
