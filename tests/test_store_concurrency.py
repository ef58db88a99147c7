"""Two real processes writing to one store at once: an import while an organiser reviews.

Both open the same fresh file at the same moment (so they also race to migrate it), then
process A imports 2,000 people in batches of transactions while process B adds 1,000 people,
half of them also in A's file, and approves or unsubscribes each right away. A starts once B
has decided on its first 100 people and walks its file backwards, so on the shared people both
orders happen: A meets people B already decided on, and B decides on people A already added.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from pathlib import Path
from typing import Any

from postduif.store import Person, Store

A_PEOPLE = 2000
BATCH = 25
OVERLAP = range(1000, 1500)  # people in both A's import and B's review
B_ONLY = range(5000, 5500)


def address(i: int) -> str:
    return f"persoon{i}@voorbeeld.nl"


def b_status(i: int) -> str:
    return "confirmed" if i % 2 == 0 else "unsubscribed"


def importer(path: Path, start: Any, b_underway: Any, results: Any) -> None:
    """Process A: ``joins import`` of one large file, committed in batches."""
    try:
        start.wait()
        outcomes: Counter[str] = Counter()
        with Store.open(path) as store:
            b_underway.wait(timeout=60)
            began = time.monotonic()
            for last in range(A_PEOPLE, 0, -BATCH):
                with store.transaction():
                    for i in range(last - 1, last - BATCH - 1, -1):
                        person = Person(email=address(i), first_name=f"Voornaam {i}")
                        outcomes[store.join(person, list="leden", status="pending",
                                            event="requested", source=f"leden.csv:{i + 2}",
                                            consent_version="1", default_language="nl")] += 1
        results.put(("A", began, time.monotonic(), dict(outcomes)))
    except Exception as exc:  # reported to the test instead of dying silently
        results.put(("A", 0.0, 0.0, repr(exc)))


def reviewer(path: Path, start: Any, b_underway: Any, results: Any) -> None:
    """Process B: adds people by hand and decides on each, one transaction per action."""
    try:
        start.wait()
        began = time.monotonic()
        with Store.open(path) as store:
            for done, i in enumerate([*OVERLAP, *B_ONLY]):
                if done == 100:
                    b_underway.set()
                store.join(Person(email=address(i), organization="Techwerkers"), list="leden",
                           status="pending", event="requested", source="subscribers add",
                           consent_version="1", default_language="nl")
                event = "approved" if b_status(i) == "confirmed" else "unsubscribed"
                store.set_status(address(i), "leden", b_status(i), event=event,
                                 source="joins review")
        results.put(("B", began, time.monotonic(), {}))
    except Exception as exc:
        results.put(("B", 0.0, 0.0, repr(exc)))


def test_two_processes_write_at_once_without_loss_or_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "lists" / "postduif.sqlite3"
    context = multiprocessing.get_context("spawn")
    start, b_underway, results = context.Barrier(2), context.Event(), context.Queue()
    workers = [context.Process(target=target, args=(path, start, b_underway, results))
               for target in (importer, reviewer)]
    for worker in workers:
        worker.start()
    reports = {name: (began, ended, detail)
               for name, began, ended, detail in (results.get(timeout=120) for _ in workers)}
    for worker in workers:
        worker.join(timeout=30)
    assert [worker.exitcode for worker in workers] == [0, 0]
    assert not isinstance(reports["A"][2], str), reports["A"][2]
    assert not isinstance(reports["B"][2], str), reports["B"][2]
    (a_began, a_ended, a_outcomes), (b_began, b_ended, _) = reports["A"], reports["B"]
    assert a_began < b_ended and b_began < a_ended, "the two processes did not overlap"
    # B's first 100 were decided before A began: A must have refused the unsubscribed half
    # and only added names to the confirmed half.
    assert a_outcomes["unsubscribed"] >= 50 and a_outcomes["updated"] >= 50, a_outcomes

    with Store.open(path) as store:
        total, distinct = store._conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT email) FROM subscribers").fetchone()
        assert total == distinct == A_PEOPLE + len(B_ONLY)
        for i in range(A_PEOPLE):
            assert store.get(address(i)) is not None, f"A's {address(i)} was lost"
        for i in [*OVERLAP, *B_ONLY]:
            person = store.get(address(i))
            assert person is not None
            membership = person.membership("leden")
            assert membership is not None and membership.status == b_status(i), address(i)
            assert person.organization == "Techwerkers"
            if membership.status == "confirmed":
                assert person.first_name == f"Voornaam {i}" or i in B_ONLY
        assert len(store.migrations()) == len({name for name, _ in store.migrations()})
