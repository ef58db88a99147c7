"""Images in a page's body: sizes for Outlook, WebP, and references that lead out of the site."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from postduif.content import PageHtml, load_site
from postduif.content.images import COLUMN_WIDTH, Size, fitted
from postduif.problems import Problem, Severity

from .images_support import jpeg_size, png_size, write_png

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
TECHWERKERS = TESTS.parents[1] / "shared" / "corpus" / "techwerkers"
HUGO = ('baseURL = "https://example.org/"\ndefaultContentLanguage = "nl"\n'
        "defaultContentLanguageInSubdir = true\n[languages.nl]\nweight = 1\n")
_IMG = re.compile(r"<img\b[^>]*>")
_ATTR = re.compile(r'(\w+)="([^"]*)"')


def images(html: str) -> list[dict[str, str]]:
    return [dict(_ATTR.findall(tag)) for tag in _IMG.findall(html)]


def render(root: Path, body: str) -> tuple[PageHtml, Path]:
    """``body`` as the post ``content/posts/p/index.nl.md`` of a small site at ``root``."""
    (root / "hugo.toml").write_text(HUGO, encoding="utf-8")
    page = root / "content" / "posts" / "p" / "index.nl.md"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(f"---\ntitle: Bericht\n---\n\n{body}\n", encoding="utf-8")
    site = load_site(root)
    found = site.get("posts/p", "nl")
    assert found is not None
    return site.render(found), page


def only(problems: tuple[Problem, ...], code: str) -> Problem:
    [problem] = [p for p in problems if p.code == code]
    return problem


def test_the_column_width_is_the_templates(tmp_path: Path) -> None:
    """The constant follows the layout: body width minus the text and image padding."""
    layout = (REPO / "templates" / "layout.mjml.j2").read_text(encoding="utf-8")
    newsletter = (REPO / "templates" / "newsletter.mjml.j2").read_text(encoding="utf-8")
    body = int(re.search(r'<mj-body width="(\d+)px"', layout).group(1))  # type: ignore[union-attr]
    text = re.search(r'<mj-text [^>]*padding="0 (\d+)px"', layout)
    image = re.search(r'<mj-image [^>]*padding="0 (\d+)px"', newsletter)
    assert text is not None and image is not None
    assert COLUMN_WIDTH == body - 2 * int(text.group(1)) == body - 2 * int(image.group(1))


def test_real_images_get_their_size_capped_at_the_column() -> None:
    site = load_site(TECHWERKERS)
    for path, lang in (("posts/music-as-art", "en"), ("posts/asva-aanval-studentenvakbond", "nl")):
        page = site.get(path, lang)
        assert page is not None and page.bundle_dir is not None
        shown = images(site.render(page).html)
        assert shown
        for attrs in shown:
            name = attrs["src"].rsplit("/", 1)[-1]
            file = page.bundle_dir / name
            real = png_size(file) if name.endswith(".png") else jpeg_size(file)
            width = min(real[0], COLUMN_WIDTH)
            assert attrs["width"] == str(width), name
            assert attrs["height"] == str(round(real[1] * width / real[0])), name


def test_a_big_image_is_capped_and_a_small_one_keeps_its_size(tmp_path: Path) -> None:
    bundle = tmp_path / "content" / "posts" / "p"
    write_png(bundle / "groot.png", 2400, 1200)
    write_png(bundle / "klein.png", 300, 200)
    html, _ = render(tmp_path, '![Groot](groot.png)\n\n![Klein](klein.png)\n\n'
                     '<img src="groot.png" alt="Smal" width="200">')
    sizes = [(a["alt"], a.get("width"), a.get("height")) for a in images(html.html)]
    assert sizes == [("Groot", str(COLUMN_WIDTH), str(COLUMN_WIDTH // 2)),
                     ("Klein", "300", "200"), ("Smal", "200", "100")]
    assert html.problems == ()


def test_a_remote_image_is_left_without_a_size(tmp_path: Path) -> None:
    html, _ = render(tmp_path, "![Ver weg](https://cdn.example.net/foto.png)")
    [attrs] = images(html.html)
    assert "width" not in attrs and "height" not in attrs
    assert html.problems == ()


def test_fitted_never_scales_up() -> None:
    assert fitted(Size(100, 50)) == Size(100, 50)
    assert fitted(Size(1088, 10)) == Size(544, 5)
    assert fitted(Size(1000, 500), "not a number") == Size(544, 272)
    assert fitted(Size(1000, 500), "2000") == Size(544, 272)


def test_webp_is_no_problem_and_each_site_image_is_recorded(tmp_path: Path) -> None:
    """A WebP file gets an email rendition (tests/test_renditions.py), so the page has no
    problem; every site image is recorded with its file and line for the renditions."""
    bundle = tmp_path / "content" / "posts" / "p"
    write_png(bundle / "foto.png", 40, 20)
    (bundle / "flyer.webp").write_bytes(b"RIFF\x00\x00\x00\x00WEBP")
    html, page = render(tmp_path, "![Foto](foto.png)\n\n![Flyer](flyer.webp)\n\n"
                        "![Ver](https://cdn.example.net/x.webp)\n")
    assert html.problems == ()
    assert [(f.url.rsplit("/", 1)[1], f.file, f.line) for f in html.files] == [
        ("foto.png", bundle / "foto.png", 5), ("flyer.webp", bundle / "flyer.webp", 7)]


@pytest.fixture
def opened() -> Iterator[list[str]]:
    """Every path the process opens while the test runs (Python's ``open`` audit event)."""
    seen: list[str] = []
    active = [True]

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if active[0] and event == "open" and isinstance(args[0], (str, Path)):
            seen.append(str(args[0]))

    sys.addaudithook(hook)  # cannot be removed again: switched off below instead
    yield seen
    active[0] = False


@pytest.mark.parametrize("ref", ["../../../../buiten.png", "/../../buiten.png",
                                 "../../../../buiten.png?v=1"])
def test_an_image_outside_the_site_is_an_error_and_never_read(
        tmp_path: Path, opened: list[str], ref: str) -> None:
    outside = write_png(tmp_path / "buiten.png", 2400, 1200)
    root = tmp_path / "site"
    root.mkdir()
    opened.clear()  # writing the file above opened it
    html, page = render(root, f"Tekst.\n\n![Buiten]({ref})\n")
    problem = only(html.problems, "image-outside-site")
    assert (problem.severity, problem.path, problem.line) == (Severity.ERROR, page, 7)
    assert [p for p in html.problems if p.code == "missing-image"] == []
    [attrs] = images(html.html)
    assert "width" not in attrs
    assert any(path.endswith("index.nl.md") for path in opened)  # the hook saw the page
    assert not any(Path(path).name == outside.name for path in opened)


def test_an_image_of_another_bundle_is_inside_the_site(tmp_path: Path) -> None:
    write_png(tmp_path / "content" / "posts" / "q" / "ander.png", 40, 20)
    html, _ = render(tmp_path, "![Ander](../q/ander.png)\n")
    [attrs] = images(html.html)
    assert (attrs["width"], attrs["height"]) == ("40", "20")
    assert html.problems == ()


def test_a_link_in_the_bundle_leading_out_is_refused_unread(tmp_path: Path,
                                                           opened: list[str]) -> None:
    outside = write_png(tmp_path / "buiten.png", 2400, 1200)
    bundle = tmp_path / "site" / "content" / "posts" / "p"
    bundle.mkdir(parents=True)
    (bundle / "cover.png").symlink_to(outside)  # also a *cover* name: not taken as the cover
    (bundle / "via.png").symlink_to("../../../static/../../buiten.png")
    opened.clear()
    html, page = render(tmp_path / "site", "![Een](cover.png)\n\n![Twee](via.png)\n")
    lines = [p.line for p in html.problems if p.code == "image-outside-site"]
    assert lines == [5, 7]
    assert all("width" not in attrs for attrs in images(html.html))
    site = load_site(tmp_path / "site")
    found = site.get("posts/p", "nl")
    assert found is not None and found.cover is None
    assert not any(Path(path).name == outside.name for path in opened)


def test_a_link_inside_the_site_is_followed(tmp_path: Path) -> None:
    write_png(tmp_path / "static" / "img" / "logo.png", 100, 50)
    bundle = tmp_path / "content" / "posts" / "p"
    bundle.mkdir(parents=True)
    (bundle / "logo.png").symlink_to("../../../static/img/logo.png")
    html, _ = render(tmp_path, "![Logo](logo.png)\n")
    [attrs] = images(html.html)
    assert (attrs["width"], attrs["height"]) == ("100", "50")
    assert html.problems == ()


@pytest.mark.parametrize(("ref", "code"), [
    ("file:///etc/passwd", "image-outside-site"),
    ("data:image/png;base64,iVBORw0KGgo=", "image-not-web"),
])
def test_an_image_that_is_no_web_address_is_an_error(tmp_path: Path, ref: str,
                                                     code: str) -> None:
    html, page = render(tmp_path, f'<img src="{ref}" alt="Iets">\n')
    problem = only(html.problems, code)
    assert (problem.severity, problem.line) == (Severity.ERROR, 5)
