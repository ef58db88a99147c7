"""What reports change, and the report ``postduif bounces`` prints about them.

* A hard bounce: every membership still mailed becomes ``bounced`` and the address is
  suppressed (``bounced``), so no import, sign-up or campaign reaches it again.
* A soft bounce is recorded; the ``soft_limit``-th within ``soft_days`` days (counted by the
  reports' own dates) is treated as a hard bounce.
* A complaint: every membership still mailed becomes ``complained`` (a consent event each,
  naming the report) and the address is suppressed (``complained``).
* A reader's unsubscribe mail (List-Unsubscribe's ``mailto:``) with a valid token: the
  token's membership is unsubscribed as by the one-click POST, with a consent event whose
  source names the method (``mailto:unsubscribe``). Without a valid token (none, forged,
  expired) it is kept and listed like a report that was not understood: a From address alone
  never unsubscribes anyone.
* A subscriber a report names by the address alone (no VERP address or Message-ID of ours in
  it): listed for an organiser, with the report's From and subject as given, and not applied,
  unless ``match`` finds it plausible (VERP off, a send to it shortly before, and the one
  address the report changes).
* An auto-reply, or a report about nobody of ours: nothing changes.
* A report that was not understood is left in the mailbox and listed, every run, until an
  organiser has read it; so is a complaint whose recipient the feedback loop redacted when
  neither its Message-ID nor its VERP address is one of ours.

Every change is recorded with the relay's raw reason. Each report is applied in one
transaction together with its key in ``bounce_reports``, and only then moved to the processed
folder: a crash in between leaves a report that the next run finds already handled. A dry run
applies everything inside a transaction that is rolled back, so its report is the real one.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from postduif.audience.membership import stop_mailing, unsubscribe
from postduif.bounces.mailbox import Mailbox
from postduif.bounces.match import Match, Matcher
from postduif.bounces.model import Item, Kind, Notice
from postduif.config import BounceSettings
from postduif.errors import TokenError
from postduif.store import BounceEvent, Store, stamp

SOURCE_LIMIT = 500  # characters of a consent event's source
NO_VALID_TOKEN = ("an unsubscribe request by mail without a valid token: not applied, since a "
                  "From address alone proves nothing")
ANONYMOUS = ("a complaint that names no recipient (redacted) and no message of ours: "
             "nobody can be unsubscribed")


@dataclass(frozen=True)
class Unread:
    """A report that was not understood: left where it is, for an organiser to read."""

    handle: str
    subject: str
    why: str
    sender: str = ""  # its From, as given


@dataclass(frozen=True)
class Listed:
    """An address a report names by itself, not applied: for an organiser to judge."""

    handle: str
    subject: str
    sender: str  # the report's From, as given
    address: str  # the subscriber's address, as stored
    kind: str  # "hard", "soft" or "complaint": what applying it would have done
    why: str


@dataclass
class BounceReport:
    """What one run found. Hard, soft, complaints and not ours count addresses; the rest
    count messages."""

    mailbox: str
    dry_run: bool
    messages: int = 0
    hard: int = 0
    soft: int = 0
    soft_to_hard: int = 0  # of the soft ones: the limit reached, treated as hard
    complaints: int = 0
    by_address: int = 0  # of the above: matched by the address alone
    #: of the hard bounces and complaints: reported before an organiser lifted the address's
    #: suppression (``subscribers unsuppress``), so recorded but not applied
    before_lift: int = 0
    auto_replies: int = 0
    #: readers' unsubscribe mails (List-Unsubscribe's mailto) with a valid token, applied
    unsubscribes: int = 0
    not_ours: int = 0
    already_handled: int = 0
    not_understood: list[Unread] = field(default_factory=list)
    #: subscribers named by the address alone and not changed (see ``match``)
    listed: list[Listed] = field(default_factory=list)
    #: why our Message-IDs, VERP ids and unsubscribe tokens could not be checked this run (the
    #: token key is missing or unusable), "" when they could
    unchecked: str = ""

    @property
    def needs_organiser(self) -> bool:
        """Whether someone has to look: reports that were not understood, or addresses named
        by a report alone that were not applied."""
        return bool(self.not_understood or self.listed)


def process(store: Store, mailbox: Mailbox, classify: Callable[[bytes], Notice],
            matcher: Matcher, rules: BounceSettings, *, dry_run: bool = False) -> BounceReport:
    """Read every report in ``mailbox``, apply what it says, move the handled ones."""
    report = BounceReport(mailbox.name, dry_run)
    undo: AbstractContextManager[None] = store.rollback_only() if dry_run else nullcontext()
    with undo:
        for item in mailbox.items():
            report.messages += 1
            handled = _handle(store, item, classify(item.raw), matcher, rules, report)
            if handled and not dry_run:
                mailbox.processed(item)
    return report


def _handle(store: Store, item: Item, notice: Notice, matcher: Matcher, rules: BounceSettings,
            report: BounceReport) -> bool:
    """Apply one report; False when it stays in the mailbox for an organiser to read."""
    if notice.kind is Kind.UNKNOWN:
        report.not_understood.append(_unread(item, notice, notice.why))
        return False
    if _handled_before(store, notice):
        report.already_handled += 1
        return True
    if notice.kind is Kind.UNSUBSCRIBE:
        return _unsubscribe_request(store, item, notice, matcher, report)
    matches = matcher.match(notice, reported_at(store, notice))
    if _anonymous(matches):
        report.not_understood.append(_unread(item, notice, ANONYMOUS))
        return False
    with store.transaction():
        outcome = apply(store, matches, notice, rules, report, handle=item.handle)
        store.record_report(notice.key, kind=notice.kind.value, outcome=outcome)
    return True


def _handled_before(store: Store, notice: Notice) -> bool:
    """Its key recorded, or the key an earlier version recorded for it (its Message-ID)."""
    return store.report_handled(notice.key) or bool(
        notice.legacy_key and store.report_handled(notice.legacy_key))


def _unread(item: Item, notice: Notice, why: str) -> Unread:
    return Unread(item.handle, notice.subject, why, notice.sender)


def _unsubscribe_request(store: Store, item: Item, notice: Notice, matcher: Matcher,
                         report: BounceReport) -> bool:
    """A reader's List-Unsubscribe mail: applied as the one-click POST is (the token's list,
    a consent event naming the method), once; without a valid token, listed and kept."""
    try:
        email, list_name = matcher.unsubscribe_request(notice)
    except TokenError as exc:
        report.not_understood.append(_unread(item, notice, f"{NO_VALID_TOKEN} ({exc.message})"))
        return False
    source = f"mailto:unsubscribe: request {notice.key}"[:SOURCE_LIMIT]
    with store.transaction():
        # A forgotten address has nothing to change, as on the web page.
        changed = (unsubscribe(store, email, [list_name], source=source)
                   if store.get(email) is not None else [])
        store.record_report(notice.key, kind=notice.kind.value,
                            outcome="applied" if changed else "nothing to change")
    report.unsubscribes += 1
    return True


def _anonymous(matches: list[Match]) -> bool:
    """A report naming nobody (a redacted complaint) that no message of ours explains."""
    return bool(matches) and all(m.subscriber_id is None and not m.failure.address
                                 for m in matches)


def apply(store: Store, matches: list[Match], notice: Notice, rules: BounceSettings,
          report: BounceReport, *, handle: str = "") -> str:
    """The effects of one notice; returns how it was handled, for ``bounce_reports``.
    ``handle`` is the report's in its mailbox, for the list of addresses not applied."""
    if notice.kind is Kind.AUTO_REPLY:
        report.auto_replies += 1
        return "auto-reply"
    if not matches:  # names no address, and no message of ours
        report.not_ours += 1
        return "not ours"
    when = reported_at(store, notice)
    ours = listed = 0
    for match in matches:
        if match.subscriber_id is None:
            report.not_ours += 1
            continue
        if match.listed:
            listed += 1
            report.listed.append(Listed(handle, notice.subject, notice.sender, match.email,
                                        _kind(match), match.listed))
            continue
        ours += 1
        report.by_address += match.by == "address"
        _effect(store, match, notice.key, when, rules, report)
    if listed:
        return f"applied {ours}, listed {listed} (matched by the address alone)"
    return "applied" if ours else "not ours"


