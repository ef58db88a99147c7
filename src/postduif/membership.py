"""What organisers and subscribers do to a membership, outside bulk imports.

Adding one person, approving or rejecting a join request, confirming by token and
unsubscribing: each is one store call with the right status, consent event and source, so the
CLI (and later the web endpoints) never decide those themselves.
"""

from __future__ import annotations

from postduif.errors import StoreError
from postduif.joins import join_status
from postduif.lists import ListDef
from postduif.people import normalise_email, normalise_language, split_name
from postduif.store import Outcome, Person, Store
from postduif.tokens import read_token


def add_subscriber(store: Store, list_def: ListDef, *, email: str, name: str = "",
                   language: str = "", languages: tuple[str, ...] = ("nl", "en"),
                   source: str = "command:subscribers add") -> Outcome:
    """Add one person as an import would: pending where the list needs a confirmation."""
    first, last = split_name(name)
    person = Person(email=normalise_email(email), first_name=first, last_name=last,
                    language=normalise_language(language, languages))
    status, event = join_status(list_def)
    return store.join(person, list=list_def.name, status=status, event=event, source=source,
                      consent_version=list_def.consent_version,
                      default_language=list_def.default_language)


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
