"""Building the sample campaign end to end: content -> plan -> render -> files on disk."""

from __future__ import annotations

import email
import shutil
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest

from postduif.build import BuildFailed, build_campaign
from postduif.workspace import Workspace

CAMPAIGN = "2026-12-community-update"


def _set(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_build_writes_html_text_and_sample_eml_per_language(workspace: Path) -> None:
    ws = Workspace.open(workspace)
    result = build_campaign(ws, f"campaigns/{CAMPAIGN}.toml")
    assert [v.key for v in result.variants] == ["nl", "en"]
    for variant in result.variants:
        page = ws.site.get("posts/2026-12", variant.key)
        assert page is not None
        html = (result.directory / f"{variant.key}.html").read_text(encoding="utf-8")
        text = (result.directory / f"{variant.key}.txt").read_text(encoding="utf-8")
        assert page.url in html and page.url in text
        assert variant.html_bytes == len(html.encode())
        assert "{{<" not in html and "{{%" not in html
        msg = email.message_from_bytes((result.directory / f"{variant.key}.eml").read_bytes(),
                                       policy=policy.default)
        assert msg.get_content_type() == "multipart/alternative"
        parts = [p.get_content_type() for p in msg.iter_parts()]
        assert parts == ["text/plain", "text/html"]
        assert msg["Content-Language"] == variant.key
        assert msg["Subject"] == variant.subject
        assert "sam.devries@example.org" in msg["To"]
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        body = msg.get_body(("plain",))
        assert body is not None and body.get_content().startswith(
            ws.renderer.render(ws.plan(ws.campaign(CAMPAIGN)).variants[variant.key].context)
            .greeting_named.format(name="Sam").split(",")[0])
        raw = (result.directory / f"{variant.key}.eml").read_bytes()
        assert max(len(line) for line in raw.splitlines()) <= 998


def test_agenda_holds_exactly_the_events_in_the_window(workspace: Path) -> None:
    ws = Workspace.open(workspace)
    campaign = ws.campaign(CAMPAIGN)
    plan = ws.plan(campaign)
    for lang, variant in plan.variants.items():
        page = variant.pages[0]
        assert page.date is not None
        end = page.date + timedelta(days=campaign.agenda_days)
        expected = sorted(e.title for e in ws.site.section("events", lang)
                          if e.date is not None and page.date <= e.date < end)
        assert expected, "the sample content should have upcoming events"
        assert sorted(e.title for e in variant.context.sections[0].events) == expected
        html = ws.renderer.render(variant.context).html
        assert all(e.url in html for e in variant.events)


def test_missing_translation_fails_without_writing(workspace: Path) -> None:
    ws = Workspace.open(workspace)
    build_campaign(ws, CAMPAIGN)
    before = {p.name: p.read_bytes() for p in (workspace / "build" / CAMPAIGN).iterdir()}
    (workspace / "content/posts/2026-12/index.en.md").unlink()
    with pytest.raises(BuildFailed) as failed:
        build_campaign(Workspace.open(workspace), CAMPAIGN)
    assert any(p.code == "missing-translation" for p in failed.value.problems)
    after = {p.name: p.read_bytes() for p in (workspace / "build" / CAMPAIGN).iterdir()}
    assert after == before, "a failed build must leave the previous build untouched"


def test_fallback_sends_the_default_language_where_a_translation_is_missing(
        workspace: Path) -> None:
    (workspace / "content/posts/2026-12/index.en.md").unlink()
    _set(workspace / f"campaigns/{CAMPAIGN}.toml", 'fallback = ""', 'fallback = "nl"')
    ws = Workspace.open(workspace)
    plan = ws.plan(ws.campaign(CAMPAIGN))
    assert set(plan.variants) == {"nl"}
    assert plan.routing == {"nl": "nl", "en": "nl"}
    assert [p.code for p in plan.problems] == ["missing-translation"]


def test_bilingual_mode_puts_dutch_first_with_a_jump_link(workspace: Path) -> None:
    _set(workspace / f"campaigns/{CAMPAIGN}.toml", 'mode = "per-subscriber"',
         'mode = "bilingual"')
    ws = Workspace.open(workspace)
    result = build_campaign(ws, CAMPAIGN)
    assert [v.key for v in result.variants] == ["nl+en"]
    html = (result.directory / "nl+en.html").read_text(encoding="utf-8")
    nl, en = (ws.site.get("posts/2026-12", lang) for lang in ("nl", "en"))
    assert nl is not None and en is not None
    assert html.index(nl.url) < html.index(en.url)
    anchors = [part.split('"', 1)[0] for part in html.split('href="#')[1:]]
    assert anchors and all(f'id="{a}"' in html for a in anchors)


def test_an_existing_hugo_site_builds_in_place(tmp_path: Path) -> None:
    """A workspace that points at the site's directory, without copying its content into
    the workspace. (The site is a copy: the build writes email renditions into its static/.)"""
    from .conftest import CORPUS, REPO

    site = tmp_path / "site"
    shutil.copytree(CORPUS / "techwerkers", site)
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "postduif.toml").write_text(
        f'[site]\npath = "{site}"\n[paths]\ntemplates = "{REPO / "templates"}"\n'
        f'lists = "{REPO / "lists"}"\n'
        '[sender]\nname = "Techwerkers"\nemail = "nieuwsbrief@techwerkers.nl"\n',
        encoding="utf-8")
    (tmp_path / "campaigns/feb.toml").write_text(
        'page = "posts/2026-feb"\nlist = "nieuwsbrief"\n[agenda]\ndays = 30\n', encoding="utf-8")
    ws = Workspace.open(tmp_path)
    result = build_campaign(ws, "feb")
    assert result.directory == tmp_path / "build" / "feb"
    for variant in result.variants:
        page = ws.site.get("posts/2026-feb", variant.key)
        assert page is not None and variant.subject == page.title
        html = (result.directory / f"{variant.key}.html").read_text(encoding="utf-8")
        [rendition] = result.renditions  # the 1200 px feature.png, shown at 544 px
        assert rendition.source == page.bundle_dir / "feature.png"  # type: ignore[operator]
        assert rendition.url in html and rendition.file.parent == site / "static" / "email"
        events = ws.plan(ws.campaign("feb")).variants[variant.key].events
        assert events and all(e.url in html for e in events)
