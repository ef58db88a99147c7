"""``postduif serve`` as the site's static host needs it: a real process, a real browser.

The site is served from one local origin (python's http.server on its own port), postduif
from another, as on a static host where the forms' endpoints live on another host name. A
real Chromium loads the site's page and posts the join form's JSON with ``fetch()``; the
same page from a third origin is refused. Floods go to the real process too: that is where
uvicorn's own proxy handling would otherwise believe any X-Forwarded-For from 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from postduif.config import load_settings
from postduif.store import Store
from tests.web_support import JOIN, Serve

#: A page shaped like the real site's join form (layouts/_shortcodes/join-form.html): the
#: fields it sends, a fetch() with JSON, and the answer shown where the test can read it.
JOIN_PAGE = """<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>Word lid</title></head>
<body>
<form id="join-form">
  <input name="email" type="email" required>
  <input name="firstName" required> <input name="lastName" required>
  <input name="socialLink1" type="url" required> <input name="socialLink2" type="url">
  <input name="organization"> <textarea name="goals"></textarea>
  <button type="submit">Verstuur</button>
</form>
<pre id="answer"></pre>
<script>
document.getElementById("join-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = Object.fromEntries(new FormData(event.target));
  const answer = document.getElementById("answer");
  try {
    const response = await fetch("ENDPOINT", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(data)});
    answer.textContent = JSON.stringify(await response.json());
  } catch (error) {
    answer.textContent = "failed: " + error.name;
  }
});
</script>
</body></html>
"""
#: The real newsletter shortcode's shape (newsletter-nl.html), with the action changed to
#: postduif: a plain form, no JavaScript, listmonk's email and honeypot field nonce.
NEWSLETTER_PAGE = """<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>Nieuwsbrief</title></head>
<body>
<form method="post" action="ENDPOINT">
  <input type="email" name="email" required>
  <input type="hidden" name="nonce">
  <button type="submit">Aanmelden</button>
</form>
</body></html>
"""
SUCCESS_PAGE = """<!doctype html><html lang="nl"><head><meta charset="utf-8">
<title>Bedankt</title></head><body><h1>Bedankt voor je aanmelding</h1></body></html>
"""


@dataclass
class StaticSite:
    """A directory served by python's http.server on 127.0.0.1, as a static host would."""

    root: Path
    server: ThreadingHTTPServer

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def static_site(tmp_path: Path) -> Iterator[Callable[[], StaticSite]]:
    """A factory of static servers over one site directory, each on a port (origin) of its own."""
    root = tmp_path / "public"
    (root / "nl" / "join" / "success").mkdir(parents=True)
    started: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def start() -> StaticSite:
        handler = functools.partial(_QuietHandler, directory=str(root))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        started.append((server, thread))
        return StaticSite(root, server)

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass


def _people(workspace: Path) -> dict[str, list[tuple[str, str, str]]]:
    """Everyone in the store with their consent events: a partial row would show here."""
    with Store.open(load_settings(workspace).database) as store:
        return {s.email: [(e.list, e.event, e.source) for e in store.consent_log(s.email)]
                for s in store.search("", limit=10_000)}


def _set_base_url(workspace: Path, base_url: str) -> None:
    path = workspace / "postduif.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('base_url = ""', f'base_url = "{base_url}"', 1),
                    encoding="utf-8")


# ---------------------------------------------------------------------------- the browser


def test_the_sites_join_form_posts_cross_origin_and_others_are_refused(
        static_site: Callable[[], StaticSite], serve: Callable[..., Serve], workspace: Path,
        browser: Browser) -> None:
    site, elsewhere = static_site(), static_site()
    _set_base_url(workspace, f"{site.origin}/")  # [web] origins stays empty: the base URL's
    app = serve()
    (site.root / "join.html").write_text(JOIN_PAGE.replace("ENDPOINT", f"{app.url}/nl/join"),
                                         encoding="utf-8")
    page = browser.new_page()
    page.set_default_timeout(10_000)

    page.goto(f"{site.origin}/join.html")
    for name in ("email", "firstName", "lastName", "socialLink1", "organization", "goals"):
        page.fill(f"[name={name}]", str(JOIN[name]))
    page.click("button[type=submit]")
    page.wait_for_function("document.getElementById('answer').textContent !== ''")
    assert json.loads(page.text_content("#answer") or "") == {"result": "success"}
    assert _people(workspace) == {"bea.bakker@example.org": [("leden", "requested", "web:join")]}

    page.goto(f"{elsewhere.origin}/join.html")  # the same page, from another origin
    page.fill("[name=email]", "mallory@example.org")
    for name in ("firstName", "lastName", "socialLink1"):
        page.fill(f"[name={name}]", str(JOIN[name]))
    page.click("button[type=submit]")
    page.wait_for_function("document.getElementById('answer').textContent !== ''")
    assert page.text_content("#answer") == "failed: TypeError"  # the browser blocked it
    assert list(_people(workspace)) == ["bea.bakker@example.org"]
    page.close()


