"""Findings about content and campaigns that do not stop the pipeline by themselves.

Reading content never raises for things like an unknown shortcode: it records a
:class:`Problem` with the file and line, keeps going, and lets ``postduif check`` (or the build
summary) decide what to do with it. Errors fail ``check``; warnings are shown but do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    """One finding, pointing at the file and (1-based) line it comes from where known."""

    path: Path | None
    line: int | None
    severity: Severity
    code: str  # short stable identifier, e.g. "unknown-shortcode", for filtering and tests
    message: str

    def location(self) -> str:
        if self.path is None:
            return "-"
        return str(self.path) if self.line is None else f"{self.path}:{self.line}"

    def __str__(self) -> str:
        return f"{self.location()}: {self.severity.value}: {self.message} [{self.code}]"


def error(code: str, message: str, path: Path | None = None, line: int | None = None) -> Problem:
    return Problem(path, line, Severity.ERROR, code, message)


def warning(code: str, message: str, path: Path | None = None, line: int | None = None) -> Problem:
    return Problem(path, line, Severity.WARNING, code, message)


def has_errors(problems: list[Problem] | tuple[Problem, ...]) -> bool:
    return any(p.severity is Severity.ERROR for p in problems)
