"""Delivery: one asyncio worker per connection, each walking the ledger a batch at a time.

Why it is built this way:

* Workers are tasks on one event loop. Their ledger writes go to one writer thread with its
  own store connection (``commits.py``), so the loop never waits for an fsync; a transaction
  is made in that thread alone, so workers cannot interleave inside one.
* A worker claims up to ``batch`` rows in one commit and records their outcomes in the commit
  of its next claim (what workers ask for while a commit is on its way shares the next one),
  so commits cost a fraction of a message each. Every claimed row is committed as ``sending``
  before its DATA, and a worker never holds more than ``batch`` rows claimed and unrecorded:
  a crash leaves at most ``batch`` uncertain rows per connection.
* The connection pulls its messages from the worker (:class:`_Lane`, a ``Feed``): with
  pipelining it asks for the next message while the current one's data is about to go out, and
  the worker hands one over only when it holds it already (or may claim it at once).
* Before a worker waits (rate limit, retry backoff) it records its outcomes on their own, so
  a crash during a long wait does not turn delivered messages into unknown ones. Under a rate
  limit it claims one row at a time; a halted worker puts the rows it did not send back.
* One recipient whose message cannot be composed or sent fails alone, with the reason.
* Stopping (Ctrl-C, a 5.7.x pause, a missing DKIM key) never abandons a message in flight: the
  workers finish and record it, then exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, deque
from collections.abc import Callable

from postduif.errors import PostduifError, SendError, StoreError
from postduif.send.commits import LedgerCommits
from postduif.send.lock import CampaignLock
from postduif.send.model import Compose, DeliveryReport, Progress, Target, cannot_compose
from postduif.send.ratelimit import RateLimit, RateLimiter
from postduif.send.replies import Verdict, judge
from postduif.send.retry import RetryPolicy
from postduif.send.transport import (
    DeliveryFailure,
    Outcome,
    Outgoing,
    PermanentFailure,
    Reply,
    TemporaryFailure,
    Transport,
)
from postduif.store import Advance, LedgerRow, Settle, Store

DEFAULT_RETRY = RetryPolicy()
UNLIMITED = RateLimit()
DEFAULT_BATCH = 8  # rows a connection claims per commit (``[smtp] batch``)
#: MAIL FROM: one address for every message, or one per ledger row id (VERP).
EnvelopeFrom = str | Callable[[int], str]
PROGRESS_INTERVAL = 0.1  # seconds between progress callbacks
SETTLE_BEFORE_WAIT = 0.05  # record the last outcome first if a wait is longer than this


class _Run:
    """What the workers of one delivery share: settings, counters and the reason to stop."""

    def __init__(self, store: Store, campaign: str, compose: Compose,
                 envelope_from: EnvelopeFrom, retry: RetryPolicy, rate: RateLimit, batch: int,
                 progress: Callable[[Progress], None] | None) -> None:
        self.store = store
        self.campaign = campaign
        self.compose = compose
        self.envelope_from = _per_row(envelope_from)
        self.retry = retry
        self.limiter = RateLimiter(rate)
        # Under a rate limit the limit sets the pace, not the commits: one row at a time, so no
        # claimed row sits ``sending`` through a wait.
        self.batch = 1 if self.limiter.limited else max(batch, 1)
        self.commits = LedgerCommits(store, campaign)
        self.halt = asyncio.Event()
        self.paused: str | None = None
        self.error: BaseException | None = None
        self.counts: Counter[str] = Counter()
        self._progress = progress
        self._base: Counter[str] = Counter()
        for _, state, number in store.ledger_counts(campaign):
            self._base[state] += number
        self._started = time.monotonic()
        self._last_progress = 0.0

    def stop(self, *, paused: str | None = None, error: BaseException | None = None) -> None:
        self.paused = self.paused or paused
        self.error = self.error or error
        self.halt.set()

    async def wait(self, seconds: float) -> None:
        """Sleep, but wake at once when the delivery is halted."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.halt.wait(), timeout=max(seconds, 0.0))

    def report_progress(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if self._progress is None or (not force and
                                      now - self._last_progress < PROGRESS_INTERVAL):
            return
        self._last_progress = now
        done = {s: self._base[s] + self.counts[s] for s in ("sent", "failed", "unknown")}
        skipped = self._base["skipped"] + self.counts["skipped"]
        total = sum(self._base.values())
        self._progress(Progress(
            total=total, sent=done["sent"], failed=done["failed"], unknown=done["unknown"],
            remaining=total - sum(done.values()) - skipped,
            rate=self.counts["sent"] / max(now - self._started, 1e-9)))


async def deliver(store: Store, campaign: str, list: str, transport: Transport, compose: Compose,
                  *, envelope_from: EnvelopeFrom, resend_unknown: bool = False,
                  retry: RetryPolicy = DEFAULT_RETRY, rate: RateLimit = UNLIMITED,
                  batch: int = DEFAULT_BATCH, stop: asyncio.Event | None = None,
                  progress: Callable[[Progress], None] | None = None) -> DeliveryReport:
    """Deliver the campaign's queued rows through ``transport``, resuming where it stopped.

    Holds the campaign lock throughout (:class:`SendError` if another process sends it). Rows a
    crash left ``sending`` become ``unknown`` first; ``resend_unknown`` queues those again. The
    transport is checked before any row is claimed, so a wrong password sends nothing.
    ``envelope_from`` is the MAIL FROM address, or a function from the ledger row id to it
    (VERP: each message its own return path, see ``postduif.verp``).
    """
    with CampaignLock(store.path, campaign), store.durable():
        _check_started(store, campaign, list)
        store.prepare_ledger(campaign, resend_unknown=resend_unknown)
        await transport.check()
        run = _Run(store, campaign, compose, envelope_from, retry, rate, batch, progress)
        watcher = asyncio.create_task(_watch(stop, run)) if stop is not None else None
        try:
            async with run.commits, asyncio.TaskGroup() as group:
                for _ in range(max(transport.connections, 1)):
                    group.create_task(_worker(run, transport))
        finally:
            if watcher is not None:
                watcher.cancel()
        run.report_progress(force=True)
        if run.error is not None:
            raise run.error
        if run.paused is not None:
            store.pause_ledger(campaign, run.paused)
        return _report(run, interrupted=stop is not None and stop.is_set())


def _per_row(envelope_from: EnvelopeFrom) -> Callable[[int], str]:
    if not isinstance(envelope_from, str):
        return envelope_from
    address = envelope_from
    return lambda _row_id: address


def _check_started(store: Store, campaign: str, list: str) -> None:
    record = store.ledger_campaign(campaign)
    if record is None:
        raise SendError(f"campaign {campaign} has no recipients yet",
                        hint="start it first (start_campaign snapshots the list)")
    if record.list != list:
        raise SendError(f"campaign {campaign} was started for the list {record.list!r}, "
                        f"not {list!r}")


async def _watch(stop: asyncio.Event, run: _Run) -> None:
    await stop.wait()
    run.stop()


def _report(run: _Run, *, interrupted: bool) -> DeliveryReport:
    queued = sum(n for _, state, n in run.store.ledger_counts(run.campaign) if state == "queued")
    c = run.counts
    return DeliveryReport(campaign=run.campaign, sent=c["sent"], failed=c["failed"],
                          bounced=c["bounced"], unknown=c["unknown"], skipped=c["skipped"],
                          remaining=queued, paused=run.paused, interrupted=interrupted)


async def _worker(run: _Run, transport: Transport) -> None:
    """One connection's work; a store that cannot be written (full disk) stops the whole run.

    The error is kept for :func:`deliver` to raise alone: out of the task group it would come
    wrapped in an exception group, which the CLI would show as a traceback.
    """
    try:
        await _work(run, transport)
    except StoreError as exc:
        run.stop(error=exc)


async def _work(run: _Run, transport: Transport) -> None:
    """Claim, send, record, until nothing is left or the run is halted."""
    async with transport.connection() as connection:
        lane = _Lane(run)
        await connection.run(lane)
        await lane.close()


class _Lane:
    """One worker's share of the ledger: the :class:`Feed` its connection sends from.

    It holds the rows it claimed (committed ``sending``) and has not handed out yet, the rows
    handed out whose outcome is not known yet, and the outcomes not committed yet. It claims
    only as many rows as keep that total at ``run.batch`` or below, so a crash leaves at most
    ``batch`` uncertain rows per connection; the outcomes go into the commit of the next claim.
    """

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.claimed: deque[LedgerRow] = deque()
        self.out: dict[int, LedgerRow] = {}
        self.settles: list[Settle] = []
        self.outages = 0  # consecutive failures to reach the server at all
        self.backoff = 0.0  # seconds to give an unreachable server before the next message

    async def next(self, *, wait: bool) -> Outgoing | None:
        run = self.run
        while not run.halt.is_set():
            if self.claimed:
                outgoing = self._hand_out(self.claimed.popleft())
                if outgoing is not None:
                    return outgoing
                continue  # that recipient's message could not be made: the next one
            room = run.batch - len(self.out)
            if not wait:  # only rows that can go out at once, without a pause
                if room <= 0 or self.backoff:
                    return None
            elif not await self._paced():
                continue
            claim = await run.commits.advance(Advance(tuple(self.settles), room))
            self.settles = []
            run.counts["skipped"] += claim.skipped
            if claim.rows:
                self.claimed.extend(claim.rows)
            elif claim.wait_until is None or not wait:
                return None
            else:
                await run.wait(claim.wait_until - time.time())
        return None

    async def _paced(self) -> bool:
        """Wait out a backoff or the rate limit, recording outcomes first if that is long, so
        a crash during the wait does not make delivered messages unknown. False: woken by a
        halt, or after a backoff (look again)."""
        run = self.run
        if self.backoff:
            await self.record()
            await run.wait(self.backoff)
            self.backoff = 0.0
            return False
        wait = run.limiter.reserve()
        if wait > SETTLE_BEFORE_WAIT:
            await self.record()
        if wait > 0:
            await run.wait(wait)
        return not run.halt.is_set()

    def _hand_out(self, row: LedgerRow) -> Outgoing | None:
        """The row's message, or None when it cannot be made.

        A recipient whose message cannot be composed (an address no message can carry) is
        that recipient's failure, recorded with the reason; the run goes on. A
        :class:`PostduifError` (the DKIM key) is everyone's: the row goes back and the run
        stops."""
        run = self.run
        try:
            message = run.compose(Target(row.id, row.email, row.name, row.variant))
        except PostduifError as exc:
            run.stop(error=exc)
            self.settles.append(Settle(row.id, "queued", None, f"not sent: compose failed: {exc}"))
            return None
        except Exception as exc:  # noqa: BLE001 - this recipient's message, not the run
            run.counts["failed"] += 1
            self.settles.append(Settle(row.id, "failed", None, f"not sent: {cannot_compose(exc)}"))
            run.report_progress()
            return None
        self.out[row.id] = row
        return Outgoing(row.id, run.envelope_from(row.id), row.email, message)

    def unsent(self, outgoing: Outgoing) -> None:
        self.claimed.appendleft(self.out.pop(outgoing.tag))

    def done(self, outgoing: Outgoing, outcome: Outcome) -> None:
        run = self.run
        settle, reached = _settle(run, self.out.pop(outgoing.tag), outcome)
        self.settles.append(settle)
        run.report_progress()
        if reached:
            self.outages = 0
            return
        self.outages += 1  # the server is unreachable: record, then give it time
        if self.outages >= run.retry.attempts:
            run.stop(paused=f"the server stopped answering: {settle.reply}")
        self.backoff = run.retry.delay(self.outages)

    async def record(self) -> None:
        """Commit the outcomes known so far."""
        settles, self.settles = self.settles, []
        await self.run.commits.record(settles)

    async def close(self) -> None:
        """The connection is done: record the outcomes and put back what was never sent."""
        release = tuple(row.id for row in self.claimed)
        self.claimed.clear()
        settles, self.settles = self.settles, []
        await self.run.commits.record(settles, release)


def _settle(run: _Run, row: LedgerRow, outcome: Outcome) -> tuple[Settle, bool]:
    """What the ledger records for one message; and whether the server answered at all."""
    if isinstance(outcome, Reply):
        run.counts["sent"] += 1
        return Settle(row.id, "sent", outcome.code, outcome.text), True
    if isinstance(outcome, TemporaryFailure):
        _pause_if_stalled(run, outcome)
        return _temporary(run, row, outcome.reply), outcome.reply.code != 0
    if isinstance(outcome, PermanentFailure):
        return _permanent(run, row, outcome), True
    _pause_if_stalled(run, outcome)
    run.counts["unknown"] += 1
    return Settle(row.id, "unknown", None, outcome.reply.text), True


def _pause_if_stalled(run: _Run, failure: DeliveryFailure) -> None:
    """A server that took the connection and then went silent pauses the run at once.

    Retrying would cost a full ``[smtp] timeout`` per attempt and per connection (minutes),
    and no message can get through meanwhile; a resume picks up the rest.
    """
    if failure.stalled:
        run.stop(paused=f"the server stopped answering ({failure.reply}; [smtp] timeout)")


def _temporary(run: _Run, row: LedgerRow, reply: Reply) -> Settle:
    """Retry later (``not_before``), or fail once the attempts are used up.

    No reply at all (the server is down or stalled) is never this row's fault: it stays
    queued, and the worker pauses the run after repeated outages, so a resume after the
    outage sends everyone instead of leaving them failed.
    """
    code = reply.code or None
    if row.attempts >= run.retry.attempts and reply.code != 0:
        run.counts["failed"] += 1
        return Settle(row.id, "failed", code, f"{reply} (after {row.attempts} attempts)")
    not_before = time.time() + run.retry.delay(row.attempts)
    return Settle(row.id, "queued", code, str(reply), not_before=not_before)


def _permanent(run: _Run, row: LedgerRow, failure: PermanentFailure) -> Settle:
    reply = failure.reply
    verdict = judge(failure)
    if verdict is Verdict.POLICY:
        run.stop(paused=str(reply))
        return Settle(row.id, "queued", reply.code, str(reply))
    run.counts["failed"] += 1
    if verdict is Verdict.BOUNCE:
        run.counts["bounced"] += 1
    return Settle(row.id, "failed", reply.code, reply.text, bounce=verdict is Verdict.BOUNCE)
