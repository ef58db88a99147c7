"""The preview in a real headless Chromium: languages, widths, and live reload on an edit."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect

from postduif.preview import create_app
from postduif.workspace import Workspace

CAMPAIGN = "2026-12-community-update"
POST_NL = Path("content/posts/2026-12/index.nl.md")
FEATURE = Path("content/posts/2026-12/feature.png")
SCREENSHOT = Path("/tmp/preview.png")


@pytest.fixture
def server(workspace: Path) -> Iterator[str]:
    """The real preview (uvicorn, file watcher on) on a free port; yields its base URL."""
    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(Workspace.open(workspace)),
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert not thread.is_alive(), "uvicorn did not shut down"


@pytest.fixture
def page(server: str, browser: Browser) -> Page:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(10_000)
    return page


def _titles(workspace: Path) -> dict[str, str]:
    ws = Workspace.open(workspace)
    plan = ws.plan(ws.campaign(CAMPAIGN))
    return {key: v.pages[0].title for key, v in plan.variants.items()}


def _frame_width(page: Page) -> float:
    return float(page.locator("#email").evaluate(
        "e => e.getBoundingClientRect().width"))


def test_languages_widths_and_live_reload(page: Page, server: str, workspace: Path) -> None:
    titles = _titles(workspace)
    page.goto(f"{server}/c/{CAMPAIGN}")
    email = page.frame_locator("#email")
    expect(email.locator("body")).to_contain_text(titles["nl"])

    page.click("a[data-lang=en]")
    expect(email.locator("body")).to_contain_text(titles["en"])
    assert _frame_width(page) >= 600

    page.click("a[data-width=phone]")
    expect(page.locator(".frame.phone")).to_be_visible()
    assert abs(_frame_width(page) - 375) <= 1
    page.click("a[data-lang=nl]")
    expect(email.locator("body")).to_contain_text(titles["nl"])

    post = workspace / POST_NL
    original = post.read_text(encoding="utf-8")
    new_title = "Live herladen werkt: nieuwe titel voor december"
    post.write_text(original.replace(titles["nl"], new_title, 1), encoding="utf-8")
    expect(email.locator("body")).to_contain_text(new_title, timeout=10_000)
    assert "width=phone" in page.url and "lang=nl" in page.url
    assert abs(_frame_width(page) - 375) <= 1

    post.write_text(original.replace("title:", "title: [unclosed", 1), encoding="utf-8")
    expect(page.get_by_role("alert")).to_contain_text(str(POST_NL))
    post.write_text(original, encoding="utf-8")
    expect(email.locator("body")).to_contain_text(titles["nl"])

    page.click("a[data-width=desktop]")
    expect(email.locator("body")).to_contain_text(titles["nl"])
    assert _frame_width(page) >= 600
    page.screenshot(path=str(SCREENSHOT))


def test_text_headers_and_source_tabs(page: Page, server: str, workspace: Path) -> None:
    ws = Workspace.open(workspace)
    subject = ws.plan(ws.campaign(CAMPAIGN)).variants["en"].context.subject
    page.goto(f"{server}/c/{CAMPAIGN}?lang=en")
    page.click("a[data-tab=headers]")
    expect(page.locator("table.headers")).to_contain_text(subject)
    page.click("a[data-persona=anonymous]")
    expect(page.locator("table.headers")).not_to_contain_text("Sam de Vries")
    page.click("a[data-tab=text]")
    expect(page.locator("pre.text")).to_be_visible()
    page.click("a[data-tab=source]")
    expect(page.locator("pre.source")).to_contain_text(
        "Content-Type: multipart/alternative")


def _png_width(path: Path) -> int:
    """The width in a PNG's header (the IHDR chunk comes first, width at byte 16)."""
    data = path.read_bytes()
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big")


def test_the_framed_email_shows_the_unpublished_feature_image(page: Page, server: str,
                                                              workspace: Path) -> None:
    page.goto(f"{server}/c/{CAMPAIGN}?lang=en")
    feature = page.frame_locator("#email").locator('img[src$="/feature.png"]')
    # the English email shows the shared file where Hugo publishes it: beside the nl page
    expect(feature).to_have_attribute("src", "/site/nl/posts/2026-12/feature.png")
    expect(feature).to_have_js_property("complete", True)
    assert feature.evaluate("img => img.naturalWidth") == _png_width(workspace / FEATURE) > 0
