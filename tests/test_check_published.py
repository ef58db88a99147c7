"""``check --published DIR`` and ``check --online``: the emails' images and links against what
real Hugo published, offline in its output folder and over HTTP from a server on 127.0.0.1.

The sample workspace is built with the real ``hugo`` binary; the tests then remove one image
or one page from the output and expect exactly that URL reported, at the line of the page
that wrote it, and nothing on the intact build. Online, the output is served by python's
http.server with the sample's external links pointed at ``localhost`` (another host name for
the same loopback server), so no request leaves the machine.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from postduif.published import State, check_folder, check_online, email_references, not_published
from postduif.workspace import Workspace
from tests.http_support import LocalServer
from tests.hugo_support import build_site

CAMPAIGN = "2026-12-community-update"
SITE = "https://www.techwerkers.nl/"
POST = Path("content/posts/2026-12")
OURS = re.compile(r"^(unpublished|unreachable|unchecked|offsite|external)-")


def check(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "postduif", "-w", str(workspace), "check",
                           CAMPAIGN, *args], capture_output=True, text=True, timeout=120)


def check_json(workspace: Path, *args: str) -> tuple[int, dict[str, Any]]:
    done = check(workspace, *args, "--json")
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


def published_problems(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in report["problems"] if OURS.match(p["code"])]


def line_of(path: Path, needle: str) -> int:
    """The first line of ``path`` that contains ``needle`` (1-based)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


def set_base_url(workspace: Path, base_url: str) -> None:
    config = workspace / "postduif.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('base_url = ""', f'base_url = "{base_url}"', 1),
                      encoding="utf-8")


@pytest.fixture
def public(workspace: Path, tmp_path: Path) -> Path:
    return build_site(workspace, tmp_path / "public")


# -- offline: Hugo's output folder ----------------------------------------------------------

def test_a_correct_build_is_silent(workspace: Path, public: Path) -> None:
    code, report = check_json(workspace, "--published", str(public))
    assert published_problems(report) == []
    assert code == 0, report["problems"]
    counts = report["published"]
    assert counts["site_urls"] >= 10 and counts["unchecked"] == 0
    assert counts["external_urls"] > 0 and counts["external_checked"] is False
    assert counts["personal_links_skipped"] == 2  # unsubscribe and preferences
    said = check(workspace, "--published", str(public)).stdout
    assert f"{counts['external_urls']} external URL(s) not checked (offline" in said
    assert "postduif serve answers them" in said


def test_a_removed_image_is_an_error_at_the_line_that_shows_it(workspace: Path,
                                                                public: Path) -> None:
    """Hugo publishes the bundle's shared image once, beside the Dutch page; both emails show
    it, each written in its own language's page, so each page's line is named."""
    (public / "nl/posts/2026-12/meeting.png").unlink()
    done = check(workspace, "--published", str(public))
    assert done.returncode == 1
    url = f"{SITE}nl/posts/2026-12/meeting.png"
    pages = [workspace / POST / f"index.{lang}.md" for lang in ("en", "nl")]
    for page, lang in zip(pages, ("en", "nl"), strict=True):
        assert (f"{page}:{line_of(page, '(meeting.png)')}: error: image {url} is not "
                f"published: {public}/nl/posts/2026-12/meeting.png does not exist (in the "
                f"{lang} email)") in done.stdout
    code, report = check_json(workspace, "--published", str(public))
    assert [(p["path"], p["code"]) for p in published_problems(report)] == [
        (str(page), "unpublished-image") for page in pages]


def test_a_removed_page_is_an_error_at_the_link(workspace: Path, public: Path) -> None:
    shutil.rmtree(public / "nl/about")
    code, report = check_json(workspace, "--published", str(public))
    page = workspace / POST / "index.nl.md"
    assert code == 1
    assert [(p["path"], p["line"], p["code"]) for p in published_problems(report)] == [
        (str(page), line_of(page, 'relref path="about"'), "unpublished-link")]
    assert f"link {SITE}nl/about/ is not published" in published_problems(report)[0]["message"]


def test_a_sub_path_base_url_and_a_file_name_with_a_blank(workspace: Path,
                                                          tmp_path: Path) -> None:
    """Hugo publishes a baseURL's sub-path at the root of its output; a blank in a file
    name is ``%20`` in the URL and a blank on disk."""
    base = "https://www.techwerkers.nl/site/"
    set_base_url(workspace, base)
    shutil.copy(workspace / POST / "meeting.png", workspace / POST / "team photo.png")
    page = workspace / POST / "index.nl.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n![Het team](team%20photo.png)\n",
                    encoding="utf-8")
    public = build_site(workspace, tmp_path / "public", "--baseURL", base)
    assert (public / "nl/posts/2026-12/team photo.png").is_file()
    code, report = check_json(workspace, "--published", str(public))
    assert published_problems(report) == [] and code == 0

    (public / "nl/posts/2026-12/team photo.png").unlink()
    code, report = check_json(workspace, "--published", str(public))
    found = published_problems(report)
    assert [(p["path"], p["line"]) for p in found] == [(str(page), line_of(page, "team%20"))]
    assert f"{base}nl/posts/2026-12/team%20photo.png" in found[0]["message"]


