"""Rendering pages to e-mail-safe HTML: shortcodes, URLs, sanitising and problem lines."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from postduif.content import PageHtml, Site, load_site
from postduif.problems import Problem, Severity

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
FIXTURES = TESTS / "fixtures"
SEED = REPO.parent / "shared" / "seed"
SNIPPETS = REPO / "templates" / "snippets"
SHORTCODES = FIXTURES / "site" / "content" / "posts" / "shortcodes" / "index.en.md"


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(FIXTURES / "site", snippets_dir=SNIPPETS)


@pytest.fixture(scope="module")
def shortcodes(site: Site) -> PageHtml:
    page = site.get("posts/shortcodes", "en")
    assert page is not None
    return site.render(page)


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


def only(problems: tuple[Problem, ...], code: str) -> Problem:
    [problem] = [p for p in problems if p.code == code]
    return problem


def test_no_shortcode_syntax_reaches_the_output(shortcodes: PageHtml) -> None:
    assert "{{<" not in shortcodes.html and "{{%" not in shortcodes.html
    assert "{{&lt;" not in shortcodes.html


def test_every_closing_variant_pairs_with_its_opening(shortcodes: PageHtml) -> None:
    buttons = re.findall(r'<a class="button" href="([^"]+)">([^<]+)</a>', shortcodes.html)
    assert buttons == [("https://example.org/en/join/", "Slash variant"),
                       ("https://example.net/signup", "Spaced variant"),
                       ("https://example.org/en/join/", "Plain variant")]
    quotes = re.findall(r'<blockquote class="pull-quote">\s*<p>(.*?)</p>', shortcodes.html)
    assert quotes == ["A <strong>quoted</strong> line.", "Second quote."]


def test_block_shortcodes(shortcodes: PageHtml) -> None:
    html = shortcodes.html
    assert '<p class="lead">A lead paragraph with <em>emphasis</em>.</p>' in html
    assert re.search(r'<div class="alert">\s*<p>Mind the <a href="https://example.org/en/about/">',
                     html)
    assert ('<figure><img src="https://example.org/en/posts/shortcodes/photo.en.png" alt="A photo"'
            ' width="1" height="1"><figcaption>A <em>caption</em></figcaption></figure>') in html
    assert "we are not lawyers" in html  # the snippet from templates/snippets


def test_youtube_becomes_a_linked_thumbnail(shortcodes: PageHtml) -> None:
    assert ("https://img.youtube.com/vi/abc123XYZ/hqdefault.jpg", "YouTube video") \
        in shortcodes.images
    assert "https://www.youtube.com/watch?v=abc123XYZ" in shortcodes.links


def test_carousel_items_become_images_in_order(shortcodes: PageHtml) -> None:
    photo = "https://example.org/en/posts/shortcodes/photo.en.png"
    carousel = [image for image in shortcodes.images if image[0] == photo][1:]
    assert carousel == [(photo, ""), (photo, "The same photo")]
    problem = only(shortcodes.problems, "missing-alt")
    assert problem.line == line_of(SHORTCODES, 'carousel-item image="photo.png" >}}')


def test_relref_in_this_and_another_language(shortcodes: PageHtml) -> None:
    assert "https://example.org/en/about/" in shortcodes.links
    assert "https://example.org/nl/about/" in shortcodes.links


def test_unknown_shortcode_warns_with_its_line_and_keeps_inner(shortcodes: PageHtml) -> None:
    problem = only(shortcodes.problems, "unknown-shortcode")
    assert problem.severity is Severity.WARNING
    assert problem.path == SHORTCODES
    assert problem.line == line_of(SHORTCODES, "{{< mystery-box")
    assert "Inner text of an unknown shortcode." in shortcodes.html


def test_empty_and_stray_tags_are_dropped_with_warnings(shortcodes: PageHtml) -> None:
    assert only(shortcodes.problems, "empty-shortcode").line == line_of(SHORTCODES, "{{% %}}")
    stray = only(shortcodes.problems, "stray-shortcode-close")
    assert stray.line == line_of(SHORTCODES, "{{< /nothing >}}")
    assert "<p>Stray close here:</p>" in shortcodes.html


def test_missing_image_is_an_error_with_its_line(shortcodes: PageHtml) -> None:
    problem = only(shortcodes.problems, "missing-image")
    assert problem.severity is Severity.ERROR
    assert problem.line == line_of(SHORTCODES, "missing.png")


def test_comments_scripts_forms_and_attribute_lines_are_dropped(shortcodes: PageHtml) -> None:
    html = shortcodes.html
    for gone in ("TO DO", "<!--", "<script", "alert(", "<form", "<input", "{.wide}", "<span class"):
        assert gone not in html
    assert '<p><a href="https://video.example.net/embed/42">A talk</a></p>' in html


def test_escaped_shortcode_is_shown_but_not_as_shortcode(shortcodes: PageHtml) -> None:
    assert "Escaped example: {&#123;&lt; button &gt;}}" in shortcodes.html


def test_links_are_absolute_and_in_order(site: Site) -> None:
    page = site.get("about", "nl")
    assert page is not None
    assert site.render(page).links == (
        "https://example.org/nl/events/",  # /nl/... kept, made absolute
        "https://example.org/en/events/",
        "https://example.org/nl/join/#formulier",  # /join gets the page's language
        "https://example.org/nl/join/",  # button href="join" is a content path
    )
    assert '<a class="button" href="https://example.org/nl/join/">Doe <strong>mee</strong></a>' \
        in site.render(page).html


def test_bundle_static_and_content_relative_images(site: Site) -> None:
    post = site.get("posts/toml-post", "nl")
    assert post is not None
    assert site.render(post).images == (
        ("https://example.org/nl/posts/toml-bericht/feature.png", "teken"),
        ("https://example.org/img/logo.png", "logo"),
    )
    assert site.render(post).problems == ()
    for lang, alt in (("nl", "Flyer van de wandeling"), ("en", "Flyer of the walk")):
        event = site.get("events/2026-05-01", lang)
        assert event is not None  # one shared file, published beside the default (nl) page
        assert site.render(event).images == (
            ("https://example.org/nl/events/2026-05-01/flyer.png", alt),)


def test_forms_become_links_to_their_pages(site: Site) -> None:
    join = site.get("join", "nl")
    newsletter = site.get("newsletter", "nl")
    assert join is not None and newsletter is not None
    rendered = site.render(join)
    assert "Vul het formulier in." in rendered.html
    assert rendered.links == ("https://example.org/nl/about/", "https://example.org/nl/join/")
    assert site.render(newsletter).links == ("https://example.org/nl/newsletter/",)


def test_unknown_relref_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "site"
    shutil.copytree(FIXTURES / "site", root)
    page = root / "content" / "about" / "index.en.md"
    page.write_text(page.read_text(encoding="utf-8")
                    + '\nSee [gone]({{< relref "gone-page" >}}).\n', encoding="utf-8")
    loaded = load_site(root)
    about = loaded.get("about", "en")
    assert about is not None
    problem = only(loaded.render(about).problems, "unknown-ref")
    assert problem.severity is Severity.ERROR
    assert problem.line == line_of(page, "gone-page")


def test_render_is_cached(site: Site) -> None:
    page = site.get("about", "en")
    assert page is not None
    assert site.render(page) is site.render(page)


def test_seed_page_renders_with_its_closing_variant(tmp_path: Path) -> None:
    [seed] = sorted(SEED.glob("*.txt"))
    root = tmp_path / "site"
    (root / "content" / "about").mkdir(parents=True)
    (root / "content" / "join").mkdir()
    (root / "hugo.toml").write_text(
        'baseURL = "https://www.techwerkers.nl/"\ndefaultContentLanguage = "nl"\n'
        "defaultContentLanguageInSubdir = true\n[languages.nl]\nweight = 1\n"
        "[languages.en]\nweight = 2\n", encoding="utf-8")
    shutil.copy(seed, root / "content" / "about" / "index.nl.md")
    (root / "content" / "join" / "_index.nl.md").write_text("---\ntitle: Doe mee\n---\n",
                                                            encoding="utf-8")
    loaded = load_site(root)
    about = loaded.get("about", "nl")
    assert about is not None and about.title == "Over"
    rendered = loaded.render(about)
    assert "{{" not in rendered.html
    assert rendered.html.count(
        '<a class="button" href="https://www.techwerkers.nl/nl/join/">Doe mee</a>') == 2
    assert "https://www.techwerkers.nl/nl/events/" in rendered.links


def test_link_into_the_site_that_matches_no_page_warns() -> None:
    dir_site = load_site(FIXTURES / "site_dirs")
    page = dir_site.get("termine/2026-10-04-treffen", "de")
    assert page is not None
    rendered = dir_site.render(page)
    # the page has slug "wir", so the root-relative link written by hand leads nowhere
    assert rendered.links == ("https://beispiel.example/ueber-uns/",)
    problem = only(rendered.problems, "unresolved-link")
    assert problem.severity is Severity.WARNING
    assert problem.line == line_of(page.source, "/ueber-uns/")
