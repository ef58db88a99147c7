"""Matching reports to campaigns and subscribers, and what they change, on a real SQLite store.

The notices are built by hand here (what ``classify`` would make of a report); the reports
themselves, read from a Maildir and from Dovecot, are in ``test_cli_bounces.py``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postduif.bounces.classify import classify
from postduif.bounces.effects import BounceReport, apply, process, reported_at
from postduif.bounces.mailbox import open_path
from postduif.bounces.match import LISTED_ONE, LISTED_VERP, Matcher
from postduif.bounces.model import Failure, Kind, Notice
from postduif.config import BounceSettings, load_settings
from postduif.message import message_id, message_id_key
from postduif.store import Person, Settle, Store
from postduif.verp import ReturnPath

from .bounce_samples import BY_FILE

KEY = b"bounce-effects-key-0123456789"
RETURN = ReturnPath("nieuwsbrief@techwerkers.nl", KEY)
CAMPAIGN = "2026-12-community-update"
PEOPLE = ("eva@example.org", "joris@example.net", "amal@example.com")
DOMAIN = "techwerkers.nl"
ID_KEY = message_id_key(KEY)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    with Store.open(tmp_path / "postduif.sqlite3", clock=clock) as opened:
        for n, email in enumerate(PEOPLE):
            for list_name in ("nieuwsbrief", "leden"):
                opened.join(Person(email=email, language="en" if n == 1 else "nl"),
                            list=list_name, status="confirmed", event="confirmed",
                            source="test", consent_version="1", default_language="nl")
        opened.start_ledger(CAMPAIGN, "nieuwsbrief",
                            ((e, "", "en" if n == 1 else "nl") for n, e in enumerate(PEOPLE)))
        yield opened


@pytest.fixture
def rules(workspace: Path) -> BounceSettings:
    return load_settings(workspace).bounces


def notice(kind: Kind, address: str = "", *, key: str = "<r1@relay>", status: str = "5.1.1",
           reason: str = "550 5.1.1 <x>: Recipient address rejected: User unknown",
           message_ids: tuple[str, ...] = (), delivered_to: tuple[str, ...] = (),
           date: datetime | None = None, failures: tuple[Failure, ...] | None = None) -> Notice:
    if failures is None:
        failures = () if kind is Kind.AUTO_REPLY else (Failure(address, kind, status, reason),)
    return Notice(key=key, kind=kind, failures=failures, original_message_ids=message_ids,
                  delivered_to=delivered_to, subject="Undelivered Mail Returned to Sender",
                  date=None if date is None else date.timestamp(), why="")


def ours(email: str) -> tuple[str]:
    """The Message-ID of the campaign's message to ``email``, as a report quotes it."""
    return (message_id(CAMPAIGN, email, DOMAIN, ID_KEY),)


def matcher(store: Store, return_path: ReturnPath | None, lists: list[str], *,
            verp: bool = False) -> Matcher:
    """The matcher ``postduif bounces`` builds, with the token key set."""
    return Matcher(store, return_path, lists, token_key=KEY, verp=verp)


def row_id(store: Store, email: str) -> int:
    return next(e.id for e in store.ledger_entries(CAMPAIGN) if e.email == email)


def statuses(store: Store, email: str) -> dict[str, str]:
    subscriber = store.get(email)
    assert subscriber is not None
    return {m.list: m.status for m in subscriber.memberships}


def run(store: Store, n: Notice, rules: BounceSettings,
        return_path: ReturnPath | None = RETURN, *, verp: bool = False) -> BounceReport:
    report = BounceReport("test", dry_run=False)
    matching = matcher(store, return_path, ["nieuwsbrief", "leden"], verp=verp)
    with store.transaction():
        outcome = apply(store, matching.match(n, reported_at(store, n)), n, rules, report)
        store.record_report(n.key, kind=n.kind.value, outcome=outcome)
    return report


# -- matching -----------------------------------------------------------------------------------

def test_verp_matches_exactly_even_when_the_report_names_another_address(store: Store) -> None:
    """A forwarded address bounced: the report names the forward, VERP names our row."""
    verp = RETURN.for_message(row_id(store, "joris@example.net"))
    [match] = matcher(store, RETURN, []).match(
        notice(Kind.HARD, "joris@forwarded.example", delivered_to=(verp,)))
    assert (match.by, match.email, match.campaign, match.variant) == (
        "verp", "joris@example.net", CAMPAIGN, "en")


