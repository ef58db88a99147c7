"""Moving from listmonk: a real export file into a real store, through the library and the CLI.

The fixture ``tests/fixtures/listmonk/nieuwsbrief.csv`` has every status, languages under
several attribute keys (and one not offered), whole-second, fractional and nanosecond times in
two zones, names with commas and non-ASCII, and one row of each kind of fault.
"""

from __future__ import annotations

import csv
import email
import email.policy
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from postduif.audience.joins import ImportReport, import_joins, rejects_path
from postduif.audience.listmonk import COLUMNS, migrate_listmonk, parse_time
from postduif.audience.records import InvalidField
from postduif.errors import JoinImportError
from postduif.lists import ListDef
from postduif.store import Person, Store

from .conftest import REPO
from .conftest_smtp import SmtpServer

FIXTURE = REPO / "tests" / "fixtures" / "listmonk" / "nieuwsbrief.csv"
HEADER = ",".join(COLUMNS)
KEY = "listmonk-test-key-0123456789"
CAMPAIGN = "2026-12-community-update"
ENABLED = ["bo@example.org", "eva.jansen@example.org", "hans@example.org", "umit@example.org",
           "zeynep.celik@example.org"]
NOT_MAILED = ["ana@example.org", "piet@example.org", "spam@example.org"]
#: Line 8's {"lang": "de"}: not offered, so the list's default language, with this warning.
GERMAN = ("attributes.lang: 'de' is not one of the languages offered (en, nl): given the "
          "list's default language (nl) instead, unless they already have one here")
