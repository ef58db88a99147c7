"""Importing join requests: each row read from a file checked, written, reported.

:func:`import_joins` takes the rows :mod:`postduif.audience.formats` reads, validates each one
through :mod:`postduif.audience.records` and writes them through the
:class:`~postduif.store.Store` in one transaction: a file is imported completely or not at all.

A row that cannot be used (a bad address, a control character, a CSV row with too few columns,
a JSON line that does not parse) never stops the import: it becomes a :class:`Rejected` entry,
reported and written to ``<name>.rejects.csv`` beside the input so the organiser can fix and
re-import it. A CSV record that cannot be read whole does stop it, before anything is written
(see :mod:`postduif.audience.formats`): what follows it cannot be trusted.

Other importers build on the same parts rather than repeating them: :class:`PersonMaker`
validates a person, and :func:`import_rows` runs any per-row step in one transaction with the
same report and rejects file (:mod:`postduif.audience.listmonk` is such an importer).
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from postduif.audience.formats import Malformed, Rejected, Row, form_row, read_rows
from postduif.audience.records import (
    LIMITS,
    InvalidField,
    address_notes,
    clean_field,
    normalise_email,
    normalise_language,
    normalise_link,
    refuse_lookalike,
    split_name,
)
from postduif.csv_out import SafeWriter
from postduif.errors import JoinImportError
from postduif.lists import ListDef
from postduif.store import Outcome, Person, Store


@dataclass(frozen=True)
class Note:
    """A row that was used but deserves a look: a repeated person, a lookalike address."""

    line: int
    email: str
    message: str


@dataclass(frozen=True)
class ImportReport:
    """What an import did (or, in a dry run, would do), row by row in totals.

    ``statuses`` counts the imported rows per status the source gave them, for sources that
    have one (a listmonk export: enabled, disabled, blocklisted), in a fixed order.
    ``notes`` are warnings about rows that were imported, in line order.
    """

    source: Path
    list: str
    dry_run: bool
    added: int
    updated: int
    unchanged: int
    rejected: tuple[Rejected, ...]
    rejects_file: Path | None
    statuses: tuple[tuple[str, int], ...] = ()
    notes: tuple[Note, ...] = ()


def rejects_path(path: Path) -> Path:
    """Where the rejects of importing ``path`` are written: ``<stem>.rejects.csv`` beside it."""
    return path.with_name(f"{path.stem}.rejects.csv")


# ---------------------------------------------------------------------------- importing


class PersonMaker:
    """Turns rows into validated :class:`Person` values; caches language lookups (Babel is slow).

    A full name (``name``, used only when there is no first or last name) is split by
    :func:`~postduif.audience.records.split_name`, which knows "Last, First".
    """

    def __init__(self, allowed_languages: Sequence[str], fallback_language: str) -> None:
        self.allowed = tuple(allowed_languages)
        self.fallback = fallback_language
        self.languages: dict[str, str] = {}

    def __call__(self, row: Row) -> Person:
        fields = row.fields
        first, last = fields.get("first_name", ""), fields.get("last_name", "")
        if not (first.strip() or last.strip()):
            first, last = split_name(fields.get("name", ""))
        return Person(
            email=normalise_email(fields.get("email", "")),
            first_name=_clean("first_name", first),
            last_name=_clean("last_name", last),
            language=self.language(fields.get("language", "")),
            organization=_clean("organization", fields.get("organization", "")),
            social_links=tuple(
                normalise_link(link, row.link_fields[i] if i < len(row.link_fields)
                               else "social_links")
                for i, link in enumerate(row.social_links)),
            goals=_clean("goals", fields.get("goals", "")),
        )

    def language(self, raw: str) -> str:
        if not raw.strip():
            return self.fallback
        if raw not in self.languages:
            self.languages[raw] = normalise_language(raw, self.allowed)
        return self.languages[raw]


def join_request(value: object, *, language: str,
                 allowed_languages: Sequence[str] = ("nl", "en")) -> Person:
    """One join request as the site's form posts it (a JSON object), validated into a Person.

    The web endpoint's counterpart of one imported JSON line: the same keys, aliases and
    checks, but the first problem is raised as :class:`InvalidField` (naming the field)
    instead of becoming a rejected row. The form sends no language, so ``language`` (the
    language of the page it was on) is used unless the object names one. An address that may
    imitate another (mixed scripts) is refused here, where an import would only warn.
    """
    try:
        row = form_row(value)
    except Malformed as exc:
        raise InvalidField(exc.field, exc.reason) from None
    person = PersonMaker(allowed_languages, language)(row)
    refuse_lookalike(person.email)
    return person


def _clean(name: str, value: str) -> str:
    return clean_field(name, value, LIMITS[name]) if value else ""


def join_status(list_def: ListDef) -> tuple[str, str]:
    """(status, consent event) for a new membership of ``list_def``.

    A request that waits for an organiser or for the address owner's confirmation is pending;
    only a single opt-in list without approval admits people straight away.
    """
    if list_def.approval or list_def.optin == "double":
        return "pending", "requested"
    return "confirmed", "confirmed"


def refusal(store: Store, email: str, outcome: Outcome) -> str | None:
    """Why :meth:`Store.join` refused ``email`` (None if ``outcome`` is no refusal).

    A suppression names its real reason: someone blocklisted in listmonk did not ask to be
    forgotten, and an organiser who reads that they did would look in the wrong place.
    """
    if outcome is Outcome.UNSUBSCRIBED:
        return "unsubscribed earlier; not re-subscribed"
    if outcome is not Outcome.SUPPRESSED:
        return None
    suppression = store.suppression(email)
    if suppression is None or suppression.reason == "forgotten":
        return "address was forgotten on request; not re-added"
    return f"address was {suppression.reason} ({suppression.source}); not re-added"


def import_joins(store: Store, path: Path, list_def: ListDef, *, language: str = "",
                 dry_run: bool = False, allowed_languages: Sequence[str] = ("nl", "en"),
                 confirmed: bool = False) -> ImportReport:
    """Import every join request in ``path`` into ``list_def`` in one transaction.

    ``language`` is used for rows without one (the form sends none; it is the language of the
    page the form was on); rows without either get the list's default language from the store.
    A dry run reports exactly what would happen and writes nothing, not even the rejects file.
    ``confirmed`` is for moving a list whose people already confirmed elsewhere: they join as
    confirmed, and the consent log says where that came from; they are not new, so
    ``postduif welcome`` does not greet them. (A listmonk export is refused: it has its own
    importer, :func:`postduif.audience.listmonk.migrate_listmonk`, which honours its statuses.)
    """
    make_person = PersonMaker(allowed_languages, option_language(language, allowed_languages))
    status = ("confirmed", "confirmed") if confirmed else join_status(list_def)
    return import_rows(store, path, list_def.name, lambda: read_rows(path), lambda row: _join_row(
        store, path, list_def, make_person, row, status, welcomed=confirmed), dry_run=dry_run)


#: How two rows of one person become one: (earlier, later) -> (the merged row, at the later
#: row's line; the warning that says what won).
Merge = Callable[[Row, Row], tuple[Row, str]]


def later_wins(earlier: Row, later: Row) -> tuple[Row, str]:
    """The merge of ``joins import``: the later row wins (see :func:`merged`)."""
    return (merged(earlier, later),
            f"line {later.line} repeats line {earlier.line}; the later row wins")


def import_rows(store: Store, path: Path, list_name: str,
                read: Callable[[], Iterable[Row | Rejected]],
                apply: Callable[[Row], Outcome | Rejected], *, dry_run: bool,
                merge: Merge = later_wins) -> ImportReport:
    """Run ``apply`` on every person of ``path`` in one transaction and report, as an import does.

    ``read`` gives the file's records and is called twice: a first pass finds the people the
    file names more than once (by address, in any letter case), so that each is applied once,
    merged by ``merge``, at their last line. Applying every line in turn would count one person
    as added and then updated, and a second import of the same file would "update" them back
    and forth instead of reporting nothing changed. Holding only the addresses, not the rows,
    keeps a 100,000-row import within its memory target. The first pass also reads the whole
    file before anything is written, so a file that stops being readable halfway
    (:class:`~postduif.errors.JoinImportError`) imports nothing.

    Rows that came in rejected, and rows ``apply`` rejects, are reported and written to the
    rejects file (staged inside the transaction, published after the commit); a dry run runs
    everything and rolls it back, writing nothing, not even the rejects file.
    """
    last = _last_lines(read())
    counts: Counter[Outcome] = Counter()
    rejected: list[Rejected] = []
    notes: list[Note] = []
    staged: Path | None = None
    unread: set[str] = set()
    try:
        with store.rollback_only() if dry_run else store.transaction():
            for row in _once_per_person(read(), last, notes, merge):
                if isinstance(row, Row) and row.unread:
                    notes.extend(_first_unread(row, unread))
                result = row if isinstance(row, Rejected) else apply(row)
                if isinstance(result, Rejected):
                    rejected.append(result)
                    continue
                counts[result] += 1
                if isinstance(row, Row):
                    notes.extend(_address_notes(row))
            staged = None if dry_run else _stage_rejects(path, rejected)
    except BaseException:
        if staged is not None:
            staged.unlink(missing_ok=True)
        raise
    return ImportReport(
        source=path, list=list_name, dry_run=dry_run,
        added=counts[Outcome.ADDED], updated=counts[Outcome.UPDATED],
        unchanged=counts[Outcome.UNCHANGED], rejected=tuple(rejected),
        rejects_file=None if dry_run else _publish_rejects(path, staged),
        notes=tuple(sorted(notes, key=lambda note: note.line)),
    )


def _person_key(row: Row) -> str:
    """The address a row names, in the store's letter case ("" for a row without one)."""
    return row.fields.get("email", "").strip().lower()