def test_a_tampered_verp_id_falls_back_to_the_next_method(store: Store) -> None:
    verp = RETURN.for_message(row_id(store, "joris@example.net"))
    forged = verp.replace("+m", "+m1", 1)  # another row, same tag
    [match] = matcher(store, RETURN, []).match(
        notice(Kind.HARD, "eva@example.org", delivered_to=(forged,)))
    assert (match.by, match.email, match.campaign) == ("address", "eva@example.org", None)


def test_the_original_message_id_names_campaign_and_subscriber(store: Store) -> None:
    original = message_id(CAMPAIGN, "amal@example.com", DOMAIN, ID_KEY)
    [match] = matcher(store, None, []).match(
        notice(Kind.SOFT, "", status="4.2.2", message_ids=("<other@x>", original)))
    assert (match.by, match.email, match.campaign, match.variant) == (
        "message-id", "amal@example.com", CAMPAIGN, "nl")


def test_a_greetings_message_id_and_verp_are_matched(store: Store) -> None:
    original = message_id("welcome-leden", "joris@example.net", DOMAIN, ID_KEY)
    [by_id] = matcher(store, None, ["leden"]).match(notice(Kind.HARD, message_ids=(original,)))
    assert (by_id.by, by_id.email, by_id.campaign, by_id.variant) == (
        "message-id", "joris@example.net", "welcome-leden", "en")
    joris = store.get("joris@example.net")
    assert joris is not None
    verp = RETURN.for_greeting("confirmation", joris.id, "nieuwsbrief")
    [by_verp] = matcher(store, RETURN, []).match(notice(Kind.HARD, delivered_to=(verp,)))
    assert (by_verp.by, by_verp.campaign) == ("verp", "confirmation-nieuwsbrief")


def test_an_unknown_address_is_not_ours(store: Store) -> None:
    [match] = matcher(store, RETURN, []).match(notice(Kind.HARD, "stranger@example.org",
                                                      message_ids=("<abc@elsewhere>",)))
    assert match.by == "" and match.subscriber_id is None


# -- effects ------------------------------------------------------------------------------------

def test_a_hard_bounce_marks_every_list_bounced_and_suppresses(store: Store,
                                                              rules: BounceSettings) -> None:
    reason = "550 5.1.1 <eva@example.org>: Recipient address rejected: User unknown"
    report = run(store, notice(Kind.HARD, "Eva@Example.org", reason=reason,
                               message_ids=ours("eva@example.org")), rules)
    assert (report.hard, report.by_address) == (1, 0)
    assert statuses(store, "eva@example.org") == {"leden": "bounced", "nieuwsbrief": "bounced"}
    suppression = store.suppression("eva@example.org")
    assert suppression is not None and suppression.reason == "bounced"
    [event] = store.bounces_of("eva@example.org")
    assert (event.kind, event.status, event.reason) == ("hard", "5.1.1", reason)
    consent = [e for e in store.consent_log("eva@example.org") if e.event == "bounced"]
    assert {e.list for e in consent} == {"leden", "nieuwsbrief"}
    assert all("<r1@relay>" in e.source for e in consent)
    assert statuses(store, "joris@example.net") == {"leden": "confirmed",
                                                    "nieuwsbrief": "confirmed"}


def test_the_third_soft_bounce_within_the_window_is_hard(store: Store, clock: Clock,
                                                         rules: BounceSettings) -> None:
    outside = notice(Kind.SOFT, "amal@example.com", key="<s0>", status="4.2.2",
                     reason="452 4.2.2 mailbox full", date=clock.now - timedelta(days=30),
                     message_ids=ours("amal@example.com"))
    run(store, outside, rules)
    for n, days_ago in enumerate((14, 7), start=1):
        report = run(store, replace(outside, key=f"<s{n}>", date=(
            clock.now - timedelta(days=days_ago)).timestamp()), rules)
        assert report.soft_to_hard == 0, "the first is 16 days before the second"
    assert statuses(store, "amal@example.com")["nieuwsbrief"] == "confirmed"
    third = run(store, replace(outside, key="<s3>", date=clock.now.timestamp()), rules)
    assert (third.soft, third.soft_to_hard) == (1, 1)
    assert statuses(store, "amal@example.com") == {"leden": "bounced", "nieuwsbrief": "bounced"}
    events = store.bounces_of("amal@example.com")
    assert [e.kind for e in events] == ["soft", "soft", "soft", "soft", "hard"]
    assert events[-1].reason == "3 soft bounces within 15 days; the last: 452 4.2.2 mailbox full"
    fourth = run(store, replace(outside, key="<s4>", date=clock.now.timestamp()), rules)
    assert fourth.soft_to_hard == 0, "already bounced: not escalated twice"


