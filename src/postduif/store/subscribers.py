"""People, list memberships and consent: the subscriber half of the store.

* The consent log is append-only, enforced by triggers: the only change allowed is ``forget``
  replacing an address by its salted hash, so the log can still prove what happened.
* Forgotten addresses survive only as salted hashes in ``suppressions``; an import checks every
  address against them, so nobody who asked to be erased comes back unnoticed.
* A suppression also says why it exists (:data:`SUPPRESSION_REASONS`): an address can be
  suppressed without being erased, such as someone blocklisted in listmonk, who stays in the
  store as unsubscribed so that the record of their leaving is kept. A refusal can then name
  the real reason instead of claiming the person asked to be forgotten.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from postduif.errors import StoreError
from postduif.store.db import Database, stamp

STATUSES = ("pending", "confirmed", "unsubscribed", "bounced", "complained", "rejected")
EVENTS = ("requested", "confirmed", "approved", "rejected", "unsubscribed", "bounced",
          "complained", "forgotten", "language", "unsuppressed")
#: Statuses after which an import must not put the person back on the list.
REFUSED = frozenset({"unsubscribed", "bounced", "complained", "rejected"})
#: Why an address is suppressed: erased on request (``forget``), blocklisted elsewhere and
#: moved over (a listmonk migration), a hard bounce (the address does not exist) or a spam
#: complaint reported by a feedback loop (``postduif bounces``). Checked in Python, not by a
#: CHECK constraint, so that a later reason needs no table rebuild.
SUPPRESSION_REASONS = ("forgotten", "blocklisted", "bounced", "complained")


@dataclass(frozen=True)
class Person:
    """What an import or ``subscribers add`` knows about someone; ``""`` means "not given"."""

    email: str
    first_name: str = ""
    last_name: str = ""
    language: str = ""
    organization: str = ""
    social_links: tuple[str, ...] = ()
    goals: str = ""


@dataclass(frozen=True)
class Membership:
    list: str
    status: str
    language: str
    requested_at: str | None
    confirmed_at: str | None
    approved_at: str | None
    unsubscribed_at: str | None
    changed_at: str
    welcomed_at: str | None
    confirmation_sent_at: str | None
    # Recorded as sent, but no 250 came back (a killed run, a connection lost after DATA):
    # the email may not have arrived; ``welcome --resend-unknown`` sends it again.
    welcome_uncertain: bool = False
    confirmation_uncertain: bool = False

    def uncertain(self, kind: str) -> str | None:
        """When the ``kind`` email was recorded as sent if its arrival is uncertain, else None."""
        if kind == "confirmation":
            return self.confirmation_sent_at if self.confirmation_uncertain else None
        return self.welcomed_at if self.welcome_uncertain else None


@dataclass(frozen=True)
class Subscriber:
    id: int
    email: str
    first_name: str
    last_name: str
    language: str
    organization: str
    social_links: tuple[str, ...]
    goals: str
    created_at: str
    updated_at: str
    memberships: tuple[Membership, ...]

    def membership(self, list: str) -> Membership | None:
        return next((m for m in self.memberships if m.list == list), None)


@dataclass(frozen=True)
class ConsentEvent:
    at: str
    email: str  # the salted hash ("sha256:...") once the person is forgotten
    list: str  # "" for a ``forgotten`` event, which covers every list
    event: str
    source: str
    consent_version: str


@dataclass(frozen=True)
class Suppression:
    """Why an address may never be added again; the address itself is not kept, only its hash."""

    at: str
    reason: str  # one of SUPPRESSION_REASONS
    source: str


class Outcome(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SUPPRESSED = "suppressed"  # forgotten or blocklisted: see SubscriberStore.suppression
    UNSUBSCRIBED = "unsubscribed"  # refused: left (or was refused by) this list earlier


# -- schema -----------------------------------------------------------------------------------

SUBSCRIBER_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

CREATE TABLE subscribers (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT '',
    organization TEXT NOT NULL DEFAULT '',
    social_links TEXT NOT NULL DEFAULT '[]',
    goals TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE memberships (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    list TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN
        ('pending', 'confirmed', 'unsubscribed', 'bounced', 'complained', 'rejected')),
    language TEXT NOT NULL,
    requested_at TEXT,
    confirmed_at TEXT,
    approved_at TEXT,
    unsubscribed_at TEXT,
    changed_at TEXT NOT NULL,
    welcomed_at TEXT,
    confirmation_sent_at TEXT,
    PRIMARY KEY (subscriber_id, list)
);
CREATE INDEX memberships_by_list_status ON memberships (list, status, subscriber_id);

CREATE TABLE consent_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    email TEXT NOT NULL,
    list TEXT NOT NULL,
    event TEXT NOT NULL,
    source TEXT NOT NULL,
    consent_version TEXT NOT NULL
);
CREATE INDEX consent_log_by_email ON consent_log (email);

CREATE TRIGGER consent_log_no_delete BEFORE DELETE ON consent_log
BEGIN
    SELECT RAISE(ABORT, 'consent_log is append-only');
END;

CREATE TRIGGER consent_log_only_pseudonymise BEFORE UPDATE ON consent_log
WHEN NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.list IS NOT OLD.list
    OR NEW.event IS NOT OLD.event OR NEW.source IS NOT OLD.source
    OR NEW.consent_version IS NOT OLD.consent_version OR NEW.email NOT GLOB 'sha256:*'
BEGIN
    SELECT RAISE(ABORT, 'consent_log is append-only (only forget may hash an address)');
END;

CREATE TABLE suppressions (
    hash TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    source TEXT NOT NULL
) WITHOUT ROWID;
"""


