"""Importing join requests: real files in every accepted format, imported into a real store."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from postduif.audience.formats import Rejected, Row, read_rows
from postduif.audience.joins import ImportReport, import_joins, rejects_path
from postduif.errors import JoinImportError
from postduif.lists import ListDef, load_list
from postduif.store import Store

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "joins"
LISTS = REPO / "lists"


def fixture_copy(tmp_path: Path, name: str) -> Path:
    """A private copy, because an import writes its rejects file beside the input."""
    target = tmp_path / name
    target.write_bytes((FIXTURES / name).read_bytes())
    return target


def write(tmp_path: Path, name: str, text: str, *, bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


def rows_of(path: Path) -> list[Row]:
    found = list(read_rows(path))
    assert all(isinstance(item, Row) for item in found), found
    return [item for item in found if isinstance(item, Row)]


def rejected_by_line(report: ImportReport) -> dict[int, str]:
    return {item.line: item.reason for item in report.rejected}


def membership_status(store: Store, email: str, list_name: str) -> str:
    subscriber = store.get(email)
    assert subscriber is not None, email
    membership = subscriber.membership(list_name)
    assert membership is not None
    return membership.status


# ------------------------------------------------------------------------------- formats


def test_the_sites_form_object_becomes_a_pending_member(tmp_path: Path, store: Store,
                                                        leden: ListDef) -> None:
    path = fixture_copy(tmp_path, "form-request.json")
    report = import_joins(store, path, leden, language="en")
    assert (report.added, report.updated, report.unchanged, report.rejected) == (1, 0, 0, ())
    noor = store.get("noor.bakker@example.org")
    assert noor is not None
    assert (noor.first_name, noor.last_name, noor.organization) == (
        "Noor", "Bakker", "Fietskoeriers Utrecht")
    assert noor.social_links == ("https://mastodon.example/@noorbakker",)
    assert noor.language == "en"
    assert membership_status(store, noor.email, "leden") == "pending"
    [event] = store.consent_log(noor.email)
    assert (event.event, event.source, event.consent_version) == (
        "requested", "form-request.json:1", leden.consent_version)
    assert report.rejects_file is None and not rejects_path(path).exists()


@pytest.mark.parametrize(("name", "lines", "emails"), [
    ("requests.json", [2, 10, 13],
     ["sem.visser@example.org", "lotte.jansen@example.net", "r.dekker@example.com"]),
    ("webhook.jsonl", [1, 3, 4],
     ["anouk.smit@example.org", "daan.mulder@example.org", "fatima.elamrani@example.org"]),
    ("leden-nl.csv", [2, 3, 5],
     ["emma.dejong@example.nl", "thijs.vandam@example.nl", "yara.bos@example.nl"]),
    ("members-en.csv", [2, 3], ["mila.peters@example.com", "bram.de.wit@example.com"]),
    ("nieuwsbrief.tsv", [2, 3], ["sara.vos@example.org", "tim.kok@example.org"]),
])
def test_each_format_yields_rows_with_the_line_they_start_on(name: str, lines: list[int],
                                                             emails: list[str]) -> None:
    rows = rows_of(FIXTURES / name)
    assert [row.line for row in rows] == lines
    assert [row.fields["email"] for row in rows] == emails


def test_array_items_keep_every_social_link(tmp_path: Path, store: Store,
                                            leden: ListDef) -> None:
    report = import_joins(store, fixture_copy(tmp_path, "requests.json"), leden)
    assert report.added == 3
    lotte = store.get("lotte.jansen@example.net")
    assert lotte is not None
    assert lotte.social_links == ("https://github.com/lotte-example", "https://lotte.example.net")
    assert lotte.language == leden.default_language


def test_webhook_log_skips_blank_lines_and_treats_null_as_empty(tmp_path: Path, store: Store,
                                                                leden: ListDef) -> None:
    report = import_joins(store, fixture_copy(tmp_path, "webhook.jsonl"), leden, language="nl")
    assert (report.added, report.rejected) == (3, ())
    daan = store.get("daan.mulder@example.org")
    assert daan is not None and daan.organization == ""
    sources = [e.source for e in store.consent_log("fatima.elamrani@example.org")]
    assert sources == ["webhook.jsonl:4"]


def test_dutch_export_with_bom_semicolons_and_language_names(tmp_path: Path, store: Store,
                                                             nieuwsbrief: ListDef) -> None:
    report = import_joins(store, fixture_copy(tmp_path, "leden-nl.csv"), nieuwsbrief)
    # Thijs's goals cell spans two lines, as text typed in a form's text box does: it is kept
    # with its line break, and Yara's row after it is still read from line 5.
    assert report.added == 3
    assert report.rejected == ()
    thijs = next(s for s in store.search("thijs"))
    assert "\n" in thijs.goals
    emma, yara = store.get("emma.dejong@example.nl"), store.get("yara.bos@example.nl")
    assert emma is not None and yara is not None
    assert (emma.last_name, emma.language, emma.goals) == (
        "de Jong", "nl", "Eerlijke planning, minder apps")
    assert yara.language == "nl"
    assert membership_status(store, yara.email, "nieuwsbrief") == "pending"


def test_english_headers_full_names_are_split_and_links_listed(tmp_path: Path, store: Store,
                                                               leden: ListDef) -> None:
    report = import_joins(store, fixture_copy(tmp_path, "members-en.csv"), leden)
    assert report.added == 2
    bram, mila = store.get("bram.de.wit@example.com"), store.get("mila.peters@example.com")
    assert bram is not None and mila is not None
    assert (bram.first_name, bram.last_name, bram.language) == ("Bram", "de Wit", "nl")
    assert bram.social_links == ("https://a.example/bram", "https://b.example/bram")
    assert (mila.language, mila.organization) == ("en", "Design studio, Rotterdam")


def test_last_comma_first_names_are_not_greeted_by_the_surname(tmp_path: Path, store: Store,
                                                               leden: ListDef) -> None:
    text = "email;naam\neva@example.org;Jansen, Eva\nbo@example.org;Bo\n"
    assert import_joins(store, write(tmp_path, "namen.csv", text), leden).added == 2
    eva, bo = store.get("eva@example.org"), store.get("bo@example.org")
    assert eva is not None and bo is not None
    assert (eva.first_name, eva.last_name, bo.first_name, bo.last_name) == (
        "Eva", "Jansen", "Bo", "")


def test_tab_separated_newsletter_list(tmp_path: Path, store: Store,
                                       nieuwsbrief: ListDef) -> None:
    report = import_joins(store, fixture_copy(tmp_path, "nieuwsbrief.tsv"), nieuwsbrief)
    assert report.added == 2
    sara = store.get("sara.vos@example.org")
    assert sara is not None and sara.language == "en"


@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_found_with_or_without_bom(tmp_path: Path, delimiter: str,
                                                bom: bool) -> None:
    lines = [["Naam", "E-mail", "Doelen"],
             ["Iris Koster", "iris@example.org", "Minder overuren, meer zeggenschap, en een cao"],
             ["Jesse Hendriks", "jesse@example.org", "Leren, delen, organiseren"]]
    text = "".join(delimiter.join(f'"{cell}"' for cell in line) + "\r\n" for line in lines)
    rows = rows_of(write(tmp_path, "export.csv", text, bom=bom))
    assert [(row.line, row.fields["email"], row.fields["name"]) for row in rows] == [
        (2, "iris@example.org", "Iris Koster"), (3, "jesse@example.org", "Jesse Hendriks")]
    assert rows[0].fields["goals"] == "Minder overuren, meer zeggenschap, en een cao"


@pytest.mark.parametrize(("text", "lines"), [
    ('{"email": "bom@example.org"}\n{"email": "bom2@example.org"}\n', [1, 2]),
    ('[\n{"email": "bom@example.org"},\n{"email": "bom2@example.org"}\n]\n', [2, 3]),
    ('{\n  "email": "bom@example.org"\n}\n{\n  "email": "bom2@example.org"\n}\n', [1, 4]),
])
def test_json_with_a_bom_and_concatenated_objects(tmp_path: Path, text: str,
                                                  lines: list[int]) -> None:
    rows = rows_of(write(tmp_path, "bom.json", text, bom=True))
    assert [row.fields["email"] for row in rows] == ["bom@example.org", "bom2@example.org"]
    assert [row.line for row in rows] == lines


def test_free_text_full_of_commas_does_not_fool_the_sniffer(tmp_path: Path) -> None:
    text = ("email;goals\n"
            "a@example.org;een, twee, drie, vier, vijf, zes\n"
            "b@example.org;zeven, acht, negen, tien, elf\n")
    rows = rows_of(write(tmp_path, "doelen.csv", text))
    assert [row.fields["goals"] for row in rows] == [
        "een, twee, drie, vier, vijf, zes", "zeven, acht, negen, tien, elf"]


def test_excel_sep_line_names_the_delimiter(tmp_path: Path) -> None:
    rows = rows_of(write(tmp_path, "excel.csv", "sep=;\nTaal;Emailadres\nEN;a@example.org\n"))
    assert [(row.line, row.fields) for row in rows] == [
        (3, {"language": "EN", "email": "a@example.org"})]


def test_headers_ignore_case_spaces_and_dashes(tmp_path: Path) -> None:
    text = "E-Mail Adres,Volledige Naam,first name,LAST_NAME,Werkgever,Lang\n" \
           "a@example.org,,Ada,Brouwer,Havenbedrijf,nl\n"
    [row] = rows_of(write(tmp_path, "mixed.csv", text))
    assert row.fields == {"email": "a@example.org", "first_name": "Ada", "last_name": "Brouwer",
                          "organization": "Havenbedrijf", "language": "nl"}


def test_single_opt_in_without_approval_confirms_at_once(tmp_path: Path, store: Store) -> None:
    lists_dir = tmp_path / "lists"
    lists_dir.mkdir()
    (lists_dir / "vrijwilligers.toml").write_text(
        'optin = "single"\napproval = false\nconsent_version = "v3"\n', encoding="utf-8")
    open_list = load_list(lists_dir, "vrijwilligers")
    path = write(tmp_path, "v.csv", "email\nvera@example.org\n")
    assert import_joins(store, path, open_list).added == 1
    assert membership_status(store, "vera@example.org", "vrijwilligers") == "confirmed"
    [event] = store.consent_log("vera@example.org")
    assert (event.event, event.consent_version, event.source) == ("confirmed", "v3", "v.csv:2")


# ------------------------------------------------------------------------------- rejections


def test_every_field_problem_is_rejected_with_its_line(tmp_path: Path, store: Store,
                                                       leden: ListDef) -> None:
    long_org = "x" * 201
    text = (
        "email,first_name,last_name,language,organization\n"      # 1
        "goed@example.org,Goede,Rij,nl,\n"                         # 2
        "geen-adres,Fout,Adres,nl,\n"                              # 3
        "tab@example.org,Tab\tNaam,X,nl,\n"                        # 4
        '"crlf@example.org","Regel\r\nbreuk",X,nl,\n'              # 5 (and 6)
        f"lang@example.org,Lange,Org,nl,{long_org}\n"              # 7
        "taal@example.org,Onbekende,Taal,Klingon,\n"               # 8
        "kolom@example.org,Te,Weinig\n"                            # 9
        ",Geen,Adres,nl,\n"                                        # 10
        "laatste@example.org,Laatste,Rij,en,\n"                    # 11
    )
    report = import_joins(store, write(tmp_path, "fouten.csv", text), leden)
    assert report.added == 2
    reasons = rejected_by_line(report)
    assert sorted(reasons) == [3, 4, 5, 7, 8, 9, 10]
    assert reasons[3].startswith("email: ")
    assert reasons[4] == "first_name: contains the control character U+0009"
    assert reasons[5] == "first_name: contains the control character U+000D"
    assert reasons[7] == "organization: is 201 characters long; at most 200 allowed"
    assert reasons[8].startswith("language: 'Klingon' is not one of the languages")
    assert reasons[9] == "malformed CSV row: expected 5 columns, found 3"
    assert reasons[10] == "email: is missing"
    assert {r.line: r.email for r in report.rejected}[9] == "kolom@example.org"
    assert store.get("laatste@example.org") is not None
    assert store.get("tab@example.org") is None


def test_links_that_are_not_web_addresses_are_rejected(tmp_path: Path, store: Store,
                                                      leden: ListDef) -> None:
    """The same rule as the site's form: organisers click these links to vet a request."""
    lines = [
        {"email": "goed@example.org", "socialLink1": "https://social.example/@goed"},
        {"email": "js@example.org", "socialLink1": "javascript:alert(1)"},
        {"email": "data@example.org", "socialLink1": "https://a.example",
         "socialLink2": "data:text/html,x"},
        {"email": "kaal@example.org", "socialLink1": "linkedin.com/in/kaal"},
    ]
    path = write(tmp_path, "links.jsonl", "".join(json.dumps(line) + "\n" for line in lines))
    report = import_joins(store, path, leden)
    assert report.added == 2
    reasons = rejected_by_line(report)
    assert reasons == {
        2: "socialLink1: must be a web address starting with https:// or http://",
        3: "socialLink2: must be a web address starting with https:// or http://"}
    kaal = store.get("kaal@example.org")
    assert kaal is not None and kaal.social_links == ("https://linkedin.com/in/kaal",)
    csv_path = write(tmp_path, "links.csv", "email,links\nftp@example.org,ftp://f.example/x\n")
    csv_report = import_joins(store, csv_path, leden)
    assert [r.reason for r in csv_report.rejected] == [
        "social_links: must be a web address starting with https:// or http://"]


