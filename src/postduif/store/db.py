"""The connection, transactions and migrations shared by every part of the store.

Design choices, and why:

* WAL and ``BEGIN IMMEDIATE``: an import and a review may write at the same time. Taking the
  write lock when a transaction starts (not on its first write) means a waiting process simply
  waits (busy timeout 30 s) instead of failing halfway with "database is locked"; within one
  transaction a lookup followed by a write cannot race another process.
* Named migrations, each applied together with its record in ``schema_migrations`` in one
  transaction, so a store is never half-migrated and opening it twice applies nothing. The list
  itself lives in the package (``postduif.store.MIGRATIONS``), where every part's schema meets.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from postduif.errors import StoreError

BUSY_TIMEOUT_S = 30.0
FULL_BELOW = 64 * 1024  # bytes free under which a disk I/O error is taken for a full disk

Migration = tuple[str, str | Callable[[sqlite3.Connection], None]]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def stamp(at: datetime) -> str:
    """How the store writes a time: UTC, whole seconds, so stored times sort as text.

    A time without a zone is refused rather than guessed (it would silently be local time).
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise StoreError(f"the time {at.isoformat()} has no time zone")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_busy(exc: sqlite3.Error) -> bool:
    return any(word in str(exc) for word in ("locked", "busy"))


def _read_only(path: Path) -> Path | None:
    """The store file or folder that cannot be written, if one cannot.

    ``os.access`` asks the kernel, so a read-only mount or an immutable file counts even for
    root, who ignores permission bits.
    """
    for candidate in (path, path.parent):
        if candidate.exists() and not os.access(candidate, os.W_OK):
            return candidate
    return None


def _disk_full(path: Path) -> bool:
    """Whether the store's disk has (next to) no space left for ordinary users."""
    try:
        info = os.statvfs(path.parent)
    except OSError:
        return False
    return info.f_bavail * info.f_frsize < FULL_BELOW


def _diagnose(path: Path, exc: sqlite3.Error) -> tuple[str, str | None]:
    """SQLite's reason, made plain, and what to do about it (None: not a disk problem)."""
    text = str(exc)
    if "full" in text:
        return text, "free space on the disk that holds the store, then run the command again"
    read_only = _read_only(path)
    if read_only is not None or "readonly" in text:
        where = read_only or path
        return (f"{text} ({where} is read-only)",
                "make the store file and its folder writable (SQLite also writes -wal and "
                "-shm files beside it)")
    if "disk I/O" in text and _disk_full(path):  # what a full disk says while growing -shm
        return (f"{text}: database or disk is full ({path.parent} has no free space)",
                "free space on the disk that holds the store, then run the command again")
    if "disk I/O" in text or "unable to open" in text:
        return text, "check the disk and the folder that holds the store"
    return text, None


def _statements(script: str) -> Iterator[str]:
    """Split a script into statements (triggers contain ``;`` inside ``BEGIN ... END``).

    ``executescript`` would commit first, breaking "a migration and its record in one
    transaction", so statements are executed one by one instead.
    """
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                yield pending.strip()
            pending = ""


