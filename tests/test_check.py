"""``check`` finds each kind of problem, at the right file and line, with the right severity."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from postduif.check import GMAIL_CLIP_BYTES, SUBJECT_MAX, check_plan, check_site
from postduif.problems import Problem, Severity
from postduif.workspace import Workspace

from .conftest import SEED

CAMPAIGN = "2026-12-community-update"
NL_PAGE = "content/posts/2026-12/index.nl.md"


def campaign_problems(workspace: Path) -> list[Problem]:
    ws = Workspace.open(workspace)
    plan = ws.plan(ws.campaign(CAMPAIGN))
    return check_plan(ws.site, plan, ws.render(plan))


def append(workspace: Path, relative: str, text: str) -> int:
    """Append ``text`` to a file and return the line number it starts on."""
    path = workspace / relative
    before = path.read_text(encoding="utf-8")
    path.write_text(before.rstrip("\n") + "\n\n" + text + "\n", encoding="utf-8")
    return len(before.rstrip("\n").splitlines()) + 2


def only(problems: list[Problem], code: str) -> Problem:
    matching = [p for p in problems if p.code == code]
    assert len(matching) == 1, problems
    return matching[0]


def test_the_sample_campaign_has_no_errors(workspace: Path) -> None:
    problems = campaign_problems(workspace)
    assert [p for p in problems if p.severity is Severity.ERROR] == []


@pytest.mark.parametrize(("text", "code", "severity"), [
    ("TODO: de foto van de bijeenkomst", "placeholder", Severity.ERROR),
    ("Hier komt [COVER IMAGE] nog.", "placeholder", Severity.ERROR),
    ("Lorem ipsum dolor sit amet.", "placeholder", Severity.ERROR),
    ("Heeft je werkplek Ã¼berhaupt een ondernemingsraad?", "mojibake", Severity.ERROR),
    ("{{< onbekend-ding >}}", "unknown-shortcode", Severity.WARNING),
    ("![](meeting.png)", "missing-alt", Severity.WARNING),
    ("Zie [de Engelse pagina](/en/about).", "cross-language-link", Severity.WARNING),
])
def test_each_problem_is_found_at_its_line(workspace: Path, text: str, code: str,
                                          severity: Severity) -> None:
    line = append(workspace, NL_PAGE, text)
    problem = only(campaign_problems(workspace), code)
    assert problem.severity is severity
    assert problem.path == (workspace / NL_PAGE).resolve() or problem.path == workspace / NL_PAGE
    if code != "missing-alt":
        assert problem.line == line


def test_missing_bundled_image_is_an_error(workspace: Path) -> None:
    line = append(workspace, NL_PAGE, "![Een foto die er niet is](weg.png)")
    problem = only(campaign_problems(workspace), "missing-image")
    assert problem.severity is Severity.ERROR
    assert problem.line == line


def test_missing_translation_is_an_error_for_the_campaign(workspace: Path) -> None:
    (workspace / "content/posts/2026-12/index.en.md").unlink()
    problem = only(campaign_problems(workspace), "missing-translation")
    assert problem.severity is Severity.ERROR
    assert problem.path == workspace / "campaigns" / f"{CAMPAIGN}.toml"


def test_subjects_empty_and_too_long(workspace: Path) -> None:
    path = workspace / "campaigns" / f"{CAMPAIGN}.toml"
    text = path.read_text(encoding="utf-8")
    long_subject = "Heel lang " * (SUBJECT_MAX // 10 + 1)
    text = text.replace('subject = "Techwerkers in december', f'subject = "{long_subject}', 1)
    path.write_text(text, encoding="utf-8")
    problem = only(campaign_problems(workspace), "subject-long")
    assert problem.severity is Severity.WARNING
    assert problem.line == text.splitlines().index(
        next(x for x in text.splitlines() if long_subject in x)) + 1


def test_html_over_gmail_clip_is_an_error(workspace: Path) -> None:
    paragraph = "Een zin over organiseren op de werkvloer, samen met collega's. " * 20
    append(workspace, NL_PAGE, "\n\n".join([paragraph] * (GMAIL_CLIP_BYTES // len(paragraph))))
    problem = only(campaign_problems(workspace), "html-too-large")
    assert problem.severity is Severity.ERROR


def test_the_seed_page_shows_its_double_encoding(workspace: Path) -> None:
    seed = next(SEED.glob("*.txt"))
    target = workspace / "content/over/index.nl.md"
    target.parent.mkdir()
    shutil.copy(seed, target)
    problems = [p for p in check_site(Workspace.open(workspace).site) if p.path == target]
    mojibake = only(problems, "mojibake")
    lines = seed.read_text(encoding="utf-8").splitlines()
    assert "Ã¼berhaupt" in lines[mojibake.line - 1]  # type: ignore[operator]
    assert any(p.code == "missing-translation" for p in problems)
