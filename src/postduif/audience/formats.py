"""Reading join requests and exports from files: JSON, JSON Lines (a webhook log) or CSV.

Organisers get join requests in whatever shape the tool of the day produced: the site's form
posts one JSON object, a webhook logs one object per line, a spreadsheet is exported as CSV with
Dutch or English headers and ``,`` or ``;`` between the columns. :func:`read_rows` turns any of
these into :class:`Row` records that keep the line they started on, so every problem can be
reported as ``file:line``; :func:`read_export` reads a CSV file another tool wrote with a fixed
header (a listmonk export) the same way.

A record that cannot be used (a CSV row with too few columns, a JSON line that does not parse,
JSON nested too deep, a JSON line too long) becomes a :class:`Rejected` entry with its line. Two
kinds of trouble raise :class:`~postduif.errors.JoinImportError` instead, naming the file and
line: a file that cannot be read as text at all (not UTF-8, a NUL byte anywhere), and a CSV
record the csv module cannot read whole (see :func:`_csv_rows`). After such a record nothing
that follows can be trusted: a reader that went on would start inside a quoted field and take
a line of someone's text for a person. The import reads the whole file before it writes, so
it stops with nothing imported.
CSV and JSON Lines are streamed with a cap on the length of a line, so a huge or hostile file
costs time, not memory. A JSON document (an array or a pretty-printed object) is read whole.

Nothing here knows what a valid person is or touches the store: that is
:mod:`postduif.audience.joins`.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import IO, NamedTuple

from postduif.errors import JoinImportError

#: Longest line read from a CSV or JSON Lines file. The longest valid record (a 5,000-character
#: goals text, two links, names) stays well below it even as escaped JSON; anything longer is
#: rejected without being held in memory.
MAX_LINE_BYTES = 128 * 1024
#: How much of a rejected over-long line is kept for the rejects file.
PREVIEW_CHARS = 200
#: Longest field of a CSV record, and longest record (quoted fields may span lines). The csv
#: module's own field limit is a process-wide setting that whoever imports postduif may have
#: changed; it is set to this while a record is read, so the limit is postduif's. A record past
#: either limit stops the import (a quote that is never closed would otherwise take the rest of
#: the file into one field, or the reader would resume inside it).
MAX_FIELD_CHARS = MAX_LINE_BYTES
MAX_RECORD_CHARS = 8 * MAX_LINE_BYTES
#: Lines looked at to tell JSON Lines from a JSON document and to sniff the CSV delimiter.
HEAD_LINES = 20
CHUNK_BYTES = 256 * 1024
DELIMITERS = ",;\t|"
#: Deepest nesting of arrays and objects accepted in one JSON record. A join request is two
#: levels deep (an object holding a list of links); the limit stays far below Python's
#: recursion limit, which a hostile file of 100,000 brackets would hit inside ``json.loads``.
MAX_JSON_DEPTH = 32
#: A JSON string (skipped whole: brackets inside it do not nest) or one bracket.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
#: The header of listmonk's subscriber export (Subscribers -> Export), in its order. Read by
#: :mod:`postduif.audience.listmonk`; :func:`read_rows` refuses such a file (see
#: ``_refuse_listmonk``).
LISTMONK_COLUMNS = ("uuid", "email", "name", "attributes", "status", "created_at", "updated_at")

_ALIASES: Mapping[str, tuple[str, ...]] = {
    "email": ("email", "emailadres", "mail", "emailaddress", "mailadres"),
    "name": ("naam", "name", "volledigenaam", "fullname"),
    "first_name": ("voornaam", "firstname"),
    "last_name": ("achternaam", "lastname", "surname"),
    "language": ("taal", "language", "lang"),
    "organization": ("organisatie", "organization", "organisation", "werkgever"),
    "social_links": ("sociallink1", "sociallink2", "sociallink", "sociallinks", "links"),
    "goals": ("goals", "doelen"),
}
_CANONICAL: Mapping[str, str] = {
    alias: name for name, aliases in _ALIASES.items() for alias in aliases
}
_HEADER_NOISE = re.compile(r"[\s_\-]+")
_LINK_SEPARATORS = re.compile(r"[\s,]+")
_SEP_LINE = re.compile(r"^sep=(.)\s*$")  # Excel's optional first line naming the delimiter


@dataclass(frozen=True)
class Row:
    """One input record with its raw values under canonical field names.

    ``fields`` holds email, first_name, last_name, name (a full name, split only when there
    is no first/last name), language, organization and goals, each as found in the file;
    ``social_links`` collects every link column (or JSON list) in order, and ``link_fields``
    the column or key each came from (``socialLink2``), so a bad link is reported by that name.
    ``unread`` names the columns or keys, as written, that hold a value postduif has no field
    for: the import says it ignores them rather than dropping them unnoticed.
    """

    line: int
    fields: Mapping[str, str]
    social_links: tuple[str, ...] = ()
    raw: str = ""
    link_fields: tuple[str, ...] = ()
    unread: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rejected:
    """A record that was not imported, and why; ``raw`` is its original text."""

    line: int
    email: str
    reason: str
    raw: str


class _Line(NamedTuple):
    number: int
    text: str | None  # None: longer than MAX_LINE_BYTES, skipped
    preview: str


class Malformed(Exception):
    """A record whose shape is wrong (not an object, a nested value where text belongs)."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


