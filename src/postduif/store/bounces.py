"""Bounce and complaint reports: which were handled, and what each said about whom.

* ``bounce_reports`` holds the key of every report ``postduif bounces`` acted on (or chose to
  ignore: an auto-reply, a report about an address never mailed), so running it twice changes
  nothing the second time. A report that was not understood is not recorded: it stays in the
  mailbox and is listed again until someone deals with it.
* ``bounce_events`` keeps one row per address a report names: the relay's raw reason, the
  status code, and the campaign and variant when the report could be tied to one. Soft bounces
  are counted from here (by the report's own date, so a backlog read late still counts in the
  days it happened), and ``status`` and ``subscribers show`` read it. A row belongs to a
  subscriber and goes with them when they are forgotten (the raw reason holds the address).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from postduif.store.db import stamp
from postduif.store.ledger import LedgerStore
from postduif.store.subscribers import _SUBSCRIBER_SELECT, Subscriber, _key, _subscriber

BOUNCE_KINDS = ("hard", "soft", "complaint")

BOUNCE_SCHEMA = """
CREATE TABLE bounce_reports (
    key TEXT PRIMARY KEY,
    handled_at TEXT NOT NULL,
    kind TEXT NOT NULL,
    outcome TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE bounce_events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    reported_at TEXT NOT NULL,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    campaign TEXT,
    variant TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('hard', 'soft', 'complaint')),
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    report TEXT NOT NULL,
    matched_by TEXT NOT NULL
);
CREATE INDEX bounce_events_by_subscriber ON bounce_events (subscriber_id, kind, reported_at);
CREATE INDEX bounce_events_by_campaign ON bounce_events (campaign, variant, kind);
"""


#: Appended by ``0007_ledger_by_email``: whether we sent to an address lately, asked once per
#: address a report names alone (``sent_to``), without reading the whole ledger each time.
LEDGER_BY_EMAIL_SCHEMA = """
CREATE INDEX ledger_by_email ON ledger (email, state, updated_at);
"""


@dataclass(frozen=True)
class BounceEvent:
    """One address named by one report, as recorded."""

    at: str  # when postduif recorded it
    reported_at: str  # the report's own date (``at`` if it had none)
    email: str
    campaign: str | None  # None: matched by address alone
    variant: str | None
    kind: str  # one of BOUNCE_KINDS
    status: str  # "5.1.1", or "" when the report gave none
    reason: str  # the relay's words, unaltered
    report: str  # the report's key
    matched_by: str  # "verp", "message-id" or "address"


class BounceStore(LedgerStore):
    """The bounce reports and events, and the few lookups matching a report needs."""

    def report_handled(self, key: str) -> bool:
        row = self._conn.execute("SELECT 1 FROM bounce_reports WHERE key = ?", (key,))
        return row.fetchone() is not None

    def record_report(self, key: str, *, kind: str, outcome: str) -> None:
        """Remember that a report was dealt with; a second record of one key is a no-op."""
        with self.transaction():
            self._conn.execute("INSERT OR IGNORE INTO bounce_reports (key, handled_at, kind, "
                               "outcome) VALUES (?, ?, ?, ?)", (key, self._now(), kind, outcome))

    def record_bounce(self, subscriber_id: int, event: BounceEvent) -> None:
        """One event; ``event.at`` is replaced by the store's clock."""
        if event.kind not in BOUNCE_KINDS:
            raise ValueError(f"unknown bounce kind {event.kind!r}")
        with self.transaction():
            self._conn.execute(
                "INSERT INTO bounce_events (at, reported_at, subscriber_id, email, campaign, "
                "variant, kind, status, reason, report, matched_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self._now(), event.reported_at, subscriber_id, _key(event.email),
                 event.campaign, event.variant, event.kind, event.status, event.reason,
                 event.report, event.matched_by))

    def soft_bounce_dates(self, subscriber_id: int, since: datetime,
                          until: datetime) -> list[datetime]:
        """The dates of one subscriber's soft bounces reported from ``since`` up to ``until``,
        oldest first."""
        rows = self._conn.execute(
            "SELECT reported_at FROM bounce_events WHERE subscriber_id = ? AND kind = 'soft' "
            "AND reported_at >= ? AND reported_at <= ? ORDER BY reported_at",
            (subscriber_id, stamp(since), stamp(until)))
        return [datetime.fromisoformat(at) for at, in rows]

    def bounce_counts(self, campaign: str) -> list[tuple[str, str, int]]:
        """``(variant, kind, number)`` of a campaign's events, sorted; a variant is "" when
        the event was tied to the campaign without one."""
        rows = self._conn.execute(
            "SELECT coalesce(variant, ''), kind, COUNT(*) FROM bounce_events "
            "WHERE campaign = ? GROUP BY 1, 2 ORDER BY 1, 2", (campaign,))
        return [(str(v), str(k), int(n)) for v, k, n in rows]

    def bounces_of(self, email: str) -> list[BounceEvent]:
        """Every event recorded for one address, oldest first."""
        rows = self._conn.execute(
            "SELECT at, reported_at, email, campaign, variant, kind, status, reason, report, "
            "matched_by FROM bounce_events WHERE email = ? ORDER BY reported_at, id",
            (_key(email),))
        return [BounceEvent(*row) for row in rows]

    # -- lookups for matching a report ----------------------------------------------------------

    def ledger_row(self, row_id: int) -> tuple[str, str, str] | None:
        """``(campaign, email, variant)`` of one ledger row, if it still exists."""
        row = self._conn.execute("SELECT campaign, email, variant FROM ledger WHERE id = ?",
                                 (row_id,)).fetchone()
        return None if row is None else (str(row[0]), str(row[1]), str(row[2]))

    def sent_to(self, email: str, since: datetime, until: datetime) -> bool:
        """Whether a campaign (a ledger row sent, or perhaps sent) or a welcome or
        confirmation email went to ``email`` from ``since`` up to ``until``: what makes a
        report naming the address alone plausible."""
        bounds = (_key(email), stamp(since), stamp(until))
        row = self._conn.execute(
            "SELECT 1 FROM ledger WHERE email = ?1 AND state IN ('sent', 'unknown') "
            "AND updated_at BETWEEN ?2 AND ?3 "
            "UNION ALL SELECT 1 FROM memberships AS m JOIN subscribers AS s "
            "ON s.id = m.subscriber_id WHERE s.email = ?1 "
            "AND (m.welcomed_at BETWEEN ?2 AND ?3 OR m.confirmation_sent_at BETWEEN ?2 AND ?3) "
            "LIMIT 1", bounds)
        return row.fetchone() is not None

    def subscriber_by_id(self, subscriber_id: int) -> Subscriber | None:
        row = self._conn.execute(_SUBSCRIBER_SELECT + "WHERE s.id = ?",
                                 (subscriber_id,)).fetchone()
        return None if row is None else _subscriber(row)

    def emails_on(self, list: str) -> list[tuple[str, str]]:
        """``(email, language)`` of every membership of ``list``, whatever its status."""
        rows = self._conn.execute(
            "SELECT s.email, m.language FROM subscribers AS s JOIN memberships AS m "
            "ON m.subscriber_id = s.id WHERE m.list = ? ORDER BY s.id", (list,))
        return [(str(email), str(language)) for email, language in rows]

    def export_person(self, email: str) -> dict[str, Any]:
        """Also the bounce and complaint events (see the subscriber part)."""
        data = super().export_person(email)
        data["bounces"] = [asdict(event) for event in self.bounces_of(email)]
        return data