def test_soft_bounces_from_before_a_lifted_suppression_do_not_count_again(
        store: Store, clock: Clock, rules: BounceSettings) -> None:
    """The mailbox was full, three soft bounces made it hard; the person emptied it and asked
    to be mailed again. One more soft bounce is then one, not the fourth."""
    soft = notice(Kind.SOFT, "amal@example.com", status="4.2.2", reason="452 4.2.2 mailbox full",
                  message_ids=ours("amal@example.com"))
    for n in range(3):
        run(store, replace(soft, key=f"<s{n}>", date=(
            clock.now - timedelta(days=3 - n)).timestamp()), rules)
    assert statuses(store, "amal@example.com")["nieuwsbrief"] == "bounced"
    assert store.unsuppress("amal@example.com", source="test: mailbox emptied") is not None
    for n in (3, 4):
        later = run(store, replace(soft, key=f"<s{n}>", date=(
            clock.now + timedelta(hours=n)).timestamp()), rules)
        assert later.soft_to_hard == 0
    assert not store.is_suppressed("amal@example.com")
    third = run(store, replace(soft, key="<s5>", date=(
        clock.now + timedelta(hours=5)).timestamp()), rules)
    assert third.soft_to_hard == 1, "the third since the lift is hard again"
    assert store.is_suppressed("amal@example.com")


def test_a_hard_bounce_reported_before_the_lift_is_recorded_not_applied(
        store: Store, clock: Clock, rules: BounceSettings) -> None:
    """The relay's report of an old campaign arrives after the organiser lifted the block."""
    hard = notice(Kind.HARD, "eva@example.org", key="<h1>", message_ids=ours("eva@example.org"))
    run(store, replace(hard, date=(clock.now - timedelta(hours=2)).timestamp()), rules)
    assert store.unsuppress("eva@example.org", source="test: mailbox works") is not None
    late = run(store, replace(hard, key="<h2>", date=(
        clock.now - timedelta(hours=1)).timestamp()), rules)
    assert (late.hard, late.before_lift) == (1, 1)
    assert not store.is_suppressed("eva@example.org")
    assert [e.kind for e in store.bounces_of("eva@example.org")] == ["hard", "hard"]
    clock.now += timedelta(days=1)  # a later campaign bounces too
    after = run(store, replace(hard, key="<h3>", date=clock.now.timestamp()), rules)
    assert (after.hard, after.before_lift) == (1, 0)
    assert store.is_suppressed("eva@example.org")


def test_a_complaint_leaves_every_list_with_a_consent_event(store: Store,
                                                           rules: BounceSettings) -> None:
    original = message_id(CAMPAIGN, "joris@example.net", DOMAIN, ID_KEY)
    complaint = notice(Kind.COMPLAINT, "", key="<arf1@fbl>", status="", reason="abuse",
                       message_ids=(original,))
    report = run(store, complaint, rules)
    assert report.complaints == 1
    assert statuses(store, "joris@example.net") == {"leden": "complained",
                                                    "nieuwsbrief": "complained"}
    suppression = store.suppression("joris@example.net")
    assert suppression is not None and suppression.reason == "complained"
    events = [e for e in store.consent_log("joris@example.net") if e.event == "complained"]
    assert len(events) == 2 and all("<arf1@fbl>" in e.source for e in events)
    assert store.bounce_counts(CAMPAIGN) == [("en", "complaint", 1)]