def test_a_site_without_base_url_is_an_error_not_silence(workspace: Path,
                                                        public: Path) -> None:
    config = workspace / "hugo.toml"
    config.write_text(re.sub(r"(?m)^baseURL.*$", "", config.read_text(encoding="utf-8")),
                      encoding="utf-8")
    done = check(workspace, "--published", str(public))
    assert done.returncode == 1
    assert f"Error: {config}: the Hugo site's links cannot work in an email: it has no " \
        "baseURL" in done.stdout + done.stderr


def test_where_each_reference_was_written(workspace: Path) -> None:
    """The list both modes use: the page line for body links and images (a shortcode's too),
    the page itself for "read online" and the other language, the campaign's feed line for a
    calendar feed's events, the template line for the masthead; no mailto: link."""
    shutil.copy(Path(__file__).parent / "fixtures/feeds/agenda.ics", workspace / "campaigns")
    campaign = workspace / "campaigns/feed.toml"
    campaign.write_text('page = "posts/2026-12"\nlist = "nieuwsbrief"\n\n[agenda]\n'
                        'feed = "agenda.ics"\nfrom = 2026-10-01\ndays = 45\n', encoding="utf-8")
    ws = Workspace.open(workspace)
    plan = ws.plan(ws.campaign("feed"))
    refs = email_references(ws.site, plan, ws.render(plan), ws.settings.templates_dir)
    at = {(r.variant, r.url): (r.kind, r.path, r.line) for r in refs}
    en, nl = (workspace / POST / f"index.{lang}.md" for lang in ("en", "nl"))
    layout = workspace / "templates/layout.mjml.j2"
    feed = ("link", campaign, line_of(campaign, "feed ="))
    assert at["en", f"{SITE}nl/posts/2026-12/meeting.png"] == (
        "image", en, line_of(en, "(meeting.png)"))
    assert at["en", f"{SITE}en/about/"] == ("link", en, line_of(en, 'relref path="about"'))
    assert at["nl", f"{SITE}nl/join/"] == ("link", nl, line_of(nl, "button href"))
    assert at["en", f"{SITE}en/posts/2026-12/"] == ("link", en, None)
    assert at["en", f"{SITE}nl/posts/2026-12/"] == ("link", nl, None)
    assert at["en", f"{SITE}en/"] == ("link", layout, line_of(layout, "site_url"))
    assert at["nl", "https://cloud.example.org/apps/calendar/boekenclub"] == feed
    assert at["en", "https://meet.jit.si/techwerkers-ai-act"] == feed
    assert {r.url for r in refs if r.url.startswith("%%")} == {
        "%%UNSUBSCRIBE_URL%%", "%%PREFERENCES_URL%%"}
    assert not [r for r in refs if not r.url.startswith(("https://", "%%"))]


def test_the_folder_check_as_a_library(tmp_path: Path) -> None:
    """What ``send`` will call: a list of URLs in, the ones not published out."""
    public = tmp_path / "public"
    (public / "nl/posts").mkdir(parents=True)
    (public / "nl/posts/index.html").write_text("<p>posts</p>")
    (public / "nl/posts/a b.png").write_bytes(b"png")
    (tmp_path / "secret.txt").write_text("not the site's")
    base = "https://example.org/sub/"
    urls = [f"{base}nl/posts/", f"{base}nl/posts", f"{base}nl/posts/a%20b.png",
            f"{base}nl/posts/gone.png", f"{base}nl/posts/gone.png",
            f"{base}..%2F..%2Fsecret.txt", "https://example.org/other/nl/posts/",
            "https://elsewhere.example/nl/posts/"]
    statuses = check_folder(public, base, urls)
    assert [s.url for s in statuses] == urls[:4] + urls[5:6]  # the site's, each once
    assert [s.url for s in not_published(statuses)] == [urls[3], urls[5]]
    assert {s.state for s in not_published(statuses)} == {State.MISSING}


def test_published_and_online_together_is_refused(workspace: Path, public: Path) -> None:
    done = check(workspace, "--published", str(public), "--online")
    assert done.returncode == 2 and "not both" in done.stderr
    done = check(workspace, "--published", str(public), "--timeout", "5")
    assert done.returncode == 2 and "go with --online" in done.stderr


# -- online: the same output over HTTP ------------------------------------------------------