#: Existing suppressions all came from ``forget``.
SUPPRESSION_REASON_SCHEMA = """
ALTER TABLE suppressions ADD COLUMN reason TEXT NOT NULL DEFAULT 'forgotten';
"""


def create_salt(conn: sqlite3.Connection) -> None:
    """One random salt per store: hashes of forgotten addresses mean nothing elsewhere."""
    conn.execute("INSERT INTO meta (key, value) VALUES ('salt', ?)", (os.urandom(32).hex(),))


# -- queries ----------------------------------------------------------------------------------

_SUBSCRIBER_SELECT = """
SELECT s.id, s.email, s.first_name, s.last_name, s.language, s.organization, s.social_links,
       s.goals, s.created_at, s.updated_at,
       (SELECT json_group_array(json_array(m.list, m.status, m.language, m.requested_at,
                   m.confirmed_at, m.approved_at, m.unsubscribed_at, m.changed_at,
                   m.welcomed_at, m.confirmation_sent_at, m.welcome_uncertain = 1,
                   m.confirmation_uncertain = 1))
          FROM memberships AS m WHERE m.subscriber_id = s.id)
  FROM subscribers AS s
"""

# One row whatever exists: is the address suppressed, the subscriber, the membership.
_LOOKUP = """
SELECT EXISTS (SELECT 1 FROM suppressions WHERE hash = ?1),
       s.id, s.language, m.status, m.language
  FROM (SELECT 1) LEFT JOIN subscribers AS s ON s.email = ?2
  LEFT JOIN memberships AS m ON m.subscriber_id = s.id AND m.list = ?3
"""

# Empty incoming fields keep what is known; the WHERE makes an unchanged person a no-op, in
# which case RETURNING yields no row.
_UPSERT_SUBSCRIBER = """
INSERT INTO subscribers (email, first_name, last_name, language, organization, social_links,
                         goals, created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
ON CONFLICT (email) DO UPDATE SET
    first_name = iif(?2 = '', first_name, ?2),
    last_name = iif(?3 = '', last_name, ?3),
    language = iif(?9 = '', language, ?9),
    organization = iif(?5 = '', organization, ?5),
    social_links = iif(?6 = '[]', social_links, ?6),
    goals = iif(?7 = '', goals, ?7),
    updated_at = ?8
WHERE (?2 <> '' AND ?2 IS NOT first_name) OR (?3 <> '' AND ?3 IS NOT last_name)
   OR (?9 <> '' AND ?9 IS NOT language) OR (?5 <> '' AND ?5 IS NOT organization)
   OR (?6 <> '[]' AND ?6 IS NOT social_links) OR (?7 <> '' AND ?7 IS NOT goals)
RETURNING id
"""

