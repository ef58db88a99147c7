"""The cover image of a campaign's page in the email: both front matter styles, alt text,
caption, the width it is drawn at, and the checks that stop a campaign without it."""

from __future__ import annotations

import re
from pathlib import Path

from postduif.check import check_plan
from postduif.content.images import COLUMN_WIDTH
from postduif.problems import Problem, Severity
from postduif.render import Rendered
from postduif.workspace import Workspace

from .images_support import png_size, write_png

CAMPAIGN = "2026-12-community-update"
POST = Path("content/posts/2026-12")
NL_PAGE = POST / "index.nl.md"
CAPTION = "Illustratie: de kalender van december"


def built(workspace: Path) -> tuple[dict[str, Rendered], list[Problem]]:
    ws = Workspace.open(workspace)
    plan = ws.plan(ws.campaign(CAMPAIGN))
    rendered = ws.render(plan)
    return rendered, check_plan(ws.site, plan, rendered)


def edit(workspace: Path, relative: Path, old: str, new: str) -> Path:
    path = workspace / relative
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def cover_tag(html: str) -> str:
    [tag] = re.findall(r'<img\b[^>]*src="[^"]*/posts/2026-12/feature\.png"[^>]*>', html)
    return tag


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


def test_feature_style_cover_with_alt_and_column_width(workspace: Path) -> None:
    rendered, problems = built(workspace)
    real_width, _ = png_size(workspace / POST / "feature.png")
    assert real_width > COLUMN_WIDTH
    tag = cover_tag(rendered["nl"].html)
    assert 'alt="Rode en crèmekleurige diagonale banen' in tag
    assert f'width="{COLUMN_WIDTH}"' in tag
    assert 'class="caption"' not in rendered["nl"].html  # no coverCaption, no caption
    # a body image keeps the size attributes Outlook needs through MJML and CSS inlining
    width, height = png_size(workspace / POST / "meeting.png")
    [body_image] = re.findall(r'<img\b[^>]*meeting\.png"[^>]*>', rendered["nl"].html)
    shown = min(width, COLUMN_WIDTH)
    assert f'width="{shown}"' in body_image
    assert f'height="{round(height * shown / width)}"' in body_image
    assert "max-width: 100%" in body_image and "height: auto" in body_image
    assert [p for p in problems if p.code in ("missing-alt", "missing-cover-image")] == []


def test_cover_style_cover_with_alt_and_caption(workspace: Path) -> None:
    edit(workspace, NL_PAGE, "feature: feature.png\nfeatureAlt:", "cover: feature.png\ncoverAlt:")
    edit(workspace, NL_PAGE, "\n---\n", f'\ncoverCaption: "{CAPTION}"\n---\n')
    rendered, problems = built(workspace)
    html = rendered["nl"].html
    assert 'alt="Rode en crèmekleurige diagonale banen' in cover_tag(html)
    caption = re.search(r'<p class="caption"[^>]*>([^<]*)</p>', html)
    assert caption is not None and caption.group(1) == CAPTION
    assert html.index(cover_tag(html)) < caption.start() < html.index("<h1")
    assert [p for p in problems if p.severity is Severity.ERROR] == []


def test_a_small_cover_keeps_its_own_width(workspace: Path) -> None:
    write_png(workspace / POST / "feature.png", 320, 160)
    rendered, _ = built(workspace)
    assert 'width="320"' in cover_tag(rendered["en"].html)


def test_a_missing_cover_file_is_an_error_at_its_line(workspace: Path) -> None:
    page = edit(workspace, NL_PAGE, "feature: feature.png", "feature: kalender.png")
    rendered, problems = built(workspace)
    [problem] = [p for p in problems if p.code == "missing-cover-image"]
    assert problem.severity is Severity.ERROR
    assert (problem.line, problem.path) == (line_of(page, "feature: kalender.png"), page)
    assert "kalender.png" in problem.message
    # the layout's fallback (the bundle's feature.png) is what the web page shows, and so
    # the email too; the error still stops the campaign
    assert cover_tag(rendered["nl"].html)


def test_a_cover_without_alt_text_warns_at_its_line(workspace: Path) -> None:
    page = edit(workspace, NL_PAGE, "featureAlt:", "oldAlt:")
    _, problems = built(workspace)
    [problem] = [p for p in problems if p.code == "missing-alt"]
    assert (problem.severity, problem.path) == (Severity.WARNING, page)
    assert problem.line == line_of(page, "feature:")
    assert "featureAlt or coverAlt" in problem.message


def test_a_missing_cover_of_an_agenda_event_only_warns(workspace: Path) -> None:
    """The agenda shows no event covers: a broken one is the site's problem, not the email's."""
    event = workspace / "content/events/2026-12-19-winterborrel/index.nl.md"
    event.write_text(event.read_text(encoding="utf-8").replace(
        'tags: ["borrel"]\n', 'tags: ["borrel"]\nfeature: borrel.jpg\n', 1), encoding="utf-8")
    _, problems = built(workspace)
    [problem] = [p for p in problems if p.code == "missing-cover-image"]
    assert problem.path == event and problem.line == line_of(event, "feature: borrel.jpg")
    assert problem.severity is Severity.WARNING and "agenda does not show it" in problem.message
