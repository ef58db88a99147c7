"""Which message and subscriber a report is about: VERP, then Message-ID, then the address.

In that order, because each is less exact than the one before:

* **VERP** (``verp.py``): the report was delivered to ``local+<signed id>@domain``, which names
  the ledger row or greeting itself. A tampered or foreign id fails its tag and is ignored.
* **Message-ID**: postduif's own ``<campaign.digest@domain>`` (``message.message_id``), quoted
  by most DSNs and feedback reports. The campaign is read from it, then the ledger row whose
  address gives that digest; greetings use ``confirmation-<list>`` and ``welcome-<list>`` as
  their campaign, matched against the list's members. The digests of one campaign are computed
  once per run (a hash per row, microseconds each) rather than stored: a backlog of reports
  about one campaign then costs one pass over its ledger, and no migration rewrites old rows.
* **Address**: the subscriber with the address the report names, reported as matched by
  address alone (it may have been forwarded from, or be quoted by, someone else's mail).

A reader's unsubscribe mail (List-Unsubscribe's ``mailto:``) is tied by its signed token alone.

A report none of these tie to a subscriber is "not ours" (spam sent with our domain as the
sender, or about an address we never mailed) and changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from postduif.bounces.model import Failure, Notice
from postduif.bounces.unsubscribe import read_request
from postduif.message import message_digest
from postduif.store import Store
from postduif.verp import ReturnPath, VerpId

VERP, MESSAGE_ID, ADDRESS = "verp", "message-id", "address"
GREETING_KINDS = ("confirmation", "welcome")
_OUR_ID = re.compile(r"<?([^<>@\s]+)\.([0-9a-f]{24})@[^<>@\s]+>?")


@dataclass(frozen=True)
class Match:
    """One address of a report, tied to a subscriber (``by`` empty: not ours)."""

    failure: Failure
    by: str  # VERP, MESSAGE_ID, ADDRESS, or "" when nobody of ours is meant
    subscriber_id: int | None
    email: str  # the subscriber's address as stored ("" when not ours)
    campaign: str | None  # the campaign (or ``welcome-<list>``); None when matched by address
    variant: str | None  # the variant (language) of the message, when known


@dataclass(frozen=True)
class _Sent:
    """A message we sent, as a report's VERP address or Message-ID identifies it."""

    by: str
    email: str
    campaign: str
    variant: str


class Matcher:
    """Ties notices to subscribers; keeps each campaign's digests for the whole run."""

    def __init__(self, store: Store, return_path: ReturnPath | None,
                 lists: Iterable[str], *, token_key: bytes | None = None) -> None:
        self.store = store
        self.return_path = return_path  # None: no token key, VERP ids cannot be checked
        self.lists = frozenset(lists)
        self.token_key = token_key  # None: unsubscribe requests cannot be checked
        self._digests: dict[str, dict[str, tuple[str, str]]] = {}

    def unsubscribe_request(self, notice: Notice) -> tuple[str, str]:
        """``(email, list)`` a reader's unsubscribe mail is about, by its token alone (never
        its From address); :class:`~postduif.errors.TokenError` when no token is valid."""
        return read_request(self.token_key, notice.tokens)

    def match(self, notice: Notice) -> list[Match]:
        """One :class:`Match` per address the notice names (one if it names none but the
        message it is about is known, as a redacted complaint report does)."""
        sent = self._by_verp(notice.delivered_to) or self._by_message_id(
            notice.original_message_ids)
        failures = notice.failures
        if not failures and sent is not None:
            failures = (Failure("", notice.kind, "", notice.subject),)
        return [self._one(failure, sent, len(failures)) for failure in failures]

    def _one(self, failure: Failure, sent: _Sent | None, count: int) -> Match:
        address = _bare(failure.address)
        if sent is not None and (count == 1 or not address or address == sent.email):
            subscriber = self.store.get(sent.email)
            if subscriber is not None:
                return Match(failure, sent.by, subscriber.id, subscriber.email, sent.campaign,
                             sent.variant)
        subscriber = self.store.get(address) if address else None
        if subscriber is None:
            return Match(failure, "", None, "", None, None)
        return Match(failure, ADDRESS, subscriber.id, subscriber.email, None, None)

    # -- VERP -----------------------------------------------------------------------------------

    def _by_verp(self, addresses: Iterable[str]) -> _Sent | None:
        if self.return_path is None:
            return None
        for address in addresses:
            verp_id = self.return_path.read(address)
            found = None if verp_id is None else self._verp_target(verp_id)
            if found is not None:
                return found
        return None

    def _verp_target(self, verp_id: VerpId) -> _Sent | None:
        assert self.return_path is not None
        if verp_id.kind == "message":
            row = self.store.ledger_row(verp_id.number)
            if row is None or not self.return_path.genuine(verp_id):
                return None
            campaign, email, variant = row
            return _Sent(VERP, email, campaign, variant)
        subscriber = self.store.subscriber_by_id(verp_id.number)
        for membership in subscriber.memberships if subscriber else ():
            if self.return_path.genuine(verp_id, membership.list):
                assert subscriber is not None
                return _Sent(VERP, subscriber.email, f"{verp_id.kind}-{membership.list}",
                             membership.language)
        return None

    # -- Message-ID -----------------------------------------------------------------------------

    def _by_message_id(self, message_ids: Iterable[str]) -> _Sent | None:
        for message_id in message_ids:
            found = _OUR_ID.fullmatch(message_id.strip())
            if found is None:
                continue
            campaign, digest = found.groups()
            hit = self._campaign_digests(campaign).get(digest)
            if hit is not None:
                return _Sent(MESSAGE_ID, hit[0], campaign, hit[1])
        return None

    def _campaign_digests(self, campaign: str) -> dict[str, tuple[str, str]]:
        """digest -> (email, variant) for every message of ``campaign`` (empty if none)."""
        if campaign not in self._digests:
            self._digests[campaign] = {
                message_digest(campaign, email): (email, variant)
                for email, variant in self._recipients(campaign)}
        return self._digests[campaign]

    def _recipients(self, campaign: str) -> Iterable[tuple[str, str]]:
        if self.store.ledger_campaign(campaign) is not None:
            return ((e.email, e.variant) for e in self.store.ledger_entries(campaign))
        kind, _, list_name = campaign.partition("-")
        if kind in GREETING_KINDS and list_name in self.lists:
            return self.store.emails_on(list_name)
        return ()


def _bare(address: str) -> str:
    """An address as the store keeps it: no angle brackets or spaces, lower case."""
    return address.strip().strip("<>").strip().lower()
