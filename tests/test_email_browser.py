"""The sample email in a real Chromium: readable in light and dark mode, a clean inbox preview.

Mail clients that follow the reader's dark mode apply the email's own
``prefers-color-scheme: dark`` colours when it declares ``color-scheme: light dark``; every
visible text must then still read against the background it is drawn on (WCAG contrast,
computed from the colours Chromium actually uses). The inbox preview is the first text of the
body: the preheader, then filler, so the preview never runs on into links and greeting.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from postduif.render import Rendered, Renderer
from postduif.render.sample import sample_context
from postduif.workspace import Workspace

from .conftest import REPO

CAMPAIGN = "2026-12-community-update"
MIN_CONTRAST = 4.5  # WCAG AA for body text
FILLER = "\u034f\u200c\u00a0"

#: Every element with text of its own that is drawn: its colour and the first opaque
#: background behind it (the page's canvas when none), both as [r, g, b].
TEXT_COLOURS = """() => {
  const rgb = value => (value.match(/[\\d.]+/g) || []).map(Number);
  const opaque = value => {
    const c = rgb(value);
    return c.length === 3 || (c.length === 4 && c[3] > 0);
  };
  const backdrop = element => {
    for (let e = element; e; e = e.parentElement) {
      const bg = getComputedStyle(e).backgroundColor;
      if (opaque(bg)) return rgb(bg).slice(0, 3);
    }
    return matchMedia('(prefers-color-scheme: dark)').matches ? [18, 18, 18] : [255, 255, 255];
  };
  const found = [];
  for (const element of document.body.querySelectorAll('*')) {
    const own = [...element.childNodes].filter(n => n.nodeType === 3 && n.textContent.trim());
    const box = element.getBoundingClientRect();
    if (!own.length || !element.checkVisibility() || box.width === 0 || box.height === 0) continue;
    found.push({text: own.map(n => n.textContent.trim()).join(' ').slice(0, 60),
                tag: element.tagName, colour: rgb(getComputedStyle(element).color).slice(0, 3),
                background: backdrop(element)});
  }
  return found;
}"""


def luminance(colour: list[float]) -> float:
    """WCAG relative luminance of an sRGB colour given as 0-255 channels."""
    linear = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4
              for c in colour]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: list[float], b: list[float]) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.fixture
def rendered(workspace: Path) -> dict[str, Rendered]:
    ws = Workspace.open(workspace)
    return ws.render(ws.plan(ws.campaign(CAMPAIGN)))


@contextmanager
def opened(browser: Browser, html: str, scheme: str) -> Iterator[Page]:
    page = browser.new_page(color_scheme=scheme,  # type: ignore[arg-type]
                            viewport={"width": 800, "height": 1000})
    page.route("http*://**", lambda route: route.abort())  # images: no network
    page.set_content(html)
    try:
        yield page
    finally:
        page.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_text_reads_against_its_background(
        browser: Browser, rendered: dict[str, Rendered], lang: str, scheme: str) -> None:
    with opened(browser, rendered[lang].html, scheme) as page:
        texts = page.evaluate(TEXT_COLOURS)
        canvas = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert len(texts) > 20, "the email's text was not found"
    faint = [(t["text"], t["tag"], round(contrast(t["colour"], t["background"]), 2))
             for t in texts if contrast(t["colour"], t["background"]) < MIN_CONTRAST]
    assert not faint, f"{scheme} mode, text below {MIN_CONTRAST}:1: {faint}"
    body = [float(c) for c in canvas[canvas.index("(") + 1:canvas.index(")")].split(",")[:3]]
    assert (luminance(body) < 0.05) == (scheme == "dark"), f"{scheme} mode background {canvas}"


@pytest.mark.parametrize("template", ["welcome", "confirm"])
def test_greetings_read_in_dark_mode(browser: Browser, template: str) -> None:
    html = Renderer(REPO / "templates").render(sample_context(template, ("nl",))).html
    with opened(browser, html, "dark") as page:
        texts = page.evaluate(TEXT_COLOURS)
    faint = [t["text"] for t in texts if contrast(t["colour"], t["background"]) < MIN_CONTRAST]
    assert texts and not faint, faint


def test_the_email_declares_both_colour_schemes(rendered: dict[str, Rendered]) -> None:
    for variant in rendered.values():
        assert '<meta name="color-scheme" content="light dark"' in variant.html
        assert '<meta name="supported-color-schemes" content="light dark"' in variant.html
        assert "@media (prefers-color-scheme: dark)" in variant.html


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_inbox_preview_is_the_preheader_then_filler(
        browser: Browser, rendered: dict[str, Rendered], lang: str) -> None:
    preheader = rendered[lang].preheader
    assert preheader
    with opened(browser, rendered[lang].html, "light") as page:
        preview = page.evaluate("document.body.textContent").lstrip()
        shown = page.evaluate("document.body.innerText")
        style = page.evaluate("document.querySelector('.preheader').getAttribute('style')")
    assert preview.startswith(preheader), preview[:200]
    after = preview[len(preheader):len(preheader) + 150]
    assert after and not after.strip(FILLER + " \n"), f"preview runs on: {after!r}"
    assert preheader not in shown, "the preheader must not show in the email itself"
    assert "color" not in style.replace("background-color", ""), style