@lru_cache(maxsize=1024)  # the same few keys on every JSON line
def canonical_field(header: str) -> str | None:
    """The canonical field for a column header or JSON key, ignoring case, spaces, - and _."""
    return _CANONICAL.get(_HEADER_NOISE.sub("", header).casefold())



# ---------------------------------------------------------------------------- reading files


def read_rows(path: Path) -> Iterator[Row | Rejected]:
    """Records of ``path`` in file order; the format is recognised by content, not by name.

    The file is checked (text, UTF-8) and its header read before this returns, so a file that
    cannot be imported at all raises :class:`JoinImportError` here, before any row is used.
    """
    first = _check_text(path)
    if not first:
        return iter(())
    if first == "[":
        return _document_rows(path)
    stream = path.open("rb")
    lines = _read_lines(stream)
    head = _take(lines, HEAD_LINES)
    if first == "{" and not _looks_like_json_lines(head):
        stream.close()
        return _document_rows(path)
    rest = chain(head, lines)
    if first == "{":
        return _closing(stream, _json_line_rows(rest))
    try:
        delimiter, header_line = _csv_layout(path, head)
    except BaseException:
        stream.close()
        raise
    return _closing(stream, _csv_rows(path, rest, delimiter, header_line))


def _closing(stream: IO[bytes], rows: Iterator[Row | Rejected]) -> Iterator[Row | Rejected]:
    with stream:
        yield from rows


