"""Which message and subscriber a report is about: VERP, then Message-ID, then the address.

In that order, because each is less exact than the one before:

* **VERP** (``verp.py``): the report was delivered to ``local+<signed id>@domain``, which names
  the ledger row or greeting itself. A tampered or foreign id fails its tag and is ignored.
* **Message-ID**: postduif's own ``<campaign.digest@domain>`` (``message.message_id``), quoted
  by most DSNs and feedback reports. The campaign is read from it, then the ledger row whose
  address gives that digest; greetings use ``confirmation-<list>`` and ``welcome-<list>`` as
  their campaign, matched against the list's members. The digest is an HMAC keyed from the
  token key: anyone who saw one newsletter knows the campaign name, so an unkeyed digest
  could be computed for any address. Without the key no Message-ID is taken as ours. The
  digests of one campaign are computed once per run (an HMAC per row, microseconds each)
  rather than stored: a backlog of reports about one campaign then costs one pass over its
  ledger, and no migration rewrites old rows.
* **Address**: the subscriber with the address the report names. A report proves nothing by
  itself (anyone who knows an address can mail one to the return address), so an address-only
  match is *listed* for an organiser, never applied, unless all of these hold: VERP is off
  (with VERP on, every genuine report reaches a VERP address, so one that does not is not
  evidence), we sent that address a campaign or greeting within ``PLAUSIBLE_DAYS`` days
  before the report's date (and not after it), and it is the only address the report changes
  (one report changes at most one recipient unless it quotes our Message-ID or VERP address
  for each: a forged report naming 1,000 subscribers changes at most one).

A reader's unsubscribe mail (List-Unsubscribe's ``mailto:``) is tied by its signed token alone.

A report none of these tie to a subscriber is "not ours" (spam sent with our domain as the
sender, or about an address we never mailed) and changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from postduif.bounces.model import Failure, Notice
from postduif.bounces.unsubscribe import read_request
from postduif.message import message_digest, message_id_key
from postduif.store import Store
from postduif.verp import ReturnPath, VerpId

VERP, MESSAGE_ID, ADDRESS = "verp", "message-id", "address"
GREETING_KINDS = ("confirmation", "welcome")
#: How long after we sent to an address a report matched by that address alone is plausible:
#: relays give up on a delayed message within days, feedback loops report within weeks.
PLAUSIBLE_DAYS = 30
_OUR_ID = re.compile(r"<?([^<>@\s]+)\.([0-9a-f]{24})@[^<>@\s]+>?")

LISTED_VERP = ("matched by the address alone while bounces.verp is true: a report about a "
               "message of ours reaches its VERP address; not applied")
LISTED_NOT_SENT = ("matched by the address alone, but nothing was sent to it in the "
                   f"{PLAUSIBLE_DAYS} days before the report's date; not applied")
LISTED_ONE = ("matched by the address alone in a report that already changes another "
              "recipient (one report changes one address unless it quotes our Message-ID "
              "for each); not applied")


@dataclass(frozen=True)
class Match:
    """One address of a report, tied to a subscriber (``by`` empty: not ours)."""

    failure: Failure
    by: str  # VERP, MESSAGE_ID, ADDRESS, or "" when nobody of ours is meant
    subscriber_id: int | None
    email: str  # the subscriber's address as stored ("" when not ours)
    campaign: str | None  # the campaign (or ``welcome-<list>``); None when matched by address
    variant: str | None  # the variant (language) of the message, when known
    listed: str = ""  # why an address-only match is listed for an organiser, not applied


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
                 lists: Iterable[str], *, token_key: bytes | None = None,
                 verp: bool = False) -> None:
        self.store = store
        self.return_path = return_path  # None: no token key, VERP ids cannot be checked
        self.lists = frozenset(lists)
        self.token_key = token_key  # None: unsubscribe requests cannot be checked
        self.verp = verp  # on: an address alone never changes anyone
        #: None without the token key: our Message-IDs cannot be told from forged ones
        self._id_key = message_id_key(token_key) if token_key is not None else None
        self._digests: dict[str, dict[str, tuple[str, str]]] = {}

    def unsubscribe_request(self, notice: Notice) -> tuple[str, str]:
        """``(email, list)`` a reader's unsubscribe mail is about, by its token alone (never
        its From address); :class:`~postduif.errors.TokenError` when no token is valid."""
        return read_request(self.token_key, notice.tokens)

    def match(self, notice: Notice, when: datetime | None = None) -> list[Match]:
        """One :class:`Match` per address the notice names (one if it names none but the
        message it is about is known, as a redacted complaint report does). ``when`` is the
        report's date (default: now): an address-only match is plausible only for a send
        shortly before it."""
        sent = self._sent(notice)
        failures = notice.failures
        if not failures and sent:
            failures = (Failure("", notice.kind, "", notice.subject),)
        matches = [self._one(failure, sent, len(failures)) for failure in failures]
        return self._one_by_address(matches, when or self.store.now())

    def _sent(self, notice: Notice) -> list[_Sent]:
        """The messages of ours the report is about, VERP's first, one per address."""
        found = [*self._by_verp(notice.delivered_to),
                 *self._by_message_id(notice.original_message_ids)]
        unique: dict[str, _Sent] = {}
        for sent in found:
            unique.setdefault(sent.email, sent)
        return list(unique.values())

    def _one(self, failure: Failure, sent: list[_Sent], count: int) -> Match:
        address = _bare(failure.address)
        exact = next((s for s in sent if s.email == address), None)
        if exact is None and sent and (count == 1 or not address):
            exact = sent[0]
        if exact is not None:
            subscriber = self.store.get(exact.email)
            if subscriber is not None:
                return Match(failure, exact.by, subscriber.id, subscriber.email, exact.campaign,
                             exact.variant)
        subscriber = self.store.get(address) if address else None
        if subscriber is None:
            return Match(failure, "", None, "", None, None)
        return Match(failure, ADDRESS, subscriber.id, subscriber.email, None, None)

    def _one_by_address(self, matches: list[Match], when: datetime) -> list[Match]:
        """Every address-only match listed, except at most one that is plausible, and only
        when nothing else in the report changes anyone."""
        changed = any(m.by in (VERP, MESSAGE_ID) for m in matches)
        kept = []
        for match in matches:
            if match.by == ADDRESS:
                match = replace(match, listed=self._doubt(match.email, when, changed))
                changed = changed or not match.listed
            kept.append(match)
        return kept

    def _doubt(self, email: str, when: datetime, changed: bool) -> str:
        """Why an address-only match must not be applied ("" when it may be); the ledger is
        looked at last, so a report naming thousands costs one look per address at most."""
        if self.verp:
            return LISTED_VERP
        if changed:
            return LISTED_ONE
        if not self.store.sent_to(email, when - timedelta(days=PLAUSIBLE_DAYS), when):
            return LISTED_NOT_SENT
        return ""

    # -- VERP -----------------------------------------------------------------------------------

    def _by_verp(self, addresses: Iterable[str]) -> list[_Sent]:
        if self.return_path is None:
            return []
        ids = (self.return_path.read(address) for address in addresses)
        return [found for verp_id in ids
                if verp_id is not None and (found := self._verp_target(verp_id)) is not None]

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

    def _by_message_id(self, message_ids: Iterable[str]) -> list[_Sent]:
        key = self._id_key
        if key is None:
            return []
        found = []
        for message_id in message_ids:
            ours = _OUR_ID.fullmatch(message_id.strip())
            if ours is None:
                continue
            campaign, digest = ours.groups()
            hit = self._campaign_digests(campaign, key).get(digest)
            if hit is not None:
                found.append(_Sent(MESSAGE_ID, hit[0], campaign, hit[1]))
        return found

    def _campaign_digests(self, campaign: str, key: bytes) -> dict[str, tuple[str, str]]:
        """digest -> (email, variant) for every message of ``campaign`` (empty if none)."""
        if campaign not in self._digests:
            self._digests[campaign] = {
                message_digest(campaign, email, key): (email, variant)
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
