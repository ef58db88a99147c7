"""How long a temporarily refused message waits before its next attempt.

Exponential, so a struggling server gets room to recover, with jitter, so that rows deferred
together (a greylisting server defers a whole batch at once) do not all come back in the same
instant. The wait is stored in the ledger as the row's ``not_before``; other rows go ahead
meanwhile, and a resumed run honours it too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

_RANDOM = random.Random()


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` in all (the first included) before a temporary failure becomes final."""

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 60.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        Equal jitter: at least half the exponential step, so retries never come back at once,
        and at most the full step, so the cap holds.
        """
        step = min(self.max_delay, self.base_delay * 2.0 ** max(attempt - 1, 0))
        return step / 2 + (rng or _RANDOM).uniform(0, step / 2)
