"""The preview app answered in-process: pages, raw parts, personas, errors and reloads."""

from __future__ import annotations

import email
import html
import re
import time
from collections.abc import Iterator
from email import policy
from pathlib import Path
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from postduif.preview import create_app, get
from postduif.preview.site_files import SiteFiles
from postduif.workspace import Workspace

CAMPAIGN = "2026-12-community-update"
POST_NL = Path("content/posts/2026-12/index.nl.md")
BUNDLE = Path("content/posts/2026-12")
IMAGES = ("feature.png", "meeting.png")
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


def _src(html_text: str, name: str) -> str:
    """The (only) src address in ``html_text`` that ends with ``/name``."""
    found = set(re.findall(rf'src="([^"]*/{re.escape(name)})"', html_text))
    assert len(found) == 1, (name, found)
    return html.unescape(found.pop())


def _base_url(workspace: Path) -> str:
    return Workspace.open(workspace).site.config.base_url


def test_framed_images_are_served_from_the_workspace(client: TestClient,
                                                     workspace: Path) -> None:
    base_url = _base_url(workspace)
    for key in ("nl", "en"):
        sent = client.get(f"/c/{CAMPAIGN}/{key}/html?persona=named").text
        framed = client.get(f"/c/{CAMPAIGN}/{key}/html?persona=named&frame=1").text
        for name in IMAGES:
            real = _src(sent, name)
            # one shared file of the bundle, published beside the default language's page
            assert real == f"{base_url}nl/posts/2026-12/{name}"
            local = _src(framed, name)
            assert local == "/site/" + real.removeprefix(base_url)
            image = client.get(local)
            assert image.status_code == 200, local
            assert image.headers["content-type"] == "image/png"
            assert image.content == (workspace / BUNDLE / name).read_bytes()
        # Links still show where they lead.
        assert re.findall(r'href="([^"]*)"', framed) == re.findall(r'href="([^"]*)"', sent)


def test_the_sent_parts_keep_the_real_image_addresses(client: TestClient,
                                                      workspace: Path) -> None:
    real = f'src="{_base_url(workspace)}nl/posts/2026-12/feature.png"'
    base = f"/c/{CAMPAIGN}/nl"
    assert real in client.get(f"{base}/html?persona=named").text
    for download in ("", "&download=1"):
        source = client.get(f"{base}/source?persona=named{download}")
        message = email.message_from_bytes(source.content, policy=policy.default)
        assert isinstance(message, email.message.EmailMessage)
        body = message.get_body(preferencelist=("html",))
        assert body is not None and real in str(body.get_content())
        assert "/site/" not in source.text
    for part in ("text", "headers"):
        assert "/site/" not in client.get(f"{base}/{part}?persona=named").text


def test_static_and_assets_files_are_served_with_their_type(client: TestClient,
                                                            workspace: Path) -> None:
    logo = (Path(__file__).parent / "fixtures/site/static/img/logo.png").read_bytes()
    (workspace / "static/img").mkdir(parents=True)
    (workspace / "static/img/logo.png").write_bytes(logo)
    (workspace / "assets/css").mkdir(parents=True)
    (workspace / "assets/css/mail.css").write_text("p { color: red }\n", encoding="utf-8")
    image = client.get("/site/img/logo.png")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content == logo
    style = client.get("/site/css/mail.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    assert style.text == "p { color: red }\n"
    assert client.post("/site/img/logo.png").status_code == 405


def test_site_files_outside_the_published_directories_are_404(client: TestClient,
                                                              workspace: Path) -> None:
    bundle = workspace / BUNDLE
    (workspace / "static").mkdir()
    (bundle / "leak.png").symlink_to(workspace / "postduif.toml")
    secret = workspace / "postduif.toml"
    # Each address, and where joining its path to a served directory naively would lead.
    attempts = {
        "/site/nl/posts/2026-12/%2e%2e/%2e%2e/%2e%2e/postduif.toml": bundle / "../../../x",
        "/site/nl/posts/2026-12/..%2f..%2f..%2fpostduif.toml": bundle / "../../../x",
        "/site/nl/%2e%2e/postduif.toml": workspace / "content/../x",
        "/site/%2e%2e/postduif.toml": workspace / "static/../x",
        f"/site/{secret}": workspace / "static" / str(secret),
        f"/site/nl/posts/2026-12/{quote(str(secret), safe='')}": bundle / str(secret),
    }
    for url, aimed in attempts.items():
        assert aimed.with_name(secret.name).resolve() == secret.resolve()  # a real file
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.content != secret.read_bytes()
    for url in ("/site/nl/posts/2026-12/leak.png", "/site/nl/posts/2026-12/index.nl.md",
                "/site/nl/posts/2026-12/", "/site/nl/posts/2026-12/nothing.png", "/site/"):
        assert client.get(url).status_code == 404, url


def test_srcset_and_css_urls_are_rewritten_and_links_are_not(workspace: Path) -> None:
    site = Workspace.open(workspace).site
    base_url = site.config.base_url
    feature, meeting = (f"{base_url}nl/posts/2026-12/{name}" for name in IMAGES)
    gone, elsewhere = f"{base_url}nl/posts/2026-12/gone.png", "https://example.org/x.png"
    document = (f'<div style="background:url(\'{feature}\')">'
                f'<img srcset="{meeting} 1x, {elsewhere} 2x,{feature} 3x" src="{gone}">'
                f'<a href="{feature}">feature</a><td background="{meeting}"></td></div>')
    local = {url: url.replace(base_url, "/site/") for url in (feature, meeting)}
    assert SiteFiles(site).rewrite(document) == (
        f'<div style="background:url(\'{local[feature]}\')">'
        f'<img srcset="{local[meeting]} 1x, {elsewhere} 2x,{local[feature]} 3x" src="{gone}">'
        f'<a href="{feature}">feature</a><td background="{local[meeting]}"></td></div>')


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
