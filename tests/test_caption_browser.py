"""Captions keep their distance from the text after them, measured in a real Chromium.

The real posts put a ``<figcaption>`` straight after an image paragraph (not inside a
``<figure>``); the next paragraph must not stick to it. The cover image's caption too.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from postduif.workspace import Workspace

MUSIC = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "techwerkers" / "content" \
    / "posts" / "music-as-art"
POST = Path("content/posts/2026-12")
MIN_GAP = 12  # px: clearly apart, as paragraphs are (16px)

GAP_AFTER = """selector => {
  const caption = document.querySelector(selector);
  let next = caption.nextElementSibling;
  if (!next) { next = document.querySelector('h1'); }
  return next.getBoundingClientRect().top - caption.getBoundingClientRect().bottom;
}"""


@pytest.fixture
def browser_page(browser: Browser) -> Page:
    return browser.new_page(viewport={"width": 800, "height": 1000})


def real_caption_passage() -> str:
    """The image, its ``<figcaption>`` and the paragraph after it, from a real post."""
    lines = (MUSIC / "index.nl.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("![Diagram"))
    return "\n".join(lines[start:start + 6])


def test_captions_keep_their_spacing(browser_page: Page, workspace: Path) -> None:
    shutil.copy(MUSIC / "agency-nl.png", workspace / POST / "agency-nl.png")
    page = workspace / POST / "index.nl.md"
    text = page.read_text(encoding="utf-8")
    text = text.replace("\n---\n", '\ncoverCaption: "Illustratie: december"\n---\n', 1)
    page.write_text(text + "\n" + real_caption_passage() + "\n", encoding="utf-8")
    ws = Workspace.open(workspace)
    html = ws.render(ws.plan(ws.campaign("2026-12-community-update")))["nl"].html
    assert "<figcaption" in html and 'class="caption"' in html
    browser_page.set_content(html)
    after_figcaption = browser_page.evaluate(GAP_AFTER, "figcaption")
    assert browser_page.evaluate(
        "s => document.querySelector(s).nextElementSibling.tagName", "figcaption") == "P"
    assert after_figcaption >= MIN_GAP
    assert browser_page.evaluate(GAP_AFTER, ".caption") >= MIN_GAP
