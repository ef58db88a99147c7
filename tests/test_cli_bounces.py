"""``postduif bounces`` as an organiser runs it: a real process, a real store, the sample reports
of tests/fixtures/bounces in a Maildir and in a real Dovecot on 127.0.0.1.

The campaign is really sent first (to the aiosmtpd server of ``smtp_sink``), so the reports'
Message-IDs meet a real ledger.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from postduif.store import Store

from .bounce_samples import BY_FILE, SAMPLES, Sample
from .conftest_smtp import SmtpServer
from .imap_server import PASSWORD, ImapAccount
from .test_cli_send import CAMPAIGN, run

MAILED = [s for s in SAMPLES if s.mailed]
HARD = [s for s in MAILED if s.kind.value == "hard"]
SOFT = BY_FILE["soft-mailbox-full.eml"]
COMPLAINT = BY_FILE["arf-complaint.eml"]
STORE = "lists/postduif.sqlite3"


def prepare(workspace: Path, server: SmtpServer) -> None:
    """The samples' people on the newsletter (and the complainer on the members list too), and
    the campaign sent to them."""
    config = workspace / "postduif.toml"
    config.write_text(re.sub(r"(?m)^port = \d+", f"port = {server.port}",
                             config.read_text(encoding="utf-8")), encoding="utf-8")
    rows = "\n".join(f"{s.address},,nl" for s in MAILED)
    (workspace / "people.csv").write_text(f"email,naam,taal\n{rows}\n", encoding="utf-8")
    assert run(workspace, "joins", "import", "people.csv", "--list", "nieuwsbrief",
               "--confirmed").returncode == 0
    assert run(workspace, "subscribers", "add", COMPLAINT.address, "--list",
               "leden").returncode == 0
    sent = run(workspace, "send", CAMPAIGN, "--yes")
    assert sent.returncode == 0, sent.stderr
    assert server.mailbox.count() == len({s.address for s in MAILED})
    sent_ids = {m.parsed()["To"].addresses[0].addr_spec: m.parsed()["Message-ID"]
                for m in server.mailbox.messages()}
    assert {s.address: s.original_id for s in MAILED} == sent_ids, "fixtures quote what we send"


def maildir(path: Path, *samples: Sample, copies: dict[str, bytes] | None = None) -> Path:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    for sample in samples:
        (path / "new" / sample.file).write_bytes(sample.raw())
    for name, raw in (copies or {}).items():
        (path / "new" / name).write_bytes(raw)
    return path


def point_at(workspace: Path, account: ImapAccount, security: str) -> None:
    """``[bounces]`` of the workspace set to the test's Dovecot account."""
    settings = account.settings(security)
    config = workspace / "postduif.toml"
    text = config.read_text(encoding="utf-8")
    for key, value in (("host", '"127.0.0.1"'), ("port", str(settings.port)),
                       ("security", f'"{security}"'), ("username", f'"{settings.username}"'),
                       ("ca_file", f'"{settings.ca_file}"')):
        text = re.sub(rf"(?ms)(^\[bounces\].*?)^{key} = [^\n]*", rf"\g<1>{key} = {value}",
                      text, count=1)
    config.write_text(text, encoding="utf-8")


