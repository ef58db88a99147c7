"""The join page promises members the newsletter: approving a request keeps that promise.

``lists/leden.toml`` names ``also_subscribe = ["nieuwsbrief"]``; everything runs as an organiser
would, as real processes on a copy of the sample workspace, with a real SMTP server for the
welcome emails.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from postduif.store import Store

from .conftest_smtp import SmtpServer
from .test_cli_send import run

STORE = "lists/postduif.sqlite3"
REQUEST = {"email": "Sam@Example.org", "firstName": "Sam", "lastName": "Visser",
           "socialLink1": "https://social.example/@sam", "organization": "", "goals": "x"}


def request(workspace: Path, email: str = "Sam@Example.org") -> None:
    (workspace / "joins.json").write_text(json.dumps([{**REQUEST, "email": email}]),
                                          encoding="utf-8")
    imported = run(workspace, "joins", "import", "joins.json", "--list", "leden", "--language",
                   "en")
    assert imported.returncode == 0, imported.stdout + imported.stderr


def statuses(workspace: Path, email: str) -> dict[str, str]:
    with Store.open(workspace / STORE) as store:
        subscriber = store.get(email)
        assert subscriber is not None
        return {m.list: m.status for m in subscriber.memberships}


def point_at(workspace: Path, server: SmtpServer) -> None:
    config = workspace / "postduif.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("port = 1025",
                                                                 f"port = {server.port}"),
                      encoding="utf-8")


def test_approval_subscribes_to_the_newsletter_and_welcomes_once(
        workspace: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server()
    point_at(workspace, server)
    request(workspace)
    assert statuses(workspace, "sam@example.org") == {"leden": "pending"}

    approved = run(workspace, "joins", "approve", "sam@example.org")
    assert approved.returncode == 0, approved.stderr
    assert "also subscribed to nieuwsbrief" in approved.stdout
    assert statuses(workspace, "sam@example.org") == {"leden": "confirmed",
                                                      "nieuwsbrief": "confirmed"}
    with Store.open(workspace / STORE) as store:
        events = [(e.list, e.event, e.source) for e in store.consent_log("sam@example.org")]
        member = store.get("sam@example.org")
    assert ("nieuwsbrief", "confirmed", "command:joins approve: approved on leden") in events
    assert member is not None and member.membership("nieuwsbrief").language == "en"

    assert run(workspace, "welcome").returncode == 0
    assert [(list(m.rcpt_tos), m.parsed()["Content-Language"])
            for m in server.mailbox.messages()] \
        == [(["sam@example.org"], "en")], "one welcome: the members' list's own"
    listed = run(workspace, "send", "2026-12-community-update", "--dry-run")
    assert listed.returncode == 0 and "sam@example.org" in listed.stdout


def test_someone_who_left_the_newsletter_is_not_added_back(workspace: Path) -> None:
    assert run(workspace, "subscribers", "add", "sam@example.org", "--list",
               "nieuwsbrief").returncode == 0
    assert run(workspace, "subscribers", "unsubscribe", "sam@example.org", "--list",
               "nieuwsbrief").returncode == 0
    request(workspace)
    approved = run(workspace, "joins", "approve", "sam@example.org")
    assert approved.returncode == 0, approved.stderr
    assert "not subscribed to nieuwsbrief: left it earlier" in approved.stdout
    assert statuses(workspace, "sam@example.org") == {"leden": "confirmed",
                                                      "nieuwsbrief": "unsubscribed"}


def test_a_rejected_request_subscribes_to_nothing(workspace: Path) -> None:
    request(workspace)
    assert run(workspace, "joins", "reject", "sam@example.org").returncode == 0
    assert statuses(workspace, "sam@example.org") == {"leden": "rejected"}


def test_a_wrong_list_name_or_key_is_named_with_its_line(workspace: Path) -> None:
    leden = workspace / "lists/leden.toml"
    text = leden.read_text(encoding="utf-8")
    line = text.splitlines().index('also_subscribe = ["nieuwsbrief"]') + 1
    leden.write_text(text.replace('["nieuwsbrief"]', '["nieuwsbrieff"]'), encoding="utf-8")
    checked = run(workspace, "check")
    assert checked.returncode == 1
    assert (f"lists/leden.toml:{line}: error: also_subscribe names 'nieuwsbrieff', which is "
            "no list") in checked.stdout
    leden.write_text(text.replace("also_subscribe =", "also_subscribes ="), encoding="utf-8")
    shown = run(workspace, "lists", "show")
    assert shown.returncode == 1
    assert (f"lists/leden.toml:{line}: unknown key 'also_subscribes'; did you mean "
            "also_subscribe?") in shown.stderr
