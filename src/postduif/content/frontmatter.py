"""Split a content file into front matter and body, keeping line numbers.

Parsed here rather than with python-frontmatter because every finding has to point at a line of
the source file: where the YAML/TOML parser stopped, where a front matter key sits, and where
the Markdown body begins.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from typing import Any

import yaml

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

_KEY_LINE = re.compile(r"^[\"']?([A-Za-z_][\w-]*)[\"']?\s*[:=]")
_TOML_LINE = re.compile(r"line (\d+)")
_FENCES = {"---": ("---", "..."), "+++": ("+++",)}


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
    lines = text.split("\n")
    opener = lines[0].rstrip()
    if opener in _FENCES:
        return _fenced(lines, opener)
    if text.startswith("{"):
        return _json(text)
    return FrontMatter({}, text, 1, {})


def _fenced(lines: list[str], opener: str) -> FrontMatter:
    closers = _FENCES[opener]
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in closers), None)
    if end is None:
        raise FrontMatterError(f"front matter opened with {opener!r} is never closed", 1)
    source = "\n".join(lines[1:end])
    params = _parse_yaml(source) if opener == "---" else _parse_toml(source, end + 1)
    key_lines: dict[str, int] = {}
    for number, line in enumerate(lines[1:end], start=2):
        found = _KEY_LINE.match(line)
        if found:
            key_lines.setdefault(found.group(1), number)
    return FrontMatter(params, "\n".join(lines[end + 1:]), end + 2, key_lines)


def _parse_yaml(source: str) -> dict[str, Any]:
    try:
        data = yaml.load(source, Loader=_Loader)
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


def _parse_toml(source: str, closing_line: int) -> dict[str, Any]:
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        line = int(found.group(1)) + 1 if found else closing_line
        raise FrontMatterError(f"invalid TOML front matter: {exc}", line) from exc
    return data


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