def _check_text(path: Path, export_hint: str = "export the join requests as CSV or JSON") -> str:
    """Check the whole file is UTF-8 text; return its first non-blank character ("" if none).

    Done in one streamed pass up front so a file that is not text fails before anything is
    imported, with the byte offset and line where decoding failed.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    first, offset, newlines = "", 0, 0
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise JoinImportError(f"cannot read the file: {exc.strerror}", path=path) from None
    with stream:
        while chunk := stream.read(CHUNK_BYTES):
            _refuse_binary(path, chunk, offset, newlines, export_hint)
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                bad = offset - pending + exc.start
                line = newlines + chunk[: max(exc.start - pending, 0)].count(b"\n") + 1
                raise JoinImportError(
                    f"not UTF-8 text: cannot decode byte 0x{exc.object[exc.start]:02x} "
                    f"at offset {bad}", path=path, line=line,
                    hint="save the file as UTF-8 (CSV UTF-8 in a spreadsheet program)",
                ) from None
            if not first:
                first = text.lstrip("\ufeff \t\r\n")[:1] if offset == 0 else text.lstrip()[:1]
            offset += len(chunk)
            newlines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise JoinImportError(f"not UTF-8 text: the file ends inside a character "
                                  f"(offset {offset})", path=path) from None
    return first


def _refuse_binary(path: Path, chunk: bytes, offset: int, newlines: int,
                   export_hint: str) -> None:
    """Refuse a NUL byte anywhere in the file, not only near its start: valid JSON has none
    (not even inside a string), no spreadsheet writes one into CSV, and the csv module keeps
    it as data, so one deep in a file is damage the import must not read past."""
    nul = chunk.find(b"\x00")
    if nul < 0:
        return
    utf16 = offset == 0 and chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    raise JoinImportError(
        f"binary data (a NUL byte at offset {offset + nul}), not a JSON or CSV text file",
        path=path, line=newlines + chunk.count(b"\n", 0, nul) + 1,
        hint="save the file as UTF-8" if utf16 else export_hint,
    )


def _read_lines(stream: IO[bytes]) -> Iterator[_Line]:
    """Numbered, decoded lines (ends kept for the csv module); over-long lines are skipped."""
    number = 0
    while chunk := stream.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(chunk) > MAX_LINE_BYTES:
            preview = chunk[: PREVIEW_CHARS * 4].decode("utf-8", "ignore")[:PREVIEW_CHARS]
            while chunk and not chunk.endswith(b"\n"):
                chunk = stream.readline(MAX_LINE_BYTES)
            yield _Line(number, None, preview)
            continue
        text = chunk.decode("utf-8")
        if number == 1:
            text = text.removeprefix("\ufeff")
        yield _Line(number, text, "")


def _take(lines: Iterator[_Line], count: int) -> list[_Line]:
    """The first lines of a file, up to ``count`` non-blank ones (blank lines are free)."""
    head: list[_Line] = []
    seen = 0
    for line in lines:
        head.append(line)
        if line.text is None or line.text.strip():
            seen += 1
            if seen == count:
                break
    return head


def _looks_like_json_lines(head: Sequence[_Line]) -> bool:
    """True when a line on its own is a JSON object: a pretty-printed document never has one."""
    for line in head:
        text = (line.text or "").strip()
        if text.startswith("{"):
            if json_too_deep(text):
                return True  # one whole line of JSON; the line reader rejects it by number
            try:
                json.loads(text)
            except ValueError:
                continue
            return True
    return False


def _too_long(line: int, preview: str) -> Rejected:
    return Rejected(line, "", f"line is longer than {MAX_LINE_BYTES // 1024} KiB", preview)


# ---------------------------------------------------------------------------- JSON


def _json_line_rows(lines: Iterable[_Line]) -> Iterator[Row | Rejected]:
    for number, text, preview in lines:
        if text is None:
            yield _too_long(number, preview)
            continue
        raw = text.strip()
        if not raw:
            continue
        if json_too_deep(raw):
            yield Rejected(number, "", _DEEP_REASON, raw[:PREVIEW_CHARS])
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield Rejected(number, "", f"not valid JSON: {exc.msg} (column {exc.colno})", raw)
            continue
        yield _json_row(number, value, raw)


def _document_rows(path: Path) -> Iterator[Row | Rejected]:
    """Records of a JSON document: one object, an array of objects, or objects one after another.

    After a syntax error the rest of the document cannot be trusted, so reading stops there with
    one rejected entry that says so.
    """
    text = path.read_text(encoding="utf-8-sig")
    decoder = json.JSONDecoder()
    line_of = _line_counter(text)
    pos = _skip_space(text, 0)
    in_array = text.startswith("[", pos)
    if in_array:
        pos = _skip_space(text, pos + 1)
    while pos < len(text):
        if in_array and text[pos] == "]":
            pos = _skip_space(text, pos + 1)
            if pos < len(text):
                yield _broken(text, pos, line_of(pos), "unexpected text after the closing ]")
            return
        start = pos
        depth, end = _nesting(text, start)
        if depth > MAX_JSON_DEPTH:
            if end >= len(text):
                yield Rejected(line_of(start), "", f"{_DEEP}; it is not closed, so the "
                               "rest of the file was not read", text[start : start + PREVIEW_CHARS])
                return
            yield Rejected(line_of(start), "", _DEEP_REASON, text[start : start + PREVIEW_CHARS])
            pos = end
        else:
            try:
                value, pos = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                yield _broken(text, start, line_of(start),
                              f"{exc.msg} (line {exc.lineno} column {exc.colno})")
                return
            yield _json_row(line_of(start), value, text[start:pos])
        following = _after_item(text, pos, in_array)
        if following is None:
            pos = _skip_space(text, pos)
            yield _broken(text, pos, line_of(pos), "expected ',' or ']' between array items")
            return
        pos = following
    if in_array:
        yield _broken(text, pos, line_of(pos), "the array is not closed with ]")


_DEEP = f"JSON nested more than {MAX_JSON_DEPTH} levels deep"
_DEEP_REASON = f"{_DEEP}; not read"


def _after_item(text: str, pos: int, in_array: bool) -> int | None:
    """Where the next record starts after one ending at ``pos``; None in an array when neither
    a ``,`` nor the closing ``]`` follows it."""
    pos = _skip_space(text, pos)
    if in_array and text.startswith(",", pos):
        return _skip_space(text, pos + 1)
    if in_array and not text.startswith("]", pos):
        return None
    return pos


def json_too_deep(text: str) -> bool:
    """Whether one JSON value (a record, a listmonk attributes cell) nests deeper than
    :data:`MAX_JSON_DEPTH`, checked without recursing; a value with few brackets (every real
    record) is not scanned at all."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False
    return _nesting(text, 0)[0] > MAX_JSON_DEPTH