def test_auto_replies_and_strangers_change_nothing(store: Store, rules: BounceSettings) -> None:
    before = [statuses(store, e) for e in PEOPLE]
    vacation = run(store, notice(Kind.AUTO_REPLY, key="<away>"), rules)
    stranger = run(store, notice(Kind.HARD, "nobody@example.org", key="<n>"), rules)
    nameless = run(store, notice(Kind.HARD, key="<x>", failures=()), rules)
    assert (vacation.auto_replies, stranger.not_ours, nameless.not_ours) == (1, 1, 1)
    assert [statuses(store, e) for e in PEOPLE] == before
    assert store.report_handled("<away>") and store.report_handled("<n>")
    assert not store.is_suppressed("nobody@example.org")


def test_bounce_counts_per_variant_and_forgetting_erases_the_events(
        store: Store, rules: BounceSettings) -> None:
    for n, email in enumerate(PEOPLE):
        run(store, notice(Kind.HARD, key=f"<h{n}>", delivered_to=(
            RETURN.for_message(row_id(store, email)),)), rules)
    assert store.bounce_counts(CAMPAIGN) == [("en", "hard", 1), ("nl", "hard", 2)]
    assert store.export_person("eva@example.org")["bounces"][0]["campaign"] == CAMPAIGN
    store.forget("eva@example.org", source="test")
    assert store.bounces_of("eva@example.org") == []
    assert store.bounce_counts(CAMPAIGN) == [("en", "hard", 1), ("nl", "hard", 1)]


# -- a report proves nothing by itself ----------------------------------------------------------

def send_campaign(store: Store) -> None:
    """Every ledger row sent, at the clock's time (as ``send`` records it)."""
    claim = store.advance_ledger(CAMPAIGN, None, now=0)
    while claim.row is not None:
        claim = store.advance_ledger(CAMPAIGN, Settle(claim.row.id, "sent", 250, "ok"), now=0)


def suppressed(store: Store) -> list[str]:
    return [e for e in PEOPLE if store.is_suppressed(e)]


def test_with_verp_an_address_alone_is_listed_never_applied(store: Store, clock: Clock,
                                                            rules: BounceSettings) -> None:
    send_campaign(store)
    later = clock.now + timedelta(hours=1)
    for n, kind in enumerate((Kind.HARD, Kind.COMPLAINT, Kind.SOFT, Kind.SOFT, Kind.SOFT)):
        report = run(store, notice(kind, "eva@example.org", key=f"<f{n}>", date=later),
                     rules, verp=True)
        assert [(x.address, x.kind) for x in report.listed] == [("eva@example.org",
                                                                 kind.value)]
        assert (report.hard, report.soft, report.complaints, report.soft_to_hard) == (0,) * 4
    assert suppressed(store) == [] and store.bounces_of("eva@example.org") == []
    assert statuses(store, "eva@example.org") == {"leden": "confirmed", "nieuwsbrief": "confirmed"}
    # The same report about a message of ours (its VERP address, or its Message-ID) applies.
    verp = RETURN.for_message(row_id(store, "eva@example.org"))
    real = run(store, notice(Kind.HARD, "eva@example.org", key="<real>", date=later,
                             delivered_to=(verp,)), rules, verp=True)
    assert (real.hard, real.listed) == (1, [])
    by_id = run(store, notice(Kind.HARD, "amal@example.com", key="<real2>", date=later,
                              message_ids=ours("amal@example.com")), rules, verp=True)
    assert (by_id.hard, by_id.listed) == (1, [])
    assert suppressed(store) == ["eva@example.org", "amal@example.com"]


@pytest.mark.parametrize(("sent", "reported"), [
    (False, timedelta(hours=1)),  # never sent: the ledger row is still queued
    (True, -timedelta(hours=1)),  # the report is dated before we sent anything
    (True, timedelta(days=31)),  # sent, but longer ago than a report plausibly takes
])
def test_without_verp_an_address_alone_needs_a_send_just_before(
        store: Store, clock: Clock, rules: BounceSettings, sent: bool,
        reported: timedelta) -> None:
    sent_at = clock.now
    if sent:
        send_campaign(store)
    clock.now += timedelta(days=40)  # read later: the report's own date is what counts
    report = run(store, notice(Kind.HARD, "eva@example.org", date=sent_at + reported), rules)
    assert [x.address for x in report.listed] == ["eva@example.org"]
    assert "nothing was sent to it" in report.listed[0].why
    assert report.hard == 0 and suppressed(store) == []


