"""A page's hero image, found in the site layout's order: ``feature``, ``cover``, bundle files
whose names say so, Hugo's ``images``; with alt text, caption and the errors on the way."""

from __future__ import annotations

from pathlib import Path

import frontmatter
import pytest

from postduif.content import Site, load_site
from postduif.content.cover import Cover
from postduif.problems import Problem, Severity

from .images_support import write_png

TESTS = Path(__file__).resolve().parent
TECHWERKERS = TESTS.parents[1] / "shared" / "corpus" / "techwerkers"
HUGO = ('baseURL = "https://example.org/"\ndefaultContentLanguage = "nl"\n'
        "defaultContentLanguageInSubdir = true\n[languages.nl]\nweight = 1\n")


@pytest.fixture(scope="module")
def techwerkers() -> Site:
    return load_site(TECHWERKERS)


def make_site(root: Path, front_matter: str, files: tuple[str, ...] = ()) -> Path:
    """A one-post site: ``content/posts/p/index.nl.md`` with ``front_matter`` and ``files``
    (real PNGs) beside it; returns the page's path."""
    (root / "hugo.toml").parent.mkdir(parents=True, exist_ok=True)
    (root / "hugo.toml").write_text(HUGO, encoding="utf-8")
    page = root / "content" / "posts" / "p" / "index.nl.md"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(f"---\ntitle: Een bericht\n{front_matter}---\n\nTekst.\n", encoding="utf-8")
    for name in files:
        write_png(root / name, 40, 20)
    return page


def cover_of(root: Path) -> tuple[Cover | None, list[Problem]]:
    site = load_site(root)
    page = site.get("posts/p", "nl")
    assert page is not None
    return page.cover, list(site.problems)


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


POSTS = sorted((TECHWERKERS / "content" / "posts").glob("*/index.*.md"))


