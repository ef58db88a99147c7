"""Join requests, lists and subscribers through the real command line and a real SQLite file."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from postduif.audience.tokens import make_token
from postduif.store import Store

KEY = "test-key-0123456789-abcdef"
FORM = {"email": "Sam@Example.org", "firstName": "Sam", "lastName": "de Vries",
        "socialLink1": "https://mastodon.nl/@sam", "socialLink2": "", "organization": "Bol",
        "goals": "Een ondernemingsraad oprichten"}


def run(workspace: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POSTDUIF_TOKEN_KEY": KEY}
    return subprocess.run([sys.executable, "-m", "postduif", *args], cwd=workspace, env=env,
                          input=stdin, capture_output=True, text=True, timeout=120)


def store(workspace: Path) -> Store:
    return Store.open(workspace / "lists/postduif.sqlite3")


def test_join_request_to_approved_member(workspace: Path) -> None:
    (workspace / "join.json").write_text(json.dumps(FORM), encoding="utf-8")
    first = run(workspace, "joins", "import", "join.json", "--list", "leden", "--language", "en")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "1 added, 0 updated, 0 unchanged, 0 rejected" in first.stdout
    again = run(workspace, "joins", "import", "join.json", "--list", "leden", "--language", "en")
    assert "0 added, 0 updated, 1 unchanged, 0 rejected" in again.stdout
    with store(workspace) as s:
        sub = s.get("sam@example.org")
        assert sub is not None and sub.language == "en"
        assert sub.membership("leden").status == "pending"  # type: ignore[union-attr]
    shown = run(workspace, "lists", "show", "leden")
    assert "pending" in shown.stdout and "en" in shown.stdout
    assert run(workspace, "joins", "approve", "sam@example.org").returncode == 0
    twice = run(workspace, "joins", "approve", "sam@example.org")
    assert twice.returncode == 1 and "already confirmed" in twice.stderr
    with store(workspace) as s:
        events = [(e.list, e.event) for e in s.consent_log("sam@example.org")]
    assert events == [("leden", "requested"), ("leden", "approved"),
                      ("nieuwsbrief", "confirmed")]  # also_subscribe in lists/leden.toml


def test_review_needs_a_terminal(workspace: Path) -> None:
    result = run(workspace, "joins", "review")
    assert result.returncode == 1
    assert "needs a terminal" in result.stderr and "Traceback" not in result.stderr


def test_subscribers_add_splits_last_comma_first(workspace: Path) -> None:
    assert run(workspace, "subscribers", "add", "eva@example.org", "--name",
               "Jansen, Eva").returncode == 0
    with store(workspace) as s:
        eva = s.get("eva@example.org")
    assert eva is not None and (eva.first_name, eva.last_name) == ("Eva", "Jansen")


def test_double_opt_in_with_a_signed_token(workspace: Path) -> None:
    added = run(workspace, "subscribers", "add", "anna@example.org", "--list", "nieuwsbrief",
                "--language", "Engels")
    assert added.returncode == 0 and "added" in added.stdout
    token = make_token(KEY.encode(), action="confirm", email="anna@example.org",
                       list="nieuwsbrief", ttl=timedelta(days=2))
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    refused = run(workspace, "subscribers", "confirm", tampered)
    assert refused.returncode == 1 and "not valid" in refused.stderr
    assert run(workspace, "subscribers", "confirm", token).returncode == 0
    with store(workspace) as s:
        sub = s.get("anna@example.org")
    assert sub is not None and sub.language == "en"
    assert sub.membership("nieuwsbrief").status == "confirmed"  # type: ignore[union-attr]
    exported = run(workspace, "lists", "export", "nieuwsbrief", "--format", "csv")
    assert exported.stdout.splitlines()[1].startswith("anna@example.org,")


def test_export_then_forget_then_import_is_refused(workspace: Path) -> None:
    (workspace / "join.json").write_text(json.dumps([FORM]), encoding="utf-8")
    run(workspace, "joins", "import", "join.json", "--language", "nl")
    exported = json.loads(run(workspace, "subscribers", "export", "sam@example.org").stdout)
    assert exported["subscriber"]["organization"] == "Bol"
    assert run(workspace, "subscribers", "forget", "sam@example.org", "--yes").returncode == 0
    after = json.loads(run(workspace, "subscribers", "export", "sam@example.org").stdout)
    assert after["subscriber"] is None and after["suppressed"] is True
    again = run(workspace, "joins", "import", "join.json", "--language", "nl")
    assert again.returncode == 1
    assert "join.json:1: sam@example.org: address was forgotten" in again.stdout
    assert (workspace / "join.rejects.csv").is_file()


def test_moving_a_confirmed_list_keeps_them_confirmed(workspace: Path) -> None:
    (workspace / "export.csv").write_text(
        "email,name,language\nzoe@example.org,Zoë Jansen,en\nbo@example.org,Bo,nl\n",
        encoding="utf-8")
    result = run(workspace, "joins", "import", "export.csv", "--list", "nieuwsbrief",
                 "--confirmed")
    assert result.returncode == 0, result.stdout
    with store(workspace) as s:
        emails = sorted(sub.email for sub in s.members("nieuwsbrief", "confirmed"))
        log = s.consent_log("zoe@example.org")
        zoe = s.get("zoe@example.org")
    assert emails == ["bo@example.org", "zoe@example.org"]
    assert [(e.event, e.source) for e in log] == [("confirmed", "export.csv:2")]
    assert zoe is not None and zoe.memberships[0].welcomed_at is not None  # not greeted as new


def review_in_a_terminal(workspace: Path, answers: bytes) -> bytes:
    """Everything ``joins review`` writes to a real terminal (a pty) given ``answers``."""
    controller, terminal = pty.openpty()
    review = subprocess.Popen([sys.executable, "-m", "postduif", "joins", "review"],
                              cwd=workspace, stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    os.write(controller, answers)
    screen = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed: the review has ended
            break
        if not chunk:
            break
        screen += chunk
    assert review.wait(timeout=60) == 0, screen.decode(errors="replace")
    os.close(controller)
    return screen


def test_review_in_a_terminal_approves_rejects_and_skips(workspace: Path) -> None:
    people = [dict(FORM, email=f"{name}@example.org", firstName=name.title())
              for name in ("ada", "bob", "cem")]
    (workspace / "joins.json").write_text(json.dumps(people), encoding="utf-8")
    run(workspace, "joins", "import", "joins.json", "--language", "nl")
    screen = review_in_a_terminal(workspace, b"a\nr\ns\n")
    assert b"Ada" in screen and b"Een ondernemingsraad oprichten" in screen
    with store(workspace) as s:
        statuses = {e: s.get(f"{e}@example.org").membership("leden").status  # type: ignore[union-attr]
                    for e in ("ada", "bob", "cem")}
    assert statuses == {"ada": "confirmed", "bob": "rejected", "cem": "pending"}


def test_unsubscribing_from_every_list_keeps_why_others_stopped(workspace: Path) -> None:
    """A bounce or a refusal says more than "unsubscribed": it stays what it was."""
    for list_name in ("nieuwsbrief", "leden"):
        run(workspace, "subscribers", "add", "ben@example.org", "--list", list_name)
    with store(workspace) as s:
        s.set_status("ben@example.org", "leden", "rejected", event="rejected", source="test")
    result = run(workspace, "subscribers", "unsubscribe", "ben@example.org")
    assert result.returncode == 0, result.stdout + result.stderr
    with store(workspace) as s:
        ben = s.get("ben@example.org")
        assert ben is not None
        assert {m.list: m.status for m in ben.memberships} == {
            "nieuwsbrief": "unsubscribed", "leden": "rejected"}


def test_an_import_prints_a_warning_line_per_repeat_and_lookalike(workspace: Path) -> None:
    (workspace / "dubbel.csv").write_text(
        "email,voornaam\nsam@example.org,Sam\ns\u0430m@example.org,Sam\n"
        "Sam@Example.org,Samuel\n", encoding="utf-8")
    first = run(workspace, "joins", "import", "dubbel.csv", "--list", "leden")
    assert first.returncode == 0, first.stdout + first.stderr
    lines = first.stdout.splitlines()
    assert "2 added, 0 updated, 0 unchanged, 0 rejected" in lines
    assert ("dubbel.csv:4: Sam@Example.org: warning: line 4 repeats line 2; "
            "the later row wins") in lines
    assert any(line.startswith("dubbel.csv:3: s\u0430m@example.org: warning: mixes Latin")
               for line in lines)
    again = run(workspace, "joins", "import", "dubbel.csv", "--list", "leden")
    assert "0 added, 0 updated, 2 unchanged, 0 rejected" in again.stdout


def test_subscribers_add_warns_about_a_lookalike_address_only(workspace: Path) -> None:
    odd = run(workspace, "subscribers", "add", "\uff53am@example.org")
    assert odd.returncode == 0 and "\uff53am@example.org: added" in odd.stdout
    assert "warning: \uff53am@example.org: a fullwidth character U+FF53" in odd.stdout
    plain = run(workspace, "subscribers", "add", "sam@example.org")
    assert plain.returncode == 0 and "warning" not in plain.stdout


def test_subscribers_add_refuses_a_bidi_control_in_the_name(workspace: Path) -> None:
    result = run(workspace, "subscribers", "add", "eva@example.org", "--name", "Eva \u202eJansen")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "last_name: contains the bidirectional control character U+202E" in result.stderr
    with store(workspace) as s:
        assert s.get("eva@example.org") is None

