"""Group commit: the workers that are ready in the same turn of the event loop share one commit.

With ``synchronous = FULL`` every commit waits for an fsync, and the fsync blocks the loop.
While it does, other connections' replies arrive; their workers then become ready together in
the next turn, and one transaction records all their outcomes and claims all their next rows.
Each worker also claims several rows at once (``[smtp] batch``), so a commit serves several
messages even for a single connection. Every claimed row is committed as ``sending`` before its
data goes out, so a crash leaves at most ``batch`` uncertain rows per connection.
"""

from __future__ import annotations

import asyncio
import time

from postduif.store import Advance, Claim, Store


class LedgerCommits:
    """Batches :meth:`~postduif.store.Store.advance_ledger_many` calls made in one loop turn."""

    def __init__(self, store: Store, campaign: str) -> None:
        self._store = store
        self._campaign = campaign
        self._pending: list[tuple[Advance, asyncio.Future[Claim]]] = []

    async def advance(self, advance: Advance) -> Claim:
        """Record ``advance`` and claim this worker's next rows, together with any other worker
        asking in the same turn."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Claim] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((advance, future))
        return await future

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        try:
            claims = self._store.advance_ledger_many(
                self._campaign, [advance for advance, _ in batch], time.time())
        except Exception as exc:  # every waiting worker sees the failure
            for _, future in batch:
                future.set_exception(exc)
            return
        for (_, future), claim in zip(batch, claims, strict=True):
            future.set_result(claim)