def snapshot(workspace: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table a run may change, row by row."""
    with sqlite3.connect(workspace / STORE) as conn:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
                for table in ("memberships", "consent_log", "suppressions", "bounce_reports",
                              "bounce_events")}


def statuses(workspace: Path, email: str) -> dict[str, str]:
    with Store.open(workspace / STORE) as store:
        subscriber = store.get(email)
        assert subscriber is not None
        return {m.list: m.status for m in subscriber.memberships}


def suppression(workspace: Path, email: str) -> str | None:
    with Store.open(workspace / STORE) as store:
        found = store.suppression(email)
    return None if found is None else found.reason


def test_the_samples_from_a_maildir(workspace: Path, tmp_path: Path,
                                    smtp_server: Callable[..., SmtpServer]) -> None:
    prepare(workspace, smtp_server())
    box = maildir(tmp_path / "retour", *SAMPLES)
    before = snapshot(workspace)

    dry = run(workspace, "bounces", "--from", str(box), "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert snapshot(workspace) == before, "a dry run changes nothing"
    expected = {"hard": len(HARD), "soft": 1, "complaints": 1, "auto_replies": 2,
                "not_ours": 1, "already_handled": 0, "messages": len(SAMPLES), "by_address": 0}
    report = json.loads(dry.stdout)
    assert {k: report[k] for k in expected} == expected and report["dry_run"] is True
    assert [u["handle"] for u in report["not_understood"]] == ["malformed.eml"]

    real = run(workspace, "bounces", "--from", str(box))
    assert real.returncode == 0, real.stderr
    assert f"hard bounces {len(HARD)}, soft bounces 1, complaints 1" in real.stdout
    assert "auto-replies ignored 2, not ours 1, already handled 0" in real.stdout
    assert "malformed.eml" in real.stdout and "left in the mailbox" in real.stdout
    for sample in HARD:
        assert statuses(workspace, sample.address) == {"nieuwsbrief": "bounced"}, sample.file
        assert suppression(workspace, sample.address) == "bounced"
    assert statuses(workspace, SOFT.address) == {"nieuwsbrief": "confirmed"}
    assert statuses(workspace, COMPLAINT.address) == {"leden": "complained",
                                                      "nieuwsbrief": "complained"}
    assert suppression(workspace, COMPLAINT.address) == "complained"
    with Store.open(workspace / STORE) as store:
        complained = [e for e in store.consent_log(COMPLAINT.address) if e.event == "complained"]
        assert {e.list for e in complained} == {"leden", "nieuwsbrief"}
        assert all(COMPLAINT.report_id in e.source for e in complained)
        assert store.get("onbekend@example.org") is None
        assert not store.is_suppressed("onbekend@example.org")
        [event] = store.bounces_of("sam@example.org")
        assert (event.kind, event.status, event.campaign, event.matched_by) == (
            "hard", "5.1.1", CAMPAIGN, "message-id")
    assert statuses(workspace, BY_FILE["vacation-reply.eml"].address) == {
        "nieuwsbrief": "confirmed"}

    after = snapshot(workspace)
    again = run(workspace, "bounces", "--from", str(box), "--json")
    assert json.loads(again.stdout)["already_handled"] == len(SAMPLES) - 1
    assert json.loads(again.stdout)["hard"] == 0
    assert snapshot(workspace) == after, "the second run changes nothing"
    assert (box / "new" / "malformed.eml").exists()

    outbox = run(workspace, "send", CAMPAIGN, "--dry-run")
    assert outbox.returncode == 0, outbox.stderr
    written = " ".join(p.read_text(encoding="utf-8", errors="replace") for p in
                       (workspace / "outbox" / CAMPAIGN).glob("*.eml"))
    assert all(s.address not in written for s in (*HARD, COMPLAINT))
    assert SOFT.address in written


def test_status_and_subscribers_show_list_the_reports(
        workspace: Path, tmp_path: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    prepare(workspace, smtp_server())
    box = maildir(tmp_path / "retour", *SAMPLES)
    assert run(workspace, "bounces", "--from", str(box), "--quiet").stdout.count("malformed")
    status = json.loads(run(workspace, "status", CAMPAIGN, "--json").stdout)
    assert status["bounces"] == {
        "totals": {"hard": len(HARD), "soft": 1, "complaint": 1},
        "languages": {"nl": {"hard": len(HARD), "soft": 1, "complaint": 1}}}
    table = run(workspace, "status", CAMPAIGN).stdout
    assert re.search(rf"│ nl\s+│ {len(HARD)}\s+│ 1\s+│ 1\s+│", table), table
    shown = run(workspace, "subscribers", "show", "ravi@example.org").stdout
    assert "5.1.1" in shown and CAMPAIGN in shown and "The email account that you" in shown


def test_the_third_soft_bounce_within_15_days_is_hard(
        workspace: Path, tmp_path: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    prepare(workspace, smtp_server())
    raw = SOFT.raw()
    copies = {f"soft-{n}.eml": raw.replace(SOFT.report_id.encode(),
                                           f"<soft-{n}@relay.techwerkers.nl>".encode())
              for n in (2, 3)}
    first = run(workspace, "bounces", "--from", str(maildir(tmp_path / "a", SOFT)), "--json")
    second = run(workspace, "bounces", "--from",
                 str(maildir(tmp_path / "b", copies={"soft-2.eml": copies["soft-2.eml"]})),
                 "--json")
    assert [json.loads(r.stdout)["soft_to_hard"] for r in (first, second)] == [0, 0]
    assert statuses(workspace, SOFT.address) == {"nieuwsbrief": "confirmed"}
    third = run(workspace, "bounces", "--from",
                str(maildir(tmp_path / "c", copies={"soft-3.eml": copies["soft-3.eml"]})))
    assert "1 of the soft bounces reached bounces.soft_limit" in third.stdout
    assert statuses(workspace, SOFT.address) == {"nieuwsbrief": "bounced"}
    assert suppression(workspace, SOFT.address) == "bounced"


def test_quiet_prints_nothing_when_nothing_needs_an_organiser(
        workspace: Path, tmp_path: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    prepare(workspace, smtp_server())
    box = maildir(tmp_path / "retour", *(s for s in SAMPLES if s.file != "malformed.eml"))
    quiet = run(workspace, "bounces", "--from", str(box), "--quiet")
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
    assert suppression(workspace, "sam@example.org") == "bounced"


def test_a_missing_mailbox_is_one_error_line(workspace: Path, tmp_path: Path) -> None:
    result = run(workspace, "bounces", "--from", str(tmp_path / "nowhere"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("Error: ") and "nowhere" in result.stderr
    unset = run(workspace, "bounces")
    assert unset.returncode == 1 and "[bounces] host" in unset.stderr


def test_a_bounce_without_headers_to_a_verp_address_matches_exactly(
        workspace: Path, tmp_path: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server()
    config = workspace / "postduif.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "verp = false", "verp = true"), encoding="utf-8")
    prepare(workspace, server)
    mail_from = next(m.mail_from for m in server.mailbox.messages()
                     if m.rcpt_tos == ("noor@example.net",))
    report = VERP_BOUNCE.format(verp=mail_from).encode()
    box = maildir(tmp_path / "retour", copies={"verp.eml": report})
    result = run(workspace, "bounces", "--from", str(box), "--json")
    counts = json.loads(result.stdout)
    assert (counts["hard"], counts["by_address"], counts["not_ours"]) == (1, 0, 0), counts
    assert statuses(workspace, "noor@example.net") == {"nieuwsbrief": "bounced"}
    with Store.open(workspace / STORE) as store:
        [event] = store.bounces_of("noor@example.net")
    assert (event.matched_by, event.campaign) == ("verp", CAMPAIGN)


#: A relay's DSN about an address the message was forwarded to, with no part of the original:
#: only the VERP address it was delivered to says which message it was.
VERP_BOUNCE = """\
Return-Path: <>
Delivered-To: {verp}
Date: Tue, 01 Dec 2026 10:00:00 +0100
From: Mail Delivery System <mailer-daemon@relay.example>
To: {verp}
Subject: Undeliverable: forwarded mail
Message-ID: <verp-test-1@relay.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

The forwarded copy could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.example

Final-Recipient: rfc822; noor.oud@forward.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 mailbox unavailable

--b1--
"""


@pytest.mark.parametrize("security", ["none", "tls"])
def test_the_samples_from_dovecot(workspace: Path, imap_account: ImapAccount, security: str,
                                  smtp_server: Callable[..., SmtpServer]) -> None:
    prepare(workspace, smtp_server())
    imap_account.deliver(*(s.raw() for s in SAMPLES))
    point_at(workspace, imap_account, security)
    env = {"POSTDUIF_BOUNCES_PASSWORD": PASSWORD}

    dry = run(workspace, "bounces", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert imap_account.folder_count("INBOX") == len(SAMPLES)
    assert imap_account.folder_count("postduif-processed") in (-1, 0)

    real = run(workspace, "bounces", env=env)
    assert real.returncode == 0, real.stderr
    assert f"hard bounces {len(HARD)}, soft bounces 1, complaints 1" in real.stdout
    assert imap_account.folder_count("INBOX") == 1, "the malformed report stays"
    assert imap_account.folder_count("postduif-processed") == len(SAMPLES) - 1
    assert suppression(workspace, "jan.devries@example.com") == "bounced"

    after = snapshot(workspace)
    again = run(workspace, "bounces", "--json", env=env)
    report = json.loads(again.stdout)
    assert (report["messages"], report["hard"], len(report["not_understood"])) == (1, 0, 1)
    assert snapshot(workspace) == after
    assert imap_account.folder_count("INBOX") == 1

    wrong = run(workspace, "bounces", env={"POSTDUIF_BOUNCES_PASSWORD": "wrong"})
    assert wrong.returncode == 1 and wrong.stderr.startswith("Error: ")
    assert "wrong" not in wrong.stderr and "Traceback" not in wrong.stderr


def test_a_report_handled_but_not_moved_is_moved_and_changes_nothing(
        workspace: Path, tmp_path: Path, imap_account: ImapAccount,
        smtp_server: Callable[..., SmtpServer]) -> None:
    """As after a crash between the store's commit and the IMAP move: the store knows the
    reports, the mailbox still holds them."""
    prepare(workspace, smtp_server())
    handled = [s for s in SAMPLES if s.file != "malformed.eml"]
    assert run(workspace, "bounces", "--from",
               str(maildir(tmp_path / "retour", *handled))).returncode == 0
    after = snapshot(workspace)
    imap_account.deliver(*(s.raw() for s in handled))
    point_at(workspace, imap_account, "none")
    result = run(workspace, "bounces", "--json", env={"POSTDUIF_BOUNCES_PASSWORD": PASSWORD})
    assert json.loads(result.stdout)["already_handled"] == len(handled), result.stderr
    assert snapshot(workspace) == after
    assert imap_account.folder_count("INBOX") == 0
    assert imap_account.folder_count("postduif-processed") == len(handled)


def test_a_report_not_understood_is_shown_literally(workspace: Path, tmp_path: Path) -> None:
    raw = (b"From: someone@example.org\r\nTo: nieuwsbrief@techwerkers.nl\r\n"
           b"Subject: [link=https://evil.example]klik[/link] =?utf-8?q?a=1B[2Jb?=\r\n"
           b"Message-ID: <q@example.org>\r\n\r\nhallo, wat is dit?\r\n")
    box = maildir(tmp_path / "retour", copies={"odd.eml": raw})
    result = run(workspace, "bounces", "--from", str(box), "--quiet")
    assert result.returncode == 0
    assert "odd.eml: [link=https://evil.example]klik[/link] a\\x1b[2Jb: " in result.stdout
    assert "\x1b" not in result.stdout


def redacted(raw: bytes, report_id: str, original_id: str) -> bytes:
    """The complaint sample as feedback loops that redact the recipient send it."""
    text = raw.decode()
    text = re.sub(r"(?m)^Original-Rcpt-To: .*\n", "", text)
    text = re.sub(r"(?m)^To: alex@example.com$", "To: redacted", text)
    text = re.sub(r"(?m)^Message-ID: <fbl\.[^>]+>", f"Message-ID: {report_id}", text)
    return re.sub(r"<2026-12-community-update\.[0-9a-f]+@techwerkers\.nl>", original_id,
                  text).encode()


def test_a_redacted_complaint_is_matched_by_its_message_id_or_kept(
        workspace: Path, tmp_path: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    prepare(workspace, smtp_server())
    ours = redacted(COMPLAINT.raw(), "<fbl.1@fbl.example>", COMPLAINT.original_id)
    foreign = redacted(COMPLAINT.raw(), "<fbl.2@fbl.example>", "<someone.else@example.net>")
    assert b"alex@example.com" not in ours
    box = maildir(tmp_path / "retour", copies={"ours": ours, "foreign": foreign})

    result = run(workspace, "bounces", "--from", str(box))
    assert result.returncode == 0, result.stderr
    assert "complaints 1" in result.stdout
    assert statuses(workspace, COMPLAINT.address) == {"leden": "complained",
                                                      "nieuwsbrief": "complained"}
    kept = result.stdout.split("not understood, left in the mailbox:", 1)[1].splitlines()
    assert [line.split(":")[0].strip() for line in kept if line.strip()] == ["foreign"]
    assert "names no recipient" in kept[1]


def test_without_the_token_key_message_ids_are_not_ours_and_it_says_so(
        workspace: Path, tmp_path: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    """Without the key a Message-ID of ours cannot be told from a forged one: the reports match
    by the address alone (applied or listed by the samples' dates: none by Message-ID)."""
    prepare(workspace, smtp_server())
    box = maildir(tmp_path / "retour", *HARD)
    result = run(workspace, "bounces", "--from", str(box), "--json",
                 env={"POSTDUIF_TOKEN_KEY": ""})
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("Warning:") == 1, result.stderr
    assert "POSTDUIF_TOKEN_KEY is not set" in result.stderr
    assert "Message-IDs" in result.stderr and "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["by_address"] == report["hard"]
    assert report["hard"] + len(report["listed"]) == len(HARD)
    with Store.open(workspace / STORE) as store:
        events = [e for s in HARD for e in store.bounces_of(s.address)]
        assert {e.matched_by for e in events} <= {"address"}
    keyed = run(workspace, "bounces", "--from", str(maildir(tmp_path / "again", SOFT)))
    assert keyed.returncode == 0 and "Warning" not in keyed.stderr, keyed.stderr