def test_broken_and_non_object_json_lines_are_rejected(tmp_path: Path, store: Store,
                                                       leden: ListDef) -> None:
    lines = [
        '{"email": "een@example.org"}',
        '{"email": "twee@example.org", "firstName": "Afgebr',
        '["drie@example.org"]',
        '"vier@example.org"',
        '{"email": "vijf@example.org", "goals": {"nested": true}}',
        "null",
        '{"email": "zes@example.org"}',
    ]
    report = import_joins(store, write(tmp_path, "log.jsonl", "\n".join(lines) + "\n"), leden)
    assert report.added == 2
    reasons = rejected_by_line(report)
    assert reasons[2].startswith("not valid JSON: Unterminated string")
    assert reasons[3] == "not a JSON object but an array"
    assert reasons[4] == "not a JSON object but a string"
    assert reasons[5] == "goals: expected text, found an object"
    assert reasons[6] == "not a JSON object but null"
    assert {r.line: r.email for r in report.rejected}[5] == "vijf@example.org"


def test_non_object_in_an_array_is_rejected_at_its_line(tmp_path: Path) -> None:
    text = '[\n  {"email": "a@example.org"},\n  42,\n  {"email": "b@example.org"}\n]\n'
    found = list(read_rows(write(tmp_path, "a.json", text)))
    assert [(item.line, type(item).__name__) for item in found] == [
        (2, "Row"), (3, "Rejected"), (4, "Row")]
    assert isinstance(found[1], Rejected) and found[1].reason == "not a JSON object but a number"


