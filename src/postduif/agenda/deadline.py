"""Reading a calendar within a time limit, whatever is in it.

icalendar and dateutil are pure Python and cannot be told to stop: a feed of thousands of
events takes seconds per megabyte to parse, and a rule that never matches (February 30th)
is walked by dateutil to the year 9999 whatever its UNTIL. So the reading runs in a thread
that is given :data:`READ_SECONDS`; after that the thread is asked to raise ``SystemExit``
at its next bytecode (CPython's ``PyThreadState_SetAsyncExc``), which ends it at once
instead of letting it work on unseen, and the caller gets a :class:`FeedError`.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import TypeVar

from postduif.errors import FeedError

READ_SECONDS = 20.0
T = TypeVar("T")


def within(work: Callable[[], T], source: str, seconds: float = READ_SECONDS) -> T:
    """``work()``, or a :class:`FeedError` naming ``source`` when it takes too long; what
    ``work`` raises is raised here."""
    done: list[T] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            done.append(work())
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)

    worker = threading.Thread(target=run, name="postduif-calendar", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive() and worker.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident),
                                                   ctypes.py_object(SystemExit))
        raise FeedError(f"calendar feed {source} could not be read within {seconds:g} s: "
                        f"too many events, or a recurring event whose rule matches rarely "
                        f"or never (such as February 30th)",
                        hint="fix the event's RRULE, or point agenda.feed at a smaller feed")
    if failed:
        raise failed[0]
    return done[0]