class Database:
    """A connection to one store file. Not shared between threads; open one per process."""

    def __init__(self, conn: sqlite3.Connection, clock: Callable[[], datetime],
                 path: Path) -> None:
        self._conn = conn
        self._clock = clock
        self._depth = 0
        self.path = path

    @classmethod
    def open(cls, path: Path, *, clock: Callable[[], datetime] = _utc_now) -> Self:
        """Open (creating if needed) the store at ``path`` and apply pending migrations."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except OSError as exc:
            raise StoreError(f"cannot create the store's folder: {exc.strerror}",
                             path=path.parent) from None
        except sqlite3.Error as exc:
            cause, hint = _diagnose(path, exc)
            raise StoreError(f"cannot open the store: {cause}", path=path, hint=hint) from None
        store = cls(conn, clock, path)
        try:
            store._configure()
            store._migrate(path)
            store._load()
        except sqlite3.OperationalError as exc:
            conn.close()
            if _diagnose(path, exc)[1] is None:
                raise StoreError(f"cannot use the store: {exc}", path=path,
                                 hint="is this file a postduif store?") from None
            raise store.write_failure(exc) from None
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"cannot use the store: {exc}", path=path,
                             hint="is this file a postduif store?") from None
        except BaseException:
            conn.close()
            raise
        return store

    def _configure(self) -> None:
        self._enable_wal()
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._conn.execute("PRAGMA synchronous = NORMAL")

    def _enable_wal(self) -> None:
        """Switch to WAL, waiting for other processes that are opening the same new file.

        Switching needs an exclusive lock, and SQLite reports a conflict at once (or returns
        the old mode) instead of honouring the busy timeout, so we wait here ourselves.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise  # a read-only or full disk does not clear by waiting
            else:
                if mode == "wal":
                    return
                if time.monotonic() > deadline:
                    raise StoreError(f"cannot switch the store to WAL (it stays in {mode!r})")
            time.sleep(0.02)

    def _migrate(self, path: Path) -> None:
        migrations = self._migrations()
        known = [name for name, _ in migrations]
        if self._up_to_date(known):
            return  # the common case, and no write lock for it: serve opens one per request
        with self.transaction():
            self._conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                               "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        for number, (name, step) in enumerate(migrations, start=1):
            # Checked inside the write lock: another process may have just applied it.
            with self.transaction():
                if self._applied() - set(known):
                    raise StoreError("the store was written by a newer postduif", path=path,
                                     hint="upgrade postduif before using this store")
                if name in self._applied():
                    continue
                if callable(step):
                    step(self._conn)
                else:
                    for statement in _statements(step):
                        self._conn.execute(statement)
                self._conn.execute("INSERT INTO schema_migrations (name, applied_at) "
                                   "VALUES (?, ?)", (name, self._now()))
                self._conn.execute(f"PRAGMA user_version = {number}")

    def _up_to_date(self, known: list[str]) -> bool:
        """True when every migration is applied, read without taking the write lock."""
        try:
            return self._applied() == set(known)
        except sqlite3.OperationalError:  # no schema_migrations table yet: a new store
            return False

    def _applied(self) -> set[str]:
        return {row[0] for row in self._conn.execute("SELECT name FROM schema_migrations")}

    def migrations(self) -> list[tuple[str, str]]:
        """``(name, applied_at)`` of every applied migration, in the order they were applied."""
        rows = self._conn.execute("SELECT name, applied_at FROM schema_migrations "
                                  "ORDER BY applied_at, rowid")
        return [(str(name), str(at)) for name, at in rows]

    def _meta(self, key: str) -> str:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise StoreError(f"the store has no {key!r}; it was not created by postduif")
        return str(row[0])

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def now(self) -> datetime:
        """The store's clock (a test may set it), for times compared with stored ones."""
        return self._clock()

    def _now(self) -> str:
        return stamp(self._clock())

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all; an inner one joins the outer."""
        if self._depth:
            yield
            return
        self._begin()
        self._depth = 1
        try:
            yield
            self._conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            self._abandon()
            if _diagnose(self.path, exc)[1] is None:
                raise  # not the disk: a bug, shown as one
            raise self.write_failure(exc) from None
        except BaseException:
            self._abandon()
            raise
        finally:
            self._depth = 0

    def _abandon(self) -> None:
        """Roll back if a transaction is still open.

        SQLite itself rolls back on a full disk or an I/O error; a second ``ROLLBACK`` would
        then fail with "no transaction is active" and hide the real cause.
        """
        if self._conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

    def write_failure(self, exc: sqlite3.Error) -> StoreError:
        """The store could not be written: one line naming the file and SQLite's own cause."""
        cause, hint = _diagnose(self.path, exc)
        return StoreError(f"cannot write the store: {cause}", path=self.path, hint=hint)

    @contextmanager
    def rollback_only(self) -> Iterator[None]:
        """Run everything inside for real, then undo it: the engine behind ``--dry-run``."""
        if self._depth:
            self._conn.execute("SAVEPOINT dry_run")
            try:
                yield
            finally:
                self._conn.execute("ROLLBACK TO dry_run")
                self._conn.execute("RELEASE dry_run")
            return
        self._begin()
        self._depth = 1
        try:
            yield
        except sqlite3.OperationalError as exc:
            if _diagnose(self.path, exc)[1] is None:
                raise
            raise self.write_failure(exc) from None
        finally:
            self._abandon()
            self._depth = 0

    def _begin(self) -> None:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise self.write_failure(exc) from None
            raise StoreError(f"the store is busy: {exc}",
                             hint=f"another postduif held it for over {BUSY_TIMEOUT_S:.0f} s; "
                                  "try again when it has finished") from None

    # -- hooks for the parts ------------------------------------------------------------------

    def _migrations(self) -> list[Migration]:
        """Every migration, in order; the package's :class:`Store` supplies them."""
        return []

    def _load(self) -> None:
        """Read what the parts keep in memory once the schema is current."""