REJECTED = {
    9: "created_at: '2024-13-01 10:00:00 +0000 UTC' is not a time like "
       "2024-05-01 10:00:00.123456 +0000 UTC",
    10: "malformed CSV row: expected 7 columns, found 3",
    11: "attributes: not a JSON object but an array",
}


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A private copy of the fixture: the rejects file is written beside the input."""
    target = tmp_path / "nieuwsbrief.csv"
    target.write_bytes(FIXTURE.read_bytes())
    return target


def write_export(path: Path, *rows: str) -> Path:
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def row(email: str, status: str = "enabled", *, name: str = "Sam", attributes: str = "{}",
        created: str = "2024-05-01 10:00:00 +0000 UTC",
        updated: str = "2024-06-01 10:00:00 +0000 UTC") -> str:
    quoted = '"' + attributes.replace('"', '""') + '"'
    uuid = "00000000-0000-0000-0000-000000000000"
    return f"{uuid},{email},{name},{quoted},{status},{created},{updated}"


def status_on(store: Store, address: str, list_name: str) -> str | None:
    subscriber = store.get(address)
    membership = subscriber.membership(list_name) if subscriber else None
    return membership.status if membership else None


def reasons(report: ImportReport) -> dict[int, str]:
    return {item.line: item.reason for item in report.rejected}


# ------------------------------------------------------------------------------- statuses


def test_every_status_becomes_the_right_membership(store: Store, export: Path,
                                                   nieuwsbrief: ListDef) -> None:
    report = migrate_listmonk(store, export, nieuwsbrief)
    assert (report.added, report.updated, report.unchanged) == (8, 0, 0)
    assert report.statuses == (("enabled", 5), ("disabled", 1), ("blocklisted", 2))
    assert [(note.line, note.email, note.message) for note in report.notes] == [
        (8, "hans@example.org", GERMAN)]
    assert {line: reason for line, reason in reasons(report).items() if line != 12} == REJECTED
    assert reasons(report)[12].startswith("email: ")
    assert sorted(s.email for s in store.members("nieuwsbrief", "confirmed")) == ENABLED
    assert sorted(s.email for s in store.members("nieuwsbrief", "unsubscribed")) == NOT_MAILED
    assert store.suppression("piet@example.org") is None  # disabled: not mailed, not barred
    for blocked, line in (("spam@example.org", 7), ("ana@example.org", 13)):
        suppression = store.suppression(blocked)
        assert suppression is not None
        assert (suppression.reason, suppression.source) == (
            "blocklisted", f"listmonk export nieuwsbrief.csv:{line}")
    for rejected in ("tijd@example.org", "kapot@example.org"):
        assert store.get(rejected) is None


def test_languages_come_from_the_attributes_else_the_lists_default(
        store: Store, export: Path, nieuwsbrief: ListDef) -> None:
    migrate_listmonk(store, export, nieuwsbrief)
    languages = {address: store.get(address).language  # type: ignore[union-attr]
                 for address in ENABLED + NOT_MAILED}
    assert languages == {
        "eva.jansen@example.org": "en",     # {"lang": "en"}
        "zeynep.celik@example.org": "nl",   # {"taal": "Nederlands"}
        "umit@example.org": "en",           # {"locale": "en-GB"}
        "bo@example.org": "nl",             # {}: the list's default
        "hans@example.org": "nl",           # {"lang": "de"}: not offered, the list's default
        "piet@example.org": "en",           # {"Language": "EN"}: keys in any case
        "spam@example.org": "nl",
        "ana@example.org": "nl",            # {"lang": "nl", "taal": "en"}: lang comes first
    }


def test_the_language_option_wins_over_the_attributes(store: Store, export: Path,
                                                      nieuwsbrief: ListDef) -> None:
    report = migrate_listmonk(store, export, nieuwsbrief, language="Engels")
    assert 8 not in reasons(report)  # {"lang": "de"} is not even looked at
    hans, zeynep = store.get("hans@example.org"), store.get("zeynep.celik@example.org")
    assert hans is not None and zeynep is not None
    assert (hans.language, zeynep.language) == ("en", "en")


def test_other_attribute_keys_can_be_named(tmp_path: Path, store: Store,
                                           nieuwsbrief: ListDef) -> None:
    path = write_export(tmp_path / "export.csv",
                        row("a@example.org", attributes='{"voorkeur": "en", "lang": "de"}'))
    report = migrate_listmonk(store, path, nieuwsbrief, language_attributes=["voorkeur"])
    assert report.rejected == ()
    assert store.get("a@example.org").language == "en"  # type: ignore[union-attr]
    default_keys = migrate_listmonk(store, path, nieuwsbrief, dry_run=True)
    assert reasons(default_keys) == {}
    assert [(note.line, note.message) for note in default_keys.notes] == [(2, GERMAN)]


@pytest.mark.parametrize(("attributes", "reason"), [
    ('{"lang": 5}', "expected text, found a number"),
    ('{"Lang": ["en"]}', "expected text, found an array"),
    ('{"taal": "Klingon"}', "'Klingon' is not one of the languages offered (en, nl)"),
    ('{"lang": "n\\u0000l"}', "contains the control character U+0000"),
])
def test_a_language_not_offered_gets_the_lists_default_and_a_warning(
        tmp_path: Path, store: Store, nieuwsbrief: ListDef, attributes: str, reason: str) -> None:
    path = write_export(tmp_path / "export.csv", row("a@example.org", attributes=attributes))
    report = migrate_listmonk(store, path, nieuwsbrief)
    assert (report.added, report.rejected) == (1, ())
    key = next(iter(json.loads(attributes)))
    assert [(note.line, note.message) for note in report.notes] == [
        (2, f"attributes.{key}: {reason}: given the list's default language (nl) instead, "
            "unless they already have one here")]
    assert status_on(store, "a@example.org", "nieuwsbrief") == "confirmed"
    assert store.get("a@example.org").language == "nl"  # type: ignore[union-attr]


@pytest.mark.parametrize(("attributes", "reason"), [
    ("not json", "attributes: not valid JSON: Expecting value (column 1)"),
    ('"en"', "attributes: not a JSON object but a string"),
    ('{"lang": ' + "[" * 50_000 + "]" * 50_000 + "}",
     "attributes: JSON nested more than 32 levels deep"),
])
def test_attributes_that_cannot_be_read_reject_the_row(tmp_path: Path, store: Store,
                                                       nieuwsbrief: ListDef, attributes: str,
                                                       reason: str) -> None:
    path = write_export(tmp_path / "export.csv", row("a@example.org", attributes=attributes))
    assert reasons(migrate_listmonk(store, path, nieuwsbrief)) == {2: reason}


def test_an_unknown_status_or_a_bad_time_rejects_the_row(tmp_path: Path, store: Store,
                                                         nieuwsbrief: ListDef) -> None:
    path = write_export(tmp_path / "export.csv",
                        row("a@example.org", "unsubscribed"),
                        row("b@example.org", updated="2024-06-01T10:00:00Z"),
                        row("c@example.org", created=""))
    assert reasons(migrate_listmonk(store, path, nieuwsbrief)) == {
        2: "status: 'unsubscribed' is not one of enabled, disabled, blocklisted",
        3: "updated_at: '2024-06-01T10:00:00Z' is not a time like "
           "2024-05-01 10:00:00.123456 +0000 UTC",
        4: "created_at: empty is not a time like 2024-05-01 10:00:00.123456 +0000 UTC",
    }
    assert store.counts() == []


# ------------------------------------------------------------------------------- times


@pytest.mark.parametrize(("raw", "expected"), [
    ("2024-05-01 10:00:00.123456 +0000 UTC", datetime(2024, 5, 1, 10, 0, 0, 123456, UTC)),
    ("2024-05-01 10:00:00 +0000 UTC", datetime(2024, 5, 1, 10, tzinfo=UTC)),
    ("2024-05-01 10:00:00.5 +0000 UTC", datetime(2024, 5, 1, 10, 0, 0, 500000, UTC)),
    ("2024-05-01 10:00:00.987654321 +0000 UTC", datetime(2024, 5, 1, 10, 0, 0, 987654, UTC)),
    ("2024-02-29 23:59:59 +0100 CET", datetime(2024, 2, 29, 22, 59, 59, tzinfo=UTC)),
    ("2024-05-01 12:00:00 +0200 +02", datetime(2024, 5, 1, 10, tzinfo=UTC)),
    ("2024-05-01 10:00:00 +0000", datetime(2024, 5, 1, 10, tzinfo=UTC)),
])
def test_listmonk_times_are_read_exactly(raw: str, expected: datetime) -> None:
    parsed = parse_time("created_at", raw)
    assert parsed == expected and parsed.utcoffset() is not None


@pytest.mark.parametrize("raw", [
    "", "2024-05-01T10:00:00Z", "2024-05-01 10:00:00", "2024-05-01 10:00:00 UTC",
    "2023-02-29 10:00:00 +0000 UTC", "2024-05-01 25:00:00 +0000 UTC",
    "2024-05-01 10:00:00.1234567890 +0000 UTC", "1 May 2024 10:00 +0000 UTC",
])
def test_other_time_forms_are_refused(raw: str) -> None:
    with pytest.raises(InvalidField, match="created_at: .* is not a time like"):
        parse_time("created_at", raw)


def test_the_consent_log_keeps_the_subscription_time_and_the_source(
        store: Store, export: Path, nieuwsbrief: ListDef) -> None:
    migrate_listmonk(store, export, nieuwsbrief)
    eva = store.export_person("eva.jansen@example.org")
    assert [(e["at"], e["event"], e["list"], e["source"]) for e in eva["consent_log"]] == [
        ("2024-05-01T10:00:00Z", "confirmed", "nieuwsbrief", "listmonk export nieuwsbrief.csv:2")]
    membership = eva["subscriber"]["memberships"][0]
    assert (membership["requested_at"], membership["confirmed_at"]) == (
        "2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z")
    assert membership["welcomed_at"] is not None  # moved, not new: no welcome email
    umit = store.consent_log("umit@example.org")
    assert [e.at for e in umit] == ["2024-02-29T22:59:59Z"]  # +0100 CET, in UTC
    piet = store.consent_log("piet@example.org")
    assert [(e.at, e.event, e.source) for e in piet] == [
        ("2025-02-01T18:45:10Z", "unsubscribed",
         "listmonk export nieuwsbrief.csv:6 (disabled in listmonk)")]


# ------------------------------------------------------------------------------- names


def test_names_with_commas_and_non_ascii_are_split(store: Store, export: Path,
                                                   nieuwsbrief: ListDef) -> None:
    migrate_listmonk(store, export, nieuwsbrief)
    names = {address: (s.first_name, s.last_name) for address in ENABLED + NOT_MAILED
             if (s := store.get(address)) is not None}
    assert names == {
        "eva.jansen@example.org": ("Eva", "Jansen"),
        "zeynep.celik@example.org": ("Zeynep", "Çelik"),
        "umit@example.org": ("Ümit", "Öztürk"),
        "hans@example.org": ("Hans", "Müller"),
        "bo@example.org": ("Bo", ""),
        "piet@example.org": ("Piet", "de Vries"),
        "spam@example.org": ("Kees", "Klaassen"),
        "ana@example.org": ("Ana María", "López García"),
    }


# ------------------------------------------------------------------------------- runs


def test_importing_the_same_export_twice_changes_nothing(store: Store, export: Path,
                                                         nieuwsbrief: ListDef) -> None:
    migrate_listmonk(store, export, nieuwsbrief)
    before = {a: store.export_person(a) for a in ENABLED + NOT_MAILED}
    again = migrate_listmonk(store, export, nieuwsbrief)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 8)
    assert reasons(again).keys() == {9, 10, 11, 12}
    assert {a: store.export_person(a) for a in ENABLED + NOT_MAILED} == before


def test_a_person_exported_twice_is_migrated_once(tmp_path: Path, store: Store,
                                                 nieuwsbrief: ListDef) -> None:
    path = write_export(tmp_path / "export.csv", row("sam@example.org", name="Sam"),
                        row("bo@example.org"), row("Sam@Example.org", "disabled", name="Samuel"))
    first = migrate_listmonk(store, path, nieuwsbrief)
    assert (first.added, first.updated, first.unchanged, first.rejected) == (2, 0, 0, ())
    assert [(n.line, n.message) for n in first.notes] == [
        (4, "line 4 repeats line 2; disabled wins over enabled (line 2)")]
    assert dict(first.statuses)["disabled"] == 1 and dict(first.statuses)["enabled"] == 1
    sam = store.get("sam@example.org")
    assert sam is not None and sam.first_name == "Samuel"
    again = migrate_listmonk(store, path, nieuwsbrief)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)


def test_a_dry_run_reports_the_same_and_writes_nothing(store: Store, export: Path,
                                                       nieuwsbrief: ListDef) -> None:
    dry = migrate_listmonk(store, export, nieuwsbrief, dry_run=True)
    assert (dry.dry_run, dry.added, len(dry.rejected), dry.rejects_file) == (True, 8, 4, None)
    assert dry.statuses == (("enabled", 5), ("disabled", 1), ("blocklisted", 2))
    assert store.counts() == [] and not store.is_suppressed("spam@example.org")
    assert not rejects_path(export).exists()
    real = migrate_listmonk(store, export, nieuwsbrief)
    assert (real.added, real.rejected) == (dry.added, dry.rejected)
    assert real.rejects_file == rejects_path(export)
    with real.rejects_file.open(encoding="utf-8", newline="") as written:
        table = list(csv.reader(written))
    assert [r[0] for r in table] == ["line", "9", "10", "11", "12"]
    assert table[2][3] == "6f1c2a1e-3b7d-4c1e-9a51-0d2f5b6e7a09,kapot@example.org,Kapot"


@pytest.mark.parametrize("text", [
    "email,naam\nsam@example.org,Sam\n",  # a join-request CSV
    "uuid;email;name;attributes;status;created_at;updated_at\n",  # the columns, wrong delimiter
    "uuid,email,name,status,created_at,updated_at\n",  # attributes missing
    "",
])
def test_a_file_that_is_not_a_listmonk_export_is_refused(tmp_path: Path, store: Store,
                                                         nieuwsbrief: ListDef, text: str) -> None:
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(JoinImportError) as caught:
        migrate_listmonk(store, path, nieuwsbrief)
    assert caught.value.path == path
    assert f"expected the header {HEADER}" in str(caught.value)
    assert store.counts() == [] and not rejects_path(path).exists()


# ------------------------------------------------------------------------------- existing state


def test_a_migration_never_loosens_what_it_finds(tmp_path: Path, store: Store,
                                                 nieuwsbrief: ListDef) -> None:
    def put(address: str, list_name: str, status: str) -> None:
        store.join(Person(email=address), list=list_name, status=status, event="requested",
                   source="test", consent_version="", default_language="nl")

    put("left@example.org", "nieuwsbrief", "unsubscribed")
    put("bounced@example.org", "nieuwsbrief", "bounced")
    put("waiting@example.org", "nieuwsbrief", "pending")
    store.forget("erased@example.org", source="test")
    path = write_export(tmp_path / "export.csv",
                        row("left@example.org"), row("bounced@example.org", "disabled"),
                        row("waiting@example.org"), row("erased@example.org", "blocklisted"))
    report = migrate_listmonk(store, path, nieuwsbrief)
    assert reasons(report) == {
        2: "unsubscribed earlier; not re-subscribed",
        5: "address was forgotten on request; not re-added",
    }
    assert (report.added, report.updated, report.unchanged) == (0, 1, 1)
    assert status_on(store, "left@example.org", "nieuwsbrief") == "unsubscribed"
    assert status_on(store, "bounced@example.org", "nieuwsbrief") == "bounced"
    waiting = store.get("waiting@example.org")
    assert waiting is not None and waiting.first_name == "Sam"  # the update: a name, no status
    assert status_on(store, "waiting@example.org", "nieuwsbrief") == "pending"
    assert store.get("erased@example.org") is None


def test_disabled_stops_mail_on_the_list_and_blocklisted_on_every_list(
        tmp_path: Path, store: Store, nieuwsbrief: ListDef) -> None:
    for address in ("off@example.org", "barred@example.org"):
        for list_name in ("nieuwsbrief", "leden"):
            store.join(Person(email=address), list=list_name, status="confirmed",
                       event="confirmed", source="test", consent_version="",
                       default_language="nl")
    path = write_export(tmp_path / "export.csv", row("off@example.org", "disabled"),
                        row("barred@example.org", "blocklisted"))
    report = migrate_listmonk(store, path, nieuwsbrief)
    assert (report.updated, report.rejected) == (2, ())
    assert status_on(store, "off@example.org", "nieuwsbrief") == "unsubscribed"
    assert status_on(store, "off@example.org", "leden") == "confirmed"
    assert status_on(store, "barred@example.org", "nieuwsbrief") == "unsubscribed"
    assert status_on(store, "barred@example.org", "leden") == "unsubscribed"
    assert [e.source for e in store.consent_log("barred@example.org")][-2:] == [
        "listmonk export export.csv:3 (blocklisted in listmonk)"] * 2
    assert migrate_listmonk(store, path, nieuwsbrief).unchanged == 2


def test_a_blocklisted_address_is_refused_everywhere_later(
        tmp_path: Path, store: Store, export: Path, nieuwsbrief: ListDef,
        leden: ListDef) -> None:
    migrate_listmonk(store, export, nieuwsbrief)
    refused = "address was blocklisted (listmonk export nieuwsbrief.csv:7); not re-added"
    join_file = tmp_path / "join.csv"
    join_file.write_text("email,naam\nspam@example.org,Kees\n", encoding="utf-8")
    for list_def in (nieuwsbrief, leden):
        assert reasons(import_joins(store, join_file, list_def, confirmed=True)) == {2: refused}
    other_export = write_export(tmp_path / "leden.csv", row("spam@example.org"))
    assert reasons(migrate_listmonk(store, other_export, leden)) == {2: refused}
    assert status_on(store, "spam@example.org", "leden") is None
    assert status_on(store, "spam@example.org", "nieuwsbrief") == "unsubscribed"


def test_an_export_of_unsubscribed_subscriptions_keeps_them_away(
        tmp_path: Path, store: Store, nieuwsbrief: ListDef) -> None:
    store.join(Person(email="still@example.org"), list="nieuwsbrief", status="confirmed",
               event="confirmed", source="test", consent_version="", default_language="nl")
    gone = write_export(tmp_path / "afgemeld.csv", row("left@example.org"),
                        row("still@example.org"), row("barred@example.org", "blocklisted"))
    report = migrate_listmonk(store, gone, nieuwsbrief, unsubscribed=True)
    assert (report.added, report.updated, report.rejected) == (2, 1, ())
    assert report.statuses == (("enabled", 2), ("disabled", 0), ("blocklisted", 1))
    assert [s.email for s in store.members("nieuwsbrief", "confirmed")] == []
    assert [(e.at, e.event, e.source) for e in store.consent_log("left@example.org")] == [
        ("2024-06-01T10:00:00Z", "unsubscribed",
         "listmonk export afgemeld.csv:2 (unsubscribed from the list in listmonk)")]
    assert store.is_suppressed("barred@example.org") and not store.is_suppressed(
        "left@example.org")
    live = write_export(tmp_path / "live.csv", row("left@example.org"))
    assert reasons(migrate_listmonk(store, live, nieuwsbrief)) == {
        2: "unsubscribed earlier; not re-subscribed"}
    assert migrate_listmonk(store, gone, nieuwsbrief, unsubscribed=True).unchanged == 3


# ------------------------------------------------------------------------------- the CLI


def run(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "postduif", *args], cwd=workspace,
                          env={**os.environ, "POSTDUIF_TOKEN_KEY": KEY},
                          capture_output=True, text=True, timeout=120)


def test_the_command_reports_like_joins_import(workspace: Path) -> None:
    (workspace / "nieuwsbrief-nl.csv").write_bytes(FIXTURE.read_bytes())
    args = ("migrate", "listmonk", "nieuwsbrief-nl.csv", "--list", "nieuwsbrief")
    dry = run(workspace, *args, "--dry-run")
    assert dry.returncode == 1, dry.stderr
    assert "nieuwsbrief-nl.csv -> nieuwsbrief (dry run: nothing written)" in dry.stdout
    assert not (workspace / "nieuwsbrief-nl.rejects.csv").exists()
    first = run(workspace, *args)
    assert first.returncode == 1
    lines = first.stdout.splitlines()
    assert "8 added, 0 updated, 0 unchanged, 4 rejected" in lines
    assert "by status in the file: enabled 5, disabled 1, blocklisted 2" in lines
    assert f"nieuwsbrief-nl.csv:8: hans@example.org: warning: {GERMAN}" in lines
    assert f"nieuwsbrief-nl.csv:9: tijd@example.org: {REJECTED[9]}" in lines
    # Values from the file are printed as they are, not read as rich markup.
    assert any(line.startswith("nieuwsbrief-nl.csv:12: [b]opmaak@example.org: email: ")
               for line in lines), first.stdout
    assert "Rejected rows written to nieuwsbrief-nl.rejects.csv" in lines
    again = run(workspace, *args)
    assert "0 added, 0 updated, 8 unchanged, 4 rejected" in again.stdout
    shown = run(workspace, "lists", "show", "nieuwsbrief").stdout
    assert "unsubscribed" in shown and "confirmed" in shown
    exported = json.loads(run(workspace, "subscribers", "export", "Eva.Jansen@example.org").stdout)
    assert [(e["at"], e["source"]) for e in exported["consent_log"]] == [
        ("2024-05-01T10:00:00Z", "listmonk export nieuwsbrief-nl.csv:2")]
    blocked = json.loads(run(workspace, "subscribers", "export", "spam@example.org").stdout)
    assert blocked["suppressed"] is True
    assert blocked["suppression"]["reason"] == "blocklisted"


def test_the_command_refuses_a_wrong_file_and_writes_nothing(workspace: Path) -> None:
    (workspace / "[leden].csv").write_text("email,naam\nsam@example.org,Sam\n", encoding="utf-8")
    result = run(workspace, "migrate", "listmonk", "[leden].csv", "--list", "leden")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(
        f"Error: [leden].csv:1: not a listmonk subscriber export: expected the header {HEADER}, "
        "found email,naam")
    assert "Hint: in listmonk, filter the subscribers on one list" in result.stderr
    assert sorted(p.name for p in workspace.glob("*.csv")) == ["[leden].csv"]
    assert "0" in run(workspace, "lists", "show", "leden").stdout
    language = run(workspace, "migrate", "listmonk", "[leden].csv", "--list", "leden",
                   "--language", "de")
    assert language.returncode == 1 and "Error: --language 'de'" in language.stderr


def test_subscribers_add_says_why_a_blocklisted_address_is_refused(workspace: Path) -> None:
    (workspace / "export.csv").write_bytes(FIXTURE.read_bytes())
    run(workspace, "migrate", "listmonk", "export.csv", "--list", "nieuwsbrief")
    added = run(workspace, "subscribers", "add", "spam@example.org", "--list", "leden")
    assert added.returncode == 1
    assert " ".join(added.stdout.split()) == (
        "spam@example.org: suppressed: address was blocklisted "
        "(listmonk export export.csv:7); not re-added")


def test_only_enabled_people_get_the_campaign_greeted_by_first_name(workspace: Path) -> None:
    (workspace / "nieuwsbrief-nl.csv").write_bytes(FIXTURE.read_bytes())
    run(workspace, "migrate", "listmonk", "nieuwsbrief-nl.csv", "--list", "nieuwsbrief")
    result = run(workspace, "send", CAMPAIGN, "--dry-run")
    assert result.returncode == 0, result.stderr
    outbox = workspace / "outbox" / CAMPAIGN
    messages = {}
    for path in outbox.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        messages[message["To"].addresses[0].addr_spec] = message
    assert sorted(messages) == ENABLED
    index = (outbox / "index.html").read_text(encoding="utf-8")
    for address in NOT_MAILED:
        assert address not in index and address not in result.stdout
    greetings = {}
    for address, message in messages.items():
        text = message.get_body(("plain",))
        assert text is not None
        greetings[address] = text.get_content().lstrip().splitlines()[0]
    assert greetings == {"eva.jansen@example.org": "Hi Eva,", "zeynep.celik@example.org":
                         "Hoi Zeynep,", "umit@example.org": "Hi Ümit,",
                         "bo@example.org": "Hoi Bo,", "hans@example.org": "Hoi Hans,"}
    assert str(messages["eva.jansen@example.org"]["To"]) == "Eva Jansen <eva.jansen@example.org>"



def test_moved_people_get_no_welcome_or_confirmation_email(
        workspace: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server()
    config = workspace / "postduif.toml"
    config.write_text(re.sub(r"(?m)^port = \d+", f"port = {server.port}",
                             config.read_text(encoding="utf-8")), encoding="utf-8")
    (workspace / "nieuwsbrief-nl.csv").write_bytes(FIXTURE.read_bytes())
    run(workspace, "migrate", "listmonk", "nieuwsbrief-nl.csv", "--list", "nieuwsbrief")
    welcome = run(workspace, "welcome")
    assert (welcome.returncode, welcome.stdout, welcome.stderr) == (0, "", "")
    assert server.mailbox.count() == 0


# ------------------------------------------------------------------------------- one person twice


@pytest.mark.parametrize("order", ["blocklisted first", "enabled first"])
def test_blocklisted_anywhere_in_the_file_means_suppressed(tmp_path: Path, store: Store,
                                                         nieuwsbrief: ListDef,
                                                         order: str) -> None:
    rows = [row("sam@example.org", "blocklisted"), row("Sam@Example.ORG", name="Samuel")]
    if order == "enabled first":
        rows.reverse()
    path = write_export(tmp_path / "export.csv", row("bo@example.org"), *rows)
    report = migrate_listmonk(store, path, nieuwsbrief)
    assert report.rejected == ()
    blocked_line = 3 if order == "blocklisted first" else 4
    assert [(n.line, n.message) for n in report.notes] == [(4, (
        "line 4 repeats line 3; blocklisted (line 3) wins over enabled: a later row never "
        "lifts a blocklist or a disabled status") if blocked_line == 3 else (
        "line 4 repeats line 3; blocklisted wins over enabled (line 3)"))]
    suppression = store.suppression("sam@example.org")
    assert suppression is not None and suppression.reason == "blocklisted"
    assert suppression.source == f"listmonk export export.csv:{blocked_line}"
    assert status_on(store, "sam@example.org", "nieuwsbrief") == "unsubscribed"
    assert [s.email for s in store.members("nieuwsbrief")] == ["bo@example.org"]
    assert dict(report.statuses) == {"enabled": 1, "disabled": 0, "blocklisted": 1}


def test_disabled_on_one_row_is_not_lifted_by_a_later_enabled_row(
        tmp_path: Path, store: Store, nieuwsbrief: ListDef) -> None:
    path = write_export(tmp_path / "export.csv", row("sam@example.org", "disabled"),
                        row("SAM@example.org"))
    migrate_listmonk(store, path, nieuwsbrief)
    assert status_on(store, "sam@example.org", "nieuwsbrief") == "unsubscribed"
    assert not store.is_suppressed("sam@example.org")


def test_two_rows_in_two_languages_are_a_conflict_not_a_silent_choice(
        tmp_path: Path, store: Store, nieuwsbrief: ListDef) -> None:
    path = write_export(tmp_path / "export.csv",
                        row("sam@example.org", attributes='{"lang": "nl"}'),
                        row("Sam@example.org", attributes='{"taal": "English"}'))
    report = migrate_listmonk(store, path, nieuwsbrief)
    assert [(n.line, n.message) for n in report.notes] == [(3, (
        "line 3 repeats line 2; the later row wins; conflicting languages: nl on line 2, en "
        "on line 3; en is used"))]
    assert store.membership_language("sam@example.org", "nieuwsbrief") == "en"


def test_the_english_export_after_the_dutch_one_warns_and_keeps_the_language(
        tmp_path: Path, store: Store, nieuwsbrief: ListDef) -> None:
    dutch = write_export(tmp_path / "nl.csv", row("sam@example.org"), row("bo@example.org"))
    english = write_export(tmp_path / "en.csv", row("SAM@example.org"), row("eva@example.org"))
    migrate_listmonk(store, dutch, nieuwsbrief, language="nl")
    report = migrate_listmonk(store, english, nieuwsbrief, language="en")
    assert (report.added, report.updated, report.unchanged) == (1, 0, 1)
    assert [(n.line, n.email, n.message) for n in report.notes] == [(2, "SAM@example.org", (
        "conflicting languages: already on nieuwsbrief in nl, this export says en; kept nl "
        "(to switch: postduif subscribers add sam@example.org --list nieuwsbrief "
        "--language en)"))]
    assert store.membership_language("sam@example.org", "nieuwsbrief") == "nl"
    assert store.get("sam@example.org").language == "nl"  # type: ignore[union-attr]
    assert store.membership_language("eva@example.org", "nieuwsbrief") == "en"


@pytest.mark.parametrize(("broken", "problem"), [
    ({"updated": "gisteren"}, "updated_at: 'gisteren' is not a time like"),
    ({"created": ""}, "created_at: empty is not a time like"),
    ({"name": "Kees\x07"}, "first_name: "),
    ({"attributes": "not json"}, "attributes: not valid JSON"),
])
def test_a_blocklisted_row_with_a_broken_field_is_still_a_blocklist(
        tmp_path: Path, store: Store, nieuwsbrief: ListDef, broken: dict[str, str],
        problem: str) -> None:
    store.join(Person(email="kees@example.org"), list="leden", status="confirmed",
               event="confirmed", source="test", consent_version="", default_language="nl")
    path = write_export(tmp_path / "export.csv", row("Kees@example.org", "blocklisted", **broken))
    report = migrate_listmonk(store, path, nieuwsbrief)
    assert report.rejected == ()
    [note] = report.notes
    assert note.line == 2 and note.message.startswith(problem)
    assert note.message.endswith("; blocklisted all the same: the address is suppressed, the "
                                 "rest of the row is not used")
    assert store.is_suppressed("kees@example.org")
    assert status_on(store, "kees@example.org", "leden") == "unsubscribed"
    assert status_on(store, "kees@example.org", "nieuwsbrief") == "unsubscribed"


def test_an_enabled_row_with_a_broken_time_is_still_rejected(tmp_path: Path, store: Store,
                                                            nieuwsbrief: ListDef) -> None:
    path = write_export(tmp_path / "export.csv", row("sam@example.org", created="gisteren"),
                        row("not an address", "blocklisted"))
    assert set(reasons(migrate_listmonk(store, path, nieuwsbrief))) == {2, 3}
    assert store.counts() == []


# ------------------------------------------------------------------------------- unreadable CSV


def test_a_field_past_the_limit_stops_the_migration_before_anything_is_written(
        tmp_path: Path, store: Store, nieuwsbrief: ListDef) -> None:
    """The defect: the reader gave up inside the blocklisted row's attributes and went on
    from the next line of them, which read as an enabled subscriber."""
    inside = row("evil@example.org", created="2024-05-01 10:00:00 +0000 UTC")
    attributes = '{"note": "' + "x" * 1000 + "\n" + ("y" * 1000 + "\n") * 140 + inside + '"}'
    path = write_export(tmp_path / "export.csv", row("bo@example.org"),
                        row("spam@example.org", "blocklisted", attributes=attributes),
                        row("eva@example.org"))
    with pytest.raises(JoinImportError) as raised:
        migrate_listmonk(store, path, nieuwsbrief)
    assert str(raised.value).startswith(
        f"{path}:3: malformed CSV: a field is longer than 131,072 characters (a quote never "
        "closed?) (read up to line ")
    assert "nothing was imported" in str(raised.value)
    assert store.counts() == [] and store.get("evil@example.org") is None
    assert not rejects_path(path).exists()
