"""The store: one SQLite file holding people, list memberships, consent and the send ledger.

This package is the only place that speaks SQL. Its parts:

* :mod:`~postduif.store.db`: the connection, transactions and the migration machinery;
* :mod:`~postduif.store.subscribers`: people, memberships, the consent log, suppressions;
* :mod:`~postduif.store.ledger`: one row per campaign and recipient, for resumable sending;
* :mod:`~postduif.store.bounces`: bounce and complaint reports handled, and what they said.

:class:`Store` joins them, and :data:`MIGRATIONS` lists every part's schema changes in the order
they were released, in one place, so that their order is plain to see.
"""

from __future__ import annotations

from postduif.store.bounces import (
    BOUNCE_KINDS,
    BOUNCE_SCHEMA,
    LEDGER_BY_EMAIL_SCHEMA,
    BounceEvent,
    BounceStore,
)
from postduif.store.db import BUSY_TIMEOUT_S, Database, Migration, stamp
from postduif.store.ledger import (
    LEDGER_SCHEMA,
    LEDGER_STATES,
    Advance,
    CampaignRecord,
    Claim,
    LedgerEntry,
    LedgerRow,
    Settle,
)
from postduif.store.subscribers import (
    EVENTS,
    GREETING_UNCERTAIN_SCHEMA,
    REFUSED,
    STATUSES,
    SUBSCRIBER_SCHEMA,
    SUPPRESSION_REASON_SCHEMA,
    SUPPRESSION_REASONS,
    ConsentEvent,
    Membership,
    Outcome,
    Person,
    Subscriber,
    Suppression,
    create_salt,
)

#: Applied in order, each once. Append only: never edit or reorder a released migration.
MIGRATIONS: list[Migration] = [
    ("0001_initial_schema", SUBSCRIBER_SCHEMA),
    ("0002_salt", create_salt),
    ("0003_ledger", LEDGER_SCHEMA),
    ("0004_suppression_reasons", SUPPRESSION_REASON_SCHEMA),
    ("0005_greeting_uncertain", GREETING_UNCERTAIN_SCHEMA),
    ("0006_bounces", BOUNCE_SCHEMA),
    ("0007_ledger_by_email", LEDGER_BY_EMAIL_SCHEMA),
]


class Store(BounceStore):
    """A connection to one store file. Not shared between threads; open one per process."""

    def _migrations(self) -> list[Migration]:
        # Read at call time, so a test can append a migration to the package's list.
        return MIGRATIONS


__all__ = [
    "BOUNCE_KINDS", "BUSY_TIMEOUT_S", "EVENTS", "LEDGER_STATES", "MIGRATIONS", "REFUSED",
    "STATUSES", "SUPPRESSION_REASONS", "Advance", "BounceEvent", "CampaignRecord", "Claim",
    "ConsentEvent", "Database", "LedgerEntry", "LedgerRow", "Membership", "Migration",
    "Outcome", "Person", "Settle", "Store", "Subscriber", "Suppression", "stamp",
]