_INSERT_MEMBERSHIP = """
INSERT INTO memberships (subscriber_id, list, status, language, requested_at, confirmed_at,
                         unsubscribed_at, changed_at)
VALUES (?1, ?2, ?3, ?4, ?5, iif(?3 = 'confirmed', ?5, NULL), iif(?3 = 'unsubscribed', ?5, NULL),
        ?5)
"""

_INSERT_CONSENT = """
INSERT INTO consent_log (at, email, list, event, source, consent_version)
VALUES (?, ?, ?, ?, ?, ?)
"""

_SET_STATUS = """
UPDATE memberships SET
    status = :status,
    changed_at = :now,
    requested_at = iif(:status = 'pending', :now, requested_at),
    confirmed_at = iif(:status = 'confirmed', :now, confirmed_at),
    approved_at = iif(:event = 'approved', :now, approved_at),
    unsubscribed_at = iif(:status = 'unsubscribed', :now, unsubscribed_at)
WHERE list = :list AND subscriber_id = (SELECT id FROM subscribers WHERE email = :email)
"""

_SENT_COLUMNS = {"welcome": "welcomed_at", "confirmation": "confirmation_sent_at"}
_UNCERTAIN_COLUMNS = {"welcome": "welcome_uncertain", "confirmation": "confirmation_uncertain"}

#: Appended by ``0005_greeting_uncertain``: whether a recorded welcome or confirmation email
#: got its 250 (0) or may not have arrived (1).
GREETING_UNCERTAIN_SCHEMA = """
ALTER TABLE memberships ADD COLUMN welcome_uncertain INTEGER NOT NULL DEFAULT 0;
ALTER TABLE memberships ADD COLUMN confirmation_uncertain INTEGER NOT NULL DEFAULT 0;
"""


def _key(email: str) -> str:
    """The form addresses are stored and looked up in (see ``people.normalise_email``)."""
    return email.strip().lower()


def _subscriber(row: tuple[Any, ...]) -> Subscriber:
    (id_, email, first_name, last_name, language, organization, links, goals, created_at,
     updated_at, memberships) = row
    return Subscriber(
        id=id_, email=email, first_name=first_name, last_name=last_name, language=language,
        organization=organization, social_links=tuple(json.loads(links)), goals=goals,
        created_at=created_at, updated_at=updated_at,
        memberships=tuple(sorted((_membership(m) for m in json.loads(memberships)),
                                 key=lambda m: m.list)),
    )


def _membership(fields: list[Any]) -> Membership:
    *rest, welcome_uncertain, confirmation_uncertain = fields
    return replace(Membership(*rest), welcome_uncertain=bool(welcome_uncertain),
                   confirmation_uncertain=bool(confirmation_uncertain))


