"""What looking a URL up found, the same for Hugo's output folder and for the live site.

Callers that must not go on with an unpublished URL (``send`` with image renditions that are
not live yet) only need :func:`not_published`; ``check`` turns each status into a problem.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    OK = "ok"
    MISSING = "missing"
    """No such file in the output folder; an HTTP 4xx answer."""
    UNREACHABLE = "unreachable"
    """No usable answer: refused connection, a 5xx, too slow, a redirect loop."""
    OFFSITE = "offsite"
    """Redirects to another host, which is not followed (not checked)."""
    UNCHECKED = "unchecked"
    """The total time limit ran out before the URL's turn came or its answer did."""


@dataclass(frozen=True)
class UrlStatus:
    url: str
    state: State
    detail: str = ""
    """Why it is not OK, in words: "public/en/x.png does not exist", "HTTP 404"."""

    @property
    def ok(self) -> bool:
        return self.state is State.OK


def not_published(statuses: Iterable[UrlStatus]) -> list[UrlStatus]:
    """The URLs that could not be shown to be published: missing, unreachable, redirected
    elsewhere or left unchecked. Nothing unknown passes as published."""
    return [s for s in statuses if not s.ok]