def test_a_syntax_error_in_a_json_array_stops_there_and_says_so(tmp_path: Path, store: Store,
                                                                leden: ListDef) -> None:
    text = '[\n{"email": "a@example.org"},\n{"email": "b@example.org" "x": 1},\n' \
           '{"email": "c@example.org"}\n]\n'
    report = import_joins(store, write(tmp_path, "kapot.json", text), leden)
    assert report.added == 1
    [rejected] = report.rejected
    assert rejected.line == 3
    assert "line 3 column" in rejected.reason
    assert rejected.reason.endswith("the rest of the file was not read")


def test_unsubscribed_and_forgotten_people_are_not_added_back(tmp_path: Path, store: Store,
                                                              nieuwsbrief: ListDef) -> None:
    text = "email,taal\nweg@example.org,nl\nvergeten@example.org,en\nblijft@example.org,nl\n"
    path = write(tmp_path, "brief.csv", text)
    assert import_joins(store, path, nieuwsbrief).added == 3
    store.set_status("weg@example.org", "nieuwsbrief", "unsubscribed", event="unsubscribed",
                     source="test")
    store.forget("vergeten@example.org", source="test")

    report = import_joins(store, path, nieuwsbrief)
    assert (report.added, report.unchanged) == (0, 1)
    assert rejected_by_line(report) == {
        2: "unsubscribed earlier; not re-subscribed",
        3: "address was forgotten on request; not re-added",
    }
    assert membership_status(store, "weg@example.org", "nieuwsbrief") == "unsubscribed"
    assert store.get("vergeten@example.org") is None