def _kind(match: Match) -> str:
    return "complaint" if match.failure.kind is Kind.COMPLAINT else match.failure.kind.value


def _effect(store: Store, match: Match, key: str, when: datetime, rules: BounceSettings,
            report: BounceReport) -> None:
    failure = match.failure
    kind = _kind(match)
    assert match.subscriber_id is not None
    store.record_bounce(match.subscriber_id, _event(match, key, when, kind, failure.reason))
    source = f"bounces: report {key}: {failure.status or kind}"[:SOURCE_LIMIT]
    if failure.kind is Kind.SOFT:
        report.soft += 1
        _escalate(store, match, key, when, rules, report)
        return
    if failure.kind is Kind.COMPLAINT:
        report.complaints += 1
    elif failure.kind is Kind.HARD:
        report.hard += 1
    else:
        return
    if when <= _lifted(store, match.email):  # about the mailbox as it was before the lift
        report.before_lift += 1
        return
    _stop(store, match, "complained" if failure.kind is Kind.COMPLAINT else "bounced", source)


def _escalate(store: Store, match: Match, key: str, when: datetime, rules: BounceSettings,
              report: BounceReport) -> None:
    """The ``soft_limit``-th soft bounce within ``soft_days`` days is a hard bounce. Counted
    by the reports' dates in any such window that holds this one, so the order in which the
    reports are read (a backlog, newest first) does not matter."""
    assert match.subscriber_id is not None
    window = timedelta(days=rules.soft_days)
    since = max(when - window, _lifted(store, match.email))
    count = _densest(store.soft_bounce_dates(match.subscriber_id, since, when + window),
                     when, window)
    suppression = store.suppression(match.email)
    if count < rules.soft_limit or (suppression is not None and suppression.reason == "bounced"):
        return
    report.soft_to_hard += 1
    reason = (f"{count} soft bounces within {rules.soft_days:g} days; the last: "
              f"{match.failure.reason}")
    store.record_bounce(match.subscriber_id, _event(match, key, when, "hard", reason))
    _stop(store, match, "bounced",
          f"bounces: report {key}: {count} soft bounces in {rules.soft_days:g} days"
          [:SOURCE_LIMIT])


