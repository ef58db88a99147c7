"""What organisers and subscribers do to a membership, outside bulk imports.

Adding one person, signing up through the site's form, approving or rejecting a join
request, confirming by token and unsubscribing: each is one store call with the right status,
consent event and source, so the CLI and the web endpoints never decide those themselves.
"""

from __future__ import annotations

from datetime import timedelta

from postduif.errors import StoreError
from postduif.joins import join_status
from postduif.lists import ListDef
from postduif.people import normalise_email, normalise_language
from postduif.store import Membership, Outcome, Person, Store, stamp
from postduif.tokens import read_token


def add_subscriber(store: Store, list_def: ListDef, *, email: str, name: str = "",
                   language: str = "", languages: tuple[str, ...] = ("nl", "en"),
                   source: str = "command:subscribers add") -> Outcome:
    """Add one person as an import would: pending where the list needs a confirmation."""
    first, _, last = name.strip().partition(" ")
    person = Person(email=normalise_email(email), first_name=first, last_name=last.strip(),
                    language=normalise_language(language, languages))
    status, event = join_status(list_def)
    return store.join(person, list=list_def.name, status=status, event=event, source=source,
                      consent_version=list_def.consent_version,
                      default_language=list_def.default_language)


def sign_up(store: Store, list_def: ListDef, person: Person, *, source: str,
            resend_after: timedelta | None) -> None:
    """Someone sent the site's form for ``list_def``; what that changes depends on who it was.

    * A new address joins like any new member: pending where the list needs a confirmation or
      an organiser's approval.
    * A pending member asks again: the confirmation email goes out again (that is how someone
      whose link expired gets a new one), but only if the last one left more than
      ``resend_after`` ago (``None``: no limit), so a flood of sign-ups for one address sends it
      one email a day, not one per sign-up.
    * Someone who unsubscribed starts over as a new request and gets a new confirmation email.
    * Confirmed, rejected, bounced, complained or forgotten addresses: nothing changes. The
      form proves nothing about who sent it, and it answers the same whatever happened, so it
      cannot be used to find out who is on a list.
    """
    with store.transaction():
        subscriber = store.get(person.email)
        membership = subscriber.membership(list_def.name) if subscriber else None
        if membership is None:
            status, event = join_status(list_def)
            store.join(person, list=list_def.name, status=status, event=event, source=source,
                       consent_version=list_def.consent_version,
                       default_language=list_def.default_language)
        elif membership.status == "pending":
            store.touch_request(person.email, list_def.name)
            _allow_resend(store, list_def, person.email, membership, resend_after)
        elif membership.status == "unsubscribed":
            status, event = join_status(list_def)
            store.set_status(person.email, list_def.name, status, event=event, source=source,
                             consent_version=list_def.consent_version)
            _allow_resend(store, list_def, person.email, membership, resend_after)


def _allow_resend(store: Store, list_def: ListDef, email: str, membership: Membership,
                  resend_after: timedelta | None) -> None:
    """Make the confirmation email due again unless one went out too recently."""
    sent = membership.confirmation_sent_at
    if sent is None:
        return
    if resend_after is None or sent <= stamp(store.now() - resend_after):
        store.clear_sent(email, list_def.name, "confirmation")


def decide(store: Store, list_def: ListDef, email: str, *, approve: bool, source: str) -> None:
    """An organiser's decision on a pending join request."""
    address = normalise_email(email)
    subscriber = store.get(address)
    membership = subscriber.membership(list_def.name) if subscriber else None
    if membership is None:
        raise StoreError(f"{address} has not asked to join {list_def.name}")
    if membership.status != "pending":
        raise StoreError(f"{address} is already {membership.status} on {list_def.name}")
    store.set_status(address, list_def.name, "confirmed" if approve else "rejected",
                     event="approved" if approve else "rejected", source=source,
                     consent_version=list_def.consent_version)


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
    """Unsubscribe from the given lists (all if None); returns the lists it changed."""
    address = normalise_email(email)
    subscriber = store.get(address)
    if subscriber is None:
        raise StoreError(f"no subscriber {address}")
    changed = []
    for membership in subscriber.memberships:
        if (lists is None or membership.list in lists) and membership.status != "unsubscribed":
            store.set_status(address, membership.list, "unsubscribed", event="unsubscribed",
                             source=source)
            changed.append(membership.list)
    return changed
