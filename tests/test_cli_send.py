"""``send``, ``status`` and ``welcome`` as an organiser runs them: real processes, a real SMTP
server on 127.0.0.1, a real SQLite file."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from postduif.store import Store

from .conftest_smtp import SmtpServer

KEY = "cli-send-test-key-0123456789"
CAMPAIGN = "2026-12-community-update"
PEOPLE = [(f"lid{n:03d}@example.org", f"Lid {n}", "en" if n % 3 == 0 else "nl")
          for n in range(1, 61)]


def prepare(workspace: Path, server: SmtpServer | None = None) -> None:
    """Point the workspace at the test server and give it 60 confirmed subscribers."""
    if server is not None:
        config = workspace / "postduif.toml"
        config.write_text(re.sub(r"(?m)^port = \d+", f"port = {server.port}",
                                 config.read_text(encoding="utf-8")), encoding="utf-8")
    rows = "\n".join(f"{email},{name},{lang}" for email, name, lang in PEOPLE)
    (workspace / "people.csv").write_text(f"email,naam,taal\n{rows}\n", encoding="utf-8")
    assert run(workspace, "joins", "import", "people.csv", "--list", "nieuwsbrief",
               "--confirmed").returncode == 0


def run(workspace: Path, *args: str, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "postduif", *args], cwd=workspace,
                          env={**os.environ, "POSTDUIF_TOKEN_KEY": KEY, **(env or {})},
                          capture_output=True, text=True, timeout=120)


def test_dry_run_writes_every_message_and_an_index(workspace: Path) -> None:
    prepare(workspace)
    result = run(workspace, "send", CAMPAIGN, "--dry-run")
    assert result.returncode == 0, result.stderr
    outbox = workspace / "outbox" / CAMPAIGN
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == len(PEOPLE)
    index = (outbox / "index.html").read_text(encoding="utf-8")
    assert all(f.name in index for f in files)
    expected = Counter(lang for _, _, lang in PEOPLE)
    for lang, count in expected.items():
        assert re.search(rf"│ {lang}\s+│ {count}\s+│", result.stdout), result.stdout
    with Store.open(workspace / "lists/postduif.sqlite3") as store:
        assert store.ledger_campaign(CAMPAIGN) is None, "a dry run must not start the ledger"


def test_review_send_is_one_per_language_and_not_counted(
        workspace: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server()
    prepare(workspace, server)
    result = run(workspace, "send", CAMPAIGN, "--to", "reviewer@example.org")
    assert result.returncode == 0, result.stderr
    received = server.mailbox.messages()
    assert sorted(m.parsed()["Content-Language"] for m in received) == ["en", "nl"]
    assert {m.rcpt_tos for m in received} == {("reviewer@example.org",)}
    assert "has not been sent yet" in run(workspace, "status", CAMPAIGN).stdout


def test_send_then_status_then_nothing_left(workspace: Path,
                                            smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server(faults={"reject": {"lid010@example.org": "550 5.1.1 no such user"}})
    prepare(workspace, server)
    result = run(workspace, "send", CAMPAIGN, "--yes")
    assert result.returncode == 1  # one failed
    assert sorted(server.mailbox.recipients()) == sorted(
        e for e, _, _ in PEOPLE if e != "lid010@example.org")
    status = run(workspace, "status", CAMPAIGN).stdout
    assert "lid010@example.org" in status and "5.1.1 no such user" in status
    again = run(workspace, "send", CAMPAIGN, "--yes")
    assert again.returncode == 0 and "Nothing left to send" in again.stdout
    assert server.mailbox.count() == len(PEOPLE) - 1


def test_ctrl_c_finishes_in_flight_and_resumes(workspace: Path,
                                               smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server(faults={"delay_ms": 100})
    prepare(workspace, server)
    sender = subprocess.Popen([sys.executable, "-m", "postduif", "send", CAMPAIGN, "--yes"],
                              cwd=workspace, env={**os.environ, "POSTDUIF_TOKEN_KEY": KEY},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server.mailbox.wait_for(8)
    sender.send_signal(signal.SIGINT)
    out, err = sender.communicate(timeout=60)
    assert sender.returncode == 1, err
    assert f"Resume with: postduif send {CAMPAIGN}" in out
    states: Counter[str] = Counter()
    with Store.open(workspace / "lists/postduif.sqlite3") as store:
        for _, state, number in store.ledger_counts(CAMPAIGN):
            states[state] += number
    assert states["sending"] == 0 and states["unknown"] == 0
    assert states["sent"] == server.mailbox.count() < len(PEOPLE)
    resumed = run(workspace, "send", CAMPAIGN, "--yes")
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(server.mailbox.recipients()) == sorted(e for e, _, _ in PEOPLE)


def test_welcome_is_quiet_and_once(workspace: Path,
                                   smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server()
    prepare(workspace, server)  # moved from another tool: already welcomed
    for email, lang in (("nieuw@example.org", "en"), ("ook@example.org", "nl")):
        assert run(workspace, "subscribers", "add", email, "--language", lang).returncode == 0
    first = run(workspace, "welcome")
    assert first.returncode == 0 and first.stdout == "" and first.stderr == ""
    assert sorted(server.mailbox.recipients()) == ["nieuw@example.org", "ook@example.org"]
    subjects = {m.rcpt_tos[0]: m.parsed()["Subject"] for m in server.mailbox.messages()}
    assert subjects["nieuw@example.org"].startswith("Please confirm")
    assert run(workspace, "welcome").stdout == ""
    assert server.mailbox.count() == 2


def test_a_campaign_with_errors_is_not_sent(workspace: Path,
                                            smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server()
    prepare(workspace, server)
    page = workspace / "content/posts/2026-12/index.en.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nTODO: add the photo\n",
                    encoding="utf-8")
    for args in (("--dry-run",), ("--yes",), ("--to", "reviewer@example.org")):
        result = run(workspace, "send", CAMPAIGN, *args)
        assert result.returncode == 1
        assert "index.en.md" in result.stdout and "leftover placeholder" in result.stdout
        assert f"Error: campaign '{CAMPAIGN}' has 1 error(s)" in result.stderr
    assert server.mailbox.count() == 0
    assert not (workspace / "outbox" / CAMPAIGN).exists()
    assert "has not been sent yet" in run(workspace, "status", CAMPAIGN).stdout
