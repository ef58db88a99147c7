"""One rate limit shared by every worker: at most so many messages per second and per hour.

Providers state limits like "10 per second, 500 per hour". The per-second part is spread evenly
(one slot every ``1 / per_second`` s) rather than allowing a burst; the per-hour part is a
sliding window over the last hour's send times, so no 60-minute window ever holds more than
``per_hour`` messages (a plain token bucket refilled per hour would allow twice that across an
hour boundary). The workers share one event loop, so reserving a slot needs no lock.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

HOUR = 3600.0


@dataclass(frozen=True)
class RateLimit:
    """Messages per second and per hour; 0 means unlimited."""

    per_second: float = 0.0
    per_hour: float = 0.0


class RateLimiter:
    """Hands out send times that respect a :class:`RateLimit`."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1.0 / limit.per_second if limit.per_second > 0 else 0.0
        self._per_hour = int(limit.per_hour)
        self._clock = clock
        self._next = 0.0
        self._window: deque[float] = deque()

    def reserve(self) -> float:
        """Book the next free slot and return how many seconds until it comes."""
        now = self._clock()
        at = max(now, self._next)
        if self._per_hour:
            if len(self._window) >= self._per_hour:
                at = max(at, self._window.popleft() + HOUR)
            self._window.append(at)
        self._next = at + self._interval
        return at - now

    @property
    def limited(self) -> bool:
        """Whether there is any limit at all."""
        return bool(self._interval or self._per_hour)

    async def acquire(self) -> None:
        """Wait for the next free slot (returns at once when unlimited)."""
        if self.limited:
            wait = self.reserve()
            if wait > 0:
                await asyncio.sleep(wait)
