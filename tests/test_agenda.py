"""The agenda package: calendar feeds over HTTP from a real server on 127.0.0.1, the cache
under build/feeds/, Gancio's JSON, local .ics files."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from postduif.agenda import FeedSource, feed_events
from postduif.errors import FeedError
from postduif.render import Event

from .feed_server import FEEDS, FeedServer

ZONE = ZoneInfo("Europe/Amsterdam")
START = datetime(2026, 10, 1, tzinfo=ZONE)
END = datetime(2026, 11, 15, tzinfo=ZONE)
NEXTCLOUD = "/remote.php/dav/public-calendars/techwerkers"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    running = FeedServer()
    yield running
    running.stop()


def _read(feed: str, tmp_path: Path, *, max_age: timedelta | None = None,
          now: datetime | None = None) -> tuple[list[Event], list[str]]:
    source = FeedSource(feed, tmp_path / "build" / "feeds", tmp_path, max_age, now)
    found = feed_events(source, START, END, ZONE)
    return list(found.events), list(found.warnings)


def test_weekly_event_keeps_its_local_hour_when_daylight_saving_time_ends(
        server: FeedServer, tmp_path: Path) -> None:
    events, _ = _read(server.url(NEXTCLOUD) + "?export", tmp_path)
    club = [e for e in events if e.title.startswith("Boekenclub")]
    assert [e.start.astimezone(ZONE).day for e in club] == [8, 15, 22, 29, 5]
    assert {e.start.astimezone(ZONE).hour for e in club} == {19}
    assert [e.start.astimezone(UTC).hour for e in club] == [17, 17, 17, 18, 18]
    assert all(e.end and e.end - e.start == timedelta(hours=2) for e in club)
    assert club[0].location == "OBA Oosterdok, Oosterdokskade 143, Amsterdam"


def test_a_utc_start_late_at_night_falls_on_the_next_local_day(
        server: FeedServer, tmp_path: Path) -> None:
    events, _ = _read(server.url(NEXTCLOUD), tmp_path)
    picnic = next(e for e in events if e.title.startswith("Night shift"))
    assert picnic.start == datetime(2026, 10, 24, 23, 0, tzinfo=UTC)
    assert (picnic.start.astimezone(ZONE).day, picnic.start.astimezone(ZONE).hour) == (25, 1)


def test_all_day_online_and_out_of_window_events(server: FeedServer, tmp_path: Path) -> None:
    events, _ = _read(server.url(NEXTCLOUD), tmp_path)
    strike = next(e for e in events if "stakingsdag" in e.title)
    assert strike.all_day and strike.end is None  # DTEND the next day: a one-day event
    assert strike.title == "[Oproep] Landelijke stakingsdag"  # not the calendar's name: kept
    webinar = next(e for e in events if e.title.startswith("Webinar"))
    assert (webinar.online_url, webinar.location) == ("https://meet.jit.si/techwerkers-ai-act", "")
    assert "Nieuwjaarsborrel" not in {e.title for e in events}
    assert [e.start for e in events] == sorted(e.start for e in events)


def test_an_event_without_a_url_is_a_warning(server: FeedServer, tmp_path: Path) -> None:
    _, warnings = _read(server.url(NEXTCLOUD), tmp_path)
    assert warnings == ["event 'Webinar: your rights under the AI Act' on 2026-11-04 has no URL "
                        "in the feed; the email shows it without a link"]


def test_gancio_ics_url_is_read_through_its_json_feed(server: FeedServer, tmp_path: Path) -> None:
    events, warnings = _read(server.url("/feed/ics?tags=organiseren"), tmp_path)
    assert server.hits == {"/feed/json": 1}
    assert warnings == []
    meeting, qa, weekend = events
    assert meeting.title == "Organisatiebijeenkomst oktober"
    assert (meeting.location, meeting.address) == ("Pakhuis de Zwijger",
                                                   "Piet Heinkade 179, Amsterdam")
    assert meeting.url == server.url("/event/organisatiebijeenkomst-oktober")
    assert meeting.start.astimezone(ZONE).hour == 18
    assert meeting.end is not None and meeting.end.astimezone(ZONE).minute == 30
    assert (qa.location, qa.address, qa.end) == ("", "", None)
    assert qa.online_url == "https://meet.jit.si/techwerkers-qa"
    assert weekend.end is not None and weekend.end.astimezone(ZONE).day == 8


def test_gancio_falls_back_to_ics_when_json_fails(server: FeedServer, tmp_path: Path) -> None:
    server.failing["/feed/json"] = 500
    events, warnings = _read(server.url("/feed/json"), tmp_path)
    assert [e.title for e in events] == ["Organisatiebijeenkomst oktober"]  # prefix dropped
    assert events[0].location == "Pakhuis de Zwijger - Piet Heinkade 179, Amsterdam"
    assert len(warnings) == 1 and "answered HTTP 500" in warnings[0]
    assert server.url("/feed/ics") in warnings[0]


def test_offline_build_uses_the_cached_copy_and_says_how_old(
        server: FeedServer, tmp_path: Path) -> None:
    url = server.url(NEXTCLOUD)
    fetched = datetime(2026, 9, 30, 8, 0, tzinfo=UTC)
    first, _ = _read(url, tmp_path, now=fetched)
    assert list((tmp_path / "build" / "feeds").glob("*.feed"))
    server.stop()
    again, warnings = _read(url, tmp_path, now=fetched + timedelta(hours=30))
    assert again == first
    assert len(warnings) == 2 and warnings[0].startswith(f"calendar feed {url} could not be")
    assert "using the copy fetched 30 hours ago (2026-09-30 08:00 UTC)" in warnings[0]


def test_unreachable_feed_without_a_copy_is_an_error_naming_the_url(tmp_path: Path) -> None:
    server = FeedServer()
    url = server.url(NEXTCLOUD)
    server.stop()
    with pytest.raises(FeedError, match=f"calendar feed {url} could not be fetched"):
        _read(url, tmp_path)


def test_http_error_status_names_url_and_status(server: FeedServer, tmp_path: Path) -> None:
    with pytest.raises(FeedError, match=f"calendar feed {server.url('/nope.ics')} answered "
                                        "HTTP 404"):
        _read(server.url("/nope.ics"), tmp_path)


def test_a_recent_copy_is_not_fetched_again_within_max_age(
        server: FeedServer, tmp_path: Path) -> None:
    url, now = server.url(NEXTCLOUD), datetime(2026, 9, 30, 8, 0, tzinfo=UTC)
    five = timedelta(minutes=5)
    for minutes in (0, 1, 4):
        _read(url, tmp_path, max_age=five, now=now + timedelta(minutes=minutes))
    assert server.hits == {NEXTCLOUD: 1}
    _read(url, tmp_path, max_age=five, now=now + timedelta(minutes=6))
    assert server.hits == {NEXTCLOUD: 2}
    _read(url, tmp_path, now=now + timedelta(minutes=7))  # no max_age (a build): always asks
    assert server.hits == {NEXTCLOUD: 3}


def test_a_local_ics_file_is_read_relative_to_the_campaign(tmp_path: Path) -> None:
    (tmp_path / "agenda.ics").write_bytes((FEEDS / "agenda.ics").read_bytes())
    events, _ = _read("agenda.ics", tmp_path)
    assert len(events) == 8
    with pytest.raises(FeedError, match=r"calendar file .*missing\.ics cannot be read"):
        _read("missing.ics", tmp_path)


def test_gancio_ics_file_keeps_titles_without_its_calendar_name(tmp_path: Path) -> None:
    (tmp_path / "g.ics").write_bytes((FEEDS / "gancio.ics").read_bytes())
    events, _ = _read("g.ics", tmp_path)
    assert [e.title for e in events] == ["[Techwerkers agenda] Organisatiebijeenkomst oktober"]


def test_not_a_calendar_is_an_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "broken.ics").write_text("BEGIN:VCALENDAR\nthis is not ical\n", "utf-8")
    with pytest.raises(FeedError, match="broken.ics is not a valid iCalendar file"):
        _read("broken.ics", tmp_path)
    (tmp_path / "nostart.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1@x\r\nSUMMARY:Borrel\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n", "utf-8")
    with pytest.raises(FeedError, match="nostart.ics is not a valid iCalendar file: an event "
                                        "has no DTSTART"):
        _read("nostart.ics", tmp_path)


def test_not_gancio_json_is_read_as_the_calendar_it_is(server: FeedServer, tmp_path: Path
                                                        ) -> None:
    """A URL that looks like Gancio's but answers a calendar is read as one, with a warning;
    one that answers neither is an error naming the URL."""
    server.files["/feed/json"] = FEEDS / "agenda.ics"
    events, warnings = _read(server.url("/feed/json"), tmp_path)
    assert "[Oproep] Landelijke stakingsdag" in [e.title for e in events]
    assert [w for w in warnings if "ordinary iCalendar" in w] == [
        f"Gancio feed {server.url('/feed/json')} is not the JSON Gancio serves: it is not JSON at "
        f"all, line 1; read {server.url('/feed/json')} as an ordinary iCalendar feed "
        "instead"]
    (tmp_path / "neither").write_text('{"events": []}', "utf-8")
    server.files["/feed/json"] = tmp_path / "neither"
    with pytest.raises(FeedError, match=f"Gancio feed {server.url('/feed/json')} is not the JSON"):
        _read(server.url("/feed/json"), tmp_path / "again")