def test_rejects_file_lists_line_email_reason_and_the_original_record(
        tmp_path: Path, store: Store, leden: ListDef) -> None:
    text = "email;naam\nfout-adres;Kees\ngoed@example.org;Goed\n"
    path = write(tmp_path, "aanmeldingen.csv", text)
    report = import_joins(store, path, leden)
    assert report.rejects_file == tmp_path / "aanmeldingen.rejects.csv"
    with report.rejects_file.open(encoding="utf-8", newline="") as written:
        table = list(csv.reader(written))
    assert table[0] == ["line", "email", "reason", "raw"]
    assert len(table) == 2
    line, email, reason, raw = table[1]
    assert (line, email, raw) == ("2", "fout-adres", "fout-adres;Kees")
    assert reason.startswith("email: ")
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [
        "aanmeldingen.csv", "aanmeldingen.rejects.csv"]  # no temp file left behind


def test_a_clean_import_removes_the_stale_rejects_file(tmp_path: Path, store: Store,
                                                       leden: ListDef) -> None:
    path = write(tmp_path, "j.csv", "email\nniet-goed\n")
    assert import_joins(store, path, leden).rejects_file is not None
    path.write_text("email\nwel-goed@example.org\n", encoding="utf-8")
    assert import_joins(store, path, leden).rejects_file is None
    assert not rejects_path(path).exists()


# ------------------------------------------------------------------------------- idempotence


def test_importing_the_same_file_twice_changes_nothing(tmp_path: Path, store: Store,
                                                       leden: ListDef) -> None:
    path = fixture_copy(tmp_path, "requests.json")
    first = import_joins(store, path, leden, language="nl")
    before = store.export_person("r.dekker@example.com")
    second = import_joins(store, path, leden, language="nl")
    assert (first.added, first.updated, first.unchanged) == (3, 0, 0)
    assert (second.added, second.updated, second.unchanged) == (0, 0, 3)
    assert store.export_person("r.dekker@example.com") == before