@pytest.mark.parametrize("source", POSTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_real_post_shows_its_feature_image(techwerkers: Site, source: Path) -> None:
    """Front matter read with python-frontmatter, independently of the code under test."""
    meta = frontmatter.load(source)
    page = next(p for p in techwerkers.pages if p.source == source)
    assert page.cover is not None
    assert (page.cover.ref, page.cover.key) == (meta["feature"], "feature")
    assert page.cover.alt == str(meta["featureAlt"]).strip()
    assert page.cover.line == line_of(source, "feature:")
    shown = techwerkers.cover_image(page)
    # Hugo publishes a shared bundle file once, beside the default language's (nl) page; the
    # English page shows it from there (tests/test_hugo_urls.py checks this with real Hugo)
    dutch = techwerkers.translations(page)["nl"]
    assert shown is not None and shown.url == dutch.url + meta["feature"]


def test_a_real_event_without_front_matter_falls_back_to_its_feature_file(
        techwerkers: Site) -> None:
    event = techwerkers.get("events/2025-07-18", "nl")
    assert event is not None and "feature" not in event.params
    assert event.cover == Cover("feature.png", "", "", "", None)


def test_a_real_event_naming_a_missing_file_is_an_error_at_its_line(techwerkers: Site) -> None:
    source = TECHWERKERS / "content" / "events" / "2025-04-11" / "index.en.md"
    [problem] = [p for p in techwerkers.problems if p.path == source]
    assert (problem.code, problem.severity) == ("missing-cover-image", Severity.ERROR)
    assert problem.line == line_of(source, "feature: \"feature-conference.jpg\"")
    assert "'feature-conference.png' instead" in problem.message
    event = techwerkers.get("events/2025-04-11", "en")
    assert event is not None and event.cover is not None
    assert event.cover.ref == "feature-conference.png"  # the layout's fallback


def test_real_webp_cover_is_no_problem_of_the_site(techwerkers: Site) -> None:
    """The email shows a JPEG or PNG rendition of a WebP cover (tests/test_renditions.py),
    so the site's WebP is not something to fix."""
    source = TECHWERKERS / "content" / "posts" / "summer-reading-2026" / "index.nl.md"
    assert [p for p in techwerkers.problems if p.path == source] == []
    page = techwerkers.get("posts/summer-reading-2026", "nl")
    assert page is not None and page.cover is not None
    assert page.cover.ref.endswith(".webp") and page.cover.line == line_of(source, "feature:")
    february = TECHWERKERS / "content" / "posts" / "2026-feb" / "index.nl.md"
    assert [p for p in techwerkers.problems if p.path == february] == []


def test_cover_style_with_alt_and_caption(tmp_path: Path) -> None:
    page = make_site(tmp_path, "cover: foto.png\ncoverAlt: Een foto\n"
                     "coverCaption: Foto door Sam\n", ("content/posts/p/foto.png",))
    cover, problems = cover_of(tmp_path)
    assert cover == Cover("foto.png", "Een foto", "Foto door Sam", "cover",
                          line_of(page, "cover:"))
    assert problems == []


def test_feature_beats_cover_and_feature_alt_beats_cover_alt(tmp_path: Path) -> None:
    make_site(tmp_path, "cover: a.png\ncoverAlt: A\nfeature: b.png\nfeatureAlt: B\n"
              "coverCaption: Bijschrift\n", ("content/posts/p/a.png", "content/posts/p/b.png"))
    cover, _ = cover_of(tmp_path)
    assert cover is not None
    assert (cover.ref, cover.alt, cover.caption) == ("b.png", "B", "Bijschrift")


@pytest.mark.parametrize(("files", "expected"), [
    (("a-cover.png", "b-cover.png"), "a-cover.png"),  # the first by name
    (("my-cover.png", "the-feature.png"), "the-feature.png"),  # *feature* before cover
    (("COVER.PNG",), "COVER.PNG"),  # Hugo matches names case-insensitively
    (("cover.txt", "photo.png"), None),  # not an image; no name that says so
])
def test_bundle_files_named_cover_or_feature(tmp_path: Path, files: tuple[str, ...],
                                             expected: str | None) -> None:
    make_site(tmp_path, "", tuple(f"content/posts/p/{name}" for name in files))
    cover, problems = cover_of(tmp_path)
    assert (cover.ref if cover else None) == expected
    assert problems == []


def test_hugo_images_is_the_last_resort(tmp_path: Path) -> None:
    make_site(tmp_path, "images: [img/social.png, img/other.png]\n", ("static/img/social.png",))
    cover, problems = cover_of(tmp_path)
    assert cover is not None and (cover.ref, cover.key) == ("/img/social.png", "images")
    assert problems == []
    site = load_site(tmp_path)
    page = site.get("posts/p", "nl")
    assert page is not None
    shown = site.cover_image(page)
    assert shown is not None and shown.url == "https://example.org/img/social.png"


def test_images_does_not_override_a_bundle_feature(tmp_path: Path) -> None:
    make_site(tmp_path, "images: [img/social.png]\n",
              ("static/img/social.png", "content/posts/p/feature.png"))
    cover, _ = cover_of(tmp_path)
    assert cover is not None and cover.ref == "feature.png"


@pytest.mark.parametrize("key", ["cover", "feature", "images"])
def test_a_named_file_that_does_not_exist_is_an_error_at_its_line(tmp_path: Path,
                                                                  key: str) -> None:
    page = make_site(tmp_path, f"{key}: weg.png\n")
    cover, problems = cover_of(tmp_path)
    [problem] = problems
    assert (problem.code, problem.severity) == ("missing-cover-image", Severity.ERROR)
    assert (problem.path, problem.line) == (page, line_of(page, f"{key}:"))
    assert "'weg.png'" in problem.message
    assert cover is None


def test_a_remote_cover_is_kept_without_a_check(tmp_path: Path) -> None:
    make_site(tmp_path, "feature: https://cdn.example.net/kop.jpg\nfeatureAlt: Kop\n")
    cover, problems = cover_of(tmp_path)
    assert cover is not None and cover.ref == "https://cdn.example.net/kop.jpg"
    assert problems == []


def test_a_cover_outside_the_site_is_an_error(tmp_path: Path) -> None:
    write_png(tmp_path / "buiten.png", 40, 20)
    page = make_site(tmp_path / "site", "cover: ../../../../buiten.png\n")
    cover, problems = cover_of(tmp_path / "site")
    [problem] = problems
    assert (problem.code, problem.severity) == ("image-outside-site", Severity.ERROR)
    assert problem.line == line_of(page, "cover:")
    assert cover is None


def test_a_page_without_any_image_has_no_cover_and_no_problem(tmp_path: Path) -> None:
    make_site(tmp_path, "")
    cover, problems = cover_of(tmp_path)
    assert cover is None and problems == []


def test_a_missing_cover_beside_a_feature_file_is_a_warning(tmp_path: Path) -> None:
    """The July post: ``cover: feature.png`` names no file, but ``feature.jpg`` matches
    ``*feature*``, which the layout shows before any ``cover``: not an error."""
    page = make_site(tmp_path, "cover: feature.png\ncoverAlt: Een foto\n",
                     ("content/posts/p/feature.jpg",))
    cover, problems = cover_of(tmp_path)
    assert cover is not None and (cover.ref, cover.alt) == ("feature.jpg", "Een foto")
    [problem] = problems
    assert (problem.code, problem.severity) == ("missing-cover-image", Severity.WARNING)
    assert problem.line == line_of(page, "cover:")
    assert "'feature.png'" in problem.message and "'feature.jpg'" in problem.message


def test_a_missing_cover_the_layout_would_show_stays_an_error(tmp_path: Path) -> None:
    """Without a feature image the layout shows the cover: its missing file is an error,
    and the next candidate (a ``*cover*`` file) is what the site shows instead."""
    make_site(tmp_path, "cover: weg.png\n", ("content/posts/p/my-cover.png",))
    cover, problems = cover_of(tmp_path)
    assert cover is not None and cover.ref == "my-cover.png"
    [problem] = problems
    assert (problem.code, problem.severity) == ("missing-cover-image", Severity.ERROR)
    assert "'my-cover.png' instead" in problem.message


def test_a_language_specific_feature_file_is_the_cover_of_its_language(tmp_path: Path) -> None:
    """``feature.en.png`` is the English ``feature.png``: Hugo publishes it beside the English
    page, the Dutch page keeps the shared file (real Hugo: test_hugo_urls.py)."""
    make_site(tmp_path, "", ("content/posts/p/feature.png", "content/posts/p/feature.en.png"))
    (tmp_path / "hugo.toml").write_text(HUGO + "[languages.en]\nweight = 2\n", encoding="utf-8")
    english = tmp_path / "content" / "posts" / "p" / "index.en.md"
    english.write_text("---\ntitle: A post\n---\n\nText.\n", encoding="utf-8")
    site = load_site(tmp_path)
    shown = {}
    for lang in ("nl", "en"):
        page = site.get("posts/p", lang)
        assert page is not None and page.cover is not None and page.cover.ref == "feature.png"
        image = site.cover_image(page)
        shown[lang] = image.url if image is not None else None
    assert shown == {"nl": "https://example.org/nl/posts/p/feature.png",
                     "en": "https://example.org/en/posts/p/feature.en.png"}
