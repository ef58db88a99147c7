"""The campaign file and postduif.toml refuse what they cannot use, naming file, line and the
nearest valid key; ``check --all`` reports every broken file; an unreadable page says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from postduif.campaign import load_campaign
from postduif.config import load_settings
from postduif.errors import CampaignError, ConfigError
from postduif.workspace import Workspace

from .test_cli import run

CAMPAIGN = "campaigns/2026-12-community-update.toml"


def test_the_sample_campaign_has_no_unknown_keys(workspace: Path) -> None:
    campaign = load_campaign(workspace / CAMPAIGN)
    assert campaign.agenda_section == "events"


def test_a_misspelt_agenda_key_names_line_and_nearest_key(workspace: Path) -> None:
    path = workspace / CAMPAIGN
    text = path.read_text(encoding="utf-8").replace('section = "events"', 'secton = "events"')
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index('secton = "events"') + 1
    with pytest.raises(CampaignError) as raised:
        load_campaign(path)
    assert raised.value.path == path and raised.value.line == line
    assert "'agenda.secton'" in raised.value.message
    assert "did you mean section?" in raised.value.message


def test_every_unknown_key_is_named_at_once(workspace: Path) -> None:
    path = workspace / CAMPAIGN
    text = 'send_at = 2026-12-01\n' + path.read_text(encoding="utf-8").replace(
        'subject = "Techwerkers in December', 'subjet = "Techwerkers in December')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CampaignError) as raised:
        load_campaign(path)
    message = raised.value.message
    assert raised.value.line == 1
    assert "'send_at' (line 1)" in message
    assert "'en.subjet'" in message and "did you mean subject?" in message


def test_the_feed_key_of_the_agenda_is_known(workspace: Path) -> None:
    path = workspace / CAMPAIGN
    text = path.read_text(encoding="utf-8").replace(
        'section = "events"', 'feed = "http://127.0.0.1:9/agenda.ics"')
    path.write_text(text, encoding="utf-8")
    assert load_campaign(path).page == "posts/2026-12"


def test_postduif_toml_names_every_unknown_setting(tmp_path: Path) -> None:
    (tmp_path / "postduif.toml").write_text(
        "[smtp]\nhots = 'x'\nprot = 25\n[sendr]\nname = 'x'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_settings(tmp_path)
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'postduif.toml'}:2: unknown settings")
    for expected in ("smtp.hots (line 2; did you mean host?)",
                     "smtp.prot (line 3; did you mean port?)",
                     "[sendr] (line 4; did you mean sender?)"):
        assert expected in message


def test_known_settings_are_silent(tmp_path: Path) -> None:
    (tmp_path / "postduif.toml").write_text(
        "[smtp]\nhost = 'x'\nport = 25\n[sender]\nname = 'x'\n", encoding="utf-8")
    assert load_settings(tmp_path).smtp.port == 25


def test_check_all_reports_every_broken_campaign_and_page(workspace: Path) -> None:
    (workspace / "campaigns/typo.toml").write_text(
        'page = "posts/2026-12"\nlist = "nieuwsbrief"\nmdoe = "bilingual"\n', encoding="utf-8")
    (workspace / "campaigns/no-list.toml").write_text(
        'page = "posts/2026-12"\nlist = "geen-lijst"\n', encoding="utf-8")
    page = workspace / "content/posts/2026-12/index.nl.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nTODO: foto\n", encoding="utf-8")
    result = run("check", "--all", cwd=workspace)
    output = result.stdout.replace("\n", "")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "typo.toml:3: error: unknown key: 'mdoe' (line 3): did you mean mode?" in output
    assert "no list named 'geen-lijst'" in output
    assert "index.nl.md" in output and "leftover placeholder" in output


def test_check_all_without_broken_files_has_no_campaign_errors(workspace: Path) -> None:
    result = run("check", "--all", cwd=workspace)
    assert "[campaign]" not in result.stdout


@pytest.mark.parametrize(("content", "expected"), [
    (b"---\ntitle: Kapot\n\nGeen einde aan de front matter.\n",
     ":1: error: front matter opened with '---' is never closed"),
    (b"---\ntitle: Kapot\n---\n\nEen \xff teken.\n", ":5: error: page is not valid UTF-8"),
])
def test_a_campaign_of_an_unreadable_page_shows_why(workspace: Path, content: bytes,
                                                   expected: str) -> None:
    page = workspace / "content/posts/2026-12/index.nl.md"
    page.write_bytes(content)
    result = run("check", "2026-12-community-update", cwd=workspace)
    output = result.stdout.replace("\n", "")
    assert result.returncode == 1
    assert f"index.nl.md{expected}" in output
    assert "no page" not in output


def test_a_page_that_does_not_exist_is_still_no_page(workspace: Path) -> None:
    path = workspace / CAMPAIGN
    path.write_text(path.read_text(encoding="utf-8").replace(
        'page = "posts/2026-12"', 'page = "posts/2099-01"'), encoding="utf-8")
    ws = Workspace.open(workspace)
    plan = ws.plan(ws.campaign(str(path)))
    assert [p.code for p in plan.problems] == ["page-not-found"]


def test_a_campaign_whose_pages_are_all_unreadable_shows_each_error(workspace: Path) -> None:
    for lang in ("nl", "en"):
        (workspace / f"content/posts/2026-12/index.{lang}.md").write_bytes(
            b"+++\ntitle = \"Kapot\"\n\nGeen einde.\n")
    ws = Workspace.open(workspace)
    plan = ws.plan(ws.campaign("2026-12-community-update"))
    assert sorted((p.path.name if p.path else "", p.line, p.code) for p in plan.problems) == [
        ("index.en.md", 1, "front-matter"), ("index.nl.md", 1, "front-matter")]
    assert plan.variants == {}