def _nesting(text: str, start: int) -> tuple[int, int]:
    """(deepest nesting, end) of the JSON value at ``start``: a scan of brackets outside
    strings, so 100,000 levels cost a loop, not a RecursionError. ``end`` is just past the
    bracket that closes the value (``len(text)`` if none does); a scalar is depth 0."""
    if not text.startswith(("[", "{"), start):
        return 0, start
    depth = deepest = 0
    for token in _JSON_TOKEN.finditer(text, start):
        bracket = token.group()
        if bracket == "[" or bracket == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif bracket == "]" or bracket == "}":
            depth -= 1
        if depth <= 0:
            return deepest, token.end()
    return deepest, len(text)


def _broken(text: str, pos: int, line: int, what: str) -> Rejected:
    reason = f"not valid JSON: {what}; the rest of the file was not read"
    return Rejected(line, "", reason, text[pos : pos + PREVIEW_CHARS])


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _line_counter(text: str) -> Callable[[int], int]:
    """Line number of a position, for positions that only move forward (counts incrementally)."""
    state = [0, 1]  # last position, its line

    def line_of(pos: int) -> int:
        state[1] += text.count("\n", state[0], pos)
        state[0] = pos
        return state[1]

    return line_of


def _json_row(line: int, value: object, raw: str) -> Row | Rejected:
    if not isinstance(value, dict):
        return Rejected(line, "", f"not a JSON object but {json_kind(value)}", raw)
    pairs = [(canonical_field(str(key)), str(key), item) for key, item in value.items()]
    try:
        fields, links, keys = _collect(pairs)
    except Malformed as exc:
        return Rejected(line, _text(value.get("email")), str(exc), raw)
    return Row(line, fields, links, raw, keys, _unread(pairs))


def json_kind(value: object) -> str:
    """What a JSON value is, in words for a rejection reason ("an array", "null", ...)."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return "a string" if isinstance(value, str) else "a number"


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


# ---------------------------------------------------------------------------- CSV


def _csv_rows(path: Path, lines: Iterator[_Line], delimiter: str, header_line: int,
              field: Callable[[str], str | None] = canonical_field
              ) -> Iterator[Row | Rejected]:
    """Parse CSV records with the line each starts on; records may span lines (quoted newlines).

    ``field`` maps a header name to the field its values go to (None: the column is ignored).
    A record that cannot be read whole raises :class:`JoinImportError` naming the line it
    starts on: a field or record past :data:`MAX_FIELD_CHARS` / :data:`MAX_RECORD_CHARS`, a
    line too long to hold, a quote never closed, text after a closing quote, a bare CR. The
    reader is strict (``strict=True``) because its lenient mode reads past those without a
    word, and a space before an opening quote does not turn the quote into text
    (``skipinitialspace``), so a quoted field is one field however it is spaced.
    """
    consumed: list[_Line] = []

    def source() -> Iterator[str]:
        size = 0
        for line in lines:
            size = 0 if not consumed else size
            if line.text is None:
                raise _unreadable(path, line.number,
                                  f"the line is longer than {MAX_LINE_BYTES // 1024} KiB")
            size += len(line.text)
            if size > MAX_RECORD_CHARS:
                first = consumed[0].number if consumed else line.number
                raise _unreadable(path, first, f"the record is longer than "
                                  f"{MAX_RECORD_CHARS // 1024} KiB (a quote never closed?)")
            consumed.append(line)
            yield line.text

    reader = csv.reader(source(), delimiter=delimiter, strict=True, skipinitialspace=True)
    columns: list[str | None] | None = None
    headers: list[str] = []
    while True:
        start = reader.line_num + 1
        try:
            record = _next_record(reader)
        except csv.Error as exc:
            raise _unreadable(path, start, _csv_trouble(str(exc), start, reader.line_num)
                              ) from None
        if record is None:
            return
        span = list(consumed)
        consumed.clear()
        if not record or start <= header_line:
            if start == header_line:
                columns, headers = [field(name) for name in record], record
            continue
        assert columns is not None  # the header line comes first
        yield _csv_row(start, span, columns, headers, record)


def _next_record(reader: Iterator[list[str]]) -> list[str] | None:
    """The next record (None at the end) read with postduif's field limit, not whatever the
    process's csv module was set to; the setting is put back for other users of csv."""
    previous = csv.field_size_limit(MAX_FIELD_CHARS)
    try:
        return next(reader, None)
    finally:
        csv.field_size_limit(previous)


