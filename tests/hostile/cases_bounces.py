"""A bounce report proves nothing by itself: forged reports mailed to the return address.

Anyone who knows a subscriber's address can mail a DSN or a spam complaint naming it. Each
case reads such reports with ``postduif bounces --from`` (a real process) and then asks the
store, through ``subscribers show`` and ``lists show``, who is suppressed. Beside each forgery
stands the genuine report it imitates, which must still work.
"""

from __future__ import annotations

import base64

from .support import Case, Prepare, Step, both
from .support_bounces import ago, arf, dsn, ours, people, reports, unkeyed, verp_report

EVA, AMAL = "eva@example.org", "amal@example.com"
READ = ("bounces", "--from", "reports")
LISTED = "named by the address alone and not applied"
MANY = [f"lid{n:04d}@example.org" for n in range(1000)]


def kept(email: str) -> Step:
    """``email`` is still mailed: not suppressed, still confirmed."""
    return Step(("subscribers", "show", email), 0, ("confirmed",), ("Suppressed", "bounced"))


def stopped(email: str, reason: str = "bounced") -> Step:
    return Step(("subscribers", "show", email), 0, (f"Suppressed ({reason})",))


def read(*names: str, absent: tuple[str, ...] = ()) -> Step:
    return Step(READ, 0, names, absent)


def forged(*raws: bytes, verp: bool = False, sent_days: float | None = 1) -> Prepare:
    """EVA and AMAL on the newsletter, the campaign sent to both ``sent_days`` ago (None:
    never), and the reports ``raws`` in the Maildir ``reports``."""
    sent = None if sent_days is None else ago(days=sent_days)
    return both(people(EVA, AMAL, sent=sent, verp=verp), reports(*raws))


def soft(n: int, email: str, days: float, original: str = "") -> bytes:
    """A soft bounce (mailbox full) about ``email``, dated ``days`` ago."""
    return dsn(f"<soft-{n}@relay.example.net>", [email], status="4.2.2",
               date=ago(days=days), original=original)


#: A subject with rich markup and an OSC 8 link in RFC 2047 words: shown as text, no escape.
MARKUP = "=?utf-8?b?" + base64.b64encode(
    b"[red]urgent[/red] \x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"
).decode() + "?="
HARD_EVA = dsn("<forged-1@relay.example.net>", [EVA])
ARF_EVA = arf("<forged-2@fbl.example.net>", EVA)

CASES = [
    # VERP on: a report that did not reach a VERP address of ours is listed, never applied;
    # the genuine VERP bounce about AMAL in the same mailbox is applied.
    Case("bounces-verp-on-forged-dsn-and-complaint-are-listed",
         both(forged(HARD_EVA, ARF_EVA, verp=True), verp_report("<real@relay>", AMAL)),
         (read(f"2 {LISTED}", EVA, "bounces.verp is true", "MAILER-DAEMON@relay.example.net",
               "hard bounces 1"), kept(EVA), stopped(AMAL))),
    Case("bounces-verp-on-forged-subject-is-shown-literally",
         forged(dsn("<forged-4@relay.example.net>", [EVA], subject=MARKUP), verp=True),
         (read(f"1 {LISTED}", "[red]urgent[/red]", EVA), kept(EVA))),
    # A Message-ID is ours only with the key: one computed the old unkeyed way (campaign name
    # and address) is not, so that report counts as an address alone; ours still applies.
    Case("bounces-verp-on-forged-dsn-quoting-an-unkeyed-message-id-is-listed",
         forged(dsn("<forged-5@relay.example.net>", [EVA], original=unkeyed(EVA)),
                dsn("<real-5@relay.example.net>", [AMAL], original=ours(AMAL)), verp=True),
         (read(f"1 {LISTED}", EVA, "hard bounces 1"), kept(EVA), stopped(AMAL))),
    Case("bounces-verp-on-three-forged-soft-bounces-suppress-nobody",
         forged(*(soft(n, EVA, days=n + 1) for n in range(3)), verp=True),
         (read(f"3 {LISTED}", "soft bounces 0"), kept(EVA))),
    # VERP off: an address alone applies only to an address we sent to shortly before.
    Case("bounces-verp-off-forged-dsn-never-sent-is-listed",
         forged(HARD_EVA, ARF_EVA, sent_days=None),
         (Step((*READ, "--json"), 0, ('"address": "eva@example.org"', '"kind": "complaint"',
                                      "nothing was sent to it in the 30 days", '"hard": 0')),
          kept(EVA))),
    Case("bounces-verp-off-forged-dsn-sent-long-ago-is-listed",
         forged(HARD_EVA, sent_days=45),
         (read(f"1 {LISTED}", "nothing was sent to it"), kept(EVA))),
    Case("bounces-verp-off-forged-dsn-dated-before-the-send-is-listed",
         forged(dsn("<forged-3@relay.example.net>", [EVA], date=ago(days=3)), sent_days=1),
         (read(f"1 {LISTED}"), kept(EVA))),
    Case("bounces-verp-off-three-forged-soft-bounces-never-sent",
         forged(*(soft(n, EVA, days=n + 1) for n in range(3)), sent_days=None),
         (read(f"3 {LISTED}", "soft bounces 0"), kept(EVA))),
    Case("bounces-verp-off-dsn-about-an-address-sent-to-yesterday-applies",
         forged(HARD_EVA), (read("hard bounces 1", absent=(LISTED,)), stopped(EVA), kept(AMAL))),
    # One report changes one recipient, unless it quotes our Message-ID for each.
    Case("bounces-forged-dsn-naming-1000-subscribers-changes-at-most-one",
         both(people(*MANY, sent=ago(days=1)),
              reports(dsn("<forged-many@relay.example.net>", MANY))),
         (read(f"999 {LISTED}", "already changes another recipient", "hard bounces 1",
               "and 989 more addresses named by the same report"),
          Step(("lists", "show", "nieuwsbrief"), 0, ("bounced", "999"), ("1000",)),
          kept(MANY[1]), kept(MANY[-1])), timeout=120),
    # Soft bounces count by their dates, whatever order they are read in (files are read in
    # name order: the newest first here, then the oldest first).
    Case("bounces-soft-bounces-read-newest-first-escalate",
         forged(*(soft(n, EVA, days=n + 1, original=ours(EVA)) for n in range(3))),
         (read("soft bounces 3", "1 of the soft bounces reached bounces.soft_limit"),
          stopped(EVA))),
    Case("bounces-soft-bounces-read-oldest-first-escalate",
         forged(*(soft(n, EVA, days=3 - n, original=ours(EVA)) for n in range(3))),
         (read("soft bounces 3", "1 of the soft bounces reached bounces.soft_limit"),
          stopped(EVA))),
    # Two different reports with one Message-ID are both handled; reading again changes
    # nothing.
    Case("bounces-two-reports-sharing-a-message-id-are-both-handled",
         forged(dsn("<same@relay.example.net>", [EVA], original=ours(EVA)),
                dsn("<same@relay.example.net>", [AMAL], original=ours(AMAL))),
         (read("hard bounces 2", "already handled 0"), stopped(EVA), stopped(AMAL),
          read("hard bounces 0", "already handled 2"))),
]
