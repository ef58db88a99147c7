"""A campaign whose agenda comes from a calendar feed, end to end: the feed served over HTTP
from 127.0.0.1, the built email, ``check``'s agenda warnings, the event lint, the preview's
refetch throttle."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from postduif.build import BuildFailed, build_campaign
from postduif.check import check_event, check_plan
from postduif.content import Site, load_site
from postduif.errors import CampaignError
from postduif.preview.builds import Builds
from postduif.workspace import Workspace

from .conftest import CORPUS, REPO
from .feed_server import FeedServer

NEXTCLOUD = "/remote.php/dav/public-calendars/techwerkers"
TECHWERKERS = CORPUS / "techwerkers"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    running = FeedServer()
    yield running
    running.stop()


def _campaign(root: Path, agenda: str, name: str = "feed",
              page: str = "posts/2026-12") -> None:
    (root / "campaigns" / f"{name}.toml").write_text(
        f'page = "{page}"\nlist = "nieuwsbrief"\n\n[agenda]\n{agenda}\n', encoding="utf-8")


def _codes(ws: Workspace, name: str = "feed") -> dict[str, list[str]]:
    plan = ws.plan(ws.campaign(name))
    found: dict[str, list[str]] = {}
    for problem in check_plan(ws.site, plan, ws.render(plan)):
        found.setdefault(problem.code, []).append(str(problem))
    return found


def test_the_email_shows_end_times_all_day_dates_and_online_links(
        workspace: Path, server: FeedServer) -> None:
    _campaign(workspace, f'feed = "{server.url(NEXTCLOUD)}"\nfrom = 2026-10-01\ndays = 45')
    result = build_campaign(Workspace.open(workspace), "feed")
    html = (result.directory / "nl.html").read_text(encoding="utf-8")
    text = (result.directory / "en.txt").read_text(encoding="utf-8")
    assert "donderdag 8 oktober 2026, 19:00 – 21:00" in html
    assert "donderdag 29 oktober 2026, 19:00 – 21:00" in html  # after the clocks went back
    assert "zondag 25 oktober 2026, 01:00 – 02:00" in html  # 23:00 UTC the day before
    assert "zaterdag 17 oktober 2026</p>" in html  # all-day: no time
    assert 'href="https://meet.jit.si/techwerkers-ai-act"' in html
    assert ">Webinar: your rights under the AI Act</p>" in html  # no URL: no empty link
    assert "Thursday 8 October 2026, 19:00 – 21:00" in text
    assert "Online: https://meet.jit.si/techwerkers-ai-act\n" in text
    assert "Nieuwjaarsborrel" not in html  # January 2027: outside the window
    assert list((workspace / "build" / "feeds").glob("*.feed"))


def test_gancio_places_show_their_address(workspace: Path, server: FeedServer) -> None:
    _campaign(workspace, f'feed = "{server.url("/feed/ics")}"\nfrom = 2026-10-01\ndays = 45')
    result = build_campaign(Workspace.open(workspace), "feed")
    text = (result.directory / "nl.txt").read_text(encoding="utf-8")
    assert "Waar: Pakhuis de Zwijger, Piet Heinkade 179, Amsterdam\n" in text
    assert server.url("/event/organisatiebijeenkomst-oktober") in text
    assert "Online: https://meet.jit.si/techwerkers-qa\n" in text
    assert "zaterdag 7 november 2026, 10:00 – zondag 8 november 2026, 16:00\n" in text
    assert "woensdag 28 oktober 2026, 19:30\n" in text  # Gancio gave no end


def _web_page_at(server: FeedServer, tmp_path: Path, *paths: str) -> None:
    """Make the server answer ``paths`` as a host does that serves its web page for every
    path, with 200: the answer at /feed/json is then no Gancio JSON."""
    page = tmp_path / "page.html"
    page.write_text("<!doctype html><title>Agenda</title><p>Our events</p>", "utf-8")
    for path in paths:
        server.files[path] = page


def test_a_feed_whose_json_is_a_web_page_is_read_as_the_ics_it_gave(
        workspace: Path, server: FeedServer, tmp_path: Path) -> None:
    _web_page_at(server, tmp_path, "/feed/json")
    server.files["/feed/ics"] = server.files[NEXTCLOUD]  # a calendar, but from no Gancio
    _campaign(workspace, f'feed = "{server.url("/feed/ics")}"\nfrom = 2026-10-01\ndays = 45')
    result = build_campaign(Workspace.open(workspace), "feed")
    text = (result.directory / "nl.txt").read_text(encoding="utf-8")
    assert "[Oproep] Landelijke stakingsdag" in text  # a plain calendar keeps its brackets
    warned = [p for p in result.problems if p.code == "agenda-feed" and "JSON" in p.message]
    assert len(warned) == 1 and warned[0].line == 5
    assert (f"{server.url('/feed/json')} is not the JSON Gancio serves: it answered a web "
            f"page; read {server.url('/feed/ics')} as an ordinary iCalendar feed instead"
            ) in warned[0].message


def test_a_feed_that_is_neither_gancio_json_nor_a_calendar_fails_naming_both(
        workspace: Path, server: FeedServer, tmp_path: Path) -> None:
    _web_page_at(server, tmp_path, "/feed/json", "/feed/ics")
    _campaign(workspace, f'feed = "{server.url("/feed/ics")}"')
    with pytest.raises(BuildFailed) as failed:
        build_campaign(Workspace.open(workspace), "feed")
    errors = [p for p in failed.value.problems if p.code == "agenda-feed"]
    assert len(errors) == 1 and errors[0].line == 5
    assert server.url("/feed/json") in errors[0].message
    assert f"{server.url('/feed/ics')} as given is no calendar either" in errors[0].message


def test_an_offline_rebuild_uses_the_copy_with_a_warning(workspace: Path) -> None:
    server = FeedServer()
    _campaign(workspace, f'feed = "{server.url(NEXTCLOUD)}"\nfrom = 2026-10-01')
    first = build_campaign(Workspace.open(workspace), "feed")
    assert "agenda-feed" not in {p.code for p in first.problems if "could not" in p.message}
    server.stop()
    again = build_campaign(Workspace.open(workspace), "feed")
    stale = [p for p in again.problems if p.code == "agenda-feed" and "copy fetched" in p.message]
    assert len(stale) == 1 and stale[0].line == 5 and "0 minutes ago" in stale[0].message
    assert ((again.directory / "nl.html").read_text("utf-8").count("Boekenclub")
            == (first.directory / "nl.html").read_text("utf-8").count("Boekenclub") > 0)


def test_an_unreachable_feed_without_a_copy_fails_the_build_naming_the_url(
        workspace: Path) -> None:
    server = FeedServer()
    url = server.url(NEXTCLOUD)
    server.stop()
    _campaign(workspace, f'feed = "{url}"')
    with pytest.raises(BuildFailed) as failed:
        build_campaign(Workspace.open(workspace), "feed")
    errors = [p for p in failed.value.problems if p.code == "agenda-feed"]
    assert len(errors) == 1 and url in errors[0].message and errors[0].line == 5
    result = subprocess.run([sys.executable, "-m", "postduif", "check", "feed"], cwd=workspace,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and url in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_an_empty_agenda_is_a_warning(workspace: Path, server: FeedServer) -> None:
    _campaign(workspace, f'feed = "{server.url(NEXTCLOUD)}"\nfrom = 2028-01-01\ndays = 30')
    found = _codes(Workspace.open(workspace))
    assert found["agenda-empty"] == [
        f"{workspace / 'campaigns/feed.toml'}:4: warning: the agenda is empty: no event from "
        "2028-01-01 to 2028-01-30; the email goes out without one [agenda-empty]"]
    _campaign(workspace, f'feed = "{server.url(NEXTCLOUD)}"\nfrom = 2026-10-01\ndays = 30')
    assert "agenda-empty" not in _codes(Workspace.open(workspace))


def test_a_section_that_does_not_exist_is_a_warning(workspace: Path) -> None:
    _campaign(workspace, 'section = "evenementen"')
    found = _codes(Workspace.open(workspace))
    assert len(found["agenda-no-section"]) == 1
    assert ":5: warning: agenda.section 'evenementen' names no section" in found[
        "agenda-no-section"][0]
    _campaign(workspace, 'section = "events"')
    found = _codes(Workspace.open(workspace))
    assert "agenda-no-section" not in found and "agenda-empty" not in found


def test_feed_must_be_a_string(workspace: Path) -> None:
    _campaign(workspace, "feed = 3")
    with pytest.raises(CampaignError, match=r"feed\.toml:5: agenda\.feed must be a URL"):
        Workspace.open(workspace).campaign("feed")


def _in_place(tmp_path: Path, agenda: str) -> Workspace:
    """The real site built in place (as in test_build), with the given agenda."""
    (tmp_path / "campaigns").mkdir(exist_ok=True)
    (tmp_path / "postduif.toml").write_text(
        f'[site]\npath = "{TECHWERKERS}"\n[paths]\ntemplates = "{REPO / "templates"}"\n'
        f'lists = "{REPO / "lists"}"\n'
        '[sender]\nname = "Techwerkers"\nemail = "nieuwsbrief@techwerkers.nl"\n',
        encoding="utf-8")
    _campaign(tmp_path, agenda, name="feb", page="posts/2026-feb")
    return Workspace.open(tmp_path)


def test_a_page_with_its_own_agenda_heading_gets_a_warning(
        tmp_path: Path, server: FeedServer) -> None:
    ws = _in_place(tmp_path, f'feed = "{server.url(NEXTCLOUD)}"\nfrom = 2026-10-01')
    post = (TECHWERKERS / "content/posts/2026-feb").resolve()  # the site is read resolved
    assert _codes(ws, "feb")["agenda-twice"] == [
        f"{post / f'index.{lang}.md'}:24: warning: the page has its own agenda heading "
        f"'## {heading}'; the email adds the campaign's agenda below it, so it shows two: "
        "remove one [agenda-twice]" for lang, heading in (("en", "Upcoming events"),
                                                          ("nl", "Agenda"))]


def test_no_agenda_heading_warning_without_a_second_agenda(
        tmp_path: Path, workspace: Path, server: FeedServer) -> None:
    ws = _in_place(tmp_path, f'feed = "{server.url(NEXTCLOUD)}"\nfrom = 2028-01-01')
    assert "agenda-twice" not in _codes(ws, "feb")  # the feed has nothing then: one agenda
    _campaign(workspace, f'feed = "{server.url(NEXTCLOUD)}"\nfrom = 2026-10-01')
    assert "agenda-twice" not in _codes(Workspace.open(workspace))  # a page without its own


@pytest.fixture(scope="module")
def corpus_site() -> Site:
    return load_site(TECHWERKERS, timezone="Europe/Amsterdam")


def _event_problems(site: Site, path: str, lang: str) -> list[str]:
    page = site.get(path, lang)
    assert page is not None
    return [str(p) for p in check_event(site, page)]


def test_nl_and_en_versions_with_different_dates_are_an_error(corpus_site: Site) -> None:
    nl = TECHWERKERS / "content/events/2025-11-23/index.nl.md"
    en = TECHWERKERS / "content/events/2025-11-23/index.en.md"
    assert _event_problems(corpus_site, "events/2025-11-23", "nl") == [
        f"{nl}:3: error: this nl event starts 2025-11-22 10:00, its en version ({en}) "
        "2025-11-23 10:00: make them the same [event-dates-differ]",
        f"{nl}:3: warning: date 2025-11-22T11:00:00+02:00 has the UTC offset +02:00, but "
        "Europe/Amsterdam is at +01:00 on that date: the email shows 10:00. Write "
        "2025-11-22T11:00:00+01:00 or leave the offset out [event-utc-offset]"]
    assert any("event-dates-differ" in p for p in _event_problems(
        corpus_site, "events/2025-11-23", "en"))


def test_a_winter_date_with_the_summer_offset_is_a_warning(corpus_site: Site) -> None:
    found = _event_problems(corpus_site, "events/2026-03-02", "nl")
    assert len(found) == 1 and "[event-utc-offset]" in found[0]
    assert "2026-03-02T18:00:00+02:00" in found[0] and "the email shows 17:00" in found[0]


def test_events_with_the_right_offset_and_equal_dates_are_silent(corpus_site: Site) -> None:
    for path in ("events/2025-10-07", "events/2025-02-13",
                 "events/2025-03-10-organisatiebijeenkomst"):
        for lang in ("nl", "en"):
            assert _event_problems(corpus_site, path, lang) == [], path


def test_check_lints_the_events_on_a_campaigns_agenda(tmp_path: Path) -> None:
    ws = _in_place(tmp_path, 'section = "events"\nfrom = 2026-02-20\ndays = 20')
    found = _codes(ws, "feb")
    assert len(found["event-utc-offset"]) == 2  # 2026-03-02, nl and en
    assert all("events/2026-03-02/index." in p for p in found["event-utc-offset"])
    assert "event-dates-differ" not in found


def test_preview_asks_the_feed_again_only_after_five_minutes(
        workspace: Path, server: FeedServer) -> None:
    _campaign(workspace, f'feed = "{server.url(NEXTCLOUD)}"\nfrom = 2026-10-01')
    builds = Builds(Workspace.open(workspace))
    assert builds.get("feed").error is None
    builds.reload([workspace / "campaigns/feed.toml"])
    assert builds.get("feed").plan is not None
    assert server.hits == {NEXTCLOUD: 1}
    build_campaign(Workspace.open(workspace), "feed")  # a build always asks
    assert server.hits == {NEXTCLOUD: 2}
