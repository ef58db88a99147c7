"""The ledger's commits during a delivery: group commits, with the wait for the disk off the loop.

Every claimed row must be on disk as ``sending`` before its data goes out, so a commit has to
wait for an fsync. Inside the commit (``synchronous = FULL``) that wait held up the event loop
and with it every connection: on loopback a quarter of the loop's time. So the commits are made
with ``synchronous = NORMAL`` (SQLite writes the WAL but does not wait for it) and the WAL is
then fsynced by a thread, which is exactly the wait FULL makes, while the loop goes on. A
worker gets its claimed rows only once that fsync has returned.

Two kinds of sharing keep the commits few: the workers that ask in the same turn of the event
loop share one transaction, and every commit made while an fsync is on its way shares the
next fsync (the slower the disk, the more each one covers).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from postduif.store import Advance, Claim, Settle, Store

_Waiting = list[tuple[Claim, "asyncio.Future[Claim]"]]


class LedgerCommits:
    """The one writer of a campaign's ledger while it is delivered.

    Use it as ``async with``: leaving waits for the last fsync.
    """

    def __init__(self, store: Store, campaign: str) -> None:
        self._store = store
        self._campaign = campaign
        self._sync: Callable[[], None] | None = None  # set inside ``async with``
        self._deferred = contextlib.ExitStack()  # the store's deferred_sync, while inside
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-fsync")
        self._asked: list[tuple[Advance, asyncio.Future[Claim]]] = []  # not yet committed
        self._unsynced: _Waiting = []  # committed, not yet on disk
        self._synced = asyncio.Event()  # no fsync on its way
        self._synced.set()

    async def __aenter__(self) -> LedgerCommits:
        self._sync = self._deferred.enter_context(self._store.deferred_sync())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            while self._asked or not self._synced.is_set():
                await self._synced.wait()
                await asyncio.sleep(0)  # a commit asked for in this turn
        finally:
            self._executor.shutdown()
            self._deferred.close()

    async def advance(self, advance: Advance) -> Claim:
        """Record ``advance`` and claim its rows (on disk when this returns), together with
        the other workers that ask in the same turn."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Claim] = loop.create_future()
        if not self._asked:
            loop.call_soon(self._commit)
        self._asked.append((advance, future))
        return await future

    async def record(self, settles: Sequence[Settle], release: Sequence[int] = ()) -> None:
        """Commit outcomes (and put unsent claimed rows back) without claiming more."""
        if settles or release:
            await self.advance(Advance(tuple(settles), 0, tuple(release)))

    def _commit(self) -> None:
        asked, self._asked = self._asked, []
        try:
            claims = self._store.advance_ledger_many(
                self._campaign, [advance for advance, _ in asked], time.time())
        except Exception as exc:  # every waiting worker sees the failure
            for _, future in asked:
                if not future.done():  # not a cancelled worker
                    future.set_exception(exc)
            return
        self._unsynced.extend(zip(claims, (future for _, future in asked), strict=True))
        if self._synced.is_set():
            self._start_sync()

    def _start_sync(self) -> None:
        waiting, self._unsynced = self._unsynced, []
        self._synced.clear()
        assert self._sync is not None
        done = asyncio.get_running_loop().run_in_executor(self._executor, self._sync)
        done.add_done_callback(lambda finished: self._on_disk(waiting, finished))

    def _on_disk(self, waiting: _Waiting, finished: asyncio.Future[None]) -> None:
        exc = finished.exception()
        for claim, future in waiting:
            if future.done():  # its worker was cancelled; its rows stay ``sending``
                continue
            if exc is None:
                future.set_result(claim)
            else:
                future.set_exception(exc)
        if self._unsynced:
            self._start_sync()
        else:
            self._synced.set()