def test_a_changed_field_counts_as_updated(tmp_path: Path, store: Store, leden: ListDef) -> None:
    path = write(tmp_path, "w.csv", "email,organisatie\nw@example.org,Oude baan\n")
    import_joins(store, path, leden)
    path.write_text("email,organisatie\nw@example.org,Nieuwe baan\n", encoding="utf-8")
    report = import_joins(store, path, leden)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 0)
    person = store.get("w@example.org")
    assert person is not None and person.organization == "Nieuwe baan"


def notes_by_line(report: ImportReport) -> dict[int, str]:
    return {note.line: note.message for note in report.notes}


REPEATED = ("email,voornaam,organisatie\n"
            "sam@example.org,Sam,Bol\n"
            "eva@example.org,Eva,\n"
            "Sam@Example.org,Samuel,\n")


@pytest.mark.parametrize("name, text", [
    ("d.csv", REPEATED),
    ("d.jsonl", '{"email": "sam@example.org", "firstName": "Sam", "organization": "Bol"}\n'
                '{"email": "eva@example.org", "firstName": "Eva"}\n'
                '{"email": "Sam@Example.org", "firstName": "Samuel"}\n'),
])
def test_a_person_named_twice_is_one_person_and_the_later_row_wins(
        tmp_path: Path, store: Store, leden: ListDef, name: str, text: str) -> None:
    path = write(tmp_path, name, text)
    first = import_joins(store, path, leden)
    line = 4 if name.endswith(".csv") else 3
    earlier = 2 if name.endswith(".csv") else 1
    assert (first.added, first.updated, first.unchanged, first.rejected) == (2, 0, 0, ())
    assert notes_by_line(first) == {
        line: f"line {line} repeats line {earlier}; the later row wins"}
    sam = store.get("sam@example.org")
    assert sam is not None and (sam.first_name, sam.organization) == ("Samuel", "Bol")
    assert store.counts("leden") == [("leden", "pending", "nl", 2)]
    again = import_joins(store, path, leden)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    assert [e.source for e in store.consent_log("sam@example.org")] == [f"{name}:{line}"]


def test_each_repeat_names_the_line_it_repeats(tmp_path: Path, store: Store,
                                               leden: ListDef) -> None:
    text = "email,voornaam\nDubbel@Example.org,A\ndubbel@example.org,B\nDUBBEL@example.org,C\n"
    report = import_joins(store, write(tmp_path, "d.csv", text), leden)
    assert (report.added, report.updated, report.unchanged) == (1, 0, 0)
    assert notes_by_line(report) == {3: "line 3 repeats line 2; the later row wins",
                                     4: "line 4 repeats line 3; the later row wins"}
    person = store.get("dubbel@example.org")
    assert person is not None and person.first_name == "C"


@pytest.mark.parametrize("name, text, line", [
    ("u.csv", "email,voornaam,Telefoon,notes\nsam@example.org,Sam,,\n"
              "eva@example.org,Eva,0612345678,x\nbo@example.org,Bo,0687654321,y\n", 3),
    ("u.jsonl", '{"email": "sam@example.org", "Telefoon": null, "notes": ""}\n'
                '{"email": "eva@example.org", "Telefoon": "0612345678", "notes": "x"}\n'
                '{"email": "bo@example.org", "Telefoon": "0687654321", "notes": "y"}\n', 2),
])
def test_a_column_that_is_not_imported_is_named_once(
        tmp_path: Path, store: Store, leden: ListDef, name: str, text: str, line: int) -> None:
    report = import_joins(store, write(tmp_path, name, text), leden)
    assert report.added == 3
    assert [(note.line, note.email, note.message) for note in report.notes] == [
        (line, "eva@example.org", f"{key!r} is not a field postduif imports; it is ignored on "
         "every line") for key in ("Telefoon", "notes")]


def test_a_file_without_repeats_has_no_notes(tmp_path: Path, store: Store,
                                            leden: ListDef) -> None:
    report = import_joins(store, write(tmp_path, "d.csv", REPEATED.replace("Sam@", "Bo@")),
                          leden)
    assert (report.added, report.notes) == (3, ())


DEEP = "[" * 100_000 + "]" * 100_000
#: As deep as a JSON line can be and still be read (a line is at most 128 KiB).
DEEP_LINE = "[" * 60_000 + "]" * 60_000


