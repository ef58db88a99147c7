"""The preference page: real tokens, a real SQLite store, the real app in-process, and the
next campaign composed (and dry-run by the real command) in the language chosen there."""

from __future__ import annotations

import email
import html
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from postduif.audience.greetings import Greeter, Greeting, due
from postduif.audience.membership import save_preferences
from postduif.audience.tokens import make_token, read_token
from postduif.build import envelope
from postduif.errors import ConfigError, StoreError
from postduif.lists import available_lists
from postduif.send.compose import Composer
from postduif.store import Person, Store
from postduif.web import create_app
from postduif.workspace import Workspace

KEY = "a-test-key-that-is-long-enough"
BASE = "http://127.0.0.1"
ANN = "ann@example.org"
CAMPAIGN = "2026-12-community-update"
PAGE = "/nl/newsletter/preferences/"


#: A second open list (no approval), to show beside the newsletter on its preference page.
EVENTS_LIST = """name = "activiteiten"
optin = "double"
default_language = "nl"
[title]
nl = "Uitnodigingen voor activiteiten"
en = "Invitations to events"
"""


@pytest.fixture
def ws(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("POSTDUIF_TOKEN_KEY", KEY)
    (workspace / "lists" / "activiteiten.toml").write_text(EVENTS_LIST, encoding="utf-8")
    return Workspace.open(workspace)


@pytest.fixture
def client(ws: Workspace) -> Iterator[TestClient]:
    with TestClient(create_app(ws, send_greetings=False), base_url=BASE) as c:
        yield c


@pytest.fixture
def store(ws: Workspace, client: TestClient) -> Iterator[Store]:
    """A second connection to the store the app writes (the app created it when it started)."""
    with Store.open(ws.settings.database) as opened:
        yield opened


def _add(store: Store, address: str, list_name: str, status: str, language: str = "nl") -> None:
    """``address`` on ``list_name`` with ``status``, reached the way the real flow gets there."""
    first = "confirmed" if status in ("confirmed", "unsubscribed", "bounced", "complained") \
        else "pending"
    store.join(Person(email=address, first_name="Ann", language=language), list=list_name,
               status=first, event="confirmed" if first == "confirmed" else "requested",
               source="test", consent_version="", default_language="nl")
    if status != first:
        store.set_status(address, list_name, status, event=status if status != "pending"
                         else "requested", source="test")


def _token(action: str = "preferences", address: str = ANN, list_name: str = "nieuwsbrief", *,
           ttl: timedelta = timedelta(days=1)) -> str:
    return make_token(KEY.encode(), action=action, email=address, list=list_name, ttl=ttl)


def _status(store: Store, address: str, list_name: str) -> str | None:
    subscriber = store.get(address)
    membership = subscriber.membership(list_name) if subscriber else None
    return membership.status if membership else None


def _events(store: Store, address: str = ANN) -> list[tuple[str, str, str]]:
    return [(e.list, e.event, e.source) for e in store.consent_log(address)]


def _inputs(page: str) -> list[dict[str, str]]:
    """Every <input> of a page as its attributes (a bare attribute maps to "")."""
    found = []
    for tag in re.findall(r"<input\b([^>]*)>", page):
        found.append({name: html.unescape(value or "") for name, _, value in
                      re.findall(r'([a-z-]+)(="([^"]*)")?', tag)})
    return found


def _form_of(page: str) -> list[tuple[str, str]]:
    """What a browser would post for the first form as shown: checked boxes, enabled, hidden."""
    form = page.split("</form>", 1)[0]
    fields = []
    for attrs in _inputs(form):
        if "disabled" in attrs:
            continue
        if attrs.get("type") in ("radio", "checkbox") and "checked" not in attrs:
            continue
        fields.append((attrs["name"], attrs["value"]))
    return fields


def _post(client: TestClient, fields: list[tuple[str, str]], *, lang: str = "nl",
          token: str | None = None) -> str:
    answer = client.post(f"/{lang}/newsletter/preferences/",
                         params={"token": token or _token()},
                         content="&".join(f"{k}={v}" for k, v in fields),
                         headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200, answer.text
    return answer.text


def _changed(fields: list[tuple[str, str]], **values: str | list[str]) -> list[tuple[str, str]]:
    """``fields`` with some names set to other values (a list for repeated names)."""
    kept = [(k, v) for k, v in fields if k not in values]
    for name, value in values.items():
        kept += [(name, v) for v in ([value] if isinstance(value, str) else value)]
    return kept


# ---------------------------------------------------------------------------- showing


def test_get_shows_language_and_lists_and_changes_nothing(client: TestClient,
                                                         store: Store) -> None:
    _add(store, ANN, "nieuwsbrief", "confirmed")
    _add(store, ANN, "leden", "pending")
    _add(store, ANN, "activiteiten", "pending")
    before = _events(store)
    token = _token()  # once: a token made a second later carries a later expiry
    for _ in range(3):  # mail scanners and link previews fetch links, maybe more than once
        page = client.get(PAGE, params={"token": token})
        assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "form-action 'self'" in page.headers["content-security-policy"]
    text = page.text
    assert '<html lang="nl">' in text and "<h1>Je voorkeuren</h1>" in text and ANN in text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    # Nothing loaded or linked from elsewhere but the way back to the site; forms post here.
    assert text.count("://") == 1 and 'class="back" href="https://www.techwerkers.nl/nl/"' in text
    inputs = {(i["name"], i["value"]): i for i in _inputs(text)}
    assert "checked" in inputs["language", "nl"] and "checked" not in inputs["language", "en"]
    assert '<span lang="en">English</span>' in text and '<span lang="nl">Nederlands</span>' in text
    newsletter = inputs["list", "nieuwsbrief"]
    assert "checked" in newsletter and "disabled" not in newsletter
    # A members list (approval = true) is not shown on a newsletter's link: a forwarded
    # newsletter must not tell whoever reads it that the reader is (or wants to be) a member.
    assert ("list", "leden") not in inputs and "Leden van Techwerkers" not in text
    events = inputs["list", "activiteiten"]
    assert "disabled" in events and "checked" not in events
    assert "Nieuwsbrief Techwerkers" in text and "Uitnodigingen voor activiteiten" in text
    assert "wacht nog op bevestiging of op goedkeuring" in text
    # The list the link came from comes first, although "activiteiten" sorts before it.
    assert text.index("Nieuwsbrief Techwerkers") < text.index("Uitnodigingen voor activiteiten")
    assert text.count('<label class="choice">') == 4  # every input has its label
    assert 'value="leave"' in text and "Afmelden voor alles" in text
    action = html.unescape(text.split('action="', 1)[1].split('"', 1)[0])
    assert action == f"{PAGE}?token={token}"
    assert _events(store) == before
    assert _status(store, ANN, "nieuwsbrief") == "confirmed"


def test_the_page_is_in_the_links_language(client: TestClient, store: Store) -> None:
    _add(store, ANN, "nieuwsbrief", "confirmed", language="en")
    page = client.get("/en/newsletter/preferences/", params={"token": _token()}).text
    assert '<html lang="en">' in page and "<h1>Your preferences</h1>" in page
    assert "checked" in {(i["name"], i["value"]): i for i in _inputs(page)}["language", "en"]
    assert "Tech Workers Coalition newsletter" in page


# ---------------------------------------------------------------------------- saving


def test_post_changes_the_language_everywhere_and_logs_it(client: TestClient,
                                                          store: Store) -> None:
    _add(store, ANN, "nieuwsbrief", "confirmed")
    _add(store, ANN, "leden", "confirmed")
    token = _token()  # once: a token made a second later carries a later expiry
    form = _form_of(client.get(PAGE, params={"token": token}).text)
    answer = _post(client, _changed(form, language="en"))
    subscriber = store.get(ANN)
    assert subscriber is not None and subscriber.language == "en"
    assert {m.list: m.language for m in subscriber.memberships} == {"leden": "en",
                                                                     "nieuwsbrief": "en"}
    assert [e for e in _events(store) if e[1] == "language"] == [
        ("leden", "language", "web:preferences nl->en"),
        ("nieuwsbrief", "language", "web:preferences nl->en")]
    # The answer is in the new language, and leads back to the page in that language.
    assert '<html lang="en">' in answer and "Your preferences are saved" in answer
    assert "From now on our emails to you will be in English." in answer
    assert f'href="/en/newsletter/preferences/?token={token}"' in answer
    assert _status(store, ANN, "nieuwsbrief") == "confirmed"  # the lists are as they were
    # The page now shows English; saving it unchanged changes nothing.
    again = client.get("/en/newsletter/preferences/", params={"token": _token()}).text
    assert "checked" in {(i["name"], i["value"]): i for i in _inputs(again)}["language", "en"]
    events = _events(store)
    assert "Nothing was changed." in _post(client, _form_of(again), lang="en")
    assert _events(store) == events


def test_unticking_unsubscribes_and_reticking_asks_for_a_confirmation(client: TestClient,
                                                                     store: Store) -> None:
    _add(store, ANN, "nieuwsbrief", "confirmed")
    form = _form_of(client.get(PAGE, params={"token": _token()}).text)
    assert ("list", "nieuwsbrief") in form and ("shown", "nieuwsbrief") in form
    answer = _post(client, [f for f in form if f != ("list", "nieuwsbrief")])
    assert "Je bent afgemeld voor Nieuwsbrief Techwerkers." in answer
    assert _status(store, ANN, "nieuwsbrief") == "unsubscribed"
    page = client.get(PAGE, params={"token": _token()}).text
    box = {(i["name"], i["value"]): i for i in _inputs(page)}["list", "nieuwsbrief"]
    assert "checked" not in box and "disabled" not in box  # unticked, and may be ticked again
    answer = _post(client, _changed(_form_of(page), list="nieuwsbrief"))
    assert ("We hebben je een e-mail gestuurd om Nieuwsbrief Techwerkers te bevestigen."
            in answer)
    # A new request, not a new consent: the link may be in anyone's hands.
    assert _status(store, ANN, "nieuwsbrief") == "pending"
    assert _events(store)[-2:] == [("nieuwsbrief", "unsubscribed", "web:preferences"),
                                   ("nieuwsbrief", "requested", "web:preferences")]
    assert store.consent_log(ANN)[-1].consent_version == "2026-11"  # the list's current text


def test_a_blocklisted_address_cannot_tick_a_list_again(client: TestClient,
                                                        store: Store) -> None:
    """Blocklisted in listmonk: unsubscribed everywhere and suppressed; the page says so."""
    _add(store, ANN, "nieuwsbrief", "unsubscribed")
    store.suppress(ANN, reason="blocklisted", source="test")
    page = client.get(PAGE, params={"token": _token()}).text
    box = {(i["name"], i["value"]): i for i in _inputs(page)}["list", "nieuwsbrief"]
    assert "disabled" in box and "We sturen geen e-mails meer naar dit adres." in page
    _post(client, [("shown", "nieuwsbrief"), ("list", "nieuwsbrief")])  # a forged form
    assert _status(store, ANN, "nieuwsbrief") == "unsubscribed"


def test_a_list_not_on_the_form_is_left_alone(client: TestClient, store: Store) -> None:
    """A list joined after the page was loaded has no box yet: its absence is no "no"."""
    _add(store, ANN, "nieuwsbrief", "confirmed")
    form = _form_of(client.get(PAGE, params={"token": _token()}).text)
    _add(store, ANN, "leden", "confirmed")
    _post(client, form)
    assert _status(store, ANN, "leden") == "confirmed"
    assert _status(store, ANN, "nieuwsbrief") == "confirmed"


@pytest.mark.parametrize(("status", "note"), [
    ("bounced", "kwamen niet aan"), ("complained", "als spam gemeld"),
    ("rejected", "niet goedgekeurd"), ("pending", "wacht nog op bevestiging")])
def test_a_list_that_cannot_change_ignores_a_forged_form(client: TestClient, store: Store,
                                                         status: str, note: str) -> None:
    _add(store, ANN, "nieuwsbrief", status)
    page = client.get(PAGE, params={"token": _token()}).text
    assert "disabled" in {(i["name"], i["value"]): i for i in _inputs(page)}["list", "nieuwsbrief"]
    assert note in page.split('class="note"', 1)[1].split("</p>", 1)[0]
    assert ("shown", "nieuwsbrief") not in _form_of(page)
    events = _events(store)
    for forged in ([("list", "nieuwsbrief"), ("shown", "nieuwsbrief"), ("do", "save")],
                   [("shown", "nieuwsbrief"), ("do", "save")]):
        assert "Er is niets veranderd." in _post(client, forged)
        assert _status(store, ANN, "nieuwsbrief") == status
    assert _events(store) == events


def test_an_approval_list_takes_back_nobody_without_review(client: TestClient,
                                                           store: Store) -> None:
    """Leaving a members' list while the request waited must not skip the organisers' vetting,
    and a member who was approved once and left goes back to the organisers too."""
    _add(store, ANN, "leden", "pending")
    store.set_status(ANN, "leden", "unsubscribed", event="unsubscribed", source="test")
    page = client.get(PAGE, params={"token": _token(list_name="leden")}).text
    assert "disabled" in {(i["name"], i["value"]): i for i in _inputs(page)}["list", "leden"]
    assert "Opnieuw meedoen kan via het formulier op de website." in page
    _post(client, [("list", "leden"), ("shown", "leden")], token=_token(list_name="leden"))
    assert _status(store, ANN, "leden") == "unsubscribed"

    bea = "bea@example.org"
    _add(store, bea, "leden", "pending")
    store.set_status(bea, "leden", "confirmed", event="approved", source="test")
    store.set_status(bea, "leden", "unsubscribed", event="unsubscribed", source="test")
    token = _token(address=bea, list_name="leden")
    answer = _post(client, [("list", "leden"), ("shown", "leden")], token=token)
    assert "een organisator bekijkt hem" in answer
    assert _status(store, bea, "leden") == "pending"
    assert [s.email for s in store.pending("leden")] == [bea]  # what `joins review` lists


def test_unsubscribe_from_everything(client: TestClient, store: Store) -> None:
    _add(store, ANN, "nieuwsbrief", "confirmed")
    _add(store, ANN, "activiteiten", "pending")
    _add(store, ANN, "leden", "confirmed")
    page = client.get(PAGE, params={"token": _token()}).text
    leave = page.split("</form>")[1]
    assert 'name="do" value="leave"' in leave and "<input" not in leave  # needs no other field
    answer = _post(client, [("do", "leave")])
    assert "Je bent overal voor afgemeld" in answer and ANN in answer
    assert "Je bent afgemeld voor Uitnodigingen voor activiteiten." in answer
    assert _status(store, ANN, "nieuwsbrief") == "unsubscribed"
    assert _status(store, ANN, "activiteiten") == "unsubscribed"
    assert sorted(e for e in _events(store) if e[2] == "web:preferences all") == [
        ("activiteiten", "unsubscribed", "web:preferences all"),
        ("nieuwsbrief", "unsubscribed", "web:preferences all")]
    # Everything the page showed: the members list is left to the links of members' emails.
    assert _status(store, ANN, "leden") == "confirmed"
    assert "Er is niets veranderd." in _post(client, [("do", "leave")])


def test_unsubscribe_from_everything_keeps_a_bounce_a_bounce(client: TestClient,
                                                            store: Store) -> None:
    _add(store, ANN, "nieuwsbrief", "confirmed")
    _add(store, ANN, "leden", "bounced")
    _post(client, [("do", "leave")])
    assert _status(store, ANN, "nieuwsbrief") == "unsubscribed"
    assert _status(store, ANN, "leden") == "bounced"


def test_an_unknown_language_or_a_strange_body_changes_nothing(client: TestClient,
                                                              store: Store) -> None:
    _add(store, ANN, "nieuwsbrief", "confirmed")
    events = _events(store)
    assert "Er is niets veranderd." in _post(client, [("language", "de"), ("do", "save")])
    for body, kind in ((b"\xff\xfe", "application/x-www-form-urlencoded"),
                       (b'{"language": "en"}', "application/json"),
                       (b"", "text/plain")):
        answer = client.post(PAGE, params={"token": _token()}, content=body,
                             headers={"content-type": kind})
        assert answer.status_code == 200 and "Er is niets veranderd." in answer.text
    assert _events(store) == events
    subscriber = store.get(ANN)
    assert subscriber is not None and subscriber.language == "nl"


def test_a_too_large_form_is_refused_unread(client: TestClient, store: Store) -> None:
    _add(store, ANN, "nieuwsbrief", "confirmed")
    answer = client.post(PAGE, params={"token": _token()},
                         content=b"language=en&" + b"x" * 20_000,
                         headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413 and "Dat is te veel" in answer.text
    subscriber = store.get(ANN)
    assert subscriber is not None and subscriber.language == "nl"


# ---------------------------------------------------------------------------- refused links


@pytest.mark.parametrize("action", ["unsubscribe", "confirm"])
def test_a_token_for_another_action_is_refused(client: TestClient, store: Store,
                                               action: str) -> None:
    _add(store, ANN, "nieuwsbrief", "confirmed")
    token = _token(action)
    for answer in (client.get(PAGE, params={"token": token}),
                   client.post(PAGE, params={"token": token}, data={"do": "leave"})):
        assert answer.status_code == 400 and "Deze link werkt niet" in answer.text
        assert "this link is not a preferences link" in answer.text
    assert _status(store, ANN, "nieuwsbrief") == "confirmed"


def test_a_preferences_token_cannot_unsubscribe(client: TestClient, store: Store) -> None:
    _add(store, ANN, "nieuwsbrief", "confirmed")
    answer = client.post("/nl/newsletter/unsubscribe/", params={"token": _token()})
    assert answer.status_code == 400
    assert _status(store, ANN, "nieuwsbrief") == "confirmed"


def test_expired_and_broken_links_get_the_invalid_link_page(client: TestClient,
                                                            store: Store) -> None:
    _add(store, ANN, "nieuwsbrief", "confirmed")
    expired = _token(ttl=timedelta(seconds=-1))
    page = client.get(PAGE, params={"token": expired})
    assert page.status_code == 400 and "this preferences link has expired" in page.text
    for token in ("", "nonsense", _token()[:-3]):
        assert client.get(PAGE, params={"token": token}).status_code == 400
    assert client.get("/de/newsletter/preferences/", params={"token": _token()}).status_code \
        == 404


def test_a_forgotten_address_is_told_and_nothing_is_stored(client: TestClient,
                                                           store: Store) -> None:
    _add(store, ANN, "nieuwsbrief", "confirmed")
    store.forget(ANN, source="test")
    events = _events(store)
    for answer in (client.get(PAGE, params={"token": _token()}),
                   client.post(PAGE, params={"token": _token()},
                               data={"language": "en", "list": "nieuwsbrief",
                                     "shown": "nieuwsbrief"}),
                   client.post(PAGE, params={"token": _token()}, data={"do": "leave"})):
        assert answer.status_code == 200 and "Geen gegevens gevonden" in answer.text
        assert ANN in answer.text
    assert store.get(ANN) is None
    assert _events(store) == events


def test_missing_page_strings_stop_the_app(workspace: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTDUIF_TOKEN_KEY", KEY)
    strings = workspace / "templates" / "strings.toml"
    strings.write_text(re.sub(r"(?m)^web_preferences_again = .*\n", "",
                              strings.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(ConfigError, match="web_preferences_again"):
        create_app(Workspace.open(workspace))


# ---------------------------------------------------------------------------- the emails


def _parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _parts(msg: EmailMessage) -> tuple[str, str]:
    html_part, text_part = msg.get_body(("html",)), msg.get_body(("plain",))
    assert html_part is not None and text_part is not None
    return html_part.get_content(), text_part.get_content()


def _preferences_links(msg: EmailMessage, label: str) -> tuple[str, str]:
    """The preference link of the HTML footer (by its label) and of the text footer."""
    html_body, text_body = _parts(msg)
    [from_html] = re.findall(rf'<a href="([^"]+)"[^>]*>{re.escape(label)}</a>', html_body)
    lines = text_body.splitlines()
    from_text = lines[lines.index(f"{label}:") + 1]
    return html.unescape(from_html), from_text


def test_a_newsletters_footer_links_to_a_working_preference_page(
        ws: Workspace, client: TestClient, store: Store) -> None:
    plan = ws.plan(ws.campaign(CAMPAIGN))
    compose = Composer(ws.render(plan), envelope(ws, plan), list_name="nieuwsbrief",
                       unsubscribe_url=ws.settings.unsubscribe_url,
                       preferences_url=ws.settings.preferences_url,
                       base_url=ws.site.config.base_url, token_key=KEY.encode())
    for address, variant, label in ((ANN, "nl", "Voorkeuren aanpassen"),
                                     ("jo@example.org", "en", "Manage preferences")):
        _add(store, address, "nieuwsbrief", "confirmed", language=variant)
        msg = _parse(compose(_Target(address, "", variant)))
        link, same = _preferences_links(msg, label)
        assert link == same
        assert link.startswith(f"{ws.settings.web.public_url}{variant}/newsletter/preferences/")
        token = parse_qs(urlsplit(link).query)["token"][0]
        assert read_token(KEY.encode(), token, action="preferences") == (address,
                                                                         "nieuwsbrief")
        unsubscribe = msg["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
        assert parse_qs(urlsplit(unsubscribe).query)["token"][0] != token
        page = client.get(urlsplit(link).path, params={"token": token})
        assert page.status_code == 200 and address in page.text
        assert f'<html lang="{variant}">' in page.text


class _Target:
    def __init__(self, address: str, name: str, variant: str) -> None:
        self.email, self.name, self.variant = address, name, variant


def test_welcome_emails_link_to_preferences_and_confirmations_do_not(ws: Workspace) -> None:
    lists = {name: ws.list_def(name) for name in available_lists(ws.settings.lists_dir)}
    greeter = Greeter(ws, lists, KEY.encode())
    welcome = _parse(greeter.compose(Greeting("welcome", ANN, "Ann", "nieuwsbrief", "en")))
    link, _ = _preferences_links(welcome, "Manage preferences")
    assert link.startswith(f"{ws.settings.web.public_url}en/newsletter/preferences/?token=")
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert read_token(KEY.encode(), token, action="preferences") == (ANN, "nieuwsbrief")
    confirmation = greeter.compose(Greeting("confirmation", ANN, "Ann", "nieuwsbrief", "nl"))
    html_body, text_body = _parts(_parse(confirmation))
    assert "/preferences/" not in html_body and "/preferences/" not in text_body
    assert "Voorkeuren aanpassen" not in html_body + text_body


# ---------------------------------------------------------------------------- end to end


def _cli(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "postduif", *args], cwd=workspace,
                            env={**os.environ, "POSTDUIF_TOKEN_KEY": KEY},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _dry_run(workspace: Path) -> dict[str, EmailMessage]:
    """``send --dry-run``: each recipient's message, by address."""
    _cli(workspace, "send", CAMPAIGN, "--dry-run")
    messages = {}
    for path in (workspace / "outbox" / CAMPAIGN).glob("*.eml"):
        msg = _parse(path.read_bytes())
        messages[msg["To"].addresses[0].addr_spec] = msg
    return messages


def test_the_next_campaign_arrives_in_the_language_chosen(workspace: Path, ws: Workspace,
                                                          client: TestClient) -> None:
    """Import, dry-run, follow the footer link, choose English, dry-run again: English."""
    people = workspace / "people.csv"
    people.write_text("email,naam,taal\nann@example.org,Ann de Wit,nl\n"
                      "bob@example.org,Bob Bakker,nl\n", encoding="utf-8")
    _cli(workspace, "joins", "import", "people.csv", "--list", "nieuwsbrief", "--confirmed")
    before = _dry_run(workspace)
    assert before[ANN]["Content-Language"] == "nl"
    link, _ = _preferences_links(before[ANN], "Voorkeuren aanpassen")

    page = client.get(urlsplit(link).path, params=parse_qs(urlsplit(link).query))
    assert page.status_code == 200 and "Je voorkeuren" in page.text
    action = html.unescape(page.text.split('action="', 1)[1].split('"', 1)[0])
    form = _changed(_form_of(page.text), language="en")
    answer = client.post(action, data=dict(form))
    assert answer.status_code == 200 and '<html lang="en">' in answer.text

    after = _dry_run(workspace)
    assert after[ANN]["Content-Language"] == "en"
    assert after[ANN]["Subject"].startswith("Techwerkers in December")
    assert after["bob@example.org"]["Content-Language"] == "nl"  # nobody else changed
    link, _ = _preferences_links(after[ANN], "Manage preferences")
    assert "/en/newsletter/preferences/" in link
    with Store.open(ws.settings.database) as store:
        assert [(e.list, e.source) for e in store.consent_log(ANN) if e.event == "language"] \
            == [("nieuwsbrief", "web:preferences nl->en")]


def test_store_set_language_logs_only_real_changes(store: Store) -> None:
    _add(store, ANN, "nieuwsbrief", "confirmed")
    assert not store.set_language(ANN, "nl", source="test")
    assert store.set_language(ANN.upper(), "en", source="test")
    assert not store.set_language(ANN, "en", source="test")
    assert [e for e in _events(store) if e[1] == "language"] == [
        ("nieuwsbrief", "language", "test nl->en")]
    with pytest.raises(StoreError, match="no subscriber nobody@example.org"):
        store.set_language("nobody@example.org", "en", source="test")


def test_a_single_opt_in_list_ticked_again_asks_for_a_confirmation_too(
        workspace: Path, ws: Workspace) -> None:
    """A single opt-in list admits new members from an import without an email; someone who
    left it and ticks it on a (maybe forwarded) preference link still confirms by email."""
    (workspace / "lists" / "kort.toml").write_text(
        EVENTS_LIST.replace('"activiteiten"', '"kort"').replace('"double"', '"single"'),
        encoding="utf-8")
    lists = {name: ws.list_def(name) for name in available_lists(ws.settings.lists_dir)}
    assert lists["kort"].optin == "single" and not lists["kort"].approval
    with Store.open(ws.settings.database) as store:
        _add(store, ANN, "kort", "unsubscribed")
        store.mark_sent(ANN, "kort", "welcome")
        assert list(due(store, list(lists.values()))) == []
        changes = save_preferences(store, ANN, lists, link_list="kort", language="",
                                   subscribed={"kort"}, shown={"kort"}, resend_after=None)
        assert changes.to_confirm == ("kort",) and not changes.to_review
        assert _status(store, ANN, "kort") == "pending"
        assert [(g.kind, g.list) for g in due(store, list(lists.values()))] == [
            ("confirmation", "kort")]
