"""The public web app in-process: real tokens, a real SQLite store, the sample workspace."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from postduif.audience.tokens import make_token
from postduif.errors import PostduifError
from postduif.store import Person, Store
from postduif.web import MAX_BODY_BYTES, create_app
from postduif.web.app import MAX_JSON_DEPTH
from postduif.workspace import Workspace

KEY = "a-test-key-that-is-long-enough"
BASE = "http://127.0.0.1"
ANN = "ann@example.org"
# The shape the site's join form posts (see shared/corpus/README.md).
JOIN = {
    "email": "Bea.Bakker@Example.org", "firstName": "Bea", "lastName": "Bakker",
    "socialLink1": "https://social.example/@bea", "socialLink2": "",
    "organization": "Voorbeeld BV", "goals": "Organising my workplace.\r\nAnd learning.",
}


@pytest.fixture
def ws(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("POSTDUIF_TOKEN_KEY", KEY)
    return Workspace.open(workspace)


@pytest.fixture
def client(ws: Workspace) -> Iterator[TestClient]:
    with TestClient(create_app(ws, send_greetings=False), base_url=BASE,
                    follow_redirects=False) as c:
        yield c


@pytest.fixture
def store(ws: Workspace, client: TestClient) -> Iterator[Store]:
    """A second connection to the store the app writes (the app created it when it started)."""
    with Store.open(ws.settings.database) as opened:
        yield opened


def _add(store: Store, email: str, list_name: str, status: str) -> None:
    event = "requested" if status == "pending" else "confirmed"
    store.join(Person(email=email, first_name="Ann"), list=list_name, status=status, event=event,
               source="test", consent_version="", default_language="nl")


def _token(action: str, email: str = ANN, list_name: str = "nieuwsbrief", *,
            ttl: timedelta = timedelta(days=1)) -> str:
    return make_token(KEY.encode(), action=action, email=email, list=list_name, ttl=ttl)


def _status(store: Store, email: str, list_name: str) -> str | None:
    subscriber = store.get(email)
    membership = subscriber.membership(list_name) if subscriber else None
    return membership.status if membership else None


def _events(store: Store, email: str) -> list[tuple[str, str, str]]:
    return [(e.list, e.event, e.source) for e in store.consent_log(email)]


# ---------------------------------------------------------------------------- unsubscribe


def test_get_unsubscribe_only_asks(client: TestClient, store: Store) -> None:
    _add(store, ANN, "nieuwsbrief", "confirmed")
    token = _token("unsubscribe")
    for _ in range(3):  # a mail scanner may fetch the link any number of times
        page = client.get("/nl/newsletter/unsubscribe/", params={"token": token})
        assert page.status_code == 200
    assert ANN in page.text and "Nieuwsbrief Techwerkers" in page.text
    assert '<html lang="nl">' in page.text
    assert '<form method="post"' in page.text and html.escape(token) in page.text
    assert page.headers["cache-control"] == "no-store"
    assert _status(store, ANN, "nieuwsbrief") == "confirmed"
    assert _events(store, ANN) == [("nieuwsbrief", "confirmed", "test")]


def test_one_click_post_unsubscribes_once(client: TestClient, store: Store) -> None:
    _add(store, ANN, "nieuwsbrief", "confirmed")
    _add(store, ANN, "leden", "confirmed")
    url = f"/en/newsletter/unsubscribe/?token={_token('unsubscribe')}"
    for _ in range(2):  # RFC 8058: what a mail client sends; the second one changes nothing
        done = client.post(url, data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200
        assert ANN in done.text and "Tech Workers Coalition newsletter" in done.text
    assert _status(store, ANN, "nieuwsbrief") == "unsubscribed"
    assert _status(store, ANN, "leden") == "confirmed"  # only the list the link was for
    assert _events(store, ANN)[-1] == ("nieuwsbrief", "unsubscribed", "web:unsubscribe")
    assert [e for e in _events(store, ANN) if e[1] == "unsubscribed"] == [
        ("nieuwsbrief", "unsubscribed", "web:unsubscribe")]


def test_the_pages_button_posts_to_the_same_link(client: TestClient, store: Store) -> None:
    """The RFC 8058 example body is multipart; the token in the URL is all that counts."""
    _add(store, ANN, "nieuwsbrief", "confirmed")
    token = _token("unsubscribe")
    page = client.get("/nl/newsletter/unsubscribe/", params={"token": token})
    action = html.unescape(page.text.split('action="', 1)[1].split('"', 1)[0])
    body = (b'--XYZ\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
            b"One-Click\r\n--XYZ--\r\n")
    done = client.post(action, content=body,
                       headers={"content-type": "multipart/form-data; boundary=XYZ"})
    assert done.status_code == 200
    assert _status(store, ANN, "nieuwsbrief") == "unsubscribed"


def test_a_forgotten_address_gets_the_done_page(client: TestClient, store: Store) -> None:
    store.forget(ANN, source="test")
    done = client.post(f"/nl/newsletter/unsubscribe/?token={_token('unsubscribe')}")
    assert done.status_code == 200
    assert store.get(ANN) is None


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_tampered_token_is_refused(client: TestClient, store: Store, method: str) -> None:
    _add(store, ANN, "nieuwsbrief", "confirmed")
    token = _token("unsubscribe")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    page = client.request(method, "/nl/newsletter/unsubscribe/", params={"token": tampered})
    assert page.status_code == 400
    assert "this link is not valid" in page.text
    assert _status(store, ANN, "nieuwsbrief") == "confirmed"


def test_expired_and_wrong_kind_tokens_are_refused(client: TestClient, store: Store) -> None:
    _add(store, ANN, "nieuwsbrief", "confirmed")
    expired = _token("unsubscribe", ttl=timedelta(days=-1))
    page = client.post(f"/en/newsletter/unsubscribe/?token={expired}")
    assert page.status_code == 400 and "has expired" in page.text
    confirm_link = client.post(f"/en/newsletter/unsubscribe/?token={_token('confirm')}")
    assert confirm_link.status_code == 400
    assert client.get("/en/newsletter/unsubscribe/").status_code == 400  # no token at all
    assert _status(store, ANN, "nieuwsbrief") == "confirmed"


# ---------------------------------------------------------------------------- subscribe, confirm


def test_subscribe_then_confirm(client: TestClient, store: Store) -> None:
    sent = client.post("/en/newsletter/subscribe", data={"email": " Ann@Example.org "})
    assert sent.status_code == 303
    assert sent.headers["location"] == "/en/newsletter/subscribed/"  # no address in the URL
    page = client.get(sent.headers["location"])
    assert page.status_code == 200 and "check your inbox" in page.text
    assert '<html lang="en">' in page.text and ANN not in page.text
    subscriber = store.get(ANN)
    assert subscriber is not None and subscriber.language == "en"
    assert _status(store, ANN, "nieuwsbrief") == "pending"
    assert _events(store, ANN) == [("nieuwsbrief", "requested", "web:subscribe")]

    url = f"/en/newsletter/confirm/?token={_token('confirm')}"
    ask = client.get(url)
    assert ask.status_code == 200 and '<form method="post"' in ask.text
    assert _status(store, ANN, "nieuwsbrief") == "pending"
    for _ in range(2):
        assert client.post(url).status_code == 200
    assert _status(store, ANN, "nieuwsbrief") == "confirmed"
    assert _events(store, ANN)[1:] == [("nieuwsbrief", "confirmed", "web:confirm")]


def test_confirm_does_not_bring_back_a_leaver(client: TestClient, store: Store) -> None:
    _add(store, ANN, "nieuwsbrief", "pending")
    store.set_status(ANN, "nieuwsbrief", "unsubscribed", event="unsubscribed", source="test")
    refused = client.post(f"/nl/newsletter/confirm/?token={_token('confirm')}")
    assert refused.status_code == 409 and ANN in refused.text
    assert _status(store, ANN, "nieuwsbrief") == "unsubscribed"


def _confirmation_sent_at(store: Store, email: str = ANN) -> str | None:
    subscriber = store.get(email)
    membership = subscriber.membership("nieuwsbrief") if subscriber else None
    assert membership is not None and membership.status == "pending"
    return membership.confirmation_sent_at


def test_subscribing_again_asks_for_a_new_confirmation(ws: Workspace, client: TestClient,
                                                       store: Store) -> None:
    """An expired confirmation link says "sign up again": that must send a new one, but not
    more than one a day, however often the form is sent."""
    _add(store, ANN, "nieuwsbrief", "pending")
    store.mark_sent(ANN, "nieuwsbrief", "confirmation")
    for _ in range(5):
        assert client.post("/nl/newsletter/subscribe", data={"email": ANN}).status_code == 303
    assert _confirmation_sent_at(store) is not None  # sent just now: not again today

    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    with Store.open(ws.settings.database, clock=lambda: two_days_ago) as earlier:
        earlier.clear_sent(ANN, "nieuwsbrief", "confirmation")
        earlier.mark_sent(ANN, "nieuwsbrief", "confirmation")
    assert client.post("/nl/newsletter/subscribe", data={"email": ANN}).status_code == 303
    assert _confirmation_sent_at(store) is None  # due again
    assert _events(store, ANN) == [("nieuwsbrief", "requested", "test")]  # one request


def test_subscribe_refuses_a_bad_address(client: TestClient, store: Store) -> None:
    page = client.post("/nl/newsletter/subscribe", data={"email": "not an address"})
    assert page.status_code == 400 and '<html lang="nl">' in page.text
    answer = client.post("/nl/newsletter/subscribe", json={"email": ""})
    assert answer.status_code == 400 and answer.json()["field"] == "email"
    assert store.counts() == []


@pytest.mark.parametrize("address", ["\u0430nn@example.org", "\uff41nn@example.org"])
def test_the_forms_refuse_a_lookalike_address(client: TestClient, store: Store,
                                              address: str) -> None:
    """Nobody who could judge a warning sees the form's answer, so the form refuses it; an
    organiser can still add the address by hand (with a warning)."""
    answer = client.post("/nl/newsletter/subscribe", json={"email": address})
    assert answer.status_code == 400 and answer.json()["field"] == "email"
    assert "mixes letters of different scripts" in answer.json()["message"]
    assert client.post("/nl/newsletter/subscribe", json={"email": ANN}).status_code == 200
    assert [row[0] for row in store.counts()] == ["nieuwsbrief"]


def test_a_leaver_who_signs_up_again_must_confirm_again(client: TestClient,
                                                      store: Store) -> None:
    _add(store, ANN, "nieuwsbrief", "confirmed")
    store.set_status(ANN, "nieuwsbrief", "unsubscribed", event="unsubscribed", source="test")
    before = _events(store, ANN)
    fresh = client.post("/nl/newsletter/subscribe", data={"email": "new@example.org"})
    again = client.post("/nl/newsletter/subscribe", data={"email": ANN})
    assert again.status_code == fresh.status_code == 303
    assert again.headers["location"] == fresh.headers["location"]
    json_fresh = client.post("/nl/newsletter/subscribe", json={"email": "other@example.org"})
    json_again = client.post("/nl/newsletter/subscribe", json={"email": ANN})
    assert json_again.json() == json_fresh.json() == {"result": "success"}
    assert _confirmation_sent_at(store) is None  # the confirmation email is due
    assert _events(store, ANN) == [*before, ("nieuwsbrief", "requested", "web:subscribe")]


def test_a_forgotten_rejected_or_blocklisted_address_is_told_success_and_stays_out(
        client: TestClient, store: Store) -> None:
    _add(store, ANN, "leden", "pending")
    store.set_status(ANN, "leden", "rejected", event="rejected", source="test")
    store.forget("gone@example.org", source="test")
    _add(store, "blocked@example.org", "nieuwsbrief", "confirmed")  # blocklisted in listmonk
    store.set_status("blocked@example.org", "nieuwsbrief", "unsubscribed", event="unsubscribed",
                     source="test")
    store.suppress("blocked@example.org", reason="blocklisted", source="test")
    blocked_before = _events(store, "blocked@example.org")
    before = _events(store, ANN)
    assert client.post("/nl/join", json={**JOIN, "email": ANN}).json() == {"result": "success"}
    gone = client.post("/nl/newsletter/subscribe", data={"email": "gone@example.org"})
    assert gone.status_code == 303
    assert _status(store, ANN, "leden") == "rejected" and _events(store, ANN) == before
    assert store.get("gone@example.org") is None
    blocked = client.post("/nl/newsletter/subscribe", data={"email": "blocked@example.org"})
    assert blocked.status_code == 303
    assert _status(store, "blocked@example.org", "nieuwsbrief") == "unsubscribed"
    assert _events(store, "blocked@example.org") == blocked_before


# ---------------------------------------------------------------------------- join


def test_join_adds_a_pending_member_in_the_page_language(client: TestClient,
                                                         store: Store) -> None:
    answer = client.post("/en/join", json=JOIN)
    assert answer.status_code == 200 and answer.json() == {"result": "success"}
    subscriber = store.get("bea.bakker@example.org")
    assert subscriber is not None
    assert (subscriber.first_name, subscriber.last_name, subscriber.organization) == (
        "Bea", "Bakker", "Voorbeeld BV")
    assert subscriber.social_links == ("https://social.example/@bea",)
    assert subscriber.goals == "Organising my workplace.\nAnd learning."
    membership = subscriber.membership("leden")
    assert membership is not None
    assert (membership.status, membership.language) == ("pending", "en")
    assert _events(store, subscriber.email) == [("leden", "requested", "web:join")]


@pytest.mark.parametrize(("origin", "accepted"), [
    ("https://www.techwerkers.nl", True), (None, True),
    ("https://www.techwerkers.nl:443", True),  # the default port, written out
    ("https://WWW.Techwerkers.NL", True),
    ("http://www.techwerkers.nl", False),  # the bare host matched before; the scheme did not
    ("https://www.techwerkers.nl:8443", False),
    ("https://techwerkers.nl", False),  # exact: the apex is another origin (add it if used)
    ("https://evil.example", False), ("https://techwerkers.nl.evil.example", False),
    ("null", False)])
def test_forms_are_only_accepted_from_the_site_itself(client: TestClient, store: Store,
                                                     origin: str | None, accepted: bool) -> None:
    headers = {"Origin": origin} if origin else {}
    joined = client.post("/nl/join", json=JOIN, headers=headers)
    subscribed = client.post("/nl/newsletter/subscribe", data={"email": ANN}, headers=headers)
    assert (joined.status_code, subscribed.status_code) == ((200, 303) if accepted else (403, 403))
    assert (store.get("bea.bakker@example.org") is not None) is accepted
    assert (store.get(ANN) is not None) is accepted


def test_join_accepts_a_plain_form(client: TestClient, store: Store) -> None:
    """No JavaScript: the browser follows a 303 to the site's own success page."""
    answer = client.post("/nl/join", data=JOIN,
                         headers={"Origin": "https://www.techwerkers.nl"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "https://www.techwerkers.nl/nl/join/success/"
    membership = store.get("bea.bakker@example.org")
    assert membership is not None and membership.language == "nl"


def test_a_plain_form_error_is_a_page_in_the_language(client: TestClient, store: Store) -> None:
    answer = client.post("/en/join", data={**JOIN, "socialLink1": "javascript:alert(1)"})
    assert answer.status_code == 400 and '<html lang="en">' in answer.text
    assert "Something in the form is not right" in answer.text and "socialLink1" in answer.text
    refused = client.post("/nl/join", data=JOIN, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and '<html lang="nl">' in refused.text
    assert "Dit formulier werkt hier niet" in refused.text
    assert store.counts() == []


def test_join_does_not_overwrite_an_existing_member(client: TestClient, store: Store) -> None:
    _add(store, "bea.bakker@example.org", "leden", "confirmed")
    assert client.post("/en/join", json=JOIN).json() == {"result": "success"}
    subscriber = store.get("bea.bakker@example.org")
    assert subscriber is not None and subscriber.first_name == "Ann"
    assert subscriber.language == "nl" and subscriber.organization == ""


@pytest.mark.parametrize(("change", "field"), [
    ({"email": "bea@"}, "email"),
    ({"email": None}, "email"),
    ({"firstName": "Bea\r\nBcc: everyone@example.org"}, "firstName"),
    ({"lastName": "Bak\nker"}, "lastName"),
    ({"socialLink1": "", "socialLink2": ""}, "socialLink1"),
    ({"organization": {"name": "nested"}}, "organization"),
    ({"goals": "x" * 5001}, "goals"),
    ({"email": "bea.b\u0430kker@example.org"}, "email"),  # a Cyrillic a: a lookalike
    ({"firstName": "Bea\u202e"}, "firstName"),  # a right-to-left override
    ({"organization": "\u2066Voorbeeld BV"}, "organization"),
])
def test_join_names_the_bad_field(client: TestClient, store: Store, change: dict[str, object],
                                  field: str) -> None:
    answer = client.post("/nl/join", json={**JOIN, **change})
    assert answer.status_code == 400
    body = answer.json()
    assert body["result"] == "error" and body["field"] == field
    assert body["message"].startswith(f"{field}: ")
    assert store.counts() == []


def test_a_lone_surrogate_is_a_field_error(client: TestClient, store: Store) -> None:
    """JSON may escape half a character ("\\ud800"); SQLite could not store it (was a 500)."""
    body = json.dumps({**JOIN, "firstName": "Bea\ud800"})  # ensure_ascii: escaped as JSON does
    answer = client.post("/nl/join", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400 and answer.json()["field"] == "firstName"
    assert store.counts() == []


@pytest.mark.parametrize(("content", "kind", "status"), [
    (b"[1, 2]", "application/json", 400),
    (b'{"email": ', "application/json", 400),
    (b'{"email": "\xff"}', "application/json", 400),
    (b"email=bea%40example.org", "text/plain", 415),
])
def test_join_refuses_what_is_not_one_request(client: TestClient, store: Store, content: bytes,
                                              kind: str, status: int) -> None:
    answer = client.post("/nl/join", content=content, headers={"content-type": kind})
    assert answer.status_code == status and answer.json()["result"] == "error"
    assert store.counts() == []


@pytest.mark.parametrize("content", [
    b"[" * 30_000 + b"]" * 30_000,  # deep enough for a RecursionError in the parser
    b'{"email": ' + b"[" * 21 + b"]" * 21 + b"}",  # just past MAX_JSON_DEPTH
    b'{"email": ' + b"1" * 5000 + b"}",  # more digits than Python converts to an int
    b'{"email": "bea\\ud800@example.org", "socialLink1": "https://a.example"}',  # lone surrogate
    b'"bea@example.org"', b"null", b"",
])
@pytest.mark.parametrize("path", ["/nl/join", "/nl/newsletter/subscribe"])
def test_hostile_json_is_a_400_with_a_message(ws: Workspace, store: Store, content: bytes,
                                              path: str) -> None:
    """Never a 500: the client gets a reason, the store stays empty."""
    with TestClient(create_app(ws, send_greetings=False), base_url=BASE,
                    raise_server_exceptions=False) as c:
        answer = c.post(path, content=content, headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["result"] == "error" and body["message"]
    assert "Traceback" not in answer.text
    assert store.counts() == []


def test_nesting_within_the_limit_is_only_a_field_error(client: TestClient) -> None:
    nested: object = "x"
    for _ in range(MAX_JSON_DEPTH - 2):
        nested = [nested]
    answer = client.post("/nl/join", json={**JOIN, "organization": nested})
    assert answer.status_code == 400 and answer.json()["field"] == "organization"


@pytest.mark.parametrize(("field", "link"), [
    ("socialLink1", "javascript:alert(document.cookie)"),
    ("socialLink1", "JavaScript:alert(1)"),
    ("socialLink1", "data:text/html,<script>alert(1)</script>"),
    ("socialLink1", "ftp://files.example/bea"),
    ("socialLink1", "mailto:bea@example.org"),
    ("socialLink1", "/relative/path"),
    ("socialLink1", "https://"),
    ("socialLink1", "https://bank.example@evil.example/"),
    ("socialLink2", "vbscript:msgbox"),
])
def test_social_links_must_be_web_addresses(client: TestClient, store: Store, field: str,
                                            link: str) -> None:
    answer = client.post("/nl/join", json={**JOIN, field: link})
    assert answer.status_code == 400
    body = answer.json()
    assert body["field"] == field and body["message"].startswith(f"{field}: ")
    assert store.counts() == []


def test_a_link_without_scheme_gets_https(client: TestClient, store: Store) -> None:
    answer = client.post("/nl/join", json={**JOIN, "socialLink1": "linkedin.com/in/bea",
                                           "socialLink2": "http://bea.example"})
    assert answer.json() == {"result": "success"}
    subscriber = store.get("bea.bakker@example.org")
    assert subscriber is not None
    assert subscriber.social_links == ("https://linkedin.com/in/bea", "http://bea.example")


@pytest.mark.parametrize("as_json", [True, False])
def test_a_filled_honeypot_looks_like_success_and_stores_nothing(
        client: TestClient, store: Store, as_json: bool) -> None:
    def post(path: str, fields: dict[str, str]) -> tuple[int, str]:
        answer = (client.post(path, json=fields) if as_json else
                  client.post(path, data=fields))
        return answer.status_code, answer.text + answer.headers.get("location", "")

    human = post("/nl/join", {**JOIN, "nonce": ""})
    bot = post("/nl/join", {**JOIN, "email": "bot@example.org", "nonce": "x"})
    assert bot == human
    human = post("/en/newsletter/subscribe", {"email": ANN, "nonce": "", "l": "a-list-uuid"})
    bot = post("/en/newsletter/subscribe", {"email": "bot@example.org", "nonce": "filled"})
    assert bot == human
    assert store.get("bot@example.org") is None
    assert store.get(ANN) is not None and store.get("bea.bakker@example.org") is not None


def test_listmonk_form_fields_are_accepted(client: TestClient, store: Store) -> None:
    """The real newsletter forms post listmonk's email, nonce and l: l is not an error."""
    answer = client.post("/nl/newsletter/subscribe", data={
        "email": ANN, "nonce": "", "l": "3c4a2f7e-0000-4000-8000-000000000000"})
    assert answer.status_code == 303
    assert _status(store, ANN, "nieuwsbrief") == "pending"


def test_subscribe_success_can_be_the_sites_page(workspace: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTDUIF_TOKEN_KEY", KEY)
    config = workspace / "postduif.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        'subscribe_success = ""', 'subscribe_success = "{base_url}{lang}/newsletter/thanks/"'),
        encoding="utf-8")
    with TestClient(create_app(Workspace.open(workspace), send_greetings=False), base_url=BASE,
                    follow_redirects=False) as c:
        answer = c.post("/en/newsletter/subscribe", data={"email": ANN})
    assert answer.status_code == 303
    assert answer.headers["location"] == "https://www.techwerkers.nl/en/newsletter/thanks/"


def test_pages_link_back_to_the_site(client: TestClient) -> None:
    """The app runs on a host of its own: "back to the website" must leave it."""
    page = client.get("/en/newsletter/subscribed/")
    assert 'href="https://www.techwerkers.nl/en/"' in page.text


def test_an_oversize_body_is_refused(client: TestClient, store: Store) -> None:
    huge = {**JOIN, "goals": "x" * MAX_BODY_BYTES}
    assert client.post("/nl/join", json=huge).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
        yield b'{"goals": "'
        for _ in range(MAX_BODY_BYTES // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    streamed = client.post("/nl/join", content=chunks(),
                           headers={"content-type": "application/json"})
    assert streamed.status_code == 413 and streamed.json()["result"] == "error"
    page = client.post("/nl/newsletter/subscribe", data={"email": "x" * MAX_BODY_BYTES})
    assert page.status_code == 413 and '<html lang="nl">' in page.text
    assert store.counts() == []


def test_a_forgotten_address_is_told_success_but_not_added(client: TestClient,
                                                           store: Store) -> None:
    store.forget("bea.bakker@example.org", source="test")
    answer = client.post("/nl/join", json=JOIN)
    assert answer.status_code == 200 and answer.json() == {"result": "success"}
    assert store.get("bea.bakker@example.org") is None
    assert store.counts() == []


# ---------------------------------------------------------------------------- the app itself


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/", 404),
    ("GET", "/nl/", 404),
    ("POST", "/de/join", 404),
    ("GET", "/fr/newsletter/unsubscribe/", 404),
    ("GET", "/nl/join", 405),
    ("GET", "/nl/newsletter/subscribe", 405),
])
def test_only_the_routes_answer(client: TestClient, method: str, path: str,
                                status: int) -> None:
    answer = client.request(method, path)
    assert answer.status_code == status
    assert "access-control-allow-origin" not in answer.headers


def test_no_cors_for_other_sites(client: TestClient) -> None:
    answer = client.post("/nl/join", json=JOIN, headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in answer.headers
    preflight = client.options("/nl/join", headers={
        "origin": "https://evil.example", "access-control-request-method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers


def test_the_app_refuses_to_start_without_a_token_key(
        workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POSTDUIF_TOKEN_KEY", raising=False)
    with pytest.raises(PostduifError, match="POSTDUIF_TOKEN_KEY is not set"):
        create_app(Workspace.open(workspace))


def test_the_app_refuses_to_start_without_page_strings(ws: Workspace) -> None:
    path = ws.settings.templates_dir / "strings.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text("\n".join(line for line in text.splitlines()
                              if not line.startswith("web_busy")), encoding="utf-8")
    with pytest.raises(PostduifError, match="web_busy"):
        create_app(ws)


def test_pages_are_in_the_language_of_the_path(client: TestClient, store: Store) -> None:
    _add(store, ANN, "nieuwsbrief", "confirmed")
    token = _token("unsubscribe")
    nl = client.get("/nl/newsletter/unsubscribe/", params={"token": token}).text
    en = client.get("/en/newsletter/unsubscribe/", params={"token": token}).text
    assert "Nieuwsbrief Techwerkers" in nl and "Tech Workers Coalition newsletter" in en
    assert '<html lang="en">' in en
    assert nl != en.replace('lang="en"', 'lang="nl"')

