"""The preview app answered in-process: pages, raw parts, personas, errors and reloads."""

from __future__ import annotations

import email
import html
import re
import time
from collections.abc import Iterator
from email import policy
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from postduif.preview import create_app, get
from postduif.workspace import Workspace

CAMPAIGN = "2026-12-community-update"
POST_NL = Path("content/posts/2026-12/index.nl.md")
BASE = "http://127.0.0.1"


@pytest.fixture
def client(workspace: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Workspace.open(workspace), watch=False), base_url=BASE) as c:
        yield c


def _expected(workspace: Path) -> dict[str, tuple[str, str]]:
    """Per language: the subject (from the campaign) and the page title (from the content)."""
    ws = Workspace.open(workspace)
    plan = ws.plan(ws.campaign(CAMPAIGN))
    return {key: (v.context.subject, v.pages[0].title) for key, v in plan.variants.items()}


def _wait_for_new_version(client: TestClient, old: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        version = client.get("/_version").json()["version"]
        if version != old:
            return str(version)
        time.sleep(0.05)
    raise AssertionError("the watcher did not notice the change")


def test_index_lists_the_campaign_with_each_language_and_subject(
        client: TestClient, workspace: Path) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert f'href="/c/{CAMPAIGN}"' in page.text
    for key, (subject, _) in _expected(workspace).items():
        assert f"?lang={key}" in page.text
        assert html.escape(subject) in page.text
    assert "error" in page.text and "warning" in page.text  # the problem counts


def test_an_empty_campaigns_folder_is_explained(workspace: Path) -> None:
    for campaign in (workspace / "campaigns").glob("*.toml"):
        campaign.unlink()
    status, body = get(Workspace.open(workspace), "/")
    assert status == 200 and "No campaign files in" in body


def test_each_language_has_its_html_text_headers_and_source(
        client: TestClient, workspace: Path) -> None:
    expected = _expected(workspace)
    assert set(expected) == {"nl", "en"}
    for key, (subject, title) in expected.items():
        base = f"/c/{CAMPAIGN}/{key}"
        page = client.get(f"{base}/html?persona=named")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert html.escape(title, quote=False) in page.text
        text = client.get(f"{base}/text?persona=named")
        assert title in text.text and "Sam" in text.text
        headers = client.get(f"{base}/headers").text.splitlines()
        assert f"Subject: {subject}" in headers
        assert f"Content-Language: {key}" in headers
        source = client.get(f"{base}/source")
        message = email.message_from_bytes(source.content, policy=policy.default)
        assert message["Subject"] == subject
        assert message.get_content_type() == "multipart/alternative"


def test_the_anonymous_persona_has_no_name_anywhere(client: TestClient) -> None:
    sam = re.compile(r"\bSam\b|sam\.devries")  # not "Samen"
    for key in ("nl", "en"):
        for part in ("html", "text", "headers", "source"):
            named = client.get(f"/c/{CAMPAIGN}/{key}/{part}?persona=named").text
            anonymous = client.get(f"/c/{CAMPAIGN}/{key}/{part}?persona=anonymous").text
            assert sam.search(named), (key, part)
            assert not sam.search(anonymous), (key, part)


def test_the_review_page_keeps_its_view_in_every_link(client: TestClient,
                                                      workspace: Path) -> None:
    subject = _expected(workspace)["en"][0]
    page = client.get(f"/c/{CAMPAIGN}?lang=en&tab=headers&width=phone&persona=anonymous")
    assert page.status_code == 200
    assert f"<td>{html.escape(subject)}</td>" in page.text
    assert "?lang=nl&amp;tab=headers&amp;width=phone&amp;persona=anonymous" in page.text
    assert f"/c/{CAMPAIGN}/en/source?persona=anonymous&amp;download=1" in page.text


def test_the_html_tab_frames_the_email_in_a_sandbox(client: TestClient) -> None:
    page = client.get(f"/c/{CAMPAIGN}?lang=nl&width=phone").text
    assert f'src="/c/{CAMPAIGN}/nl/html?persona=named&amp;frame=1"' in page
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page
    assert '<div class="frame phone">' in page
    framed = client.get(f"/c/{CAMPAIGN}/nl/html?persona=named&frame=1").text
    assert '<base target="_blank">' in framed


def test_text_from_the_workspace_is_escaped(client: TestClient, workspace: Path) -> None:
    campaign = workspace / "campaigns" / f"{CAMPAIGN}.toml"
    text = campaign.read_text(encoding="utf-8")
    campaign.write_text(text.replace(
        'subject = "Techwerkers in December', 'subject = "<b>Tips</b> & Techwerkers in December'),
        encoding="utf-8")
    page = client.get("/").text
    assert "&lt;b&gt;Tips&lt;/b&gt; &amp; Techwerkers" in page
    assert "<b>Tips</b>" not in page


def test_unknown_things_are_404_and_foreign_hosts_are_refused(client: TestClient) -> None:
    assert client.get("/c/no-such-campaign").status_code == 404
    assert client.get("/c/no-such-campaign/nl/html").status_code == 404
    assert client.get(f"/c/{CAMPAIGN}/fr/html").status_code == 404
    assert client.get(f"/c/{CAMPAIGN}/nl/pdf").status_code == 404
    assert client.get(f"/c/{CAMPAIGN}/nl/html?persona=nobody").status_code == 400
    assert client.get("/", headers={"host": "attacker.example"}).status_code == 400


@pytest.fixture
def watched(workspace: Path) -> Iterator[TestClient]:
    """A client of the app with its file watcher running (the lifespan runs in TestClient)."""
    with TestClient(create_app(Workspace.open(workspace), watch=True), base_url=BASE) as c:
        yield c


def _edit(client: TestClient, path: Path, text: str) -> None:
    """Write ``path`` and wait until the watcher has reloaded the workspace."""
    version = client.get("/_version").json()["version"]
    path.write_text(text, encoding="utf-8")
    _wait_for_new_version(client, version)


def test_broken_front_matter_is_shown_in_the_page_and_recovers(
        watched: TestClient, workspace: Path) -> None:
    post = workspace / POST_NL
    good = post.read_text(encoding="utf-8")
    assert 'data-lang="nl"' in watched.get(f"/c/{CAMPAIGN}").text

    _edit(watched, post, good.replace("title:", "title: [unclosed", 1))
    page = watched.get(f"/c/{CAMPAIGN}")
    assert page.status_code == 200
    assert 'role="alert"' in page.text and "Content that could not be read" in page.text
    assert re.search(rf"<code>{re.escape(str(POST_NL))}:\d+</code>", page.text)  # file and line
    assert "front matter" in page.text
    assert 'data-lang="en"' in page.text  # the other language is still there to review
    assert str(POST_NL) in watched.get("/").text

    _edit(watched, post, good)
    page = watched.get(f"/c/{CAMPAIGN}")
    assert 'role="alert"' not in page.text and 'data-lang="nl"' in page.text


def test_a_broken_campaign_file_is_shown_in_the_page_and_recovers(
        watched: TestClient, workspace: Path) -> None:
    campaign = workspace / "campaigns" / f"{CAMPAIGN}.toml"
    good = campaign.read_text(encoding="utf-8")

    _edit(watched, campaign, good.replace('mode = "per-subscriber"', 'mode = "every-now-and-then"'))
    page = watched.get(f"/c/{CAMPAIGN}")
    assert page.status_code == 200
    assert "This campaign could not be built" in page.text
    line = good.splitlines().index(next(x for x in good.splitlines() if x.startswith("mode"))) + 1
    assert f"<code>campaigns/{CAMPAIGN}.toml:{line}</code>" in page.text
    raw = watched.get(f"/c/{CAMPAIGN}/nl/html")
    assert raw.status_code == 500 and "every-now-and-then" in raw.text

    _edit(watched, campaign, good)
    assert "could not be built" not in watched.get(f"/c/{CAMPAIGN}").text
    assert watched.get(f"/c/{CAMPAIGN}/nl/html").status_code == 200


def test_rebuilding_after_a_change_is_quick(watched: TestClient, workspace: Path) -> None:
    post = workspace / POST_NL
    _edit(watched, post, post.read_text(encoding="utf-8").replace("Het jaar", "Dit jaar", 1))
    started = time.perf_counter()
    assert "Dit jaar" in watched.get(f"/c/{CAMPAIGN}/nl/text").text
    assert time.perf_counter() - started < 1.0  # typically well under 0.2 s


def test_the_subscriber_database_does_not_trigger_a_reload(watched: TestClient,
                                                           workspace: Path) -> None:
    version = watched.get("/_version").json()["version"]
    (workspace / "lists" / "postduif.sqlite3").write_bytes(b"not really a database")
    time.sleep(0.5)
    assert watched.get("/_version").json()["version"] == version
    (workspace / "lists" / "nieuwsbrief.toml").touch()
    _wait_for_new_version(watched, version)


def test_get_answers_one_request_without_a_server(workspace: Path) -> None:
    ws = Workspace.open(workspace)
    subject = _expected(workspace)["nl"][0]
    status, body = get(ws, f"/c/{CAMPAIGN}/nl/headers?persona=anonymous")
    assert status == 200 and f"Subject: {subject}" in body.splitlines()
    assert get(ws, "/c/nothing")[0] == 404