def _densest(dates: list[datetime], when: datetime, window: timedelta) -> int:
    """The most ``dates`` (sorted) in one span of ``window`` that holds ``when``."""
    return max((bisect_right(dates, start + window) - first
                for first, start in enumerate(dates) if when - window <= start <= when),
               default=0)


def _lifted(store: Store, email: str) -> datetime:
    """When an organiser last lifted the address's suppression (``subscribers unsuppress``),
    else the beginning of time: soft bounces from before that were about a mailbox they have
    since said works, and counting them again would make the next soft bounce a hard one."""
    lifted = [e.at for e in store.consent_log(email) if e.event == "unsuppressed"]
    return max((datetime.fromisoformat(at) for at in lifted),
               default=datetime.min.replace(tzinfo=UTC))


def _stop(store: Store, match: Match, status: str, source: str) -> None:
    subscriber = store.get(match.email)
    if subscriber is not None:
        stop_mailing(store, subscriber, status=status, source=source)
    store.suppress(match.email, reason=status, source=source)


def _event(match: Match, key: str, when: datetime, kind: str, reason: str) -> BounceEvent:
    return BounceEvent(at="", reported_at=stamp(when), email=match.email,
                       campaign=match.campaign, variant=match.variant, kind=kind,
                       status=match.failure.status, reason=reason, report=key,
                       matched_by=match.by)


def reported_at(store: Store, notice: Notice) -> datetime:
    """The report's own date, unless it has none or claims to be from the future."""
    now = store.now()
    if notice.date is None:
        return now
    try:
        reported = datetime.fromtimestamp(notice.date, UTC)
    except (OverflowError, OSError, ValueError):
        return now
    return min(reported, now)
