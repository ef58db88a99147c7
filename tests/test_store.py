"""The subscriber store, on real SQLite files: migrations, joining, consent, forgetting."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from postduif import store as store_module
from postduif.errors import StoreError
from postduif.store import Membership, Outcome, Person, Store, Suppression


class Clock:
    """A clock the test moves forward, so every timestamp is predictable."""

    def __init__(self) -> None:
        self.now = datetime(2025, 5, 1, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> str:
        self.now += timedelta(**delta)
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    with Store.open(tmp_path / "lists" / "postduif.sqlite3", clock=clock) as opened:
        yield opened


SANNE = Person(email="sanne@voorbeeld.nl", first_name="Sanne", last_name="Bakker",
               organization="Bol", social_links=("https://social.example/@sanne",),
               goals="Organise my team")


def join(store: Store, person: Person = SANNE, *, list: str = "leden", status: str = "pending",
         event: str = "requested", source: str = "join.json:1") -> Outcome:
    return store.join(person, list=list, status=status, event=event, source=source,
                      consent_version="2025-01", default_language="nl")


def membership_of(store: Store, email: str, list: str) -> Membership:
    subscriber = store.get(email)
    assert subscriber is not None, f"{email} is not in the store"
    membership = subscriber.membership(list)
    assert membership is not None, f"{email} is not on {list}"
    return membership


# -- migrations ---------------------------------------------------------------------------------

def test_a_new_store_applies_every_migration_once(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "deep" / "er" / "store.sqlite3"
    with Store.open(path, clock=clock) as first:
        applied = first.migrations()
        assert [name for name, _ in applied] == [name for name, _ in store_module.MIGRATIONS]
        assert {at for _, at in applied} == {"2025-05-01T09:30:00Z"}
        join(first)
    clock.advance(days=1)
    with Store.open(path, clock=clock) as second:
        assert second.migrations() == applied
        assert second.get(SANNE.email) is not None


def test_store_uses_wal_foreign_keys_and_waits_for_locks(store: Store) -> None:
    assert store._conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert store._conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert store._conn.execute("PRAGMA busy_timeout").fetchone() == (30_000,)
    assert store._conn.execute("PRAGMA user_version").fetchone() == (
        len(store_module.MIGRATIONS),)


def test_a_failing_migration_leaves_no_trace(tmp_path: Path, clock: Clock,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "store.sqlite3"
    Store.open(path, clock=clock).close()

    def half_done(conn: Any) -> None:
        conn.execute("CREATE TABLE half (x)")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS,
                                                    ("0099_broken", half_done)])
    with pytest.raises(RuntimeError, match="disk on fire"):
        Store.open(path, clock=clock)
    monkeypatch.undo()
    with Store.open(path, clock=clock) as reopened:
        assert "0099_broken" not in [name for name, _ in reopened.migrations()]
        tables = reopened._conn.execute(
            "SELECT name FROM sqlite_master WHERE name = 'half'").fetchall()
        assert tables == []


def test_a_store_from_a_newer_postduif_is_refused(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "store.sqlite3"
    with Store.open(path, clock=clock) as newer:
        newer._conn.execute("INSERT INTO schema_migrations VALUES ('0100_future', 'later')")
    with pytest.raises(StoreError, match="newer postduif"):
        Store.open(path, clock=clock)


def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    with pytest.raises(StoreError, match="cannot use the store") as caught:
        Store.open(path)
    assert caught.value.path == path


# -- joining ------------------------------------------------------------------------------------

def test_a_new_person_is_added_with_a_pending_membership(store: Store) -> None:
    assert join(store) is Outcome.ADDED
    sanne = store.get("Sanne@Voorbeeld.NL")
    assert sanne is not None
    assert (sanne.email, sanne.first_name, sanne.last_name, sanne.language) == (
        "sanne@voorbeeld.nl", "Sanne", "Bakker", "nl")
    assert sanne.social_links == ("https://social.example/@sanne",)
    assert sanne.created_at == sanne.updated_at == "2025-05-01T09:30:00Z"
    membership = sanne.membership("leden")
    assert membership is not None
    assert (membership.status, membership.language, membership.requested_at) == (
        "pending", "nl", "2025-05-01T09:30:00Z")
    assert membership.confirmed_at is None


def test_joining_again_unchanged_writes_nothing(store: Store, clock: Clock) -> None:
    join(store)
    before = store.get(SANNE.email)
    clock.advance(hours=1)
    assert join(store) is Outcome.UNCHANGED
    assert join(store, Person(email="SANNE@voorbeeld.nl")) is Outcome.UNCHANGED
    assert store.get(SANNE.email) == before
    assert len(store.consent_log(SANNE.email)) == 1


def test_a_changed_field_is_an_update(store: Store, clock: Clock) -> None:
    join(store)
    later = clock.advance(hours=2)
    assert join(store, Person(email=SANNE.email, organization="Coolblue")) is Outcome.UPDATED
    sanne = store.get(SANNE.email)
    assert sanne is not None
    assert (sanne.organization, sanne.updated_at, sanne.created_at) == (
        "Coolblue", later, "2025-05-01T09:30:00Z")


def test_empty_fields_do_not_blank_known_ones(store: Store) -> None:
    join(store, Person(email=SANNE.email, first_name="Sanne", language="en",
                       social_links=("https://a.example",), goals="Learn"))
    assert join(store, Person(email=SANNE.email, last_name="Bakker")) is Outcome.UPDATED
    sanne = store.get(SANNE.email)
    assert sanne is not None
    assert (sanne.first_name, sanne.last_name, sanne.language, sanne.goals) == (
        "Sanne", "Bakker", "en", "Learn")
    assert sanne.social_links == ("https://a.example",)


def test_a_new_language_updates_the_membership(store: Store) -> None:
    join(store, list="nieuwsbrief", status="pending")
    assert join(store, Person(email=SANNE.email, language="en"),
                list="nieuwsbrief") is Outcome.UPDATED
    sanne = store.get(SANNE.email)
    assert sanne is not None and sanne.language == "en"
    membership = sanne.membership("nieuwsbrief")
    assert membership is not None and membership.language == "en"


def test_a_known_person_joining_another_list_is_added_to_it(store: Store) -> None:
    join(store)
    assert join(store, list="nieuwsbrief", status="confirmed",
                event="confirmed") is Outcome.ADDED
    sanne = store.get(SANNE.email)
    assert sanne is not None
    assert [(m.list, m.status) for m in sanne.memberships] == [
        ("leden", "pending"), ("nieuwsbrief", "confirmed")]
    newsletter = sanne.membership("nieuwsbrief")
    assert newsletter is not None and newsletter.confirmed_at == "2025-05-01T09:30:00Z"


def test_a_new_list_without_a_language_takes_the_persons_language(store: Store) -> None:
    join(store, Person(email=SANNE.email, language="en"), list="nieuwsbrief")
    join(store, Person(email=SANNE.email, first_name="Sanne"))
    assert membership_of(store, SANNE.email, "leden").language == "en"


def test_a_join_keeps_the_status_it_finds(store: Store) -> None:
    join(store)
    store.set_status(SANNE.email, "leden", "confirmed", event="approved", source="review")
    assert join(store, status="pending") is Outcome.UNCHANGED
    assert membership_of(store, SANNE.email, "leden").status == "confirmed"


@pytest.mark.parametrize(("status", "event"), [
    ("unsubscribed", "unsubscribed"), ("rejected", "rejected"),
    ("bounced", "bounced"), ("complained", "complained"),
])
def test_who_left_or_was_refused_is_never_resubscribed(store: Store, status: str,
                                                       event: str) -> None:
    join(store)
    store.set_status(SANNE.email, "leden", status, event=event, source="cli")
    before = store.get(SANNE.email)
    events = store.consent_log(SANNE.email)
    changed = Person(email=SANNE.email, first_name="Sanna", language="en")
    assert join(store, changed, status="confirmed", event="confirmed") is Outcome.UNSUBSCRIBED
    assert store.get(SANNE.email) == before
    assert store.consent_log(SANNE.email) == events


def test_unknown_status_or_event_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="unknown status 'subscribed'"):
        join(store, status="subscribed")
    with pytest.raises(StoreError, match="unknown consent event 'liked'"):
        join(store, event="liked")
    assert store.get(SANNE.email) is None


# -- status changes and consent -------------------------------------------------------------------

def test_every_status_change_is_stamped_and_logged(store: Store, clock: Clock) -> None:
    join(store, source="join.json:7")
    approved = clock.advance(days=2)
    store.set_status(SANNE.email, "leden", "confirmed", event="approved",
                     source="joins review", consent_version="2025-01")
    left = clock.advance(days=30)
    store.set_status(SANNE.email, "leden", "unsubscribed", event="unsubscribed",
                     source="unsubscribe link")
    membership = membership_of(store, SANNE.email, "leden")
    assert (membership.requested_at, membership.approved_at, membership.confirmed_at,
            membership.unsubscribed_at, membership.changed_at) == (
        "2025-05-01T09:30:00Z", approved, approved, left, left)
    log = [(e.at, e.email, e.list, e.event, e.source, e.consent_version)
           for e in store.consent_log(SANNE.email)]
    assert log == [
        ("2025-05-01T09:30:00Z", SANNE.email, "leden", "requested", "join.json:7", "2025-01"),
        (approved, SANNE.email, "leden", "approved", "joins review", "2025-01"),
        (left, SANNE.email, "leden", "unsubscribed", "unsubscribe link", ""),
    ]


def test_set_status_of_an_unknown_membership_is_an_error(store: Store) -> None:
    with pytest.raises(StoreError, match="nobody@voorbeeld.nl is not on the list 'leden'"):
        store.set_status("nobody@voorbeeld.nl", "leden", "confirmed", event="approved",
                         source="cli")
    join(store)
    with pytest.raises(StoreError, match="not on the list 'nieuwsbrief'"):
        store.set_status(SANNE.email, "nieuwsbrief", "confirmed", event="confirmed",
                         source="cli")
    assert len(store.consent_log(SANNE.email)) == 1


def test_mark_sent_records_when(store: Store, clock: Clock) -> None:
    join(store)
    sent = clock.advance(minutes=5)
    store.mark_sent(SANNE.email, "leden", "confirmation")
    membership = membership_of(store, SANNE.email, "leden")
    assert (membership.confirmation_sent_at, membership.welcomed_at) == (sent, None)
    with pytest.raises(StoreError, match="unknown message kind"):
        store.mark_sent(SANNE.email, "leden", "birthday")
    with pytest.raises(StoreError, match="not on the list"):
        store.mark_sent(SANNE.email, "nieuwsbrief", "welcome")


def test_the_consent_log_refuses_deletes(store: Store) -> None:
    join(store)
    with pytest.raises(Exception, match="consent_log is append-only"):
        store._conn.execute("DELETE FROM consent_log")
    assert len(store.consent_log(SANNE.email)) == 1


@pytest.mark.parametrize("change", [
    "event = 'confirmed'", "source = 'elsewhere'", "at = '2020-01-01T00:00:00Z'",
    "email = 'someone-else@voorbeeld.nl'", "consent_version = 'never shown'",
])
def test_the_consent_log_refuses_rewrites(store: Store, change: str) -> None:
    join(store)
    with pytest.raises(Exception, match="consent_log is append-only"):
        store._conn.execute(f"UPDATE consent_log SET {change}")


# -- forgetting -----------------------------------------------------------------------------------

def test_forget_erases_and_suppresses(store: Store, clock: Clock) -> None:
    join(store)
    join(store, list="nieuwsbrief", status="confirmed", event="confirmed")
    when = clock.advance(days=3)
    assert store.forget("Sanne@voorbeeld.nl", source="subscribers forget") is True
    assert store.get(SANNE.email) is None
    assert store.is_suppressed(SANNE.email)
    assert store.counts() == []

    exported = store.export_person(SANNE.email)
    assert exported["subscriber"] is None and exported["suppressed"] is True
    assert SANNE.email not in json.dumps(exported["consent_log"])
    hashes = {event["email"] for event in exported["consent_log"]}
    assert len(hashes) == 1 and hashes.pop().startswith("sha256:")
    assert [(e["event"], e["list"]) for e in exported["consent_log"]] == [
        ("requested", "leden"), ("confirmed", "nieuwsbrief"), ("forgotten", "")]
    assert exported["consent_log"][-1]["at"] == when
    assert SANNE.first_name not in json.dumps(exported)


def test_a_forgotten_address_cannot_be_imported_back(store: Store) -> None:
    join(store)
    store.forget(SANNE.email, source="cli")
    events = store.consent_log(SANNE.email)
    assert join(store) is Outcome.SUPPRESSED
    assert join(store, list="nieuwsbrief") is Outcome.SUPPRESSED
    assert store.get(SANNE.email) is None
    assert store.consent_log(SANNE.email) == events


def test_forgetting_someone_unknown_still_suppresses(store: Store) -> None:
    assert store.forget("never@voorbeeld.nl", source="email request") is False
    assert store.is_suppressed("never@voorbeeld.nl")
    assert not store.is_suppressed(SANNE.email)
    assert join(store, Person(email="never@voorbeeld.nl")) is Outcome.SUPPRESSED


def test_a_suppression_says_why_and_the_first_reason_stands(store: Store, clock: Clock) -> None:
    join(store, status="confirmed", event="confirmed")
    when = clock.advance(hours=1)
    assert store.suppress(SANNE.email, reason="blocklisted", source="listmonk export a.csv:2")
    assert not store.suppress(SANNE.email, reason="blocklisted", source="listmonk export b.csv:9")
    store.forget(SANNE.email, source="cli")
    assert store.suppression(SANNE.email) == Suppression(when, "blocklisted",
                                                         "listmonk export a.csv:2")
    assert store.export_person(SANNE.email)["suppression"] == {
        "at": when, "reason": "blocklisted", "source": "listmonk export a.csv:2"}
    assert join(store, list="nieuwsbrief") is Outcome.SUPPRESSED
    with pytest.raises(StoreError, match="unknown suppression reason 'bored'"):
        store.suppress("x@voorbeeld.nl", reason="bored", source="test")


def test_suppressing_keeps_the_person_and_their_memberships(store: Store) -> None:
    join(store, status="confirmed", event="confirmed")
    store.suppress(SANNE.email, reason="blocklisted", source="test")
    assert membership_of(store, SANNE.email, "leden").status == "confirmed"
    assert store.export_person(SANNE.email)["suppressed"] is True
    assert store.suppression("other@voorbeeld.nl") is None


def test_suppressions_from_before_reasons_were_kept_count_as_forgotten(
        tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "store.sqlite3"
    monkeypatch.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:3])
    with Store.open(path, clock=clock) as old:
        old._conn.execute("INSERT INTO suppressions (hash, at, source) VALUES "
                          "(?, '2025-01-01T00:00:00Z', 'cli')", (old._hash(SANNE.email),))
    monkeypatch.undo()
    with Store.open(path, clock=clock) as upgraded:
        assert "0004_suppression_reasons" in [name for name, _ in upgraded.migrations()]
        assert upgraded.suppression(SANNE.email) == Suppression(
            "2025-01-01T00:00:00Z", "forgotten", "cli")


def test_join_stamps_the_given_time_and_refuses_one_without_a_zone(store: Store,
                                                                  clock: Clock) -> None:
    when = datetime(2024, 5, 1, 12, 0, 30, 999999, timezone(timedelta(hours=2)))
    assert store.join(SANNE, list="nieuwsbrief", status="confirmed", event="confirmed",
                      source="listmonk export a.csv:2", consent_version="",
                      default_language="nl", at=when) is Outcome.ADDED
    membership = membership_of(store, SANNE.email, "nieuwsbrief")
    assert (membership.requested_at, membership.confirmed_at, membership.changed_at) == (
        "2024-05-01T10:00:30Z",) * 3
    assert [e.at for e in store.consent_log(SANNE.email)] == ["2024-05-01T10:00:30Z"]
    subscriber = store.get(SANNE.email)
    assert subscriber is not None and subscriber.created_at == "2025-05-01T09:30:00Z"  # now
    left = datetime(2024, 6, 1, tzinfo=UTC)
    store.join(Person(email="weg@voorbeeld.nl"), list="nieuwsbrief", status="unsubscribed",
               event="unsubscribed", source="test", consent_version="", default_language="nl",
               at=left)
    gone = membership_of(store, "weg@voorbeeld.nl", "nieuwsbrief")
    assert (gone.status, gone.unsubscribed_at, gone.confirmed_at) == (
        "unsubscribed", "2024-06-01T00:00:00Z", None)
    with pytest.raises(StoreError, match="has no time zone"):
        store.join(Person(email="naive@voorbeeld.nl"), list="nieuwsbrief", status="confirmed",
                   event="confirmed", source="test", consent_version="",
                   default_language="nl", at=datetime(2024, 5, 1, 12))
    assert store.get("naive@voorbeeld.nl") is None


def test_hashes_are_salted_per_store(tmp_path: Path) -> None:
    hashes = []
    for name in ("one", "two"):
        with Store.open(tmp_path / name / "store.sqlite3") as opened:
            opened.forget(SANNE.email, source="cli")
            hashes.append(opened.consent_log(SANNE.email)[0].email)
    assert hashes[0] != hashes[1]


def test_export_holds_everything_about_one_person(store: Store) -> None:
    join(store)
    join(store, Person(email="other@voorbeeld.nl", first_name="Other"))
    exported = store.export_person(SANNE.email)
    subscriber = exported["subscriber"]
    assert (subscriber["first_name"], subscriber["goals"]) == ("Sanne", "Organise my team")
    assert [m["list"] for m in subscriber["memberships"]] == ["leden"]
    assert [e["event"] for e in exported["consent_log"]] == ["requested"]
    assert "Other" not in json.dumps(exported)


# -- reading --------------------------------------------------------------------------------------

def people(count: int, domain: str = "voorbeeld.nl") -> list[Person]:
    return [Person(email=f"lid{i}@{domain}", first_name=f"Lid {i}") for i in range(count)]


def test_counts_per_list_status_and_language(store: Store) -> None:
    for person in people(3):
        join(store, person)
    for person in people(2, "example.org"):
        join(store, Person(email=person.email, language="en"))
    join(store, list="nieuwsbrief", status="confirmed", event="confirmed")
    store.set_status("lid0@voorbeeld.nl", "leden", "rejected", event="rejected", source="cli")
    assert store.counts() == [
        ("leden", "pending", "en", 2), ("leden", "pending", "nl", 2),
        ("leden", "rejected", "nl", 1), ("nieuwsbrief", "confirmed", "nl", 1),
    ]
    assert store.counts("nieuwsbrief") == [("nieuwsbrief", "confirmed", "nl", 1)]
    assert store.counts("nobody") == []


def test_members_are_streamed_in_order_by_status(store: Store) -> None:
    for person in people(5):
        join(store, person)
    for i in (3, 1, 4):
        store.set_status(f"lid{i}@voorbeeld.nl", "leden", "confirmed", event="approved",
                         source="review")
    members = store.members("leden")
    assert iter(members) is members  # a generator, not a list built up front
    assert [m.email for m in members] == [f"lid{i}@voorbeeld.nl" for i in (1, 3, 4)]
    assert [m.email for m in store.members("leden", "pending")] == [
        "lid0@voorbeeld.nl", "lid2@voorbeeld.nl"]
    assert list(store.members("nieuwsbrief")) == []


def test_members_can_be_read_while_writing(store: Store) -> None:
    for person in people(50):
        join(store, person)
    seen = 0
    for member in store.members("leden", "pending"):
        store.set_status(member.email, "leden", "confirmed", event="approved", source="bulk")
        seen += 1
    assert seen == 50
    assert store.counts("leden") == [("leden", "confirmed", "nl", 50)]


def test_pending_oldest_first(store: Store, clock: Clock) -> None:
    for person in reversed(people(3)):
        join(store, person)
        clock.advance(minutes=1)
    store.set_status("lid1@voorbeeld.nl", "leden", "confirmed", event="approved", source="cli")
    assert [s.email for s in store.pending("leden")] == ["lid2@voorbeeld.nl",
                                                         "lid0@voorbeeld.nl"]


def test_search_by_address_name_or_organisation(store: Store) -> None:
    join(store)
    join(store, Person(email="piet@example.org", first_name="Piet", last_name="de Boer",
                       organization="Booking_Holdings"))
    assert [s.email for s in store.search("BAKKER")] == [SANNE.email]
    assert [s.email for s in store.search("piet de b")] == ["piet@example.org"]
    assert [s.email for s in store.search("bol")] == [SANNE.email]
    assert [s.email for s in store.search("voorbeeld.nl")] == [SANNE.email]
    assert [s.email for s in store.search("g_h")] == ["piet@example.org"]
    assert store.search("%") == []
    assert len(store.search("", limit=1)) == 1


# -- transactions ---------------------------------------------------------------------------------

def test_a_failed_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(ValueError, match="halfway"), store.transaction():
        join(store)
        with store.transaction():  # joins the outer one
            join(store, Person(email="tweede@voorbeeld.nl"))
        raise ValueError("halfway")
    assert store.get(SANNE.email) is None
    assert store.get("tweede@voorbeeld.nl") is None
    assert store.consent_log(SANNE.email) == []


def test_rollback_only_runs_then_undoes(store: Store) -> None:
    with store.rollback_only():
        assert join(store) is Outcome.ADDED
        assert join(store) is Outcome.UNCHANGED
        assert store.get(SANNE.email) is not None
    assert store.get(SANNE.email) is None
    with store.transaction():
        join(store, Person(email="blijft@voorbeeld.nl"))
        with store.rollback_only():
            join(store)
    assert store.get(SANNE.email) is None
    assert store.get("blijft@voorbeeld.nl") is not None


def test_a_claimed_greeting_is_uncertain_until_delivered(store: Store) -> None:
    join(store)
    email = SANNE.email
    assert not store.claim_resend(email, "leden", "confirmation")  # nothing to resend yet
    assert store.claim_sent(email, "leden", "confirmation")
    claimed = membership_of(store, email, "leden")
    assert claimed.uncertain("confirmation") == claimed.confirmation_sent_at is not None
    assert claimed.uncertain("welcome") is None
    assert store.claim_resend(email, "leden", "confirmation")  # still uncertain: may resend
    store.delivered(email, "leden", "confirmation")
    assert membership_of(store, email, "leden").uncertain("confirmation") is None
    assert not store.claim_resend(email, "leden", "confirmation")
    assert store.claim_sent(SANNE.email, "leden", "welcome")
    store.clear_sent(email, "leden", "welcome")  # a clear refusal: neither sent nor uncertain
    assert membership_of(store, email, "leden").uncertain("welcome") is None
