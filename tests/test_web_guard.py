"""The guards of the site's forms: CORS, rate limits, the daily join cap, trusted proxies.

Units first (origins, the sliding window with a clock the test moves), then the app
in-process with the sample workspace and a real SQLite store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from postduif.config import load_settings
from postduif.errors import ConfigError
from postduif.store import Store
from postduif.web import create_app
from postduif.web.guard import (
    DAY,
    PREFLIGHT_MAX_AGE,
    Cors,
    SlidingWindow,
    client_key,
    normalise_origin,
    origin_of,
)
from postduif.workspace import Workspace
from tests.web_support import JOIN, KEY, configure_web

SITE = "https://www.techwerkers.nl"
BEA = "bea.bakker@example.org"


class Clock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def token_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTDUIF_TOKEN_KEY", KEY)


def _client(workspace: Path, clock: Clock | None = None, *,
            peer: str = "127.0.0.1") -> TestClient:
    # No background sender: it would open the store while a test breaks it on purpose.
    app = create_app(Workspace.open(workspace), clock=clock or Clock(), send_greetings=False)
    return TestClient(app, base_url="http://127.0.0.1", follow_redirects=False,
                      client=(peer, 50000))


def _people(workspace: Path) -> list[str]:
    with Store.open(load_settings(workspace).database) as store:
        return sorted(s.email for s in store.search(""))


def _join(n: int) -> dict[str, str]:
    return {**JOIN, "email": f"person{n}@example.org"}


# ---------------------------------------------------------------------------- units


@pytest.mark.parametrize(("value", "expected"), [
    ("https://www.techwerkers.nl", SITE),
    ("https://www.techwerkers.nl/", None),  # a path ("/"): a URL, not an origin
    ("https://www.techwerkers.nl:443", SITE),
    ("HTTPS://WWW.Techwerkers.NL", SITE),
    ("http://127.0.0.1:80", "http://127.0.0.1"),
    ("http://127.0.0.1:8443", "http://127.0.0.1:8443"),
    ("https://[::1]:8443", "https://[::1]:8443"),
    ("https://www.techwerkers.nl/nl/join/", None), ("https://www.techwerkers.nl/evil", None),
    ("https://www.techwerkers.nl?x", None), ("https://www.techwerkers.nl#x", None),
    ("null", None), ("file://", None), ("ftp://files.example", None), ("", None),
    ("https://user@www.techwerkers.nl", None), ("https://x.example:99999", None),
])
def test_origins_are_normalised(value: str, expected: str | None) -> None:
    assert normalise_origin(value) == expected


@pytest.mark.parametrize(("url", "expected"), [
    ("https://www.techwerkers.nl/", SITE), ("https://www.techwerkers.nl/nl/join/", SITE),
    ("https://WWW.techwerkers.nl:443/x?y", SITE), ("null", None), ("", None)])
def test_the_origin_of_a_base_url(url: str, expected: str | None) -> None:
    assert origin_of(url) == expected


def test_the_default_origin_is_the_sites_base_url(workspace: Path) -> None:
    settings = load_settings(workspace)
    assert Cors.from_settings(settings.web, "https://www.techwerkers.nl/").origins == {SITE}
    settings = load_settings(configure_web(workspace, origins=["http://127.0.0.1:8000",
                                                               "https://techwerkers.nl:443"]))
    cors = Cors.from_settings(settings.web, "https://www.techwerkers.nl/")
    assert cors.origins == {"http://127.0.0.1:8000", "https://techwerkers.nl"}
    assert not cors.allows(SITE) and cors.allows("https://techwerkers.nl")


def test_the_window_allows_limit_hits_in_any_window() -> None:
    clock = Clock()
    window = SlidingWindow(3, 60, clock=clock)
    for _ in range(3):  # at 1000, 1010 and 1020
        assert window.hit("a") == 0.0
        clock.now += 10
    assert window.hit("a") == pytest.approx(30)  # the first hit leaves the window in 30 s
    assert window.hit("b") == 0.0  # another client has its own count
    clock.now = 1060.0
    assert window.hit("a") == 0.0
    assert window.hit("a") == pytest.approx(10)  # 1010, 1020 and 1060 are in the window


def test_a_refused_hit_does_not_count() -> None:
    clock = Clock()
    window = SlidingWindow(1, 60, clock=clock)
    assert window.hit("a") == 0.0
    for _ in range(100):  # hammering while refused must not push the wait further out
        clock.now += 0.5
        assert window.hit("a") > 0
    clock.now = 1000.0 + 60
    assert window.hit("a") == 0.0


def test_zero_means_no_limit() -> None:
    window = SlidingWindow(0, 60, clock=Clock())
    assert all(window.hit("a") == 0.0 for _ in range(1000))
    assert len(window) == 0


def test_memory_is_bounded_forgetting_the_least_recent_client() -> None:
    window = SlidingWindow(1, 60, clock=Clock(), max_clients=100)
    assert window.hit("busy") == 0.0
    for n in range(1000):
        window.hit(f"client{n}")
        assert window.hit("busy") > 0  # still remembered: it was seen most recently
    assert len(window) == 100


@pytest.mark.parametrize(("host", "key"), [
    ("203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),  # the same /64: one client
    ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("testclient", "testclient"),
])
def test_an_ipv6_client_is_counted_by_its_64(host: str, key: str) -> None:
    assert client_key(host) == key


def test_rotating_ipv6_addresses_in_one_64_does_not_escape_the_limit(workspace: Path) -> None:
    configure_web(workspace, requests_per_minute=2, trusted_proxies=["127.0.0.1"])
    with _client(workspace) as client:
        codes = [client.post("/nl/newsletter/subscribe", json={"email": f"p{n}@example.org"},
                             headers={"X-Forwarded-For": f"2001:db8:1:2::{n:x}"}).status_code
                 for n in range(1, 5)]
    assert codes == [200, 200, 429, 429]


# ---------------------------------------------------------------------------- CORS in the app


@pytest.mark.parametrize("path", ["/nl/join", "/en/newsletter/subscribe"])
def test_the_preflight_allows_exactly_the_sites_origin(workspace: Path, path: str) -> None:
    with _client(workspace) as client:
        answer = client.options(path, headers={
            "Origin": SITE, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == SITE
    assert answer.headers["access-control-allow-methods"] == "POST"
    assert answer.headers["access-control-allow-headers"] == "Content-Type"
    assert answer.headers["access-control-max-age"] == str(PREFLIGHT_MAX_AGE)
    assert answer.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in answer.headers


@pytest.mark.parametrize("origin", ["http://www.techwerkers.nl", "https://www.techwerkers.nl:8443",
                                    "https://evil.example", "null"])
def test_other_origins_get_no_cors_headers_and_403(workspace: Path, origin: str) -> None:
    with _client(workspace) as client:
        preflight = client.options("/nl/join", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST"})
        post = client.post("/nl/join", json=JOIN, headers={"Origin": origin})
    for answer in (preflight, post):
        assert answer.status_code == 403
        assert not [h for h in answer.headers if h.startswith("access-control-")]
    assert post.json()["result"] == "error"
    assert _people(workspace) == []


def test_every_answer_to_the_site_is_readable_by_its_script(workspace: Path) -> None:
    """Not only the success: the script must be able to show a field error, or a 429."""
    configure_web(workspace, requests_per_minute=2)
    with _client(workspace) as client:
        ok = client.post("/nl/join", json=JOIN, headers={"Origin": SITE})
        bad = client.post("/nl/join", json={**JOIN, "email": "x"}, headers={"Origin": SITE})
        limited = client.post("/nl/join", json=JOIN, headers={"Origin": SITE})
        no_origin = client.post("/nl/join", json=JOIN)
    assert [a.status_code for a in (ok, bad, limited)] == [200, 400, 429]
    for answer in (ok, bad, limited):
        assert answer.headers["access-control-allow-origin"] == SITE
        assert answer.headers["vary"] == "Origin"
    assert no_origin.status_code == 429  # same client: the limit is per address, not origin
    assert "access-control-allow-origin" not in no_origin.headers


def test_a_post_without_origin_is_accepted(workspace: Path) -> None:
    """curl and server-side webhooks send no Origin; they are not browsers to protect."""
    with _client(workspace) as client:
        assert client.post("/nl/join", json=JOIN).json() == {"result": "success"}
    assert _people(workspace) == [BEA]


def test_configured_origins_replace_the_default(workspace: Path) -> None:
    configure_web(workspace, origins=["http://127.0.0.1:8000"])
    with _client(workspace) as client:
        mine = client.post("/nl/join", json=JOIN, headers={"Origin": "http://127.0.0.1:8000"})
        site = client.post("/nl/join", json=_join(2), headers={"Origin": SITE})
        other_port = client.post("/nl/join", json=_join(3),
                                 headers={"Origin": "http://127.0.0.1:8001"})
    assert (mine.status_code, site.status_code, other_port.status_code) == (200, 403, 403)
    assert mine.headers["access-control-allow-origin"] == "http://127.0.0.1:8000"


# ---------------------------------------------------------------------------- limits in the app


def test_over_the_rate_limit_json_gets_429_in_the_page_language(workspace: Path) -> None:
    configure_web(workspace, requests_per_minute=3)
    clock = Clock()
    with _client(workspace, clock) as client:
        answers = [client.post("/nl/newsletter/subscribe", json={"email": f"p{n}@example.org"})
                   for n in range(5)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
        body = answers[3].json()
        assert body == {"result": "error", "message": body["message"]}
        assert "te veel aanmeldingen" in body["message"]
        assert answers[3].headers["retry-after"] == "60"
        clock.now += 30
        english = client.post("/en/join", json=JOIN)
        assert english.status_code == 429 and "Too many sign-ups" in english.json()["message"]
        assert english.headers["retry-after"] == "30"
        clock.now += 30
        assert client.post("/en/join", json=JOIN).status_code == 200
    assert _people(workspace) == [BEA, "p0@example.org", "p1@example.org", "p2@example.org"]


def test_over_the_rate_limit_a_plain_form_gets_a_page(workspace: Path) -> None:
    configure_web(workspace, requests_per_minute=1)
    with _client(workspace) as client:
        assert client.post("/en/newsletter/subscribe", data={"email": "a@example.org"}
                           ).status_code == 303
        page = client.post("/en/newsletter/subscribe", data={"email": "b@example.org"})
        dutch = client.post("/nl/join", data=JOIN)
    assert page.status_code == 429 and '<html lang="en">' in page.text
    assert "Too many sign-ups" in page.text and page.headers["retry-after"] == "60"
    assert dutch.status_code == 429 and "Te veel aanmeldingen" in dutch.text
    assert page.headers["cache-control"] == "no-store"
    assert _people(workspace) == ["a@example.org"]


def test_the_links_in_emails_are_not_rate_limited(workspace: Path) -> None:
    """Only the forms are; an unsubscribe link must always work."""
    configure_web(workspace, requests_per_minute=1)
    with _client(workspace) as client:
        for _ in range(5):
            assert client.get("/nl/newsletter/unsubscribe/").status_code == 400  # no token
        assert client.post("/nl/newsletter/subscribe", json={"email": "a@example.org"}
                           ).status_code == 200


def test_join_requests_are_capped_per_client_per_day(workspace: Path) -> None:
    configure_web(workspace, requests_per_minute=0, join_requests_per_day=2)
    clock = Clock()
    with _client(workspace, clock) as client:
        answers = [client.post("/nl/join", json=_join(n)) for n in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 429, 429]
        assert answers[2].headers["retry-after"] == str(DAY)
        assert "te veel aanmeldingen" in answers[2].json()["message"]
        # A refused field does not use up the cap; the newsletter is not capped.
        assert client.post("/nl/join", json={**JOIN, "email": "x"}).status_code == 400
        assert client.post("/nl/newsletter/subscribe", json={"email": "n@example.org"}
                           ).status_code == 200
        clock.now += DAY
        assert client.post("/nl/join", json=_join(9)).status_code == 200
    assert _people(workspace) == ["n@example.org", "person0@example.org", "person1@example.org",
                                  "person9@example.org"]


def test_an_untrusted_peers_forwarded_for_is_ignored(workspace: Path) -> None:
    """Without trusted_proxies every request is the peer's, whatever the header claims."""
    configure_web(workspace, requests_per_minute=2)
    with _client(workspace) as client:
        codes = [client.post("/nl/newsletter/subscribe", json={"email": f"p{n}@example.org"},
                             headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
                 for n in range(4)]
    assert codes == [200, 200, 429, 429]


def test_a_trusted_proxys_clients_are_limited_separately(workspace: Path) -> None:
    configure_web(workspace, requests_per_minute=2, trusted_proxies=["127.0.0.1"])
    with _client(workspace) as client:
        codes = {n: [client.post("/nl/newsletter/subscribe",
                                 json={"email": f"p{n}-{i}@example.org"},
                                 headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
                     for i in range(3)]
                 for n in range(3)}
        # A client cannot hide behind a header of its own: the proxy appends the real peer,
        # and the rightmost address the proxy did not add is the client.
        spoofed = [client.post("/nl/newsletter/subscribe", json={"email": f"s{i}@example.org"},
                               headers={"X-Forwarded-For": f"198.51.100.{i}, 203.0.113.0"}
                               ).status_code for i in range(2)]
    assert codes == {n: [200, 200, 429] for n in range(3)}
    assert spoofed == [429, 429]  # 203.0.113.0 used its two already
    with _client(workspace, peer="192.0.2.7") as other:  # not the trusted proxy
        codes_other = [other.post("/nl/newsletter/subscribe", json={"email": f"o{i}@example.org"},
                                  headers={"X-Forwarded-For": f"203.0.113.{50 + i}"}
                                  ).status_code for i in range(3)]
    assert codes_other == [200, 200, 429]


@pytest.mark.parametrize(("setting", "value", "message"), [
    ("trusted_proxies", ["proxy.example"], "not an IP address or network"),
    ("trusted_proxies", ["*"], "not an IP address or network"),
    ("join_success", "{base_url}{language}/x/", "may use only"),
    ("subscribe_success", "{0}", "may use only"),
    ("requests_per_minute", -1, "0 or more"),
    ("origins", ["www.techwerkers.nl"], "is not an origin"),
])
def test_bad_web_settings_stop_the_start(workspace: Path, setting: str, value: object,
                                         message: str) -> None:
    configure_web(workspace, **{setting: value})
    with pytest.raises(ConfigError, match=message):
        load_settings(workspace)


@pytest.fixture
def flood_client(workspace: Path) -> Iterator[TestClient]:
    configure_web(workspace)  # the defaults: 20 a minute, 5 join requests a day
    with _client(workspace) as client:
        yield client


def test_a_flood_is_cut_at_the_default_limits(flood_client: TestClient, workspace: Path) -> None:
    codes = [flood_client.post("/nl/join", json=_join(n)).status_code for n in range(200)]
    assert codes[:5] == [200] * 5 and set(codes[5:]) == {429}
    assert _people(workspace) == [f"person{n}@example.org" for n in range(5)]


def test_a_broken_store_is_a_503_the_sites_script_can_read(workspace: Path) -> None:
    """The store fails after the start (here: the file is no database any more)."""
    with _client(workspace) as client:
        database = load_settings(workspace).database
        for leftover in database.parent.glob(database.name + "*"):
            leftover.unlink()
        database.write_bytes(b"not a database, " * 100)
        answer = client.post("/nl/join", json=JOIN, headers={"Origin": SITE})
        page = client.post("/en/newsletter/subscribe", data={"email": "a@example.org"})
    assert answer.status_code == 503 and answer.json()["result"] == "error"
    assert answer.headers["access-control-allow-origin"] == SITE
    assert page.status_code == 503 and "Please wait a moment" in page.text


@pytest.mark.parametrize("forwarded", ["evil", "unknown", "203.0.113.1:80x", "_hidden",
                                       "203.0.113.999", "2001:db8::g"])
def test_a_client_named_by_a_trusted_proxy_must_be_an_ip_address(
        workspace: Path, forwarded: str) -> None:
    """Each made-up value would be a rate-limit bucket of its own: refused instead."""
    configure_web(workspace, requests_per_minute=2, trusted_proxies=["127.0.0.1"])
    with _client(workspace) as client:
        codes = [client.post("/nl/newsletter/subscribe", json={"email": f"p{n}@example.org"},
                             headers={"X-Forwarded-For": f"{forwarded}{n or ''}"}).status_code
                 for n in range(3)]
    assert codes == [400, 400, 400]
    assert _people(workspace) == []