class SiteServer(LocalServer):
    """Hugo's output on 127.0.0.1, like a static host: ``/x/`` is ``x/index.html``, a folder
    without its slash redirects. ``localhost/elsewhere/...`` stands for other hosts.
    Counts the requests by method and path; can refuse HEAD, redirect, or answer a GET with an
    endless body."""

    def __init__(self, public: Path) -> None:
        self.public = public
        self.hits: Counter[tuple[str, str]] = Counter()
        self.refuse_head = False
        self.redirects: dict[str, str] = {}
        self.endless: set[str] = set()
        self.drip: set[str] = set()
        self.broken: set[str] = set()
        super().__init__(self._handler())

    def _handler(self) -> type[SimpleHTTPRequestHandler]:
        site = self

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(site.public), **kwargs)

            def do_HEAD(self) -> None:  # noqa: N802 (http.server's name)
                site.hits["HEAD", self.path] += 1
                if self.path in site.drip:
                    self.drip_answer()
                elif site.refuse_head:
                    self.answer(405, b"")
                elif not self.special():
                    super().do_HEAD()

            def do_GET(self) -> None:  # noqa: N802
                site.hits["GET", self.path] += 1
                if self.path in site.endless:
                    self.endless_body()
                elif not self.special():
                    super().do_GET()

            def special(self) -> bool:
                if self.path in site.redirects:
                    self.send_response(302)
                    self.send_header("Location", site.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path in site.broken:
                    self.answer(404, b"gone")
                elif self.path.startswith("/elsewhere/"):
                    self.answer(200, b"another site")
                else:
                    return False
                return True

            def answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def endless_body(self) -> None:
                """10 GB announced, sent until the client hangs up: reading it would hang."""
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(10 * 1024**3))
                self.end_headers()
                chunk = b"\0" * 65536
                try:
                    for _ in range(10 * 1024**3 // len(chunk)):
                        self.wfile.write(chunk)
                except OSError:
                    pass

            def drip_answer(self) -> None:
                """A status line one byte every half second: each read gets something, so
                only a limit on the whole answer ends it."""
                try:
                    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n" * 10:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(0.5)
                except OSError:
                    pass

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        return Handler


@pytest.fixture
def server(public: Path) -> Iterator[SiteServer]:
    running = SiteServer(public)
    yield running
    running.stop()


@pytest.fixture
def online_workspace(workspace: Path, server: SiteServer) -> Path:
    """The sample workspace with its site at the local server, and its external links at
    ``localhost`` (the same server under another host name): nothing leaves the machine."""
    set_base_url(workspace, f"http://127.0.0.1:{server.port}/")
    for page in (workspace / "content").rglob("*.md"):
        text = page.read_text(encoding="utf-8")
        moved = re.sub(r"https://(?!www\.techwerkers\.nl)([\w.-]+)",
                       rf"http://localhost:{server.port}/elsewhere/\1", text)
        page.write_text(moved, encoding="utf-8")
    return workspace


def test_online_is_silent_on_the_served_build_with_head_refused(
        online_workspace: Path, server: SiteServer) -> None:
    """Every HEAD refused (405), so each URL is asked again with GET; one image answers its
    GET with an endless body, which must not be read. Each URL is asked once, though the
    emails share many."""
    server.refuse_head = True
    server.endless.add("/nl/posts/2026-12/feature.png")
    started = time.monotonic()
    code, report = check_json(online_workspace, "--online")
    assert time.monotonic() - started < 60
    assert published_problems(report) == [], report["problems"]
    assert code == 0
    counts = report["published"]
    assert counts["external_checked"] is True and counts["external_urls"] > 0
    assert counts["site_urls"] >= 10 and counts["unchecked"] == 0
    assert server.hits["GET", "/nl/posts/2026-12/feature.png"] == 1
    heads = [path for (method, path), n in server.hits.items() if method == "HEAD"]
    assert len(heads) == counts["site_urls"] + counts["external_urls"]
    assert all(server.hits["HEAD", path] == 1 and server.hits["GET", path] == 1
               for path in heads)


def test_online_finds_a_removed_image(online_workspace: Path, server: SiteServer,
                                      public: Path) -> None:
    (public / "nl/posts/2026-12/meeting.png").unlink()
    done = check(online_workspace, "--online")
    assert done.returncode == 1
    assert server.hits["HEAD", "/nl/posts/2026-12/meeting.png"] == 1  # asked once, for both
    pages = [online_workspace / POST / f"index.{lang}.md" for lang in ("en", "nl")]
    url = f"http://127.0.0.1:{server.port}/nl/posts/2026-12/meeting.png"
    for page in pages:
        assert (f"{page}:{line_of(page, '(meeting.png)')}: error: image {url} is not "
                "published: HTTP 404") in done.stdout
    code, report = check_json(online_workspace, "--online")
    assert [(p["path"], p["code"]) for p in published_problems(report)] == [
        (str(page), "unpublished-image") for page in pages]


def test_redirects_within_the_site_are_followed_others_reported(
        online_workspace: Path, server: SiteServer) -> None:
    site = f"http://127.0.0.1:{server.port}"
    server.redirects["/nl/about/"] = "/nl/about/index.html"  # followed: fine
    server.redirects["/nl/join/"] = "https://join.elsewhere.example/nl/"  # reported
    server.redirects["/en/about/"] = f"{site}/en/about/"  # a loop
    server.redirects["/en/join/"] = "http://[::1"  # not a URL
    code, report = check_json(online_workspace, "--online")
    found = {(p["code"], p["message"].split()[1]): p for p in published_problems(report)}
    assert set(found) == {("offsite-redirect", f"{site}/nl/join/"),
                          ("unreachable-link", f"{site}/en/about/"),
                          ("unreachable-link", f"{site}/en/join/")}
    offsite = found["offsite-redirect", f"{site}/nl/join/"]
    assert offsite["severity"] == "warning"
    assert ("redirects to https://join.elsewhere.example/nl/, another host; not followed"
            in offsite["message"])
    assert (f"redirect loop at {site}/en/about/"
            in found["unreachable-link", f"{site}/en/about/"]["message"])
    assert "Invalid URL in location header" in found[
        "unreachable-link", f"{site}/en/join/"]["message"]
    assert server.hits["HEAD", "/nl/about/index.html"] == 1
    assert code == 1


def test_a_broken_external_link_is_a_warning_only(online_workspace: Path,
                                                  server: SiteServer) -> None:
    server.broken.add("/elsewhere/mastodon.nl/@techwerkers")
    code, report = check_json(online_workspace, "--online")
    found = published_problems(report)
    assert [(p["code"], p["severity"]) for p in found] == [("external-link", "warning")] * 2
    assert {p["path"] for p in found} == {str(online_workspace / POST / f"index.{lang}.md")
                                          for lang in ("nl", "en")}
    assert code == 0


def test_a_site_that_never_answers_is_reported_within_the_time_limit(
        online_workspace: Path, server: SiteServer) -> None:
    """A listening socket that accepts and never answers: the limit ends the check, and
    every URL left is an error (site) or a warning (external), none passed."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        set_base_url(online_workspace, "")
        config = online_workspace / "postduif.toml"
        config.write_text(re.sub(r'base_url = "[^"]*"',
                                 f'base_url = "http://127.0.0.1:{silent.getsockname()[1]}/"',
                                 config.read_text(encoding="utf-8"), count=1), encoding="utf-8")
        started = time.monotonic()
        code, report = check_json(online_workspace, "--online", "--timeout", "2",
                                  "--concurrency", "2")
        elapsed = time.monotonic() - started
    assert code == 1 and elapsed < 30
    counts = report["published"]
    assert counts["unchecked"] >= counts["site_urls"] >= 10
    errors = [p for p in published_problems(report) if p["severity"] == "error"]
    assert errors and all(p["code"].startswith("unchecked-") for p in errors)
    assert "not checked within the time limit (2 s)" in errors[0]["message"]


def test_a_dripping_answer_is_cut_off_and_reported(online_workspace: Path,
                                                    server: SiteServer) -> None:
    """One image dribbles its headers: the rest is checked meanwhile, the image is reported
    as not checked when the time limit ends the run."""
    server.drip.add("/nl/posts/2026-12/meeting.png")
    started = time.monotonic()
    code, report = check_json(online_workspace, "--online", "--timeout", "4")
    assert time.monotonic() - started < 30
    pages = [online_workspace / POST / f"index.{lang}.md" for lang in ("en", "nl")]
    assert [(p["path"], p["line"], p["code"]) for p in published_problems(report)] == [
        (str(page), line_of(page, "(meeting.png)"), "unchecked-image") for page in pages]
    assert report["published"]["unchecked"] == 1 and code == 1


def test_the_online_check_as_a_library(server: SiteServer) -> None:
    """One status per distinct URL; a fragment is not a URL of its own."""
    site = f"http://127.0.0.1:{server.port}/"
    urls = [f"{site}nl/posts/2026-12/meeting.png", f"{site}nl/about/#team", f"{site}nl/about/",
            f"{site}nl/no-such-page/", f"{site}nl/about"]
    statuses = check_online(urls, concurrency=2, timeout=30)
    assert [s.url for s in statuses] == urls
    assert [s.url for s in not_published(statuses)] == [f"{site}nl/no-such-page/"]
    assert server.hits["HEAD", "/nl/about/"] == 2  # once itself, once after /nl/about's redirect
