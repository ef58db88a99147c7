"""The send ledger seen from the engine: snapshot a campaign, read back where it stands.

The SQL is in the store (``postduif.store.ledger``); this module turns its rows into the values
the CLI prints.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from postduif.store import LEDGER_STATES, Store


@dataclass(frozen=True)
class VariantCounts:
    """Rows of one variant (or of the whole campaign, ``variant="*"``) per state."""

    variant: str
    queued: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return (self.queued + self.sending + self.sent + self.failed + self.unknown
                + self.skipped)

    @property
    def remaining(self) -> int:
        """Still to be delivered by a plain later run."""
        return self.queued

    @property
    def uncertain(self) -> int:
        """May or may not have arrived: ``unknown``, and ``sending`` rows not yet checked.

        A row left ``sending`` (a crash, or a run in progress) had its data on the way; the
        next run marks it unknown, so it is never counted as still to be sent.
        """
        return self.unknown + self.sending


@dataclass(frozen=True)
class Failure:
    """A row that did not end as sent: failed for good, or unknown (may have arrived), or
    still ``sending`` (unknown, not yet checked)."""

    email: str
    variant: str
    state: str
    code: int | None
    reply: str


@dataclass(frozen=True)
class LedgerStatus:
    campaign: str
    list: str | None  # None: the campaign was never started
    started_at: str | None
    paused: str | None  # the 5.7.x reply of the last run, if it paused the campaign
    variants: tuple[VariantCounts, ...]
    failures: tuple[Failure, ...]

    @property
    def totals(self) -> VariantCounts:
        """All variants added up."""
        sums = {state: sum(getattr(v, state) for v in self.variants) for state in LEDGER_STATES}
        return VariantCounts("*", **sums)


def start_campaign(store: Store, campaign: str, list: str,
                   targets: Iterable[tuple[str, str, str]]) -> int:
    """Snapshot ``(email, name, variant)`` rows as queued, once; return the number of rows.

    If the campaign already has a ledger nothing changes (``targets`` is not even read): a
    resume never changes who gets the campaign, even if the list changed meanwhile.
    """
    return store.start_ledger(campaign, list, targets)


def ledger_status(store: Store, campaign: str) -> LedgerStatus:
    """Counts per variant and state, and every row that failed or is unknown."""
    record = store.ledger_campaign(campaign)
    counts: dict[str, dict[str, int]] = {}
    for variant, state, number in store.ledger_counts(campaign):
        counts.setdefault(variant, {})[state] = number
    failures = tuple(Failure(e.email, e.variant, e.state, e.last_code, e.last_reply)
                     for e in store.ledger_entries(campaign, ("failed", "unknown", "sending")))
    return LedgerStatus(
        campaign=campaign,
        list=None if record is None else record.list,
        started_at=None if record is None else record.started_at,
        paused=None if record is None else record.paused_reply,
        variants=tuple(VariantCounts(v, **states) for v, states in counts.items()),
        failures=failures,
    )
