"""Sending faults as an organiser meets them: a server stopped with SIGSTOP, a crash that left
rows ``sending``, a review address that is no address, a welcome email whose fate is unknown.

Real processes throughout: the CLI, the fault sink (``tests/smtp_sink.py``) and a SQLite file.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from postduif.send import ledger_status
from postduif.store import Store

from .conftest_smtp import SmtpServer
from .test_cli_send import CAMPAIGN, KEY, PEOPLE, prepare, run

TIMEOUT = 1.0  # [smtp] timeout in these tests, seconds


def set_timeout(workspace: Path, seconds: float) -> None:
    config = workspace / "postduif.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[smtp]\n", f"[smtp]\ntimeout = {seconds}\n", 1),
                      encoding="utf-8")


def store_of(workspace: Path) -> Store:
    return Store.open(workspace / "lists/postduif.sqlite3")


def test_a_server_stopped_with_sigstop_pauses_the_run_within_the_timeout(
        workspace: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server(faults={"delay_ms": 200})
    prepare(workspace, server)
    set_timeout(workspace, TIMEOUT)
    sender = subprocess.Popen([sys.executable, "-m", "postduif", "send", CAMPAIGN, "--yes"],
                              cwd=workspace, env={**os.environ, "POSTDUIF_TOKEN_KEY": KEY},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server.mailbox.wait_for(8, timeout=30)
    os.kill(server.process.pid, signal.SIGSTOP)
    stopped = time.monotonic()
    out, err = sender.communicate(timeout=60)
    took = time.monotonic() - stopped
    # One timeout for the commands in flight, one short goodbye; retrying each connection
    # (the old behaviour) took over 8 s with a 1 s timeout, minutes with the default 60 s.
    assert took < 3 * TIMEOUT + 2, (took, out, err)
    assert sender.returncode == 1
    assert "Traceback" not in out + err
    assert "Paused" in err and "stopped answering" in err, err
    assert f"Resume with: postduif send {CAMPAIGN}" in out
    with store_of(workspace) as store:
        totals = ledger_status(store, CAMPAIGN).totals
    arrived = server.mailbox.count()
    assert totals.sending == 0 and totals.failed == 0
    assert totals.sent <= arrived <= totals.sent + totals.unknown
    assert totals.unknown <= 10  # at most one uncertain message per connection (10)
    assert totals.queued == len(PEOPLE) - totals.sent - totals.unknown > 0
    if totals.unknown:
        assert "--resend-unknown" in out

    os.kill(server.process.pid, signal.SIGCONT)
    resumed = run(workspace, "send", CAMPAIGN, "--yes")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert (("--resend-unknown" in resumed.stdout) == (totals.unknown > 0)), resumed.stdout
    with store_of(workspace) as store:
        assert ledger_status(store, CAMPAIGN).totals.queued == 0


def test_rows_left_sending_count_as_unknown_not_queued(
        workspace: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server()
    prepare(workspace, server)
    assert run(workspace, "send", CAMPAIGN, "--yes").returncode == 0
    clean = run(workspace, "status", CAMPAIGN).stdout
    assert "not yet checked" not in clean and "--resend-unknown" not in clean
    with store_of(workspace) as store:  # what a crash mid-DATA leaves behind
        store.prepare_ledger(CAMPAIGN, resend_unknown=False)
        store._conn.execute("UPDATE ledger SET state = 'sending' WHERE id = "
                            "(SELECT MIN(id) FROM ledger)")
    status = run(workspace, "status", CAMPAIGN).stdout
    assert "unknown (not yet checked): lid001@example.org" in status, status
    # The bound on what a killed run leaves unknown, from the workspace's [smtp] settings.
    assert "1 unknown; a run that is killed leaves at most 80 ([smtp] batch 8 x connections 10)" \
        in " ".join(status.split()), status
    # queued 0, sent all but one, failed 0, unknown 1
    assert re.search(rf"all\s+│\s+0\s+│\s+{len(PEOPLE) - 1}\s+│\s+0\s+│\s+1\s+│", status), status
    assert "--resend-unknown" in status
    resumed = run(workspace, "send", CAMPAIGN, "--yes")  # nothing queued: still says so
    assert "Nothing left to send." in resumed.stdout
    assert "1 message(s) may or may not have arrived" in resumed.stdout
    with store_of(workspace) as store:
        assert ledger_status(store, CAMPAIGN).totals.uncertain == 1
    assert server.mailbox.count() == len(PEOPLE)


def test_send_to_an_invalid_address_sends_nothing_and_says_why(
        workspace: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server()
    prepare(workspace, server)
    bad = run(workspace, "send", CAMPAIGN, "--to", "not-an-address")
    assert bad.returncode == 1
    assert "Error: --to 'not-an-address' is not an email address" in bad.stderr, bad.stderr
    assert "sent to" not in bad.stdout and "Traceback" not in bad.stderr
    assert server.mailbox.count() == 0
    good = run(workspace, "send", CAMPAIGN, "--to", "Reviewer@Example.org")
    assert good.returncode == 0 and "sent to Reviewer@Example.org" in good.stdout
    assert server.mailbox.count() == 2


def test_a_welcome_email_of_unknown_fate_is_shown_and_resent(
        workspace: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    lost, fine = "lost@example.org", "fine@example.org"
    server = smtp_server(faults={"drop_after_data": [lost]})
    prepare(workspace, server)
    for email in (lost, fine):
        assert run(workspace, "subscribers", "add", email, "--language", "en").returncode == 0
    first = run(workspace, "welcome")
    assert first.returncode == 1
    assert f"confirmation to {lost} failed: unknown, may not have arrived" in first.stderr
    assert "postduif welcome --resend-unknown" in first.stderr
    shown = run(workspace, "subscribers", "show", lost).stdout
    assert "nieuwsbrief: confirmation sent at " in shown
    assert "may not have arrived" in shown
    assert "may not have arrived" not in run(workspace, "subscribers", "show", fine).stdout
    assert run(workspace, "welcome").returncode == 0  # a plain run does not resend it
    assert server.mailbox.recipients().count(lost) == 0

    resent = run(workspace, "welcome", "--resend-unknown", "--verbose")
    assert resent.returncode == 0, resent.stderr
    assert f"confirmation sent to {lost}" in resent.stdout
    assert fine not in resent.stdout  # delivered for sure: never resent
    assert server.mailbox.recipients().count(lost) == 1
    assert "may not have arrived" not in run(workspace, "subscribers", "show", lost).stdout


def test_a_welcome_killed_before_the_reply_leaves_the_email_marked(
        workspace: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server(faults={"delay_ms": 30000})  # stores the message, then waits
    prepare(workspace, server)
    assert run(workspace, "subscribers", "add", "kill@example.org",
               "--language", "nl").returncode == 0
    welcome = subprocess.Popen([sys.executable, "-m", "postduif", "welcome"], cwd=workspace,
                               env={**os.environ, "POSTDUIF_TOKEN_KEY": KEY},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    server.mailbox.wait_for(1, timeout=30)
    welcome.kill()
    welcome.wait(timeout=10)
    shown = run(workspace, "subscribers", "show", "kill@example.org").stdout
    assert "confirmation sent at " in shown and "may not have arrived" in shown
