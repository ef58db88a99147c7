"""What ``build`` writes is what a reader sees, and a bilingual email speaks both languages
in its frame (footer, unsubscribe, "view in browser") with a subject that fits an inbox line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from postduif.build import SAMPLE_RECIPIENTS, build_campaign
from postduif.campaign import SUBJECT_MAX
from postduif.workspace import Workspace

from .test_build import CAMPAIGN, _set

CAMPAIGN_FILE = f"campaigns/{CAMPAIGN}.toml"


def bilingual(workspace: Path) -> None:
    _set(workspace / CAMPAIGN_FILE, 'mode = "per-subscriber"', 'mode = "bilingual"')


def test_built_files_are_the_sample_recipients_message(workspace: Path) -> None:
    result = build_campaign(Workspace.open(workspace), CAMPAIGN)
    first_name = SAMPLE_RECIPIENTS["named"].name.split()[0]
    for variant in result.variants:
        for suffix in ("html", "txt"):
            shown = (result.directory / f"{variant.key}.{suffix}").read_text(encoding="utf-8")
            assert "%%" not in shown
            assert first_name in shown
            assert "token=SAMPLE-TOKEN" in shown
    assert {p.name for p in result.directory.iterdir()} == {
        f"{key}.{suffix}" for key in ("nl", "en") for suffix in ("html", "txt", "eml")}


def test_the_template_itself_still_holds_the_placeholders(workspace: Path) -> None:
    ws = Workspace.open(workspace)
    plan = ws.plan(ws.campaign(CAMPAIGN))
    rendered = ws.render(plan)["nl"]
    assert "%%GREETING%%" in rendered.html and "%%UNSUBSCRIBE_URL%%" in rendered.text


@pytest.mark.parametrize("suffix", ["html", "txt"])
def test_a_bilingual_footer_is_in_both_languages(workspace: Path, suffix: str) -> None:
    bilingual(workspace)
    ws = Workspace.open(workspace)
    result = build_campaign(ws, CAMPAIGN)
    shown = (result.directory / f"nl+en.{suffix}").read_text(encoding="utf-8")
    footer = " ".join(shown[shown.rindex("Deze e-mail is verstuurd"):].split())
    strings = ws.renderer.strings
    for lang in ("nl", "en"):
        t = strings[lang]
        for key in ("unsubscribe_question", "unsubscribe", "preferences"):
            assert str(t[key]) in footer, (lang, key)
        assert str(t["footer_sender"]).split("{")[0] in footer
        assert ws.list_def("nieuwsbrief").title(lang) in footer
    if suffix == "html":
        online = re.findall(r'<a href="([^"]+)" lang="(nl|en)"[^>]*>([^<]+)</a>', shown)
        assert (("https://www.techwerkers.nl/nl/posts/2026-12/", "nl", strings["nl"]["read_online"])
                in online)
        assert (("https://www.techwerkers.nl/en/posts/2026-12/", "en", strings["en"]["read_online"])
                in online)


@pytest.mark.parametrize("suffix", ["html", "txt"])
def test_a_one_language_footer_has_only_its_language(workspace: Path, suffix: str) -> None:
    ws = Workspace.open(workspace)
    result = build_campaign(ws, CAMPAIGN)
    shown = (result.directory / f"nl.{suffix}").read_text(encoding="utf-8")
    strings = ws.renderer.strings
    assert str(strings["nl"]["unsubscribe_question"]) in shown
    assert str(strings["en"]["unsubscribe_question"]) not in shown
    assert str(strings["en"]["read_online"]) not in shown


def test_a_bilingual_subject_of_long_titles_is_the_first_languages(workspace: Path) -> None:
    bilingual(workspace)
    ws = Workspace.open(workspace)
    campaign = ws.campaign(CAMPAIGN)
    assert len(" | ".join(campaign.subjects.values())) > SUBJECT_MAX
    [variant] = ws.plan(campaign).variants.values()
    assert variant.context.subject == campaign.subjects["nl"]


def test_a_bilingual_default_subject_from_page_titles_is_short(workspace: Path) -> None:
    bilingual(workspace)
    path = workspace / CAMPAIGN_FILE
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"(?m)^subject = .*\n", "", text), encoding="utf-8")
    ws = Workspace.open(workspace)
    [variant] = ws.plan(ws.campaign(CAMPAIGN)).variants.values()
    nl = ws.site.get("posts/2026-12", "nl")
    assert nl is not None
    assert variant.context.subject == nl.title
    assert len(variant.context.subject) <= SUBJECT_MAX


def test_short_bilingual_subjects_are_both_kept(workspace: Path) -> None:
    bilingual(workspace)
    path = workspace / CAMPAIGN_FILE
    _set(path, 'subject = "Techwerkers in december: staken, leren, samenkomen"',
         'subject = "Techwerkers in december"')
    _set(path, 'subject = "Techwerkers in December: striking, learning, meeting up"',
         'subject = "Techwerkers in December"')
    ws = Workspace.open(workspace)
    [variant] = ws.plan(ws.campaign(CAMPAIGN)).variants.values()
    assert variant.context.subject == "Techwerkers in december | Techwerkers in December"
