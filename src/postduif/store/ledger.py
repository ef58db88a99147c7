"""The send ledger: one row per campaign and recipient, and how a row moves.

``queued -> sending -> sent | failed | unknown``, plus ``skipped`` (no longer on the list) and
``sending -> queued`` (a temporary failure, with a ``not_before`` time). Why it is shaped so:

* ``sending`` is committed before DATA starts. A crash (even SIGKILL) can therefore leave only
  rows in ``sending``, at most ``batch`` per connection, and the next run turns them ``unknown``:
  they may have arrived, so they are resent only when the organiser says so.
* The outcomes of a worker's last messages and the claim of its next ones are one
  transaction (:meth:`LedgerStore.advance_ledger_many`), shared by the workers that are ready
  together: a worker claims up to ``[smtp] batch`` rows at a time, so a crash can leave at
  most that many rows per connection ``sending``.
* The recipient set is snapshotted when the organiser says yes, and a resume changes it only
  when asked (``send --add-new`` adds who confirmed since, :meth:`LedgerStore.add_to_ledger`);
  the membership is checked again at each claim, so an unsubscribe that arrives mid-campaign
  is honoured (the row becomes ``skipped``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from postduif.errors import StoreError
from postduif.store.subscribers import (
    Subscriber,
    SubscriberStore,
    _key,
)

LEDGER_STATES = ("queued", "sending", "sent", "failed", "unknown", "skipped")

LEDGER_SCHEMA = """
CREATE TABLE campaigns (
    name TEXT PRIMARY KEY,
    list TEXT NOT NULL,
    started_at TEXT NOT NULL,
    paused_reply TEXT
) WITHOUT ROWID;