@pytest.mark.parametrize("name, text, line", [
    ("deep.jsonl", '{"email": "a@example.org"}\n{"email": "x@example.org", "x": ' + DEEP_LINE
     + '}\n{"email": "b@example.org"}\n', 2),
    ("open.jsonl", '{"email": "a@example.org"}\n{"x": ' + "[" * 100_000
     + '\n{"email": "b@example.org"}\n', 2),
    ("deep.json", '[{"email": "a@example.org"},\n' + DEEP + ',\n{"email": "b@example.org"}]',
     2),
    ("deep-object.json", '{\n "email": "a@example.org"\n}\n{"email": "x@example.org", "x": '
     + DEEP + '\n}\n{\n "email": "b@example.org"\n}\n', 4),
])
def test_deeply_nested_json_is_a_rejected_record(tmp_path: Path, store: Store, leden: ListDef,
                                                 name: str, text: str, line: int) -> None:
    report = import_joins(store, write(tmp_path, name, text), leden)
    assert report.added == 2
    assert rejected_by_line(report) == {line: "JSON nested more than 32 levels deep; not read"}


def test_an_unclosed_deep_document_is_one_rejected_record(tmp_path: Path, store: Store,
                                                          leden: ListDef) -> None:
    report = import_joins(store, write(tmp_path, "open.json", "[" * 100_000), leden)
    assert report.added == 0
    assert rejected_by_line(report) == {1: "JSON nested more than 32 levels deep; it is not "
                                           "closed, so the rest of the file was not read"}


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path: Path, store: Store,
                                                         leden: ListDef) -> None:
    goals = "[{" * 100 + '\\"]'
    text = json.dumps([{"email": "a@example.org", "goals": goals,
                        "socialLinks": ["https://a.example"]}])
    for name, content in (("s.json", text), ("s.jsonl", text[1:-1] + "\n")):
        report = import_joins(store, write(tmp_path, name, content), leden)
        assert (report.rejected, report.added + report.unchanged) == ((), 1)


def test_deep_json_through_the_command_line_names_file_and_line(workspace: Path) -> None:
    path = workspace / "deep.jsonl"
    path.write_text('{"email": "a@example.org"}\n' + DEEP_LINE + "\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "postduif", "joins", "import", str(path),
                             "--list", "leden"], cwd=workspace, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1, result.stderr  # a rejected row: exit 1, the rest imported
    assert "Traceback" not in result.stdout + result.stderr
    assert "1 added, 0 updated, 0 unchanged, 1 rejected" in result.stdout
    assert f"{path}:2: -: JSON nested more than 32 levels deep" in result.stdout


def test_lookalike_addresses_are_imported_with_a_warning(tmp_path: Path, store: Store,
                                                         leden: ListDef) -> None:
    text = ("email,voornaam\n"
            "s\u0430m@example.org,Sam\n"       # Cyrillic a
            "\uff53am@example.org,Sam\n"        # fullwidth s
            "\u0438\u0432\u0430\u043d@example.org,Ivan\n"  # all Cyrillic: no warning
            "zo\u00eb@example.org,Zo\u00eb\n")  # Latin with a diaeresis: no warning
    report = import_joins(store, write(tmp_path, "h.csv", text), leden)
    assert (report.added, report.rejected) == (4, ())
    notes = {note.line: note.message for note in report.notes if "imitate" in note.message}
    assert sorted(notes) == [2, 3]
    assert "mixes Latin (U+0073 LATIN SMALL LETTER S) and Cyrillic (U+0430" in notes[2]
    assert "fullwidth character U+FF53" in notes[3]
    assert report.notes[0].email == "s\u0430m@example.org"
    # Every one of them is mailed only through a server with SMTPUTF8, and the report says so.
    utf8 = [note.line for note in report.notes if "SMTPUTF8" in note.message]
    assert utf8 == [2, 3, 4, 5]


def test_bidi_controls_in_names_are_refused(tmp_path: Path, store: Store,
                                           leden: ListDef) -> None:
    text = ("email,voornaam,achternaam\n"
            "a@example.org,Sam\u202egro.live,Vries\n"
            "b@example.org,Eva,de \u2067Vries\n"
            "c@example.org,Ok,Fine\n")
    report = import_joins(store, write(tmp_path, "b.csv", text), leden)
    assert report.added == 1
    reasons = rejected_by_line(report)
    assert reasons[2].startswith("first_name: contains the bidirectional control character "
                                 "U+202E (RIGHT-TO-LEFT OVERRIDE)")
    assert reasons[3].startswith("last_name: contains the bidirectional control character "
                                 "U+2067 (RIGHT-TO-LEFT ISOLATE)")


def test_dry_run_reports_but_writes_nothing(tmp_path: Path, store: Store, leden: ListDef) -> None:
    path = write(tmp_path, "proef.csv", "email\nproef@example.org\nkapot\n")
    report = import_joins(store, path, leden, dry_run=True)
    assert (report.dry_run, report.added, len(report.rejected)) == (True, 1, 1)
    assert report.rejects_file is None
    assert not rejects_path(path).exists()
    assert store.get("proef@example.org") is None
    assert store.counts() == []
    assert import_joins(store, path, leden).added == 1  # the real run still adds it