def test_without_verp_an_address_alone_sent_to_in_the_window_applies(
        store: Store, clock: Clock, rules: BounceSettings) -> None:
    send_campaign(store)
    clock.now += timedelta(days=29)
    report = run(store, notice(Kind.HARD, "eva@example.org", date=clock.now), rules)
    assert (report.hard, report.by_address, report.listed) == (1, 1, [])
    assert suppressed(store) == ["eva@example.org"]


def test_a_greeting_sent_makes_an_address_alone_plausible(
        store: Store, clock: Clock, rules: BounceSettings) -> None:
    store.mark_sent("joris@example.net", "leden", "welcome")
    clock.now += timedelta(days=2)
    report = run(store, notice(Kind.HARD, "joris@example.net", date=clock.now), rules)
    assert report.hard == 1 and suppressed(store) == ["joris@example.net"]


def forged_dsn(addresses: list[str], clock: Clock,
               message_ids: tuple[str, ...] = ()) -> Notice:
    failures = tuple(Failure(a, Kind.HARD, "5.1.1", f"550 5.1.1 <{a}>: User unknown")
                     for a in addresses)
    return notice(Kind.HARD, key="<forged@relay>", failures=failures, date=clock.now,
                  message_ids=message_ids)


def test_one_forged_report_naming_1000_subscribers_changes_at_most_one(
        tmp_path: Path, clock: Clock, rules: BounceSettings) -> None:
    many = [f"lid{n:04d}@example.org" for n in range(1000)]
    with Store.open(tmp_path / "many.sqlite3", clock=clock) as store:
        for email in many:
            store.join(Person(email=email, language="nl"), list="nieuwsbrief",
                       status="confirmed", event="confirmed", source="test",
                       consent_version="1", default_language="nl")
        store.start_ledger(CAMPAIGN, "nieuwsbrief", ((e, "", "nl") for e in many))
        send_campaign(store)
        clock.now += timedelta(hours=1)
        report = run(store, forged_dsn(many, clock), rules)
        assert report.hard == 1 and len(report.listed) == 999
        assert sum(store.is_suppressed(e) for e in many) == 1
        assert {x.why for x in report.listed} == {LISTED_ONE}


def test_a_report_quoting_our_message_id_for_each_changes_each(
        store: Store, clock: Clock, rules: BounceSettings) -> None:
    """A relay's DSN for several of our messages quotes each one's Message-ID; an address it
    names beside them without its own Message-ID is listed."""
    send_campaign(store)
    clock.now += timedelta(hours=1)
    ids = ours("eva@example.org") + ours("amal@example.com")
    report = run(store, forged_dsn(list(PEOPLE), clock, message_ids=ids), rules)
    assert report.hard == 2 and [x.address for x in report.listed] == ["joris@example.net"]
    assert suppressed(store) == ["eva@example.org", "amal@example.com"]


@pytest.mark.parametrize("verp", [True, False])
def test_three_forged_soft_bounces_suppress_nobody(store: Store, clock: Clock,
                                                   rules: BounceSettings, verp: bool) -> None:
    """VERP on: never applied. VERP off: nothing was sent to the address (queued only)."""
    for n in range(3):
        report = run(store, notice(Kind.SOFT, "amal@example.com", key=f"<s{n}>",
                                   status="4.2.2", date=clock.now), rules, verp=verp)
        assert len(report.listed) == 1 and report.soft == 0
    assert suppressed(store) == [] and store.bounces_of("amal@example.com") == []


@pytest.mark.parametrize(("days", "escalates"), [((0, 5, 10), True), ((0, 10, 20), False),
                                                 ((0, 15, 3), True)])
def test_soft_bounces_escalate_whatever_the_order_they_are_read_in(
        tmp_path: Path, clock: Clock, rules: BounceSettings, days: tuple[int, ...],
        escalates: bool) -> None:
    start = clock.now
    for order in (days, days[::-1], (days[1], days[0], days[2])):
        with Store.open(tmp_path / f"{'-'.join(map(str, order))}.sqlite3", clock=clock) as store:
            store.join(Person(email="amal@example.com", language="nl"), list="nieuwsbrief",
                       status="confirmed", event="confirmed", source="test",
                       consent_version="1", default_language="nl")
            store.start_ledger(CAMPAIGN, "nieuwsbrief", [("amal@example.com", "", "nl")])
            clock.now = start + timedelta(days=30)
            hard = 0
            for day in order:
                hard += run(store, notice(
                    Kind.SOFT, "amal@example.com", key=f"<s{day}>", status="4.2.2",
                    message_ids=ours("amal@example.com"),
                    date=start + timedelta(days=day)), rules).soft_to_hard
            assert (hard, store.is_suppressed("amal@example.com")) == (
                int(escalates), escalates), order
        clock.now = start