CREATE TABLE ledger (
    id INTEGER PRIMARY KEY,
    campaign TEXT NOT NULL REFERENCES campaigns(name),
    list TEXT NOT NULL,
    email TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    variant TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN
        ('queued', 'sending', 'sent', 'failed', 'unknown', 'skipped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL DEFAULT 0,
    last_code INTEGER,
    last_reply TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    UNIQUE (campaign, email)
);
CREATE INDEX ledger_by_campaign_state ON ledger (campaign, state, id);
"""


@dataclass(frozen=True)
class LedgerRow:
    """A claimed row: what a worker needs to compose and send one message."""

    id: int
    email: str
    name: str
    variant: str
    attempts: int  # including the one just claimed


@dataclass(frozen=True)
class LedgerEntry:
    """A whole ledger row, for status reports and tests."""

    id: int
    email: str
    name: str
    variant: str
    state: str
    attempts: int
    not_before: float
    last_code: int | None
    last_reply: str


@dataclass(frozen=True)
class CampaignRecord:
    name: str
    list: str
    started_at: str
    paused_reply: str | None


@dataclass(frozen=True)
class Settle:
    """The outcome of one attempt. ``state`` "queued" means "retry after ``not_before``";
    ``bounce`` also marks the membership bounced (the address does not exist)."""

    id: int
    state: str
    code: int | None
    reply: str
    not_before: float = 0.0
    bounce: bool = False


@dataclass(frozen=True)
class Advance:
    """One worker's part of a group commit: outcomes to record, claimed rows it did not send
    (``release``: back to queued, the attempt not counted), and how many rows to claim."""

    settles: tuple[Settle, ...] = ()
    claim: int = 1
    release: tuple[int, ...] = ()


@dataclass(frozen=True)
class Claim:
    """What :meth:`LedgerStore.advance_ledger` found.

    ``rows`` is empty when nothing can be sent now: then ``wait_until`` is the earliest
    ``not_before`` of rows waiting for a retry, or None when no row is queued at all.
    """

    rows: tuple[LedgerRow, ...]
    skipped: int
    wait_until: float | None

    @property
    def row(self) -> LedgerRow | None:
        """The first claimed row (a claim of one)."""
        return self.rows[0] if self.rows else None


_CLAIMABLE = """
SELECT l.id, l.email, l.name, l.variant, l.attempts + 1,
       EXISTS (SELECT 1 FROM subscribers AS s JOIN memberships AS m ON m.subscriber_id = s.id
                WHERE s.email = l.email AND m.list = l.list AND m.status = 'confirmed')
  FROM ledger AS l
 WHERE l.campaign = ? AND l.state = 'queued' AND l.not_before <= ?
 ORDER BY l.id LIMIT ?
"""

_SETTLE = """
UPDATE ledger SET state = ?, last_code = ?, last_reply = ?, not_before = ?, updated_at = ?
 WHERE id = ? AND state = 'sending'
RETURNING email, list, campaign
"""

_SETTLE_PLAIN = _SETTLE.partition("RETURNING")[0]

_ENTRY_COLUMNS = "id, email, name, variant, state, attempts, not_before, last_code, last_reply"


class LedgerStore(SubscriberStore):
    """The ledger operations; every one is a single short transaction."""

    @contextmanager
    def durable(self) -> Iterator[None]:
        """Make every commit reach the disk (``synchronous = FULL``) while inside.

        The store's usual NORMAL already survives a killed process (the WAL is written at
        commit); FULL also survives a power cut, at one fsync per commit. During a delivery
        that matters: a lost ``sending`` commit would let a delivered row be sent again without
        being reported as unknown.
        """
        self._conn.execute("PRAGMA synchronous = FULL")
        try:
            yield
        finally:
            self._conn.execute("PRAGMA synchronous = NORMAL")

    @contextmanager
    def deferred_sync(self) -> Iterator[Callable[[], None]]:
        """Commit without waiting for the disk, and wait for it when the caller chooses.

        Inside, commits use ``synchronous = NORMAL``: SQLite writes the WAL but does not fsync
        it. The function this yields fsyncs the WAL, which is the wait ``FULL`` makes inside
        every commit, so commits followed by it are as durable as under FULL. It may be called
        from another thread: a delivery does, so that the wait is off its event loop. Leaving
        syncs once more and restores the synchronous mode.
        """
        wal = self.path.with_name(self.path.name + "-wal")
        previous = int(self._conn.execute("PRAGMA synchronous").fetchone()[0])
        try:
            fd = os.open(wal, os.O_RDONLY)  # exists while a connection in WAL mode is open
        except OSError as exc:
            raise StoreError(f"cannot open the store's log: {exc.strerror}", path=wal) from None

        def sync() -> None:
            try:
                os.fsync(fd)
            except OSError as exc:
                raise StoreError(f"cannot write the store: {exc.strerror}",
                                 path=self.path) from None
        self._conn.execute("PRAGMA synchronous = NORMAL")
        try:
            yield sync
            sync()
        finally:
            os.close(fd)
            self._conn.execute(f"PRAGMA synchronous = {previous}")

    def start_ledger(self, campaign: str, list: str,
                     rows: Iterable[tuple[str, str, str]]) -> int:
        """Snapshot ``(email, name, variant)`` rows as queued, unless the campaign has a ledger.

        Returns the campaign's row count either way. ``rows`` is consumed lazily, so a large
        list never sits in memory; a duplicate address keeps its first row.
        """
        with self.transaction():
            existing = self.ledger_campaign(campaign)
            if existing is None:
                now = self._now()
                self._conn.execute("INSERT INTO campaigns (name, list, started_at) "
                                   "VALUES (?, ?, ?)", (campaign, list, now))
                self._queue(campaign, list, rows, now)
            elif existing.list != list:
                raise StoreError(f"campaign {campaign!r} was started for the list "
                                 f"{existing.list!r}, not {list!r}")
            return self._ledger_size(campaign)

    def add_to_ledger(self, campaign: str, rows: Iterable[tuple[str, str, str]]) -> int:
        """Queue ``(email, name, variant)`` rows in a started campaign; an address it already
        has keeps its row. Returns how many were added."""
        with self.transaction():
            record = self.ledger_campaign(campaign)
            if record is None:
                raise StoreError(f"campaign {campaign!r} has not been started")
            before = self._ledger_size(campaign)
            self._queue(campaign, record.list, rows, self._now())
            return self._ledger_size(campaign) - before

    def _queue(self, campaign: str, list: str, rows: Iterable[tuple[str, str, str]],
               now: str) -> None:
        self._conn.executemany(
            "INSERT OR IGNORE INTO ledger (campaign, list, email, name, variant, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            ((campaign, list, _key(email), name, variant, now) for email, name, variant in rows))

    def _ledger_size(self, campaign: str) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM ledger WHERE campaign = ?",
                                      (campaign,)).fetchone()[0])

    def members_not_in_ledger(self, campaign: str, list: str) -> Iterator[Subscriber]:
        """Confirmed members of ``list`` the campaign's ledger does not name: who confirmed
        since it was started (or whose row was erased by ``subscribers forget``)."""
        return self._streamed(
            "WHERE p.list = ? AND p.status = 'confirmed' AND NOT EXISTS (SELECT 1 FROM ledger "
            "AS l WHERE l.campaign = ? AND l.email = s.email) ORDER BY s.id", (list, campaign))

    def ledger_campaign(self, campaign: str) -> CampaignRecord | None:
        row = self._conn.execute("SELECT name, list, started_at, paused_reply FROM campaigns "
                                 "WHERE name = ?", (campaign,)).fetchone()
        return None if row is None else CampaignRecord(*row)

    def prepare_ledger(self, campaign: str, *, resend_unknown: bool) -> tuple[int, int]:
        """Before a run: rows a crash left ``sending`` become ``unknown``; with
        ``resend_unknown``, every unknown row is queued again. Clears an earlier pause.

        Returns ``(rows found sending, rows requeued)``.
        """
        with self.transaction():
            now = self._now()
            crashed = self._conn.execute(
                "UPDATE ledger SET state = 'unknown', last_code = NULL, updated_at = ?, "
                "last_reply = 'interrupted while sending (the message may have arrived)' "
                "WHERE campaign = ? AND state = 'sending'", (now, campaign)).rowcount
            requeued = 0
            if resend_unknown:
                requeued = self._conn.execute(
                    "UPDATE ledger SET state = 'queued', not_before = 0, updated_at = ? "
                    "WHERE campaign = ? AND state = 'unknown'", (now, campaign)).rowcount
            self._conn.execute("UPDATE campaigns SET paused_reply = NULL WHERE name = ?",
                               (campaign,))
        return crashed, requeued

    def advance_ledger(self, campaign: str, settle: Settle | None, now: float) -> Claim:
        """Record ``settle`` (if any) and claim the next row, in one commit.

        Queued rows whose subscriber is no longer confirmed on the list are marked skipped on
        the way. ``now`` is wall-clock seconds, compared with each row's ``not_before``.
        """
        settles = () if settle is None else (settle,)
        return self.advance_ledger_many(campaign, [Advance(settles)], now)[0]

    def advance_ledger_many(self, campaign: str, advances: Sequence[Advance],
                            now: float) -> list[Claim]:
        """Several workers' outcomes, releases and claims (up to ``claim`` rows each) in one
        commit: a group commit, since with ``synchronous = FULL`` the fsync, not the SQL, is
        what costs. Every claimed row is ``sending`` once this returns."""
        with self.transaction():
            for advance in advances:
                self._record(advance.settles, advance.release)
            return [self._claim(campaign, now, advance.claim) for advance in advances]

    def _claim(self, campaign: str, now: float, wanted: int) -> Claim:
        rows: list[LedgerRow] = []
        skipped = 0
        stamp = self._now()
        while len(rows) < wanted:
            found = self._conn.execute(_CLAIMABLE, (campaign, now, wanted - len(rows))).fetchall()
            if not found:
                break
            self._conn.executemany(
                "UPDATE ledger SET state = ?, attempts = attempts + ?, updated_at = ? "
                "WHERE id = ?", [("sending", 1, stamp, fields[0]) if confirmed else
                                 ("skipped", 0, stamp, fields[0]) for *fields, confirmed in found])
            for *fields, confirmed in found:
                if confirmed:
                    rows.append(LedgerRow(*fields))
                else:
                    skipped += 1
        wait_until = None if rows or wanted == 0 else self._next_retry(campaign)
        return Claim(tuple(rows), skipped, wait_until)

    def _record(self, settles: Sequence[Settle], release: Sequence[int]) -> None:
        """Outcomes, then releases: one statement each for all the plain outcomes (a bounce,
        which also changes the membership, goes on its own)."""
        stamp = self._now()
        plain = [(s.state, s.code, s.reply, s.not_before, stamp, s.id)
                 for s in settles if not s.bounce]
        if plain:
            changed = self._conn.executemany(_SETTLE_PLAIN, plain).rowcount
            if changed != len(plain):
                raise RuntimeError(f"of the ledger rows {[row[-1] for row in plain]}, "
                                   f"{len(plain) - changed} were not being sent")
        for settle in settles:
            if settle.bounce:
                self._settle(settle)
        self._conn.executemany("UPDATE ledger SET state = 'queued', attempts = attempts - 1, "
                               "updated_at = ? WHERE id = ? AND state = 'sending'",
                               [(stamp, row_id) for row_id in release])

    def settle_ledger(self, settle: Settle) -> None:
        """Record one outcome on its own (the last message of a worker)."""
        with self.transaction():
            self._settle(settle)

    def _settle(self, settle: Settle) -> None:
        row = self._conn.execute(_SETTLE, (settle.state, settle.code, settle.reply,
                                           settle.not_before, self._now(),
                                           settle.id)).fetchone()
        if row is None:
            raise RuntimeError(f"ledger row {settle.id} is not being sent")
        if settle.bounce:  # the mailbox does not exist: as a hard bounce report would
            email, list, campaign = row
            source = f"send {campaign}: {settle.reply}"[:500]
            self._set_status(email, list, "bounced", event="bounced", source=source)
            self.suppress(email, reason="bounced", source=source)

    def _next_retry(self, campaign: str) -> float | None:
        row = self._conn.execute("SELECT MIN(not_before) FROM ledger "
                                 "WHERE campaign = ? AND state = 'queued'", (campaign,))
        value = row.fetchone()[0]
        return None if value is None else float(value)

    def pause_ledger(self, campaign: str, reply: str) -> None:
        """Remember that a policy reply (5.7.x) stopped the campaign, for ``status``."""
        with self.transaction():
            self._conn.execute("UPDATE campaigns SET paused_reply = ? WHERE name = ?",
                               (reply, campaign))

    def ledger_counts(self, campaign: str) -> list[tuple[str, str, int]]:
        """``(variant, state, number)`` for every combination present, sorted."""
        rows = self._conn.execute(
            "SELECT variant, state, COUNT(*) FROM ledger WHERE campaign = ? "
            "GROUP BY variant, state ORDER BY variant, state", (campaign,))
        return [(str(v), str(s), int(n)) for v, s, n in rows]

    def ledger_entries(self, campaign: str,
                       states: Collection[str] = ()) -> Iterator[LedgerEntry]:
        """The campaign's rows in id order, all or those in ``states``, one at a time."""
        where = "campaign = ?"
        if states:
            where += f" AND state IN ({', '.join('?' * len(states))})"
        cursor = self._conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM ledger WHERE {where} "
                                    "ORDER BY id", (campaign, *states))
        try:
            for row in cursor:
                yield LedgerEntry(*row)
        finally:
            cursor.close()

    def forget(self, email: str, *, source: str) -> bool:
        """Also erase the address from every campaign's ledger (see the subscriber part)."""
        with self.transaction():
            held = self._conn.execute("DELETE FROM ledger WHERE email = ?",
                                      (_key(email),)).rowcount
            return super().forget(email, source=source) or held > 0