CRASHING_IMPORT = """
import sys
from pathlib import Path
from postduif.audience.joins import import_joins
from postduif.lists import load_list
from postduif.store import Store
with Store.open(Path(sys.argv[1])) as store:
    import_joins(store, Path(sys.argv[2]), load_list(Path(sys.argv[3]), "leden"))
"""


def test_an_import_killed_half_way_leaves_nothing_behind(tmp_path: Path) -> None:
    store_path = tmp_path / "crash.sqlite3"
    Store.open(store_path).close()
    path = write(tmp_path, "veel.csv",
                 "email,voornaam\n" + "".join(f"p{n}@example.org,P{n}\n" for n in range(60_000)))
    wal = store_path.with_name(store_path.name + "-wal")
    child = subprocess.Popen([sys.executable, "-c", CRASHING_IMPORT, str(store_path), str(path),
                              str(LISTS)])
    deadline = time.monotonic() + 60
    while child.poll() is None and time.monotonic() < deadline:
        if wal.exists() and wal.stat().st_size > 512 * 1024:  # rows are being written
            child.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    assert child.wait() == -signal.SIGKILL, "the import finished before it could be killed"
    with Store.open(store_path) as store:
        assert store.counts() == []
        assert store.get("p0@example.org") is None


# ------------------------------------------------------------------------------- bad files


def test_a_binary_file_is_refused_naming_it(tmp_path: Path, store: Store,
                                            leden: ListDef) -> None:
    path = tmp_path / "foto.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(JoinImportError) as raised:
        import_joins(store, path, leden)
    assert raised.value.path == path
    assert "binary" in raised.value.message
    assert not rejects_path(path).exists()


def test_a_utf16_export_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("email\na@example.org\n".encode("utf-16"))
    with pytest.raises(JoinImportError) as raised:
        read_rows(path)
    assert raised.value.hint == "save the file as UTF-8"


def test_a_latin1_file_is_refused_naming_file_line_and_offset(tmp_path: Path, store: Store,
                                                              leden: ListDef) -> None:
    path = tmp_path / "oud.csv"
    path.write_bytes("email;naam\na@example.org;Jan\nb@example.org;Renée\n".encode("latin-1"))
    with pytest.raises(JoinImportError) as raised:
        import_joins(store, path, leden)
    offset = path.read_bytes().index(b"\xe9")
    assert (raised.value.path, raised.value.line) == (path, 3)
    assert f"byte 0xe9 at offset {offset}" in raised.value.message
    assert store.get("a@example.org") is None  # nothing before the bad line was imported


def test_a_csv_without_an_email_column_names_the_headers(tmp_path: Path) -> None:
    path = write(tmp_path, "namen.csv", "voornaam;achternaam\nJan;Smit\n")
    with pytest.raises(JoinImportError) as raised:
        read_rows(path)
    assert raised.value.path == path
    assert raised.value.line == 1
    assert raised.value.message == "no e-mail column in the header (found 'voornaam', 'achternaam')"


def test_a_listmonk_export_is_refused_with_the_command_that_reads_it(
        tmp_path: Path, store: Store, nieuwsbrief: ListDef) -> None:
    path = tmp_path / "lijst.csv"
    path.write_bytes((REPO / "tests/fixtures/listmonk/nieuwsbrief.csv").read_bytes())
    with pytest.raises(JoinImportError, match="listmonk's subscriber export") as caught:
        import_joins(store, path, nieuwsbrief, confirmed=True)
    assert caught.value.hint == "postduif migrate listmonk lijst.csv --list LIST"
    assert store.counts() == [] and not rejects_path(path).exists()


@pytest.mark.parametrize("content", ["", "\n\n  \n", "\ufeff"])
def test_an_empty_file_imports_nothing(tmp_path: Path, store: Store, leden: ListDef,
                                       content: str) -> None:
    report = import_joins(store, write(tmp_path, "leeg.csv", content), leden)
    assert (report.added, report.updated, report.unchanged, report.rejected) == (0, 0, 0, ())
    assert report.rejects_file is None


