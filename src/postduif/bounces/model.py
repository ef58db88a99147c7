"""The values that cross the bounce modules: what a report says, and where it came from.

A ``Notice`` holds only what the report itself says (addresses, status codes, the original
Message-IDs, the address it was delivered to); matching it to a campaign and a subscriber is
``match``'s job, and changing the store is ``effects``'.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """What a report means for the addresses it names."""

    HARD = "hard"  # permanent failure (5.x.x): the address is dead
    SOFT = "soft"  # temporary failure (4.x.x): counts towards a hard bounce
    COMPLAINT = "complaint"  # the recipient marked the mail as spam (RFC 5965 feedback report)
    AUTO_REPLY = "auto-reply"  # vacation and other automatic answers: changes nothing
    UNSUBSCRIBE = "unsubscribe"  # a reader's client used List-Unsubscribe's mailto (token)
    UNKNOWN = "not understood"  # kept in the mailbox and listed for an organiser to read


@dataclass(frozen=True)
class Failure:
    """One address a report names, with the relay's own words for why."""

    address: str  # as the report gives it (Final-Recipient, Original-Recipient, or found)
    kind: Kind  # HARD, SOFT or COMPLAINT
    status: str  # the enhanced status code ("5.1.1"); "" when the report gives none
    reason: str  # raw: Diagnostic-Code, the SMTP reply or the report's text, unaltered


@dataclass(frozen=True)
class Notice:
    """What one message in the return mailbox says."""

    #: stable identity of the report for idempotency: its Message-ID with a hash of what it
    #: says (two different reports may share a Message-ID), else a hash of its bytes
    key: str
    kind: Kind  # the report as a whole; UNKNOWN when nothing usable was found
    failures: tuple[Failure, ...]  # empty for AUTO_REPLY and UNKNOWN
    original_message_ids: tuple[str, ...]  # Message-IDs of the mail it reports on, "<...>"
    delivered_to: tuple[str, ...]  # where the report was delivered (VERP): Delivered-To,
    #                                X-Original-To, Envelope-To, then To
    subject: str  # the report's own subject, for the "not understood" list
    date: float | None  # the report's Date as a POSIX time, if it had a valid one
    why: str  # for UNKNOWN: why it was not understood ("" otherwise)
    sender: str = ""  # the From header as given, shown to an organiser as it is
    tokens: tuple[str, ...] = ()  # for UNSUBSCRIBE: the candidate tokens, not yet checked
    #: the key earlier versions recorded (the Message-ID alone): a report handled by one of
    #: them is not handled again ("" when the report has no Message-ID)
    legacy_key: str = ""


@dataclass(frozen=True)
class Item:
    """One message read from a mailbox, with the mailbox's own handle for it."""

    handle: str  # IMAP UID, Maildir key or mbox index: what ``Mailbox.processed`` needs
    raw: bytes
