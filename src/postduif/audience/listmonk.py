"""Moving subscribers over from listmonk: its subscriber export, read and mapped onto the store.

Why a module of its own, and not ``joins import --confirmed``: a listmonk export is not a file
of join requests. Each row carries a status that decides whether the person may be mailed at
all, a JSON ``attributes`` object where the language hides, the time the person subscribed,
and one free-text name. Read as join requests, blocklisted and disabled people became confirmed
(they would have been mailed), the language and the subscription time were lost and "Jansen,
Eva" was greeted as "Jansen,". The file handling itself is not repeated here: rows are read by
:func:`postduif.audience.formats.read_export`, people validated by
:class:`~postduif.audience.joins.PersonMaker` and the import run, reported and its rejects written
by :func:`postduif.audience.joins.import_rows`, so ``migrate listmonk`` reports exactly as
``joins import`` does.

What each status becomes, on the list ``L`` the export is imported into (listmonk exports one
list at a time):

* ``enabled``: confirmed on ``L``, because listmonk had their consent. The consent event
  ``confirmed`` is dated ``created_at`` (when they subscribed in listmonk) with the source
  ``listmonk export FILE:LINE``, so an access request shows when and where consent came from.
  They are not new, so ``postduif welcome`` does not greet them. Its consent version is empty:
  they agreed to listmonk's form, whose wording postduif does not know.
* ``disabled``: not mailed: unsubscribed on ``L`` (event ``unsubscribed`` dated
  ``updated_at``, the source ending in "(disabled in listmonk)").
* ``blocklisted``: never mailed again: unsubscribed on ``L`` and on every other list they are
  on here (listmonk's blocklist is global too), and the address suppressed with the reason
  ``blocklisted``, so that no later import, sign-up or migration adds it to any list; the
  refusal then says it was blocklisted, and where that came from.

listmonk keeps a second status per list (unconfirmed, confirmed, unsubscribed) that the export
has no column for, but can be filtered on. Someone who unsubscribed from the list is usually
still ``enabled``, so an export must be filtered to the live subscriptions; an export of the
unsubscribed ones is imported with ``unsubscribed=True`` (``--unsubscribed``): then everyone in
it is unsubscribed here, whatever their status, so that no later import adds them back.

One person on two rows (listmonk writes each address once, so such a file was put together by
hand or from two exports; letter case does not matter): the rows are merged into one, and the
more restrictive status wins in either order: blocklisted over disabled over enabled. "The
later row wins" holds only for the rest: a row never lifts a blocklist, and blocklisted
anywhere in the file means suppressed. Two different languages on the two rows are a
conflict, reported as a warning naming both lines (the later row's language is used).

A migration never loosens a state it finds: whoever unsubscribed, bounced, complained or was
refused here is not re-subscribed (a rejected row, as in ``joins import``), a forgotten address
is not re-added, and a membership still pending here stays pending (their confirmation is
postduif's to ask for). It only ever tightens one: a ``disabled`` or ``blocklisted`` row stops
mail to someone who is confirmed here. Running the same export again changes nothing.

Language: ``--language`` wins (the real site keeps one list per language, so each export is of
one language); else the first of the attribute keys (``lang``, ``language``, ``taal``,
``locale`` by default, in any case) that has a value; else the list's default. A value is read
like any other (``EN``, ``en-GB``, ``Nederlands``); one that is not offered (``de``) or is not
text gets the list's default language and a warning naming the line, the key and the value: a
real group must not lose subscribers for a stray attribute. Someone already on the list in
another language (the Dutch export migrated first, now the English one) keeps it, with a
warning, rather than being switched unseen. Other attributes are not kept: postduif has no
use for them.

A ``blocklisted`` row whose other fields cannot be used (a time not in listmonk's form, a name
with a control character, broken attributes) is still a blocklist: the address is suppressed
and unsubscribed everywhere, with a warning; only a row without a usable address is rejected.

Names and times: ``name`` is split by :func:`~postduif.audience.records.split_name`
("Jansen, Eva" is Eva Jansen, greeted as Eva). ``created_at`` and ``updated_at`` must be in
the form listmonk writes (:func:`parse_time`); anything else rejects the row, because the time
becomes a consent record's date and a guess there would be a false record.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from postduif.audience.formats import (
    LISTMONK_COLUMNS,
    MAX_JSON_DEPTH,
    Rejected,
    Row,
    json_kind,
    json_too_deep,
    read_export,
)
from postduif.audience.joins import (
    ImportReport,
    Note,
    PersonMaker,
    import_rows,
    merged,
    option_language,
    refusal,
)
from postduif.audience.records import InvalidField, normalise_email
from postduif.lists import ListDef
from postduif.store import Outcome, Person, Store

#: The header of listmonk's subscriber export (Subscribers -> Export), in its order.
COLUMNS = LISTMONK_COLUMNS
#: listmonk's subscriber statuses; also the order the report counts them in.
STATUSES = ("enabled", "disabled", "blocklisted")
#: Attribute keys that may hold a language, tried in this order.
LANGUAGE_ATTRIBUTES = ("lang", "language", "taal", "locale")
#: How firmly a status stops mail. Of two rows of one person the firmer wins in either order,
#: so no row lifts a blocklist; a status listmonk does not have (the merged row is rejected,
#: nobody mailed) ranks between enabled and disabled.
_FIRMNESS = {"enabled": 0, "disabled": 2, "blocklisted": 3}

# Go's time.Time.String(), which is what listmonk writes: "2024-05-01 10:00:00.123456 +0000 UTC".
# The fraction (up to nanoseconds, trailing zeros dropped) and the zone name may be absent.
_GO_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
                      r" ([+-])(\d{2})(\d{2})(?: (?:[A-Za-z]{1,6}|[+-]\d{2}(?:\d{2})?))?")
_TIME_EXAMPLE = "2024-05-01 10:00:00.123456 +0000 UTC"
_MAILED = frozenset({"pending", "confirmed"})
_EXPORT_HINT = ("in listmonk, filter the subscribers on one list and use Export; "
                "postduif joins import reads other CSV files")


def parse_time(field: str, raw: str) -> datetime:
    """A listmonk time as an aware datetime, or :class:`InvalidField` naming ``field``.

    Only the form listmonk writes is accepted, not whatever a parser could make of it: the
    result becomes a consent record's date, which must be exactly what the file says.
    Nanoseconds are cut to microseconds (the store keeps whole seconds anyway). Built from the
    match directly: ``strptime`` would cost more than the rest of the row.
    """
    text = raw.strip()
    match = _GO_TIME.fullmatch(text)
    try:
        if match is None:
            raise ValueError
        year, month, day, hour, minute, second, fraction, sign, hours, minutes = match.groups()
        offset = timedelta(hours=int(hours), minutes=int(minutes)) * (-1 if sign == "-" else 1)
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                        int(f"{(fraction or '')[:6]:0<6}"), tzinfo=timezone(offset))
    except ValueError:
        shown = repr(text) if text else "empty"
        raise InvalidField(field, f"{shown} is not a time like {_TIME_EXAMPLE}") from None


def migrate_listmonk(store: Store, path: Path, list_def: ListDef, *, language: str = "",
                     language_attributes: Sequence[str] = LANGUAGE_ATTRIBUTES,
                     unsubscribed: bool = False, dry_run: bool = False,
                     allowed_languages: Sequence[str] = ("nl", "en")) -> ImportReport:
    """Import listmonk's subscriber export ``path`` into ``list_def``, in one transaction.

    See the module docstring for what each status becomes. A file without listmonk's header
    raises :class:`~postduif.errors.JoinImportError` before anything is written; a bad row is
    rejected with its line and reason, reported and written to ``<stem>.rejects.csv``. A dry
    run writes nothing, not even the rejects file. The report counts the imported rows per
    listmonk status in ``statuses``. ``unsubscribed``: the export holds the list's unsubscribed
    subscriptions, and nobody in it is mailed.
    """
    migrator = _Migrator(store, path, list_def, PersonMaker(
        allowed_languages, option_language(language, allowed_languages)),
        forced_language=bool(language.strip()), language_attributes=language_attributes,
        unsubscribed=unsubscribed)
    def rows() -> Iterator[Row | Rejected]:
        return read_export(path, COLUMNS, kind="a listmonk subscriber export",
                           hint=_EXPORT_HINT)

    report = import_rows(store, path, list_def.name, rows, migrator, dry_run=dry_run,
                         merge=migrator.merge)
    notes = sorted((*report.notes, *migrator.notes), key=lambda note: note.line)
    return replace(report, statuses=tuple((s, migrator.statuses[s]) for s in STATUSES),
                   notes=tuple(notes))


class _Migrator:
    """One row of the export into the store; counts the rows it imported per status and
    collects its warnings (a language not offered, one that conflicts, a blocklist kept)."""

    def __init__(self, store: Store, path: Path, list_def: ListDef, make_person: PersonMaker,
                 *, forced_language: bool, language_attributes: Sequence[str],
                 unsubscribed: bool) -> None:
        self.store = store
        self.path = path
        self.list_def = list_def
        self.make_person = make_person
        self.forced_language = forced_language
        self.language_attributes = tuple(language_attributes)
        self.unsubscribed = unsubscribed
        self.statuses: Counter[str] = Counter()
        self.notes: list[Note] = []
        # A merged row stands at its person's last line; where an earlier row's status won,
        # the consent log and the suppression name that row's line instead.
        self.status_lines: dict[int, int] = {}

    def __call__(self, row: Row) -> Outcome | Rejected:
        fields = row.fields
        try:
            status = _status(fields.get("status", ""))
            person, subscribed, changed = self._read(row)
        except InvalidField as exc:
            blocklist = self._blocklist_anyway(row, exc)
            if blocklist is None:
                return Rejected(row.line, fields.get("email", "").strip(), str(exc), row.raw)
            status, person, subscribed, changed = "blocklisted", blocklist, None, None
        person = self._keep_language(row, person)
        source = f"listmonk export {self.path.name}:{self.status_lines.get(row.line, row.line)}"
        try:
            if status == "enabled" and not self.unsubscribed:
                assert subscribed is not None  # only a blocklisted row goes without times
                outcome = self._confirm(person, subscribed, source)
            else:
                why = ("unsubscribed from the list in listmonk" if status == "enabled"
                       else f"{status} in listmonk")
                outcome = self._stop_mail(person, changed, f"{source} ({why})", source,
                                          blocklisted=status == "blocklisted")
        except _Refused as refused:
            return Rejected(row.line, person.email, refused.reason, row.raw)
        self.statuses[status] += 1
        return outcome

    def _read(self, row: Row) -> tuple[Person, datetime, datetime]:
        """The person (address first, so a bad address is what a row is rejected for) and the
        times of one row; :class:`InvalidField` for the first field that cannot be used."""
        fields = row.fields
        attributes = _attributes(fields.get("attributes", ""))
        person = self.make_person(Row(row.line, {
            "email": fields.get("email", ""), "name": fields.get("name", ""),
            "language": self._language(row, attributes)}))
        return (person, parse_time("created_at", fields.get("created_at", "")),
                parse_time("updated_at", fields.get("updated_at", "")))

    def _blocklist_anyway(self, row: Row, problem: InvalidField) -> Person | None:
        """The address of a blocklisted row whose other fields cannot be used (None for any
        other row, or one without a usable address): a blocklist needs only the address, and
        a broken time or name must not let a blocklisted person be mailed again."""
        if row.fields.get("status", "").strip().lower() != "blocklisted":
            return None
        try:
            email = normalise_email(row.fields.get("email", ""))
        except InvalidField:
            return None
        self._note(row, f"{problem}; blocklisted all the same: the address is suppressed, the "
                   "rest of the row is not used")
        return Person(email=email)

    def _language(self, row: Row, attributes: Mapping[str, object]) -> str:
        """The row's language, "" for the list's default (also, with a warning, when the
        attribute holds one the site does not offer)."""
        found = None if self.forced_language else self._language_attribute(attributes)
        if found is None:
            return ""  # with --language, the PersonMaker's fallback is that option
        name, value = found
        try:
            if not isinstance(value, str):
                raise InvalidField("language", f"expected text, found {json_kind(value)}")
            return self.make_person.language(value)
        except InvalidField as exc:
            default = self.list_def.default_language
            self._note(row, f"attributes.{name}: {exc.reason}: given the list's default "
                       f"language ({default}) instead, unless they already have one here")
            return ""

    def _language_attribute(self, attributes: Mapping[str, object]) -> tuple[str, object] | None:
        """(key as written, value) of the first language attribute that has a value."""
        for key in self.language_attributes:
            found = next(((k, v) for k, v in attributes.items()
                          if k.casefold() == key.casefold() and v not in (None, "")), None)
            if found is not None:
                return found
        return None

    def _keep_language(self, row: Row, person: Person) -> Person:
        """``person`` without a language when they are on the list in another one already:
        someone on both the Dutch and the English list in listmonk is one membership here, and
        the second export must not switch it unseen. The organiser is told how to switch."""
        if not person.language:
            return person
        known = self.store.membership_language(person.email, self.list_def.name)
        if known is None or known == person.language:
            return person
        list_name = self.list_def.name
        self._note(row, f"conflicting languages: already on {list_name} in {known}, this "
                   f"export says {person.language}; kept {known} (to switch: postduif "
                   f"subscribers add {person.email} --list {list_name} --language "
                   f"{person.language})")
        return replace(person, language="")

    def merge(self, earlier: Row, later: Row) -> tuple[Row, str]:
        """Two rows of one person as one, at the later row's line (see the module docstring):
        the firmer status wins in either order, the later row otherwise; a second language is
        a conflict and said so."""
        statuses = [row.fields.get("status", "").strip().lower() for row in (earlier, later)]
        firm = [_FIRMNESS.get(status, 1) for status in statuses]
        message = f"line {later.line} repeats line {earlier.line}; "
        if firm[0] > firm[1]:
            row = replace(merged(later, earlier), line=later.line)
            self.status_lines[later.line] = self.status_lines.get(earlier.line, earlier.line)
            message += (f"{statuses[0]} (line {earlier.line}) wins over {statuses[1]}: a later "
                        "row never lifts a blocklist or a disabled status")
        else:
            row = merged(earlier, later)
            message += ("the later row wins" if statuses[0] == statuses[1] else
                        f"{statuses[1]} wins over {statuses[0]} (line {earlier.line})")
        languages = [self._named_language(each) for each in (earlier, later)]
        if all(languages) and languages[0] != languages[1]:
            message += (f"; conflicting languages: {languages[0]} on line {earlier.line}, "
                        f"{languages[1]} on line {later.line}; "
                        f"{self._named_language(row) or 'the default'} is used")
        return row, message

    def _named_language(self, row: Row) -> str:
        """The language a row's attributes name, normalised where possible ("" if none)."""
        if self.forced_language:
            return ""
        try:
            found = self._language_attribute(_attributes(row.fields.get("attributes", "")))
        except InvalidField:
            return ""
        if found is None:
            return ""
        try:
            return self.make_person.language(str(found[1]))
        except InvalidField:
            return str(found[1])

    def _note(self, row: Row, message: str) -> None:
        self.notes.append(Note(row.line, row.fields.get("email", "").strip(), message))

    def _confirm(self, person: Person, subscribed: datetime, source: str) -> Outcome:
        """Enabled in listmonk: confirmed here since ``subscribed``, and not greeted as new."""
        list_def = self.list_def
        outcome = self.store.join(person, list=list_def.name, status="confirmed",
                                  event="confirmed", source=source, consent_version="",
                                  default_language=list_def.default_language, at=subscribed)
        reason = refusal(self.store, person.email, outcome)
        if reason is not None:
            raise _Refused(reason)
        if outcome is Outcome.ADDED:
            self.store.mark_sent(person.email, list_def.name, "welcome")
        return outcome

    def _stop_mail(self, person: Person, changed: datetime | None, why: str, source: str, *,
                   blocklisted: bool) -> Outcome:
        """Not mailed in listmonk: unsubscribed here (``why`` is the consent event's source);
        blocklisted also on every list, and suppressed (``source`` is the suppression's).

        The person is kept (as unsubscribed) so that the record of their leaving is kept too;
        :class:`_Refused` when the address must not be touched at all (it was forgotten).
        """
        store, list_name = self.store, self.list_def.name
        outcome = store.join(person, list=list_name, status="unsubscribed", event="unsubscribed",
                             source=why, consent_version="",
                             default_language=self.list_def.default_language, at=changed)
        if outcome is Outcome.SUPPRESSED:
            suppression = store.suppression(person.email)
            if suppression is None or suppression.reason == "forgotten":
                raise _Refused(refusal(store, person.email, outcome) or "suppressed")
            return Outcome.UNCHANGED  # blocklisted already: never mailed, nothing to add
        if outcome is Outcome.UNSUBSCRIBED:
            outcome = Outcome.UNCHANGED  # not mailed on this list already (left, bounced, ...)
        subscriber = store.get(person.email)
        tightened = False
        for membership in subscriber.memberships if subscriber else ():
            if membership.status in _MAILED and (blocklisted or membership.list == list_name):
                store.set_status(person.email, membership.list, "unsubscribed",
                                 event="unsubscribed", source=why)
                tightened = True
        if blocklisted:
            tightened |= store.suppress(person.email, reason="blocklisted", source=source)
        return Outcome.UPDATED if tightened and outcome is Outcome.UNCHANGED else outcome


class _Refused(Exception):
    """The store refused the row (see :func:`postduif.audience.joins.refusal`); it becomes
    rejected."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _status(raw: str) -> str:
    status = raw.strip().lower()
    if status not in STATUSES:
        shown = repr(raw.strip()) if raw.strip() else "empty"
        raise InvalidField("status", f"{shown} is not one of {', '.join(STATUSES)}")
    return status


def _attributes(raw: str) -> Mapping[str, object]:
    """The ``attributes`` column as a JSON object (empty when the column is)."""
    if not raw.strip():
        return {}
    if json_too_deep(raw.strip()):
        raise InvalidField("attributes", f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidField("attributes", f"not valid JSON: {exc.msg} (column {exc.colno})"
                           ) from None
    if not isinstance(value, dict):
        raise InvalidField("attributes", f"not a JSON object but {json_kind(value)}")
    return {str(key): item for key, item in value.items()}