def _last_lines(rows: Iterable[Row | Rejected]) -> dict[str, int]:
    """The last line of every address named on more than one line."""
    last: dict[str, int] = {}
    repeated: set[str] = set()
    for row in rows:
        key = _person_key(row) if isinstance(row, Row) else ""
        if key:
            if key in last:
                repeated.add(key)
            last[key] = row.line
    return {key: last[key] for key in repeated}


def _once_per_person(rows: Iterable[Row | Rejected], last: Mapping[str, int],
                     notes: list[Note], merge: Merge) -> Iterator[Row | Rejected]:
    """The rows with each repeated person merged into one by ``merge``, at their last line;
    every repeat is noted ("line 3 repeats line 1; the later row wins")."""
    held: dict[str, Row] = {}
    for row in rows:
        key = _person_key(row) if isinstance(row, Row) else ""
        if key not in last:
            yield row
            continue
        assert isinstance(row, Row)
        earlier = held.pop(key, None)
        if earlier is not None:
            row, message = merge(earlier, row)
            notes.append(Note(row.line, row.fields["email"].strip(), message))
        if row.line == last[key]:
            yield row
        else:
            held[key] = row


def merged(under: Row, over: Row) -> Row:
    """Two rows of one person as one, at ``over``'s line: ``over`` wins, and what it leaves
    empty ``under`` fills, as importing them one after the other would (an empty field keeps
    what is known)."""
    fields = {**under.fields, **{k: v for k, v in over.fields.items() if v.strip()}}
    links = over if over.social_links else under
    return Row(over.line, fields, links.social_links, over.raw, links.link_fields,
               tuple(dict.fromkeys(under.unread + over.unread)))