def test_a_report_an_earlier_version_recorded_by_its_message_id_is_not_handled_again(
        store: Store, tmp_path: Path, rules: BounceSettings) -> None:
    """Earlier versions keyed a report by its Message-ID alone; upgrading must not count a
    soft bounce of theirs twice."""
    sample = BY_FILE["soft-mailbox-full.eml"]
    for sub in ("cur", "new", "tmp"):
        (tmp_path / "box" / sub).mkdir(parents=True)
    (tmp_path / "box" / "new" / "1.eml").write_bytes(sample.raw())
    store.record_report(sample.report_id, kind="soft", outcome="applied")
    with open_path(tmp_path / "box") as mailbox:
        report = process(store, mailbox, classify, matcher(store, RETURN, []), rules)
    assert (report.already_handled, report.soft) == (1, 0)


# -- forged Message-IDs -------------------------------------------------------------------------

def unkeyed(email: str) -> str:
    """The Message-ID earlier versions sent, which anyone can compute from the campaign name."""
    digest = hashlib.sha256(f"{CAMPAIGN}\0{email}".encode()).hexdigest()[:24]
    return f"<{CAMPAIGN}.{digest}@{DOMAIN}>"


def another_key(email: str) -> str:
    return message_id(CAMPAIGN, email, DOMAIN, message_id_key(b"not-our-key-0123456789"))


FORGERIES = [pytest.param(unkeyed, id="unkeyed"), pytest.param(another_key, id="another-key")]


@pytest.mark.parametrize("forge", FORGERIES)
def test_with_verp_a_forged_message_id_changes_nobody(
        store: Store, clock: Clock, rules: BounceSettings, forge: Callable[[str], str]) -> None:
    send_campaign(store)
    clock.now += timedelta(hours=1)
    ids = tuple(forge(e) for e in PEOPLE)
    report = run(store, forged_dsn(list(PEOPLE), clock, message_ids=ids), rules, verp=True)
    assert (report.hard, report.by_address) == (0, 0)
    assert [(x.address, x.why) for x in report.listed] == [(e, LISTED_VERP) for e in PEOPLE]
    assert suppressed(store) == []


@pytest.mark.parametrize("forge", FORGERIES)
def test_without_verp_a_forged_message_id_is_only_an_address(
        store: Store, clock: Clock, rules: BounceSettings, forge: Callable[[str], str]) -> None:
    """Matched by the address alone: one report changes one recipient, the rest listed."""
    send_campaign(store)
    clock.now += timedelta(hours=1)
    ids = tuple(forge(e) for e in PEOPLE)
    report = run(store, forged_dsn(list(PEOPLE), clock, message_ids=ids), rules)
    assert (report.hard, report.by_address) == (1, 1)
    assert [x.why for x in report.listed] == [LISTED_ONE, LISTED_ONE]
    assert len(suppressed(store)) == 1


@pytest.mark.parametrize("verp", [True, False])
def test_our_keyed_message_ids_still_apply_to_each(
        store: Store, clock: Clock, rules: BounceSettings, verp: bool) -> None:
    send_campaign(store)
    clock.now += timedelta(hours=1)
    ids = tuple(ours(e)[0] for e in PEOPLE)
    report = run(store, forged_dsn(list(PEOPLE), clock, message_ids=ids), rules, verp=verp)
    assert (report.hard, report.by_address, report.listed) == (3, 0, [])
    assert suppressed(store) == list(PEOPLE)


def test_without_the_token_key_no_message_id_is_ours(store: Store) -> None:
    """Without the key a real Message-ID cannot be told from a forged one: neither matches."""
    n = notice(Kind.HARD, "amal@example.com", message_ids=ours("amal@example.com"))
    [without] = Matcher(store, None, []).match(n)
    assert (without.by, without.campaign) == ("address", None)
    [keyed] = matcher(store, None, []).match(n)
    assert (keyed.by, keyed.campaign) == ("message-id", CAMPAIGN)