def test_an_unknown_language_option_is_refused(tmp_path: Path, store: Store,
                                               leden: ListDef) -> None:
    with pytest.raises(JoinImportError, match="--language 'fr'"):
        import_joins(store, fixture_copy(tmp_path, "form-request.json"), leden, language="fr")


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_a_10_mb_line_is_rejected_without_holding_it(tmp_path: Path, store: Store,
                                                     leden: ListDef, kind: str) -> None:
    huge = "A" * (10 * 1024 * 1024)
    if kind == "csv":
        lines = ["email,goals", "voor@example.org,kort", f"groot@example.org,{huge}",
                 "na@example.org,kort"]
    else:
        lines = [json.dumps({"email": e, "goals": g}) for e, g in
                 [("voor@example.org", "kort"), ("groot@example.org", huge),
                  ("na@example.org", "kort")]]
        lines.insert(0, "")
    path = write(tmp_path, f"groot.{kind}", "\n".join(lines) + "\n")
    del huge, lines
    tracemalloc.start()
    try:
        if kind == "csv":  # a CSV line skipped unread may open a quote: nothing after it is safe
            with pytest.raises(JoinImportError, match=r"groot\.csv:3: malformed CSV: the line "
                               r"is longer than 128 KiB.*nothing was imported"):
                import_joins(store, path, leden)
        else:
            report = import_joins(store, path, leden)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    if kind == "csv":
        assert store.counts("leden") == []
        return
    assert (report.added, rejected_by_line(report)) == (2, {3: "line is longer than 128 KiB"})
    assert len(report.rejected[0].raw) <= 200


# ------------------------------------------------------------------------------- unreadable CSV
# Every way the csv module can lose its place: after any of them the rest of the file would be
# read from inside a field, so the import stops at the record's line with nothing imported.

LONG_FIELD = "x" * 1000 + "\n" + ("y" * 1000 + "\n") * 140  # 141 short lines, one field
TAIL = "eva@example.org,Eva,ok\n"


@pytest.mark.parametrize(("body", "line", "what"), [
    ('sam@example.org,Sam,"goals\n' + TAIL, 2,
     "a quoted field is never closed: the file ends inside it (read up to line 3)"),
    ('sam@example.org,"Sam"x,ok\n' + TAIL, 2, "text after the closing quote of a field"),
    ("sam@example.org,Sam\rBcc: x,ok\n" + TAIL, 2,
     "a carriage return (CR) inside a field that is not quoted"),
    ('sam@example.org,Sam,"' + LONG_FIELD + 'evil@example.org,Evil,ok\n"\n' + TAIL, 2,
     "a field is longer than 131,072 characters (a quote never closed?) (read up to line "),
    ("sam@example.org,Sam,ok\n" + "bo@example.org,Bo," + ",".join(
        ['"' + "z\n" * 50_000 + '"'] * 11) + "\n" + TAIL, 3,
     "the record is longer than 1024 KiB (a quote never closed?)"),
    ("sam@example.org,Sam,ok\n" * 500 + "bo@example.org,Bo\x00,ok\n" + TAIL, 502, ""),
], ids=["quote never closed", "text after a quote", "bare CR", "field too long",
        "record too long", "NUL after the first 8 KiB"])
def test_a_record_that_cannot_be_read_whole_stops_the_import(
        tmp_path: Path, store: Store, leden: ListDef, body: str, line: int, what: str) -> None:
    path = write(tmp_path, "people.csv", "email,naam,doelen\n" + body)
    with pytest.raises(JoinImportError) as raised:
        import_joins(store, path, leden, confirmed=True)
    message = str(raised.value)
    assert message.startswith(f"{path}:{line}: ")
    if what:
        assert message.startswith(f"{path}:{line}: malformed CSV: {what}")
        assert message.endswith("nothing after it can be trusted and nothing was imported")
    else:
        assert "a NUL byte at offset" in message
    assert store.counts() == [] and not rejects_path(path).exists()


def test_the_field_limit_is_postduifs_whatever_the_process_set(
        tmp_path: Path, store: Store, leden: ListDef) -> None:
    path = write(tmp_path, "people.csv", 'email,naam,doelen\nsam@example.org,Sam,"'
                 + LONG_FIELD + '"\n')
    previous = csv.field_size_limit(sys.maxsize)
    try:
        with pytest.raises(JoinImportError, match="people.csv:2: malformed CSV: a field is "
                           "longer than 131,072 characters"):
            import_joins(store, path, leden)
        assert csv.field_size_limit() == sys.maxsize  # put back for the process's other uses
    finally:
        csv.field_size_limit(previous)


def test_a_space_before_a_quoted_field_does_not_split_it(tmp_path: Path, store: Store,
                                                         leden: ListDef) -> None:
    path = write(tmp_path, "people.csv", 'email,naam,doelen\nsam@example.org, "Smit, Sam", '
                 '"line one\nevil@example.org,Evil,ok"\n' + TAIL)
    report = import_joins(store, path, leden, confirmed=True)
    assert (report.added, report.rejected) == (2, ())
    sam = store.get("sam@example.org")
    assert sam is not None and (sam.first_name, sam.last_name) == ("Sam", "Smit")
    assert sam.goals == "line one\nevil@example.org,Evil,ok"
    assert store.get("evil@example.org") is None
