"""Pages of the two fixture sites: layouts, front matter, dates, URLs, lookups, bad files."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from postduif.content import Site, load_site
from postduif.content.dates import to_datetime
from postduif.problems import Severity

FIXTURES = Path(__file__).resolve().parent / "fixtures"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(FIXTURES / "site")


@pytest.fixture(scope="module")
def dir_site() -> Site:
    return load_site(FIXTURES / "site_dirs")


def line_of(path: Path, needle: str) -> int:
    """1-based line of the first line of ``path`` containing ``needle``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


def test_suffix_layout_languages_and_kinds(site: Site) -> None:
    about_nl, about_en = site.get("about", "nl"), site.get("about", "en")
    assert about_nl is not None and about_en is not None
    assert about_nl.source.name == "index.nl.md" and about_en.source.name == "index.en.md"
    assert about_nl.kind == "page" and about_nl.bundle_dir == about_nl.source.parent
    join = site.get("join", "en")
    assert join is not None and join.kind == "section" and join.section == "join"
    home = site.get("", "nl")
    assert home is not None and home.section == "" and home.url == "https://example.org/nl/"


def test_file_without_suffix_belongs_to_default_language(site: Site) -> None:
    single = site.get("posts/single", "nl")
    assert single is not None and single.bundle_dir is None
    assert single.url == "https://example.org/nl/posts/single/"
    assert site.get("posts/single", "en") is None


def test_drafts_are_skipped(site: Site) -> None:
    assert all(not page.draft for page in site.pages)
    assert site.get("posts/draft-post", "nl") is None


