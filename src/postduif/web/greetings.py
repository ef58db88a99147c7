"""Confirmation and welcome emails sent by ``postduif serve`` itself, seconds after a sign-up.

Someone who signs up expects the confirmation email while the page is still open, not at the
next cron run. The app wakes a :class:`GreetingWorker` after every sign-up and confirmation;
the worker also wakes every ``web.greetings_retry_seconds`` to retry what could not go out
(the mail server was down) and to greet members an organiser approved meanwhile.

It sends through :func:`postduif.audience.greetings.send_greetings`, the same at-most-once record as
``postduif welcome`` (each email is claimed in the store before its DATA), so a cron job may
keep running beside it. A failing mail server never reaches the form: the sign-up is committed
before the worker is woken, and the email simply goes out on a later round.

A round runs in a thread with its own event loop and its own store connection: SQLite may
wait for a lock (an import in progress) and SMTP for a slow server, and neither may stall the
web app's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping

from postduif.audience.greetings import Greeter, WelcomeReport, due, send_greetings
from postduif.errors import PostduifError
from postduif.lists import ListDef
from postduif.send.transport import Transport
from postduif.store import Store
from postduif.verp import sending_return_path
from postduif.workspace import Workspace

log = logging.getLogger("postduif.serve")


class GreetingWorker:
    """Sends due confirmation and welcome emails whenever it is woken, one round at a time."""

    def __init__(self, ws: Workspace, lists: Mapping[str, ListDef], key: bytes,
                 transport: Callable[[], Transport], *, retry_seconds: float) -> None:
        self.ws = ws
        self.lists = dict(lists)
        self.key = key
        self.transport = transport
        self.retry_seconds = retry_seconds
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Ask for a round soon; many wakes before it starts make one round.

        Safe from any thread: the app's handlers write the store in a thread pool.
        """
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Rounds until cancelled: at once, then on every wake or after the retry interval."""
        self._loop = asyncio.get_running_loop()
        self._wake.set()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.retry_seconds)
            self._wake.clear()
            await asyncio.to_thread(self.round)

    def round(self) -> WelcomeReport | None:
        """One pass over the due emails; problems are logged, never raised."""
        try:
            report = asyncio.run(self._send())
        except PostduifError as exc:
            log.warning("confirmation and welcome emails not sent: %s; next try in %.0f s",
                        exc, self.retry_seconds)
            return None
        except Exception:  # a bug must not end the worker: the next round may succeed
            log.exception("confirmation and welcome emails: unexpected error")
            return None
        if report.failed:
            log.warning("%d confirmation/welcome email(s) not sent (%s); next try in %.0f s",
                        len(report.failed), report.failed[0][1], self.retry_seconds)
        sent = {kind: n for kind, n in report.sent.items() if n}
        if sent:
            log.info("sent %s", ", ".join(f"{n} {kind} email(s)" for kind, n in sent.items()))
        return report

    async def _send(self) -> WelcomeReport:
        with Store.open(self.ws.settings.database) as store:
            greetings = list(due(store, list(self.lists.values())))
            if not greetings:
                return WelcomeReport()
            greeter = Greeter(self.ws, self.lists, self.key)
            return await send_greetings(
                store, greeter, self.transport(), iter(greetings),
                envelope_from=sending_return_path(self.ws.settings, self.key))
