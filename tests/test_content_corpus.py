"""The whole real corpus (two sites nobody on the project wrote) loads and renders cleanly."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import frontmatter
import pytest

from postduif.check import check_site
from postduif.content import Site, load_site
from postduif.problems import Severity

TESTS = Path(__file__).resolve().parent
CORPUS = TESTS.parents[1] / "shared" / "corpus"
TECHWERKERS = CORPUS / "techwerkers"
PAUSEAI = CORPUS / "pauseai-freiburg"
SNIPPETS = TESTS.parent / "templates" / "snippets"


#: Real defects of the real content: two events name their feature image ``.jpg`` where the
#: file is a ``.png`` or ``.jpeg`` (the site's layout falls back to it; test_content_cover.py).
KNOWN_ERRORS = {"techwerkers": [(day, "missing-cover-image") for day in
                                ("2025-04-11", "2025-04-11", "2025-04-15", "2025-04-15")]}


@pytest.fixture(scope="module")
def techwerkers() -> Site:
    return load_site(TECHWERKERS, snippets_dir=SNIPPETS)


@pytest.fixture(scope="module")
def pauseai() -> Site:
    return load_site(PAUSEAI, languages=("de", "en"), base_url="https://pauseai.example/")


def files_per_language(content: Path, languages: tuple[str, ...]) -> Counter[str]:
    """Count non-draft .md files by the language their name or directory gives them
    (front matter read with python-frontmatter, independently of the code under test)."""
    counts: Counter[str] = Counter()
    for path in content.rglob("*.md"):
        if frontmatter.load(path).get("draft") is True:
            continue
        parts = path.name.split(".")
        top = path.relative_to(content).parts[0]
        lang = parts[-2] if len(parts) == 3 else top if top in languages else languages[0]
        counts[lang] += 1
    return counts


@pytest.mark.parametrize("name", ["techwerkers", "pauseai"])
def test_every_page_loads_and_renders(name: str, request: pytest.FixtureRequest) -> None:
    site: Site = request.getfixturevalue(name)
    errors = [(p.path.parent.name, p.code) for p in site.problems  # type: ignore[union-attr]
              if p.severity is Severity.ERROR]
    assert errors == KNOWN_ERRORS.get(name, [])
    counts = Counter(page.lang for page in site.pages)
    assert counts == files_per_language(site.config.root / "content", site.config.languages)
    for page in site.pages:
        assert page.title, page.source
        rendered = site.render(page)
        assert "{{<" not in rendered.html and "{{%" not in rendered.html, page.source
        assert not any(p.severity is Severity.ERROR for p in rendered.problems), page.source
        for url in rendered.links + tuple(src for src, _ in rendered.images):
            assert url.startswith(("https://", "http://", "mailto:")), (page.source, url)


def test_techwerkers_urls_and_bundle_resources(techwerkers: Site) -> None:
    post = techwerkers.get("posts/2026-feb", "nl")
    assert post is not None
    assert post.url == "https://www.techwerkers.nl/nl/posts/2026-feb/"
    shown = techwerkers.cover_image(post)
    assert shown is not None
    assert shown.url == "https://www.techwerkers.nl/nl/posts/2026-feb/feature.png"
    english = techwerkers.translations(post)["en"]
    assert english.url == "https://www.techwerkers.nl/en/posts/2026-feb/"


def test_techwerkers_event_with_different_dates_per_language(techwerkers: Site) -> None:
    differing = [page.path for page in techwerkers.section("events", "nl")
                 if (other := techwerkers.translations(page).get("en")) is not None
                 and other.date != page.date]
    assert differing == ["events/2025-11-23"]


def test_techwerkers_unpadded_hour(techwerkers: Site) -> None:
    event = techwerkers.get("events/2025-04-11", "en")
    assert event is not None and event.date is not None
    assert event.date.isoformat() == "2025-04-11T09:00:00+02:00"


def test_techwerkers_shortcode_heavy_pages(techwerkers: Site) -> None:
    join = techwerkers.get("join", "en")
    about = techwerkers.get("about", "en")
    assert join is not None and about is not None
    assert about.url in techwerkers.render(join).links  # relref path="about"
    squeaky = techwerkers.get("campaigns/squeakywheel", "nl")
    assert squeaky is not None
    images = [src for src, _ in techwerkers.render(squeaky).images]
    assert images == [f"{squeaky.url}SW-1{letter}.png" for letter in "ABCD"]


def test_pauseai_events_pair_across_directories(pauseai: Site) -> None:
    german = pauseai.section("termine", "de")
    english = pauseai.section("events", "en")
    assert len(german) == len(english) == 2
    for page in german:
        translation = pauseai.translations(page)["en"]
        assert translation in english
        assert translation.date == page.date and page.end is not None
    assert german[0].url.startswith("https://pauseai.example/termine/")
    assert english[0].url.startswith("https://pauseai.example/en/events/")


def test_check_all_lints_every_real_event(techwerkers: Site) -> None:
    """Event lint does not wait for a campaign's agenda: ``check --all`` finds them all."""
    found = {(p.path.parent.name, p.path.name, p.code) for p in check_site(techwerkers)
             if p.code in ("event-dates-differ", "event-utc-offset") and p.path is not None}
    assert {("2025-11-23", "index.nl.md", "event-dates-differ"),
            ("2025-11-23", "index.en.md", "event-dates-differ"),
            ("2026-03-02", "index.nl.md", "event-utc-offset")} <= found
    assert not any(event == "2025-10-07" for event, _, _ in found)  # right offset, same dates
