"""The send ledger in the store: the snapshot, the row states and the one-commit advance."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from postduif.errors import StoreError
from postduif.send import ledger_status, start_campaign
from postduif.store import Advance, Person, Settle, Store

LIST = "nieuwsbrief"


def confirm(store: Store, email: str, name: str = "", language: str = "nl") -> None:
    store.join(Person(email, first_name=name, language=language), list=LIST,
               status="confirmed", event="confirmed", source="test", consent_version="v1",
               default_language="nl")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store.sqlite3") as opened:
        for email, name, lang in [("anouk@example.org", "Anouk", "nl"),
                                  ("bram@example.org", "Bram", "en"),
                                  ("chidi@example.org", "Chidi", "nl")]:
            confirm(opened, email, name, lang)
        yield opened


def snapshot(store: Store, campaign: str = "juni") -> int:
    rows = ((m.email, m.first_name, m.memberships[0].language) for m in store.members(LIST))
    return start_campaign(store, campaign, LIST, rows)


def states(store: Store, campaign: str = "juni") -> dict[str, str]:
    return {e.email: e.state for e in store.ledger_entries(campaign)}


def test_start_snapshots_once_and_a_resume_keeps_the_recipient_set(store: Store) -> None:
    assert snapshot(store) == 3
    confirm(store, "dewi@example.org", "Dewi")
    assert snapshot(store) == 3  # the list grew, the campaign did not
    assert set(states(store)) == {"anouk@example.org", "bram@example.org", "chidi@example.org"}
    assert snapshot(store, "juli") == 4  # a new campaign sees the new member
    entries = list(store.ledger_entries("juni"))
    assert [(e.name, e.variant, e.state, e.attempts) for e in entries] == [
        ("Anouk", "nl", "queued", 0), ("Bram", "en", "queued", 0), ("Chidi", "nl", "queued", 0)]


def test_start_consumes_the_rows_lazily_and_ignores_duplicates(store: Store) -> None:
    def rows() -> Iterator[tuple[str, str, str]]:
        yield ("Eva@Example.org", "Eva", "nl")
        yield ("eva@example.org", "Eva again", "en")
    assert start_campaign(store, "dubbel", LIST, rows()) == 1
    [entry] = store.ledger_entries("dubbel")
    assert (entry.email, entry.name) == ("eva@example.org", "Eva")


def test_a_campaign_cannot_move_to_another_list(store: Store) -> None:
    snapshot(store)
    with pytest.raises(StoreError, match="started for the list 'nieuwsbrief'"):
        start_campaign(store, "juni", "leden", [])


def test_the_schema_refuses_unknown_states_and_duplicate_rows(store: Store) -> None:
    snapshot(store)
    with pytest.raises(sqlite3.IntegrityError):
        store._conn.execute("UPDATE ledger SET state = 'lost' WHERE email = 'bram@example.org'")
    with pytest.raises(sqlite3.IntegrityError):
        store._conn.execute("INSERT INTO ledger (campaign, list, email, variant, updated_at) "
                            "VALUES ('juni', ?, 'bram@example.org', 'en', 'now')", (LIST,))


def test_advance_records_the_previous_row_and_claims_the_next_in_one_commit(
        store: Store, tmp_path: Path) -> None:
    snapshot(store)
    first = store.advance_ledger("juni", None, now=0.0).row
    assert first is not None and (first.email, first.attempts) == ("anouk@example.org", 1)
    with Store.open(tmp_path / "store.sqlite3") as other:  # what another process sees
        assert states(other)["anouk@example.org"] == "sending"
        changes_before = other._conn.execute("PRAGMA data_version").fetchone()[0]
        second = store.advance_ledger("juni", Settle(first.id, "sent", 250, "ok"), now=0.0).row
        changes_after = other._conn.execute("PRAGMA data_version").fetchone()[0]
        assert second is not None and second.email == "bram@example.org"
        # data_version moves once per commit by another connection: both changes, one commit
        assert changes_after == changes_before + 1
        assert states(other) == {"anouk@example.org": "sent", "bram@example.org": "sending",
                                 "chidi@example.org": "queued"}


def test_a_retry_waits_for_not_before_while_later_rows_go_ahead(store: Store) -> None:
    snapshot(store)
    first = store.advance_ledger("juni", None, now=100.0).row
    assert first is not None
    deferred = Settle(first.id, "queued", 451, "4.3.0 try later", not_before=160.0)
    claim = store.advance_ledger("juni", deferred, now=100.0)
    assert claim.row is not None and claim.row.email == "bram@example.org"
    claim = store.advance_ledger("juni", Settle(claim.row.id, "sent", 250, "ok"), now=100.0)
    assert claim.row is not None and claim.row.email == "chidi@example.org"
    claim = store.advance_ledger("juni", Settle(claim.row.id, "sent", 250, "ok"), now=100.0)
    assert (claim.row, claim.wait_until) == (None, 160.0)
    again = store.advance_ledger("juni", None, now=160.0).row
    assert again is not None and (again.email, again.attempts) == ("anouk@example.org", 2)
    store.settle_ledger(Settle(again.id, "sent", 250, "ok"))
    assert store.advance_ledger("juni", None, now=999.0).wait_until is None


def test_a_member_who_left_meanwhile_is_skipped_not_claimed(store: Store) -> None:
    snapshot(store)
    store.set_status("anouk@example.org", LIST, "unsubscribed", event="unsubscribed",
                     source="link")
    store.forget("bram@example.org", source="request")
    claim = store.advance_ledger("juni", None, now=0.0)
    assert claim.row is not None and claim.row.email == "chidi@example.org"
    assert claim.skipped == 1
    assert states(store) == {"anouk@example.org": "skipped", "chidi@example.org": "sending"}


def test_a_bounce_marks_the_membership_and_logs_the_event(store: Store) -> None:
    snapshot(store)
    row = store.advance_ledger("juni", None, now=0.0).row
    assert row is not None
    store.settle_ledger(Settle(row.id, "failed", 550, "5.1.1 no such user", bounce=True))
    subscriber = store.get(row.email)
    assert subscriber is not None
    membership = subscriber.membership(LIST)
    assert membership is not None and membership.status == "bounced"
    assert store.consent_log(row.email)[-1].event == "bounced"
    assert "5.1.1 no such user" in store.consent_log(row.email)[-1].source


def test_settling_a_row_that_is_not_being_sent_is_a_bug(store: Store) -> None:
    snapshot(store)
    [entry, *_] = store.ledger_entries("juni")
    with pytest.raises(RuntimeError, match="not being sent"):
        store.settle_ledger(Settle(entry.id, "sent", 250, "ok"))


def test_prepare_turns_sending_into_unknown_and_requeues_on_request(store: Store) -> None:
    snapshot(store)
    row = store.advance_ledger("juni", None, now=0.0).row
    assert row is not None
    store.pause_ledger("juni", "550 5.7.1 relaying denied")
    assert store.prepare_ledger("juni", resend_unknown=False) == (1, 0)
    assert states(store)[row.email] == "unknown"
    record = store.ledger_campaign("juni")
    assert record is not None and record.paused_reply is None
    assert store.prepare_ledger("juni", resend_unknown=True) == (0, 1)
    assert states(store)[row.email] == "queued"


def test_status_counts_per_variant_and_lists_failures(store: Store) -> None:
    snapshot(store)
    first = store.advance_ledger("juni", None, now=0.0).row
    assert first is not None
    second = store.advance_ledger("juni", Settle(first.id, "failed", 554, "5.6.0 bad"), 0.0).row
    assert second is not None
    store.settle_ledger(Settle(second.id, "sent", 250, "ok"))
    status = ledger_status(store, "juni")
    by_variant = {v.variant: v for v in status.variants}
    assert (by_variant["nl"].failed, by_variant["nl"].queued, by_variant["nl"].total) == (1, 1, 2)
    assert (by_variant["en"].sent, by_variant["en"].remaining) == (1, 0)
    assert (status.totals.total, status.totals.remaining) == (3, 1)
    [failure] = status.failures
    assert (failure.email, failure.state, failure.code) == ("anouk@example.org", "failed", 554)
    assert status.list == LIST and status.paused is None


def test_status_of_a_campaign_never_started_is_empty(store: Store) -> None:
    status = ledger_status(store, "nooit")
    assert (status.list, status.variants, status.totals.total) == (None, (), 0)


def test_forget_erases_the_address_from_the_ledger(store: Store) -> None:
    snapshot(store)
    assert store.forget("anouk@example.org", source="request")
    assert "anouk@example.org" not in states(store)


def test_workers_ready_together_share_one_commit_and_get_distinct_rows(
        store: Store, tmp_path: Path) -> None:
    snapshot(store)
    first, second = (c.row for c in store.advance_ledger_many("juni", [Advance(), Advance()],
                                                              now=0.0))
    assert first is not None and second is not None and first.id != second.id
    with Store.open(tmp_path / "store.sqlite3") as other:
        before = other._conn.execute("PRAGMA data_version").fetchone()[0]
        claims = store.advance_ledger_many(
            "juni", [Advance((Settle(first.id, "sent", 250, "ok"),)),
                     Advance((Settle(second.id, "sent", 250, "ok"),))], now=0.0)
        assert other._conn.execute("PRAGMA data_version").fetchone()[0] == before + 1
    assert [c.row.email if c.row else None for c in claims] == ["chidi@example.org", None]
    assert claims[1].wait_until is None
    assert states(store) == {"anouk@example.org": "sent", "bram@example.org": "sent",
                             "chidi@example.org": "sending"}