class SubscriberStore(Database):
    """Subscribers, memberships, the consent log and suppressions."""

    _salt = b""

    def _load(self) -> None:
        super()._load()
        self._salt = bytes.fromhex(self._meta("salt"))

    # -- writing ------------------------------------------------------------------------------

    def join(self, person: Person, *, list: str, status: str, event: str, source: str,
             consent_version: str, default_language: str, at: datetime | None = None
             ) -> Outcome:
        """Add ``person`` to ``list`` with ``status``, or update what is known about them.

        Never re-subscribes anyone who left, bounced, complained or was refused (the import
        reports :attr:`Outcome.UNSUBSCRIBED` instead), and writes nothing at all for a
        suppressed address (:attr:`Outcome.SUPPRESSED`; :meth:`suppression` says why).

        ``at`` is when the consent event happened, if not now: a migration from another tool
        keeps the original subscription time. It stamps the new membership and its consent
        event; the subscriber record's own times stay the real ones (when postduif got the
        data), and the log is still only appended to, in the order things were recorded.
        """
        _check(status=status, event=event)
        email = _key(person.email)
        with self.transaction():
            lookup = self._conn.execute(_LOOKUP, (self._hash(email), email, list))
            suppressed, subscriber_id, known_language, current, member_language = lookup.fetchone()
            if suppressed:
                return Outcome.SUPPRESSED
            if current in REFUSED:
                return Outcome.UNSUBSCRIBED
            now = self._now()
            when = now if at is None else stamp(at)
            language = person.language or known_language or default_language
            upserted = self._conn.execute(_UPSERT_SUBSCRIBER, (
                email, person.first_name, person.last_name, language, person.organization,
                json.dumps(person.social_links), person.goals, now, person.language,
            )).fetchone()
            if current is None:
                member = subscriber_id if upserted is None else upserted[0]
                self._conn.execute(_INSERT_MEMBERSHIP, (member, list, status, language, when))
                self._log(when, email, list, event, source, consent_version)
                return Outcome.ADDED
            changed = upserted is not None
            if person.language and person.language != member_language:
                self._conn.execute("UPDATE memberships SET language = ?, changed_at = ? "
                                   "WHERE subscriber_id = ? AND list = ?",
                                   (person.language, now, subscriber_id, list))
                changed = True
            return Outcome.UPDATED if changed else Outcome.UNCHANGED

    def set_status(self, email: str, list: str, status: str, *, event: str, source: str,
                   consent_version: str = "") -> None:
        """Change one membership's status, stamp the time and log the consent event."""
        if not self._set_status(email, list, status, event=event, source=source,
                                consent_version=consent_version):
            raise StoreError(f"{_key(email)} is not on the list {list!r}")

    def _set_status(self, email: str, list: str, status: str, *, event: str, source: str,
                    consent_version: str = "") -> bool:
        """:meth:`set_status`, returning False instead of raising when there is no membership
        (a bounce for someone forgotten meanwhile is not an error)."""
        _check(status=status, event=event)
        email = _key(email)
        with self.transaction():
            now = self._now()
            cursor = self._conn.execute(_SET_STATUS, {
                "status": status, "event": event, "now": now, "list": list, "email": email})
            if cursor.rowcount == 0:
                return False
            self._log(now, email, list, event, source, consent_version)
        return True

    def mark_sent(self, email: str, list: str, kind: str) -> None:
        """Remember that the welcome or confirmation message went out, so it is sent once."""
        self._stamp_sent(email, list, kind, self._now())

    def clear_sent(self, email: str, list: str, kind: str) -> None:
        """Undo :meth:`mark_sent` when the server refused the message for sure."""
        self._stamp_sent(email, list, kind, None)

    def claim_sent(self, email: str, list: str, kind: str) -> bool:
        """:meth:`mark_sent`, but only if nobody has yet: True if this caller may send.

        ``postduif serve`` and a cron ``postduif welcome`` may find the same email due at the
        same moment; the one whose UPDATE matches sends it, the other skips it. The claim is
        marked uncertain until :meth:`delivered` records the server's 250, so a run killed in
        between leaves a mark that ``subscribers show`` and ``welcome --resend-unknown`` see.
        """
        return self._claim_greeting(email, list, kind, f"{_sent_column(kind)} IS NULL")

    def claim_resend(self, email: str, list: str, kind: str) -> bool:
        """Claim an email whose arrival is uncertain, to send it again; it stays uncertain
        until :meth:`delivered`."""
        return self._claim_greeting(email, list, kind, f"{_uncertain_column(kind)} = 1")

    def delivered(self, email: str, list: str, kind: str) -> None:
        """The server took the claimed email (250): its arrival is no longer uncertain."""
        with self.transaction():
            self._conn.execute(
                f"UPDATE memberships SET {_uncertain_column(kind)} = 0 WHERE list = ? AND "
                "subscriber_id = (SELECT id FROM subscribers WHERE email = ?)",
                (list, _key(email)))

    def _claim_greeting(self, email: str, list: str, kind: str, condition: str) -> bool:
        column, uncertain = _sent_column(kind), _uncertain_column(kind)
        with self.transaction():
            cursor = self._conn.execute(
                f"UPDATE memberships SET {column} = ?, {uncertain} = 1 WHERE list = ? "
                f"AND {condition} AND subscriber_id = "
                "(SELECT id FROM subscribers WHERE email = ?)", (self._now(), list, _key(email)))
        return cursor.rowcount == 1

    def touch_request(self, email: str, list: str) -> None:
        """A pending member asked again: the request's time moves, no consent event (a form
        sent twice is one request, and a flood must not grow the consent log)."""
        with self.transaction():
            self._conn.execute(
                "UPDATE memberships SET requested_at = ?1, changed_at = ?1 WHERE list = ?2 "
                "AND status = 'pending' AND subscriber_id = "
                "(SELECT id FROM subscribers WHERE email = ?3)", (self._now(), list, _key(email)))

    def _stamp_sent(self, email: str, list: str, kind: str, at: str | None) -> None:
        column = _sent_column(kind)
        with self.transaction():
            cursor = self._conn.execute(
                f"UPDATE memberships SET {column} = ?, {_uncertain_column(kind)} = 0 "
                "WHERE list = ? AND subscriber_id = "
                "(SELECT id FROM subscribers WHERE email = ?)", (at, list, _key(email)))
            if cursor.rowcount == 0:
                raise StoreError(f"{_key(email)} is not on the list {list!r}")

    def forget(self, email: str, *, source: str) -> bool:
        """Erase everything about ``email`` but a salted hash; True if anything was held.

        The address is suppressed even if nothing was held, so that a later import cannot add
        someone who asked not to be kept.
        """
        email = _key(email)
        hashed = self._hash(email)
        with self.transaction():
            now = self._now()
            held = self._conn.execute("DELETE FROM subscribers WHERE email = ?",
                                      (email,)).rowcount
            held += self._conn.execute("UPDATE consent_log SET email = ? WHERE email = ?",
                                       (hashed, email)).rowcount
            self._conn.execute("INSERT OR IGNORE INTO suppressions (hash, at, source, reason) "
                               "VALUES (?, ?, ?, 'forgotten')", (hashed, now, source))
            self._log(now, hashed, "", "forgotten", source, "")
        return held > 0

    def set_language(self, email: str, language: str, *, source: str) -> bool:
        """Make ``language`` the subscriber's and every membership's; True if anything changed.

        Each membership whose language changes gets a ``language`` event whose source ends
        in ``old->new`` (``web:preferences nl->en``): what someone receives is consent-relevant
        and the log should show why a campaign reached them in another language. When only the
        subscriber's own language changes, one event for no list. Raises if there is no such
        subscriber.
        """
        email = _key(email)
        if not language:
            raise StoreError("no language given")
        with self.transaction():
            row = self._conn.execute("SELECT id, language FROM subscribers WHERE email = ?",
                                     (email,)).fetchone()
            if row is None:
                raise StoreError(f"no subscriber {email}")
            subscriber_id, known = row
            changed = self._conn.execute(
                "SELECT list, language FROM memberships WHERE subscriber_id = ? "
                "AND language IS NOT ? ORDER BY list", (subscriber_id, language)).fetchall()
            if known == language and not changed:
                return False
            now = self._now()
            self._conn.execute("UPDATE subscribers SET language = ?, updated_at = ? WHERE id = ?",
                               (language, now, subscriber_id))
            self._conn.execute("UPDATE memberships SET language = ?, changed_at = ? "
                               "WHERE subscriber_id = ? AND language IS NOT ?",
                               (language, now, subscriber_id, language))
            for list_name, old in changed or [("", known)]:
                self._log(now, email, list_name, "language", f"{source} {old}->{language}", "")
        return True

    def suppress(self, email: str, *, reason: str, source: str) -> bool:
        """Suppress ``email`` without erasing anything; True if it was not suppressed yet.

        From then on :meth:`join` adds it to no list (:attr:`Outcome.SUPPRESSED`). An existing
        suppression is kept as it is: the first reason is the one that stands.
        """
        if reason not in SUPPRESSION_REASONS:
            raise StoreError(f"unknown suppression reason {reason!r}; expected one of "
                             f"{', '.join(SUPPRESSION_REASONS)}")
        with self.transaction():
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO suppressions (hash, at, source, reason) "
                "VALUES (?, ?, ?, ?)", (self._hash(_key(email)), self._now(), source, reason))
        return cursor.rowcount > 0

    def unsuppress(self, email: str, *, source: str
                   ) -> tuple[Suppression | None, list[tuple[str, str]]] | None:
        """Lift what keeps ``email`` from being mailed (the person asked to be mailed again):
        its suppression, and every bounced or complained membership, which becomes
        unsubscribed. Returns the suppression there was (or None) and each changed
        ``(list, old status)``; None when nothing kept the address out.

        Nothing puts them back on a list: like anyone who left, they join again through the
        site's form and confirm by email, so the new consent is theirs. The event is logged
        under the address's hash when nothing else is held about it (a forgotten address),
        so lifting stores no address until they do join.
        """
        email = _key(email)
        with self.transaction():
            suppression = self.suppression(email)
            subscriber = self.get(email)
            lists = [(m.list, m.status) for m in (subscriber.memberships if subscriber else ())
                     if m.status in ("bounced", "complained")]
            if suppression is None and not lists:
                return None
            self._conn.execute("DELETE FROM suppressions WHERE hash = ?", (self._hash(email),))
            for list_name, _ in lists:
                self._set_status(email, list_name, "unsubscribed", event="unsuppressed",
                                 source=source)
            if not lists:
                self._log(self._now(), email if subscriber else self._hash(email), "",
                          "unsuppressed", source, "")
        return suppression, lists

    def _log(self, at: str, email: str, list: str, event: str, source: str,
             consent_version: str) -> None:
        self._conn.execute(_INSERT_CONSENT, (at, email, list, event, source, consent_version))

    def _hash(self, email: str) -> str:
        return "sha256:" + hmac.new(self._salt, email.encode(), hashlib.sha256).hexdigest()

    # -- reading ------------------------------------------------------------------------------

    def get(self, email: str) -> Subscriber | None:
        row = self._conn.execute(_SUBSCRIBER_SELECT + "WHERE s.email = ?",
                                 (_key(email),)).fetchone()
        return None if row is None else _subscriber(row)

    def membership_language(self, email: str, list: str) -> str | None:
        """The language of ``email``'s membership of ``list``, None if not a member: a
        migration compares it with its own first, so a second export cannot change it unseen."""
        row = self._conn.execute(
            "SELECT m.language FROM memberships AS m JOIN subscribers AS s "
            "ON s.id = m.subscriber_id WHERE s.email = ? AND m.list = ?",
            (_key(email), list)).fetchone()
        return None if row is None else str(row[0])

    def search(self, text: str, limit: int = 50) -> list[Subscriber]:
        """Subscribers whose address, name or organisation contains ``text`` (any case)."""
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where = ("WHERE s.email LIKE ?1 ESCAPE '\\' OR s.first_name LIKE ?1 ESCAPE '\\' "
                 "OR s.last_name LIKE ?1 ESCAPE '\\' OR s.organization LIKE ?1 ESCAPE '\\' "
                 "OR (s.first_name || ' ' || s.last_name) LIKE ?1 ESCAPE '\\' "
                 "ORDER BY s.id LIMIT ?2")
        rows = self._conn.execute(_SUBSCRIBER_SELECT + where, (pattern, limit))
        return [_subscriber(row) for row in rows]

    def pending(self, list: str) -> list[Subscriber]:
        """People waiting for a decision on ``list``, oldest request first."""
        rows = self._conn.execute(
            _SUBSCRIBER_SELECT + "JOIN memberships AS p ON p.subscriber_id = s.id "
            "WHERE p.list = ? AND p.status = 'pending' ORDER BY p.requested_at, s.id", (list,))
        return [_subscriber(row) for row in rows]

    def members(self, list: str, status: str = "confirmed") -> Iterator[Subscriber]:
        """Everyone on ``list`` with ``status``, one at a time (a send may cover many)."""
        return self._streamed("WHERE p.list = ? AND p.status = ? ORDER BY s.id", (list, status))

    def _streamed(self, where: str, params: tuple[object, ...]) -> Iterator[Subscriber]:
        """Members (joined as ``p``) matching ``where``, read one row at a time; the cursor is
        closed however the caller stops."""
        cursor = self._conn.execute(
            _SUBSCRIBER_SELECT + "JOIN memberships AS p ON p.subscriber_id = s.id " + where,
            params)
        try:
            for row in cursor:
                yield _subscriber(row)
        finally:
            cursor.close()

    def counts(self, list: str | None = None) -> list[tuple[str, str, str, int]]:
        """``(list, status, language, number)`` for one list or all, sorted."""
        rows = self._conn.execute(
            "SELECT list, status, language, COUNT(*) FROM memberships "
            "WHERE ?1 IS NULL OR list = ?1 GROUP BY list, status, language "
            "ORDER BY list, status, language", (list,))
        return [(str(a), str(b), str(c), int(n)) for a, b, c, n in rows]

    def is_suppressed(self, email: str) -> bool:
        return self.suppression(email) is not None

    def suppression(self, email: str) -> Suppression | None:
        """Why ``email`` is suppressed, or None if it is not."""
        row = self._conn.execute("SELECT at, reason, source FROM suppressions WHERE hash = ?",
                                 (self._hash(_key(email)),)).fetchone()
        return None if row is None else Suppression(*row)

    def consent_log(self, email: str) -> list[ConsentEvent]:
        """Every consent event about ``email``, including those logged before it was forgotten."""
        email = _key(email)
        rows = self._conn.execute(
            "SELECT at, email, list, event, source, consent_version FROM consent_log "
            "WHERE email IN (?, ?) ORDER BY id", (email, self._hash(email)))
        return [ConsentEvent(*row) for row in rows]

    def export_person(self, email: str) -> dict[str, Any]:
        """Everything held about one person, ready for ``json.dumps`` (right of access)."""
        subscriber = self.get(email)
        person = None if subscriber is None else asdict(subscriber)
        suppression = self.suppression(email)
        return {
            "email": _key(email),
            "subscriber": person,
            "suppressed": suppression is not None,
            "suppression": None if suppression is None else asdict(suppression),
            "consent_log": [asdict(event) for event in self.consent_log(email)],
        }


def _sent_column(kind: str) -> str:
    column = _SENT_COLUMNS.get(kind)
    if column is None:
        raise StoreError(f"unknown message kind {kind!r}; expected one of "
                         f"{', '.join(_SENT_COLUMNS)}")
    return column


def _uncertain_column(kind: str) -> str:
    _sent_column(kind)  # the same check and message for an unknown kind
    return _UNCERTAIN_COLUMNS[kind]


def _check(*, status: str, event: str) -> None:
    if status not in STATUSES:
        raise StoreError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
    if event not in EVENTS:
        raise StoreError(f"unknown consent event {event!r}; expected one of {', '.join(EVENTS)}")