def test_a_plain_form_post_lands_on_the_success_pages(
        static_site: Callable[[], StaticSite], serve: Callable[..., Serve], workspace: Path,
        browser: Browser) -> None:
    """No JavaScript: the newsletter form and a plain join form post and follow the 303."""
    site = static_site()
    _set_base_url(workspace, f"{site.origin}/")
    app = serve()
    (site.root / "nl" / "join" / "success" / "index.html").write_text(SUCCESS_PAGE,
                                                                       encoding="utf-8")
    (site.root / "newsletter.html").write_text(
        NEWSLETTER_PAGE.replace("ENDPOINT", f"{app.url}/nl/newsletter/subscribe"),
        encoding="utf-8")
    plain_join = JOIN_PAGE.replace('<form id="join-form">',
                                   f'<form method="post" action="{app.url}/nl/join">')
    (site.root / "join-plain.html").write_text(plain_join.split("<script>")[0],
                                               encoding="utf-8")
    page = browser.new_page()
    page.set_default_timeout(10_000)

    page.goto(f"{site.origin}/newsletter.html")
    page.fill("[name=email]", "ann@example.org")
    page.click("button[type=submit]")
    page.wait_for_url(f"{app.url}/nl/newsletter/subscribed/")
    assert "check je inbox" in (page.text_content("h1") or "")

    page.goto(f"{site.origin}/join-plain.html")
    for name in ("email", "firstName", "lastName", "socialLink1"):
        page.fill(f"[name={name}]", str(JOIN[name]))
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.origin}/nl/join/success/")
    assert page.text_content("h1") == "Bedankt voor je aanmelding"
    page.close()
    assert _people(workspace) == {
        "ann@example.org": [("nieuwsbrief", "requested", "web:subscribe")],
        "bea.bakker@example.org": [("leden", "requested", "web:join")]}


# ---------------------------------------------------------------------------- floods


async def _flood(requests: list[tuple[str, dict[str, object], dict[str, str]]]
                 ) -> list[httpx.Response]:
    """All ``requests`` (path, JSON body, headers) at once, over many connections."""
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        return await asyncio.gather(*(client.post(url, json=body, headers=headers)
                                      for url, body, headers in requests))


def test_a_flood_gets_429s_and_the_store_holds_exactly_the_accepted(
        serve: Callable[..., Serve]) -> None:
    """200 sign-ups at once from one client, each claiming another X-Forwarded-For: nobody
    is trusted to say that (not even 127.0.0.1, which uvicorn would trust by default)."""
    app = serve()  # the defaults: 20 a minute, 5 join requests a day, no trusted proxy
    started = time.monotonic()
    answers = asyncio.run(_flood([
        (f"{app.url}/nl/newsletter/subscribe", {"email": f"p{n}@example.org"},
         {"X-Forwarded-For": f"203.0.113.{n % 250}"}) for n in range(200)]))
    assert time.monotonic() - started < 30
    accepted = {f"p{n}@example.org" for n, a in enumerate(answers) if a.status_code == 200}
    refused = [a for a in answers if a.status_code != 200]
    assert len(accepted) == 20
    assert {a.status_code for a in refused} == {429}
    assert all(1 <= int(a.headers["retry-after"]) <= 60 for a in refused)
    assert all(a.json()["result"] == "error" for a in refused)
    assert _people(app.workspace) == {
        email: [("nieuwsbrief", "requested", "web:subscribe")] for email in accepted}


def test_behind_a_trusted_proxy_each_client_has_its_own_limits(
        serve: Callable[..., Serve]) -> None:
    app = serve(trusted_proxies=["127.0.0.1"])
    clients = ["203.0.113.1", "203.0.113.2", "2001:db8::3"]
    answers = asyncio.run(_flood([
        (f"{app.url}/en/join", {**JOIN, "email": f"c{c}-{n}@example.org"},
         {"X-Forwarded-For": clients[c]}) for c in range(3) for n in range(30)]))
    for c in range(3):
        mine = answers[c * 30:(c + 1) * 30]
        assert sorted(a.status_code for a in mine) == [200] * 5 + [429] * 25  # 5 a day each
    people = _people(app.workspace)
    assert len(people) == 15
    assert all(events == [("leden", "requested", "web:join")] for events in people.values())
    assert sorted(email.split("-")[0] for email in people) == ["c0"] * 5 + ["c1"] * 5 + ["c2"] * 5
