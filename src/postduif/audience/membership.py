"""What organisers and subscribers do to a membership, outside bulk imports.

Adding one person, signing up through the site's form, approving or rejecting a join
request, confirming by token, unsubscribing and what a preference page may change: each
is one store call (or one transaction) with the right status, consent event and source,
so the CLI and the web endpoints never decide those themselves.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta

from postduif.audience.joins import join_status
from postduif.audience.records import (
    LIMITS,
    clean_field,
    normalise_email,
    normalise_language,
    split_name,
)
from postduif.audience.tokens import read_token
from postduif.errors import StoreError
from postduif.lists import ListDef
from postduif.store import Membership, Outcome, Person, Store, Subscriber, stamp

#: Statuses an unsubscribe changes: those that get (or are about to get) emails.
STILL_MAILED = ("pending", "confirmed")


def add_subscriber(store: Store, list_def: ListDef, *, email: str, name: str = "",
                   language: str = "", languages: tuple[str, ...] = ("nl", "en"),
                   source: str = "command:subscribers add") -> Outcome:
    """Add one person as an import would: pending where the list needs a confirmation."""
    first, last = split_name(name)
    person = Person(email=normalise_email(email), first_name=clean_field(
                        "first_name", first, LIMITS["first_name"]),
                    last_name=clean_field("last_name", last, LIMITS["last_name"]),
                    language=normalise_language(language, languages))
    status, event = join_status(list_def)
    return store.join(person, list=list_def.name, status=status, event=event, source=source,
                      consent_version=list_def.consent_version,
                      default_language=list_def.default_language)


def sign_up(store: Store, list_def: ListDef, person: Person, *, source: str,
            resend_after: timedelta | None) -> str:
    """Someone sent the site's form for ``list_def``; what that changes depends on who it was.

    * A new address joins like any new member: pending where the list needs a confirmation or
      an organiser's approval.
    * A pending member asks again: the confirmation email goes out again (that is how someone
      whose link expired gets a new one), but only if the last one left more than
      ``resend_after`` ago (``None``: no limit), so a flood of sign-ups for one address sends it
      one email a day, not one per sign-up.
    * Someone who unsubscribed starts over as a new request, in the language of the form's
      page, and gets a new confirmation email.
    * Confirmed, rejected, bounced, complained, forgotten or suppressed (blocklisted in
      listmonk) addresses: nothing changes. The form proves nothing about who sent it, and it
      answers the same whatever happened, so it cannot be used to find out who is on a list.

    Returns what happened: ``"new"``, ``"again"``, ``"restarted"``, or the state that kept the
    sign-up out (``"suppressed"``, ``"confirmed"``, ``"rejected"``, ...), for the log.
    """
    with store.transaction():
        if store.is_suppressed(person.email):
            return "suppressed"
        subscriber = store.get(person.email)
        membership = subscriber.membership(list_def.name) if subscriber else None
        if membership is None:
            _join(store, list_def, person, source)
            return "new"
        if membership.status == "pending":
            store.touch_request(person.email, list_def.name)
            _allow_resend(store, list_def, person.email, membership, resend_after)
            return "again"
        if membership.status == "unsubscribed":
            status, event = join_status(list_def)
            store.set_status(person.email, list_def.name, status, event=event, source=source,
                             consent_version=list_def.consent_version)
            _join(store, list_def, person, source)  # now open again: takes the page's language
            _allow_resend(store, list_def, person.email, membership, resend_after)
            return "restarted"
        return membership.status


def _join(store: Store, list_def: ListDef, person: Person, source: str) -> None:
    status, event = join_status(list_def)
    store.join(person, list=list_def.name, status=status, event=event, source=source,
               consent_version=list_def.consent_version,
               default_language=list_def.default_language)


def _allow_resend(store: Store, list_def: ListDef, email: str, membership: Membership,
                  resend_after: timedelta | None) -> None:
    """Make the confirmation email due again unless one went out too recently."""
    sent = membership.confirmation_sent_at
    if sent is None:
        return
    if resend_after is None or sent <= stamp(store.now() - resend_after):
        store.clear_sent(email, list_def.name, "confirmation")


def decide(store: Store, list_def: ListDef, email: str, *, approve: bool, source: str,
           lists: Mapping[str, ListDef]) -> dict[str, Outcome]:
    """An organiser's decision on a pending join request.

    Approval also subscribes the person to the list's ``also_subscribe`` lists (definitions in
    ``lists``), confirmed, in the same transaction: what each of those did is returned. The
    store never adds back someone who left such a list, and they are not welcomed to it
    separately: the welcome email of ``list_def`` is the one they get.
    """
    address = normalise_email(email)
    subscriber = store.get(address)
    membership = subscriber.membership(list_def.name) if subscriber else None
    if membership is None:
        raise StoreError(f"{address} has not asked to join {list_def.name}")
    if membership.status != "pending":
        raise StoreError(f"{address} is already {membership.status} on {list_def.name}")
    with store.transaction():
        store.set_status(address, list_def.name, "confirmed" if approve else "rejected",
                         event="approved" if approve else "rejected", source=source,
                         consent_version=list_def.consent_version)
        if not approve:
            return {}
        person = Person(email=address, language=membership.language)
        return {name: _also_subscribe(store, lists[name], person,
                                      f"{source}: approved on {list_def.name}")
                for name in list_def.also_subscribe}


def _also_subscribe(store: Store, target: ListDef, person: Person, source: str) -> Outcome:
    outcome = store.join(person, list=target.name, status="confirmed", event="confirmed",
                         source=source, consent_version=target.consent_version,
                         default_language=target.default_language)
    if outcome is Outcome.ADDED:
        store.mark_sent(person.email, target.name, "welcome")
    return outcome


def confirm(store: Store, key: bytes, token: str, lists: dict[str, ListDef], *,
            source: str = "command:subscribers confirm") -> tuple[str, str]:
    """Double opt-in: the address owner followed the link; returns (email, list)."""
    email, list_name = read_token(key, token, action="confirm")
    subscriber = store.get(email)
    membership = subscriber.membership(list_name) if subscriber else None
    if membership is None:
        raise StoreError(f"{email} is no longer on {list_name}; nothing to confirm")
    if membership.status == "pending":
        list_def = lists.get(list_name)
        store.set_status(email, list_name, "confirmed", event="confirmed", source=source,
                         consent_version=list_def.consent_version if list_def else "")
    elif membership.status != "confirmed":
        raise StoreError(f"{email} is {membership.status} on {list_name}; not re-subscribed")
    return email, list_name


def unsubscribe(store: Store, email: str, lists: list[str] | None, *, source: str) -> list[str]:
    """Unsubscribe from the given lists (all if None); returns the lists it changed.

    Only memberships that could still be mailed change: a rejected, bounced or complained one
    already is not, and turning it into "unsubscribed" would lose why it stopped.
    """
    address = normalise_email(email)
    subscriber = store.get(address)
    if subscriber is None:
        raise StoreError(f"no subscriber {address}")
    return _stop(store, subscriber, lists, "unsubscribed", "unsubscribed", source)


def stop_mailing(store: Store, subscriber: Subscriber, *, status: str, source: str
                 ) -> list[str]:
    """Every membership still mailed becomes ``status`` ("bounced" after a hard bounce,
    "complained" after a spam complaint), each with its consent event; returns the lists.

    Memberships that are already not mailed keep the status that says why.
    """
    return _stop(store, subscriber, None, status, status, source)


def _stop(store: Store, subscriber: Subscriber, lists: Collection[str] | None, status: str,
          event: str, source: str) -> list[str]:
    changed = []
    with store.transaction():
        for membership in subscriber.memberships:
            if (lists is None or membership.list in lists) and membership.status in STILL_MAILED:
                store.set_status(subscriber.email, membership.list, status, event=event,
                                 source=source)
                changed.append(membership.list)
    return changed


# -- the preference page ------------------------------------------------------------------------
# A preference link is valid for two years, sits in every footer and travels with a forwarded
# email: following it proves nothing about who holds it now. So the page may take consent
# back (untick, leave everything) and change the language at once, but never gives it: ticking
# a list one is not confirmed on asks again, as the site's form does (a confirmation email, or
# an organiser's review on a list that needs approval), and the new consent is logged when it
# is given. Nor does it undo a bounce or a complaint. These functions say what that allows, so
# the web page only shows and asks.

#: Why a list cannot be changed on the preference page, by membership status.
FIXED_STATUSES = ("pending", "rejected", "bounced", "complained")


@dataclass(frozen=True)
class Choice:
    """One list as the preference page shows it."""

    list: str
    status: str
    subscribed: bool  # the box is ticked
    #: "" when the box may be changed; otherwise why not: a status of FIXED_STATUSES, or
    #: "rejoin" (left a list that needs approval without ever being approved: join again)
    fixed: str


@dataclass(frozen=True)
class PreferenceChanges:
    """What a saved preference form changed, for the answer page."""

    language: str = ""  # the new language, "" if unchanged
    unsubscribed: tuple[str, ...] = ()
    #: Ticked again and pending now: the address owner gets a confirmation email ...
    to_confirm: tuple[str, ...] = ()
    #: ... or, on a list that needs approval, an organiser reviews the request.
    to_review: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.language or self.unsubscribed or self.to_confirm or self.to_review)


def current_language(subscriber: Subscriber, list_name: str) -> str:
    """The language ``list_name`` reaches them in (the link's list), else their own."""
    membership = subscriber.membership(list_name)
    return (membership.language if membership else "") or subscriber.language


def choices(subscriber: Subscriber, lists: Mapping[str, ListDef],
            first: str, *, suppressed: bool = False) -> list[Choice]:
    """The lists the preference page of a link for ``first`` shows: that list first, then
    every other list ``subscriber`` is on, except lists that need an organiser's approval.

    Those are membership lists (a union's members): whoever holds a forwarded newsletter must
    not learn from its preference link that the reader is a member, or was refused. A
    members list shows up only on the links in emails sent to that list. A ``suppressed``
    address (blocklisted) may leave lists but not join one again.
    """
    result = []
    for m in sorted(subscriber.memberships, key=lambda m: (m.list != first, m.list)):
        list_def = lists.get(m.list)
        if m.list != first and (list_def is None or list_def.approval):
            continue
        fixed = m.status if m.status in FIXED_STATUSES else ""
        # Approval lists take back only those approved before (confirmed_at is set by an
        # approval); a list no longer defined takes nobody back.
        if m.status == "unsubscribed" and (
                list_def is None or (list_def.approval and m.confirmed_at is None)):
            fixed = "rejoin"
        if m.status == "unsubscribed" and suppressed:
            fixed = "suppressed"
        result.append(Choice(m.list, m.status, m.status == "confirmed", fixed))
    return result


def save_preferences(store: Store, email: str, lists: Mapping[str, ListDef], *,
                     link_list: str, language: str, subscribed: Collection[str],
                     shown: Collection[str], resend_after: timedelta | None,
                     source: str = "web:preferences") -> PreferenceChanges:
    """Apply a preference form: ``language`` for every list when it differs from the one
    shown (:func:`current_language` of ``link_list``; "" keeps it), and, for each list in
    ``shown`` that may be changed, unsubscribed when its box is not in ``subscribed``, or
    asked for again (:func:`ask_again`) when it is ticked but was not confirmed.

    Only lists the form showed count, so a list joined after the page was loaded is not
    unsubscribed by its missing box; lists that may not change are left as they are,
    whatever the form says. Everything happens in one transaction.
    """
    with store.transaction():
        subscriber = store.get(email)
        if subscriber is None:
            raise StoreError(f"no subscriber {normalise_email(email)}")
        unsubscribed: list[str] = []
        to_confirm: list[str] = []
        to_review: list[str] = []
        suppressed = store.is_suppressed(subscriber.email)
        for choice in choices(subscriber, lists, link_list, suppressed=suppressed):
            if choice.fixed or choice.list not in shown:
                continue
            wanted = choice.list in subscribed
            if choice.subscribed and not wanted:
                store.set_status(subscriber.email, choice.list, "unsubscribed",
                                 event="unsubscribed", source=source)
                unsubscribed.append(choice.list)
            elif wanted and not choice.subscribed:
                list_def = lists[choice.list]
                ask_again(store, list_def, subscriber, source=source, resend_after=resend_after)
                (to_review if list_def.approval else to_confirm).append(choice.list)
        new_language = ""
        if language and language != current_language(subscriber, link_list):
            store.set_language(subscriber.email, language, source=source)
            new_language = language
        return PreferenceChanges(new_language, tuple(unsubscribed), tuple(to_confirm),
                                 tuple(to_review))


def ask_again(store: Store, list_def: ListDef, subscriber: Subscriber, *, source: str,
              resend_after: timedelta | None) -> None:
    """Someone who left ``list_def`` (or whose bounce was lifted) wants it again: a new request.

    The membership becomes pending with a "requested" consent event, whatever the list's
    opt-in: a list that needs approval waits for an organiser (``joins review``), any other
    for the address owner to follow the confirmation email, which is made due again (at most
    one per ``resend_after``, as a sign-up through the form). Confirming or approving logs
    the new consent; until then nothing is sent to them but that email.
    """
    membership = subscriber.membership(list_def.name)
    if membership is None:
        raise StoreError(f"{subscriber.email} is not on the list {list_def.name!r}")
    store.set_status(subscriber.email, list_def.name, "pending", event="requested",
                     source=source, consent_version=list_def.consent_version)
    _allow_resend(store, list_def, subscriber.email, membership, resend_after)


def unsubscribe_all(store: Store, email: str, lists: Mapping[str, ListDef], *,
                    link_list: str, source: str) -> list[str]:
    """Leave every list the page showed (see :func:`choices`) that one is on or waiting for;
    returns the lists it changed.

    Like :func:`unsubscribe` it leaves rejected, bounced and complained memberships as they
    are: turning those into "unsubscribed" would also make them re-tickable on the page.
    """
    with store.transaction():
        subscriber = store.get(email)
        if subscriber is None:
            raise StoreError(f"no subscriber {normalise_email(email)}")
        changed = []
        for choice in choices(subscriber, lists, link_list):
            if choice.status in STILL_MAILED:
                store.set_status(subscriber.email, choice.list, "unsubscribed",
                                 event="unsubscribed", source=source)
                changed.append(choice.list)
        return changed
