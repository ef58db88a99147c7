"""The preference page as a person uses it: Chromium, ``postduif serve``, a real mail server.

Someone signs up through the form, confirms, gets the welcome email, leaves through its
preference link and later ticks the list again there. Ticking gives no consent by itself (the
link is valid for two years and travels with every forwarded email): the membership is
pending until the confirmation email that goes out is followed, and only then is the new
consent logged. All real: ``postduif serve`` and the aiosmtpd server of tests/smtp_sink.py in
child processes, Debian's Chromium through Playwright, the store as an SQLite file.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Browser, Page

from postduif.store import Store

from .conftest_smtp import SmtpServer
from .hostile.support import Step, run, step_problems
from .test_web_greetings import _point_at
from .web_support import Serve

ANN = "ann@example.org"
DATABASE = "lists/postduif.sqlite3"
MAIL_WAIT_S = 15


def _link(served: Serve, received: bytes, kind: str) -> str:
    """The ``kind`` link ("confirm", "preferences") of an email, on the test's server: the
    email points at the site's host, which the test's ``serve`` stands in for."""
    message = received.decode("utf-8", errors="replace")
    body = message.replace("=\r\n", "").replace("=\n", "")  # quoted-printable soft breaks
    found = re.search(rf"https?://[^\s\"'<>]+?(/[a-z]{{2}}/newsletter/{kind}/\?token=[\w%.=-]+)",
                      body)
    assert found, f"no {kind} link in the email"
    return served.url + found.group(1).replace("=3D", "=")


def _mail(smtp: SmtpServer, count: int) -> bytes:
    """The ``count``-th email the server took (waiting for it), as the raw message."""
    assert smtp.mailbox.wait_for(count, timeout=MAIL_WAIT_S) == count
    received = smtp.mailbox.messages()[count - 1]
    assert received.rcpt_tos == (ANN,)
    return received.parsed().get_body(("plain",)).get_content().encode()


def _state(workspace: Path, list_name: str = "nieuwsbrief") -> tuple[str, list[tuple[str, ...]]]:
    """The membership's status and the consent log as (list, event, source, version)."""
    with Store.open(workspace / DATABASE) as store:
        subscriber = store.get(ANN)
        membership = subscriber.membership(list_name) if subscriber else None
        assert membership is not None
        return membership.status, [(e.list, e.event, e.source, e.consent_version)
                                   for e in store.consent_log(ANN)]


def _save(page: Page, url: str, list_title: str, *, tick: bool) -> str:
    page.goto(url)
    box = page.get_by_label(list_title)
    assert box.is_enabled()
    box.set_checked(tick)
    page.get_by_role("button", name="Opslaan").click()
    page.wait_for_load_state()
    return page.inner_text("body")


def _confirm(page: Page, url: str) -> str:
    page.goto(url)
    page.get_by_role("button", name="Ja, bevestig mijn aanmelding").click()
    page.wait_for_load_state()
    return page.inner_text("body")


def test_ticking_a_list_again_asks_for_a_confirmation_and_confirming_it_subscribes(
        workspace: Path, smtp_server: Callable[..., SmtpServer],
        serve: Callable[..., Serve], browser: Browser) -> None:
    smtp = smtp_server()
    _point_at(workspace, smtp.port)
    # No daily limit: this person's first confirmation went out seconds ago.
    served = serve(send_greetings=True, greetings_retry_seconds=300, confirmations_per_day=0)
    page = browser.new_page()

    answer = httpx.post(f"{served.url}/nl/newsletter/subscribe", data={"email": ANN},
                        timeout=10)
    assert answer.status_code == 303
    assert "Dank je wel!" in _confirm(page, _link(served, _mail(smtp, 1), "confirm"))
    preferences = _link(served, _mail(smtp, 2), "preferences")  # the welcome email's footer

    text = _save(page, preferences, "Nieuwsbrief Techwerkers", tick=False)
    assert "Je bent afgemeld voor Nieuwsbrief Techwerkers." in text
    assert _state(workspace)[0] == "unsubscribed"

    text = _save(page, preferences, "Nieuwsbrief Techwerkers", tick=True)
    assert "We hebben je een e-mail gestuurd om Nieuwsbrief Techwerkers te bevestigen." in text
    status, log = _state(workspace)
    assert status == "pending"  # not subscribed until the new consent is given
    assert log[-1] == ("nieuwsbrief", "requested", "web:preferences", "2026-11")
    assert [e[1] for e in log].count("confirmed") == 1  # only the first sign-up's
    page.goto(preferences)  # the page shows the box untickable, and why
    assert page.get_by_label("Nieuwsbrief Techwerkers").is_disabled()
    assert "wacht nog op bevestiging" in page.inner_text("body")

    confirmation = _mail(smtp, 3)
    assert b"/newsletter/preferences/" not in confirmation  # a confirmation, not a newsletter
    assert "Dank je wel!" in _confirm(page, _link(served, confirmation, "confirm"))
    status, log = _state(workspace)
    assert status == "confirmed"
    assert log[-1] == ("nieuwsbrief", "confirmed", "web:confirm", "2026-11")
    page.goto(preferences)
    assert page.get_by_label("Nieuwsbrief Techwerkers").is_checked()
    time.sleep(1.5)  # the worker's round after the confirmation: no second welcome email
    assert smtp.mailbox.count() == 3


def test_a_member_taken_off_the_members_list_who_ticks_it_goes_to_the_organisers(
        workspace: Path, smtp_server: Callable[..., SmtpServer],
        serve: Callable[..., Serve], browser: Browser) -> None:
    smtp = smtp_server()
    _point_at(workspace, smtp.port)
    # The organiser's approval is a command, which wakes no worker: its next round does.
    served = serve(send_greetings=True, greetings_retry_seconds=0.5)
    answer = httpx.post(f"{served.url}/en/join", json={
        "email": ANN, "firstName": "Ann", "lastName": "Smit",
        "socialLink1": "https://social.example/@ann"}, timeout=10)
    assert answer.status_code == 200, answer.text
    for argv in (("joins", "approve", ANN), ("subscribers", "unsubscribe", ANN, "--list", "leden")):
        assert step_problems(run(workspace, Step(argv, 0), 60)) == []
    preferences = _link(served, _mail(smtp, 1), "preferences")  # the members' welcome email
    preferences = preferences.replace("/en/", "/nl/", 1)
    assert "/newsletter/preferences/" in urlsplit(preferences).path

    page = browser.new_page()
    text = _save(page, preferences, "Leden van Techwerkers", tick=True)
    assert "een organisator bekijkt hem" in text
    status, log = _state(workspace, "leden")
    assert status == "pending" and log[-1][:3] == ("leden", "requested", "web:preferences")
    with Store.open(workspace / DATABASE) as store:
        assert [s.email for s in store.pending("leden")] == [ANN]  # what `joins review` shows
    time.sleep(1.5)
    assert smtp.mailbox.count() == 1  # no confirmation email: an organiser decides