def test_toml_front_matter_with_unpadded_hour_and_slug(site: Site) -> None:
    post = site.get("posts/toml-post", "nl")
    assert post is not None
    assert post.title == "Een bericht in TOML"
    assert post.summary == "Front matter tussen plusjes."
    assert post.params["tags"] == ["test"]
    assert post.date == datetime(2026, 3, 5, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    assert post.url == "https://example.org/nl/posts/toml-bericht/"
    shown = site.cover_image(post)  # TOML front matter: feature = "feature.png"
    assert shown is not None and shown.url == post.url + "feature.png"


def test_body_and_body_line(site: Site) -> None:
    post = site.get("posts/toml-post", "nl")
    assert post is not None
    first = post.body.strip().splitlines()[0]
    assert first.startswith("Dit bericht heeft")
    assert post.body_line + post.body.split("\n").index(first) == line_of(post.source, first)


def test_dates_without_time_or_offset_are_amsterdam_time(site: Site) -> None:
    single = site.get("posts/single", "nl")
    naive = site.get("posts/naive", "en")
    assert single is not None and naive is not None
    assert single.date == datetime(2026, 1, 10, tzinfo=AMSTERDAM)
    assert naive.date == datetime(2026, 7, 1, 18, 30, tzinfo=AMSTERDAM)
    assert naive.date.utcoffset() == timedelta(hours=2)  # summer time


def test_front_matter_url_is_honoured(site: Site) -> None:
    naive = site.get("posts/naive", "en")
    assert naive is not None and naive.url == "https://example.org/en/custom-place/"


def test_translations_pair_by_path(site: Site) -> None:
    event = site.get("events/2026-05-01", "nl")
    assert event is not None
    both = site.translations(event)
    assert set(both) == {"nl", "en"} and both["nl"] is event
    assert both["en"].title == "May walk"
    assert both["en"].date != event.date  # the two files really disagree
    single = site.get("posts/single", "nl")
    assert single is not None and site.translations(single) == {"nl": single}


def test_get_accepts_urls_file_paths_and_keys(site: Site) -> None:
    event = site.get("events/2026-05-01", "en")
    assert event is not None
    assert site.get("/events/2026-05-01/", "en") is event
    assert site.get("/en/events/2026-05-01/", "en") is event
    assert site.get("content/events/2026-05-01/index.en.md", "en") is event
    assert site.get("content/posts/single.md", "nl") is site.get("posts/single", "nl")
    assert site.get("no/such/page", "en") is None


def test_section_lists_regular_pages_by_date(site: Site) -> None:
    posts = site.section("posts", "nl")
    assert [page.path for page in posts] == ["posts/single", "posts/toml-post"]
    assert all(page.kind == "page" for page in posts)


def test_broken_front_matter_is_reported_and_the_rest_loads(site: Site) -> None:
    broken = FIXTURES / "site" / "content" / "posts" / "broken" / "index.nl.md"
    [problem] = [p for p in site.problems if p.path == broken]
    assert problem.severity is Severity.ERROR and problem.code == "front-matter"
    assert problem.line == line_of(broken, "tags: [niet")
    assert site.get("posts/broken", "nl") is None
    assert site.get("posts/toml-post", "nl") is not None


def test_invalid_utf8_and_unclosed_front_matter(tmp_path: Path) -> None:
    root = tmp_path / "site"
    shutil.copytree(FIXTURES / "site", root)
    latin1 = root / "content" / "posts" / "latin1.nl.md"
    latin1.write_bytes("---\ntitle: Caf\u00e9\n---\n".encode("latin-1"))
    unclosed = root / "content" / "posts" / "unclosed.nl.md"
    unclosed.write_text("---\ntitle: Open\n\nNo closing fence.\n", encoding="utf-8")
    loaded = load_site(root)
    by_file = {p.path: p for p in loaded.problems if p.severity is Severity.ERROR}
    assert by_file[latin1].code == "encoding" and by_file[latin1].line == 2
    assert by_file[unclosed].code == "front-matter" and by_file[unclosed].line == 1
    assert loaded.get("posts/toml-post", "nl") is not None


def test_bad_date_is_a_warning_with_line(tmp_path: Path) -> None:
    root = tmp_path / "site"
    shutil.copytree(FIXTURES / "site_dirs", root)
    page = root / "content" / "en" / "events" / "someday.md"
    page.write_text("---\ntitle: Someday\neventDate: next tuesday\n---\n", encoding="utf-8")
    impossible = root / "content" / "en" / "events" / "impossible.md"
    impossible.write_text("---\ntitle: Impossible\n\ndate: 2026-02-30\n---\n", encoding="utf-8")
    loaded = load_site(root)
    for path, line in ((page, 3), (impossible, 4)):
        [problem] = [p for p in loaded.problems if p.path == path]
        assert (problem.code, problem.line, problem.severity) == ("bad-date", line,
                                                                  Severity.WARNING)
    for name in ("someday", "impossible"):
        found = loaded.get(f"events/{name}", "en")
        assert found is not None and found.date is None


def test_directory_layout_pairs_by_translation_key(dir_site: Site) -> None:
    meetup = dir_site.get("termine/2026-10-04-treffen", "de")
    assert meetup is not None and meetup.lang == "de" and meetup.section == "termine"
    english = dir_site.translations(meetup)["en"]
    assert english.path == "events/2026-10-04-meetup"
    assert english.summary == "Exchange and planning."  # from description
    assert meetup.end == datetime(2026, 10, 4, 14, 0, tzinfo=UTC)
    assert meetup.url == "https://beispiel.example/termine/2026-10-04-treffen/"
    assert english.url == "https://beispiel.example/en/events/2026-10-04-meetup/"
    # a path of the other language finds this language's translation
    assert dir_site.get("termine/2026-10-04-treffen", "en") is english
    assert dir_site.get("2026-10-04-meetup", "de") is meetup


def test_directory_layout_section_by_translation_key(dir_site: Site) -> None:
    german = dir_site.section("events", "de")
    assert [page.title for page in german] == ["Vortrag", "Monatliches Treffen"]
    assert [page.title for page in dir_site.section("events", "en")] == ["Monthly meetup"]
    uber = dir_site.get("ueber-uns", "de")
    assert uber is not None and uber.url == "https://beispiel.example/wir/"


@pytest.mark.parametrize(("value", "expected"), [
    ("2025-04-11T9:00:00+02:00", datetime(2025, 4, 11, 7, 0, tzinfo=UTC)),
    ("2025-08-15T00:00:00.000Z", datetime(2025, 8, 15, tzinfo=UTC)),
    ("2026-01-10", datetime(2026, 1, 9, 23, 0, tzinfo=UTC)),
    ("2026-07-01 18:30", datetime(2026, 7, 1, 16, 30, tzinfo=UTC)),
    (datetime(2026, 7, 1, 18, 30), datetime(2026, 7, 1, 16, 30, tzinfo=UTC)),
])
def test_to_datetime(value: object, expected: datetime) -> None:
    parsed = to_datetime(value, AMSTERDAM)
    assert parsed is not None and parsed.tzinfo is not None and parsed == expected


def test_to_datetime_rejects_non_dates() -> None:
    assert to_datetime("", AMSTERDAM) is None
    with pytest.raises(ValueError):
        to_datetime("2026-13-01", AMSTERDAM)
    with pytest.raises(ValueError):
        to_datetime(["2026-01-01"], AMSTERDAM)


def test_markdown_inside_a_leaf_bundle_is_not_a_page(site: Site) -> None:
    assert site.get("about/notes", "nl") is None
    assert all(page.source.name != "notes.md" for page in site.pages)


def test_page_urls_are_lowercased_and_spaces_become_hyphens(tmp_path: Path) -> None:
    root = tmp_path / "site"
    shutil.copytree(FIXTURES / "site_dirs", root)
    (root / "content" / "en" / "events" / "Big Day.md").write_text(
        "---\ntitle: Big day\n---\n", encoding="utf-8")
    page = load_site(root).get("events/Big Day", "en")
    assert page is not None and page.url == "https://beispiel.example/en/events/big-day/"
