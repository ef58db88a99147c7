"""``send`` does what the organiser said: a no records nothing, a resume says who confirmed
since (``--add-new`` includes them, never someone who left), every ``--to`` reviewer gets every
language, each copy with its own Message-ID. Real processes, the real aiosmtpd server, the real
SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from postduif.store import Store

from .conftest_smtp import SmtpServer
from .test_cli_send import CAMPAIGN, KEY, PEOPLE, prepare, run

DATABASE = "lists/postduif.sqlite3"
LATE = [("laat1@example.org", "en"), ("laat2@example.org", "nl")]


def answer(workspace: Path, reply: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``send`` with ``reply`` typed at its prompt."""
    return subprocess.run([sys.executable, "-m", "postduif", "send", CAMPAIGN, *args],
                          cwd=workspace, input=reply, capture_output=True, text=True,
                          env={**os.environ, "POSTDUIF_TOKEN_KEY": KEY}, timeout=120)


def subscribe(workspace: Path, people: list[tuple[str, str]]) -> None:
    """Confirmed newsletter subscribers, added the way an organiser adds them."""
    rows = "\n".join(f"{email},{lang}" for email, lang in people)
    (workspace / "late.csv").write_text(f"email,taal\n{rows}\n", encoding="utf-8")
    added = run(workspace, "joins", "import", "late.csv", "--list", "nieuwsbrief", "--confirmed")
    assert added.returncode == 0, added.stderr


def ledger(workspace: Path) -> set[str]:
    """Who the campaign's ledger names."""
    with Store.open(workspace / DATABASE) as store:
        return {entry.email for entry in store.ledger_entries(CAMPAIGN)}


def test_no_at_the_prompt_records_nothing_and_a_later_yes_sends_to_everyone(
        workspace: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server()
    prepare(workspace, server)
    declined = answer(workspace, "n\n")
    assert declined.returncode == 1 and "nothing recorded" in declined.stdout
    assert f"Send {len(PEOPLE)} messages" in declined.stdout
    with Store.open(workspace / DATABASE) as store:
        assert store.ledger_campaign(CAMPAIGN) is None, "a no must not start the ledger"
    assert "has not been sent yet" in run(workspace, "status", CAMPAIGN).stdout
    subscribe(workspace, LATE)
    sent = run(workspace, "send", CAMPAIGN, "--yes")
    assert sent.returncode == 0, sent.stderr
    assert sorted(server.mailbox.recipients()) == sorted(
        [e for e, _, _ in PEOPLE] + [e for e, _ in LATE])


def test_a_resume_reports_who_confirmed_since_and_add_new_sends_to_them(
        workspace: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server(faults={"delay_ms": 20})
    prepare(workspace, server)
    first = subprocess.Popen([sys.executable, "-m", "postduif", "send", CAMPAIGN, "--yes"],
                             cwd=workspace, env={**os.environ, "POSTDUIF_TOKEN_KEY": KEY},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server.mailbox.wait_for(5)
    first.send_signal(2)  # Ctrl-C: the campaign is started, part of it sent
    first.communicate(timeout=60)
    subscribe(workspace, [*LATE, ("weg@example.org", "nl")])
    left = run(workspace, "subscribers", "unsubscribe", "weg@example.org", "--list",
               "nieuwsbrief")
    assert left.returncode == 0, left.stderr  # confirmed since, and left again: never mailed
    subscribe(workspace, [("laat3@example.org", "nl")])

    plain = answer(workspace, "n\n")
    assert plain.returncode == 1
    assert (f"3 subscriber(s) confirmed since {CAMPAIGN} started" in plain.stdout
            and f"postduif send {CAMPAIGN} --add-new" in plain.stdout), plain.stdout
    assert not {e for e, _ in LATE} & ledger(workspace), "a no must not add anyone"

    resumed = run(workspace, "send", CAMPAIGN, "--yes", "--add-new")
    assert resumed.returncode == 0, resumed.stderr
    assert "Added 3 subscriber(s)" in resumed.stdout
    expected = [e for e, _, _ in PEOPLE] + [e for e, _ in LATE] + ["laat3@example.org"]
    assert sorted(server.mailbox.recipients()) == sorted(expected)  # each once, nobody else
    again = run(workspace, "send", CAMPAIGN, "--yes")
    assert again.returncode == 0 and "Nothing left to send" in again.stdout
    assert "confirmed since" not in again.stdout


def test_a_resume_without_add_new_keeps_the_snapshot(
        workspace: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server()
    prepare(workspace, server)
    assert run(workspace, "send", CAMPAIGN, "--yes").returncode == 0
    subscribe(workspace, LATE)
    resumed = run(workspace, "send", CAMPAIGN, "--yes")
    assert resumed.returncode == 0, resumed.stderr
    assert "2 subscriber(s) confirmed since" in resumed.stdout
    assert "--add-new" in resumed.stdout and "Nothing left to send" in resumed.stdout
    assert server.mailbox.count() == len(PEOPLE)


def test_every_reviewer_gets_every_language_each_with_its_own_message_id(
        workspace: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server()
    prepare(workspace, server)
    reviewers = ["eerste@example.org", "tweede@example.org"]
    result = run(workspace, "send", CAMPAIGN, "--to", reviewers[0], "--to", reviewers[1])
    assert result.returncode == 0, result.stderr
    copies = [(m.rcpt_tos, m.parsed()) for m in server.mailbox.messages()]
    assert sorted((rcpt[0], msg["Content-Language"]) for rcpt, msg in copies) == sorted(
        (reviewer, lang) for reviewer in reviewers for lang in ("en", "nl"))
    assert sorted(str(msg["To"]) for _, msg in copies) == sorted(reviewers * 2)
    assert len({msg["Message-ID"] for _, msg in copies}) == 4
    second = run(workspace, "send", CAMPAIGN, "--to", reviewers[0])
    assert second.returncode == 0, second.stderr
    ids = [m.parsed()["Message-ID"] for m in server.mailbox.messages()]
    assert len(ids) == 6 and len(set(ids)) == 6, "a second round of review is not dropped"
    assert "has not been sent yet" in run(workspace, "status", CAMPAIGN).stdout


def test_one_bad_reviewer_address_sends_to_nobody(
        workspace: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server()
    prepare(workspace, server)
    result = run(workspace, "send", CAMPAIGN, "--to", "geen-adres", "--to", "goed@example.org")
    assert result.returncode == 1 and "geen-adres" in result.stderr
    assert "Traceback" not in result.stderr
    assert server.mailbox.count() == 0
