"""Each list's welcome email says what that list is, in both languages: a newsletter subscriber
is not told their membership was approved. The sample workspace's lists, greeted by real
``postduif welcome`` processes through the real aiosmtpd server."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from postduif.workspace import Workspace

from .conftest import REPO
from .conftest_smtp import SmtpServer
from .test_cli_send import run

STRINGS = tomllib.loads((REPO / "templates" / "strings.toml").read_text(encoding="utf-8"))
#: (list, language) -> the address greeted
PEOPLE = {("nieuwsbrief", "nl"): "lezer@example.org", ("nieuwsbrief", "en"): "reader@example.org",
          ("leden", "nl"): "lid@example.org", ("leden", "en"): "member@example.org"}
#: What only a member may be told, per language.
APPROVAL = {"nl": "goedgekeurd", "en": "approved"}


def flat(text: str) -> str:
    return " ".join(text.split())


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return flat(part.get_content())


def use_server(workspace: Path, server: SmtpServer) -> None:
    config = workspace / "postduif.toml"
    config.write_text(re.sub(r"(?m)^port = \d+", f"port = {server.port}",
                             config.read_text(encoding="utf-8")), encoding="utf-8")


def greet_everyone(workspace: Path, server: SmtpServer) -> dict[str, EmailMessage]:
    """Newsletter readers confirm by their link, members are approved; the welcome emails."""
    use_server(workspace, server)
    for (list_name, lang), email in PEOPLE.items():
        added = run(workspace, "subscribers", "add", email, "--list", list_name,
                    "--language", lang)
        assert added.returncode == 0, added.stderr
    assert run(workspace, "welcome").returncode == 0
    for message in server.mailbox.messages():
        html = message.parsed().get_body(("html",))
        assert html is not None
        link = re.search(r'href="([^"]*/confirm/[^"]*)"', html.get_content())
        assert link is not None
        token = parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query)["token"][0]
        assert run(workspace, "subscribers", "confirm", token).returncode == 0
    for (list_name, _), email in PEOPLE.items():
        if list_name == "leden":
            assert run(workspace, "joins", "approve", email).returncode == 0
    before = server.mailbox.count()
    welcome = run(workspace, "welcome")
    assert welcome.returncode == 0, welcome.stderr
    return {m.rcpt_tos[0]: m.parsed() for m in server.mailbox.messages()[before:]}


def test_each_list_welcomes_in_its_own_words_in_both_languages(
        workspace: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    welcomes = greet_everyone(workspace, smtp_server())
    titles = Workspace.open(workspace).site.config.titles
    assert sorted(welcomes) == sorted(PEOPLE.values())  # one welcome each, the only one
    for (list_name, lang), email in PEOPLE.items():
        msg = welcomes[email]
        text = text_of(msg)
        assert msg["Content-Language"] == lang
        words = tomllib.loads((workspace / "lists" / f"{list_name}.toml").read_text(
            encoding="utf-8"))["welcome_template"].replace("-", "_")
        t = STRINGS[lang]
        assert msg["Subject"] == t[f"{words}_heading"].format(site=titles[lang])
        for paragraph in t[f"{words}_body"]:
            assert flat(paragraph.format(site=titles[lang])) in text, (email, paragraph)
        if list_name == "leden":
            assert APPROVAL[lang] in text
        else:
            assert APPROVAL[lang] not in text, text  # a reader is no member
            assert ("nieuwsbrief" if lang == "nl" else "newsletter") in msg["Subject"]
            assert ("per maand" if lang == "nl" else "a month") in text  # what it is


def test_the_general_welcome_claims_nothing_of_one_list(
        workspace: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    """A list without words of its own gets the general welcome, naming the list."""
    nieuwsbrief = workspace / "lists" / "nieuwsbrief.toml"
    nieuwsbrief.write_text(re.sub(r'(?m)^welcome_template = .*$', 'welcome_template = "welcome"',
                                  nieuwsbrief.read_text(encoding="utf-8")), encoding="utf-8")
    welcomes = greet_everyone(workspace, smtp_server())
    for lang in ("nl", "en"):
        text = text_of(welcomes[PEOPLE[("nieuwsbrief", lang)]])
        title = tomllib.loads(nieuwsbrief.read_text(encoding="utf-8"))["title"][lang]
        assert title in text and APPROVAL[lang] not in text