def _first_unread(row: Row, seen: set[str]) -> list[Note]:
    """A note for each column or key postduif does not import, on the first line that fills
    it (once per file: a webhook log repeats its extra keys on every line)."""
    new = [key for key in dict.fromkeys(row.unread) if key not in seen]
    seen.update(new)
    return [Note(row.line, row.fields.get("email", "").strip(),
                 f"{key!r} is not a field postduif imports; it is ignored on every line")
            for key in new]


def _address_notes(row: Row) -> list[Note]:
    """Notes on the row's address: it may imitate another (mixed scripts, fullwidth), its
    domain is internationalised, or it needs SMTPUTF8 (see ``records.address_notes``)."""
    raw = row.fields.get("email", "")
    if raw.isascii():  # nearly every row: no second validation
        return []
    try:
        notes = address_notes(normalise_email(raw))
    except InvalidField:
        return []
    return [Note(row.line, raw.strip(), note) for note in notes]


def _join_row(store: Store, path: Path, list_def: ListDef, make_person: PersonMaker,
              row: Row, new_status: tuple[str, str], *, welcomed: bool) -> Outcome | Rejected:
    """Validate one row and join it to the list; what cannot be joined comes back rejected."""
    try:
        person = make_person(row)
    except InvalidField as exc:
        return Rejected(row.line, row.fields.get("email", "").strip(), str(exc), row.raw)
    status, event = new_status
    outcome = store.join(person, list=list_def.name, status=status, event=event,
                         source=f"{path.name}:{row.line}",
                         consent_version=list_def.consent_version,
                         default_language=list_def.default_language)
    reason = refusal(store, person.email, outcome)
    if reason is not None:
        return Rejected(row.line, person.email, reason, row.raw)
    if welcomed and outcome is Outcome.ADDED:
        store.mark_sent(person.email, list_def.name, "welcome")
    return outcome


def option_language(language: str, allowed: Sequence[str]) -> str:
    """The ``--language`` option normalised; a language not offered stops the whole import."""
    if not language.strip():
        return ""
    try:
        return normalise_language(language, tuple(allowed))
    except InvalidField as exc:
        raise JoinImportError(f"--language {language!r}: {exc.reason}") from None


def _stage_rejects(path: Path, rejected: Sequence[Rejected]) -> Path | None:
    """Write the rejects to a temp file beside the input while the transaction is still open.

    If this fails the import rolls back; the final rename happens only after the commit.
    """
    if not rejected:
        return None
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".rejects.tmp",
                                    dir=path.parent)
    except OSError as exc:
        raise JoinImportError(f"cannot write the rejects file beside the input: {exc.strerror}; "
                              "nothing was imported", path=rejects_path(path)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            writer = SafeWriter(out)
            writer.writerow(["line", "email", "reason", "raw"])
            writer.writerows((r.line, r.email, r.reason, r.raw) for r in rejected)
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


def _publish_rejects(path: Path, staged: Path | None) -> Path | None:
    """Move the staged rejects into place; without rejects, drop a stale file of an earlier run."""
    target = rejects_path(path)
    if staged is None:
        target.unlink(missing_ok=True)
        return None
    os.replace(staged, target)
    return target