def _csv_trouble(error: str, start: int, end: int) -> str:
    """The csv module's complaint in an organiser's words, with the line reading stopped at."""
    if error.startswith("field larger than field limit"):
        what = f"a field is longer than {MAX_FIELD_CHARS:,} characters (a quote never closed?)"
    elif error.startswith("unexpected end of data"):
        what = "a quoted field is never closed: the file ends inside it"
    elif error.startswith("new-line character seen in unquoted field"):
        what = "a carriage return (CR) inside a field that is not quoted"
    elif "expected after" in error:
        what = "text after the closing quote of a field"
    else:
        what = error
    return what if end <= start else f"{what} (read up to line {end})"


def _unreadable(path: Path, line: int, what: str) -> JoinImportError:
    return JoinImportError(
        f"malformed CSV: {what}; this record cannot be read whole, so nothing after it can be "
        "trusted and nothing was imported", path=path, line=line,
        hint='quote a field that holds the delimiter, a line break or a " with "...", '
             'doubling each " inside it')


def _csv_layout(path: Path, head: Sequence[_Line]) -> tuple[str, int]:
    """The delimiter and the header's line number.

    csv.Sniffer proposes a delimiter; the header decides: the first candidate that splits it
    into a recognised e-mail column wins. Sniffer alone misreads files whose free-text columns
    are full of commas.
    """
    texts = [line for line in head if line.text and line.text.strip()]
    if not texts:
        raise JoinImportError("no header line found", path=path)
    first = texts[0]
    assert first.text is not None
    forced = _SEP_LINE.match(first.text)
    if forced and len(texts) > 1:
        header = texts[1]
        candidates = forced.group(1)
    else:
        header = first
        sample = "".join(line.text or "" for line in texts)
        candidates = _sniffed(sample) + DELIMITERS
    assert header.text is not None
    for delimiter in candidates:
        names = next(csv.reader([header.text], delimiter=delimiter), [])
        if "email" in (canonical_field(name) for name in names):
            _refuse_listmonk(path, names, header.number)
            return delimiter, header.number
    found = ", ".join(repr(name) for name in max(
        (next(csv.reader([header.text], delimiter=d), []) for d in candidates), key=len))
    raise JoinImportError(
        f"no e-mail column in the header (found {found})", path=path, line=header.number,
        hint="name the column email, e-mail or emailadres (JSON and CSV are recognised)",
    )


def _refuse_listmonk(path: Path, names: Sequence[str], line: int) -> None:
    """A listmonk export is not a file of join requests: read as one, its blocklisted and
    disabled people would become members and its consent times would be lost."""
    if set(LISTMONK_COLUMNS) <= {name.strip() for name in names}:
        raise JoinImportError(
            "this is listmonk's subscriber export, not join requests: imported as join requests, "
            "blocklisted and disabled people would be mailed", path=path, line=line,
            hint=f"postduif migrate listmonk {path.name} --list LIST")


def read_export(path: Path, columns: Sequence[str], *, kind: str, hint: str
                ) -> Iterator[Row | Rejected]:
    """Records of a comma-separated file another tool wrote with a fixed header.

    ``fields`` of each row are keyed by the header's own names (only those in ``columns``),
    values as written. Unlike :func:`read_rows` nothing is guessed: a file whose first line
    does not hold every one of ``columns`` is not such an export, and raises
    :class:`JoinImportError` naming the file, ``kind`` and the header that was expected, before
    any row is read. Text checks, line numbers, over-long lines and records that cannot be read
    whole are handled as for any CSV import; ``hint`` says how to get the right file.
    """
    wanted = frozenset(columns)
    expected = ",".join(columns)
    if not _check_text(path, hint):
        raise JoinImportError(f"the file is empty, not {kind} (expected the header {expected})",
                              path=path, hint=hint)
    stream = path.open("rb")
    lines = _read_lines(stream)
    head = _take(lines, 1)
    header = head[-1]
    names = [name.strip() for name in next(csv.reader([header.text or ""]), [])]
    if not wanted <= set(names):
        stream.close()
        shown = ",".join(names) if header.text is not None else "a line too long to read"
        raise JoinImportError(f"not {kind}: expected the header {expected}, found {shown}",
                              path=path, line=header.number, hint=hint)
    return _closing(stream, _csv_rows(path, chain(head, lines), ",", header.number,
                                      lambda name: name.strip() if name.strip() in wanted
                                      else None))


def _sniffed(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ""


def _csv_row(line: int, span: Sequence[_Line], columns: Sequence[str | None],
             headers: Sequence[str], record: Sequence[str]) -> Row | Rejected:
    raw = _joined(span)
    extra = record[len(columns):]
    if len(record) < len(columns) or any(value.strip() for value in extra):
        email = next((v for c, v in zip(columns, record, strict=False) if c == "email"), "")
        return Rejected(line, email.strip(), f"malformed CSV row: expected {len(columns)} "
                        f"columns, found {len(record)}", raw)
    pairs = [(column, column or header.strip(), value)
             for column, header, value in zip(columns, headers, record, strict=False)]
    fields, links, keys = _collect(pairs)
    return Row(line, fields, links, raw, keys, _unread(pairs))


def _joined(span: Sequence[_Line]) -> str:
    return "".join(line.text or "" for line in span).rstrip("\r\n")


# ---------------------------------------------------------------------------- fields


def _collect(pairs: Iterable[tuple[str | None, str, object]]
             ) -> tuple[dict[str, str], tuple[str, ...], tuple[str, ...]]:
    """Fields, links and the key of each link from (canonical name, key as written, value);
    of the fields, the first non-empty wins."""
    fields: dict[str, str] = {}
    links: list[str] = []
    keys: list[str] = []
    for name, key, value in pairs:
        if name is None:
            continue
        if name == "social_links":
            found = _links(key, value)
            links.extend(found)
            keys.extend(key for _ in found)
            continue
        text = _scalar(key, value)
        if text.strip() and not fields.get(name, "").strip():
            fields[name] = text
    return fields, tuple(links), tuple(keys)


def form_row(value: object) -> Row:
    """One join request as the site's form posts it (a JSON object), as a :class:`Row` of
    line 0: the same keys and aliases as an imported JSON line. A wrong shape raises
    :class:`Malformed`, naming the field."""
    if not isinstance(value, dict):
        raise Malformed("request", f"expected a JSON object, found {json_kind(value)}")
    fields, links, keys = _collect(
        (canonical_field(str(key)), str(key), item) for key, item in value.items())
    return Row(0, fields, links, link_fields=keys)


def _unread(pairs: Iterable[tuple[str | None, str, object]]) -> tuple[str, ...]:
    """The keys, as written, of (canonical name, key, value) that hold a value but name no
    field postduif imports."""
    return tuple(key for name, key, value in pairs
                 if name is None and value is not None and str(value).strip())


def _links(key: str, value: object) -> list[str]:
    items = value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in items:
        found.extend(part for part in _LINK_SEPARATORS.split(_scalar(key, item)) if part)
    return found


def _scalar(key: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise Malformed(key, f"expected text, found {json_kind(value)}")
