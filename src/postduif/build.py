"""``postduif build``: a campaign's finished messages on disk, for review before sending.

For each variant it writes ``<key>.html``, ``<key>.txt`` and ``<key>.eml`` into
``build/<campaign>/``, all three as the sample recipient gets them (greeting, unsubscribe and
preference links filled in): what a reviewer opens is what a reader sees. The files are
written into a temporary directory first and swapped in whole, so a failed build never leaves a
half-written folder.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from postduif.campaign import Plan
from postduif.check import check_plan
from postduif.errors import CampaignError
from postduif.message import Envelope, Recipient, build_message, personal_values
from postduif.problems import Problem, Severity, has_errors
from postduif.render import Rendered, personalise
from postduif.renditions import ImageWeight, Rendition
from postduif.workspace import Workspace

SAMPLE_TOKEN = "SAMPLE-TOKEN"  # stands in for the signed token in samples and previews
SAMPLE_RECIPIENTS = {
    "named": Recipient(email="sam.devries@example.org", name="Sam de Vries"),
    "anonymous": Recipient(email="anoniem@example.org", name=""),
}


@dataclass(frozen=True)
class BuiltVariant:
    key: str
    subject: str
    html_bytes: int
    warnings: int
    files: tuple[Path, ...]
    images: ImageWeight = ImageWeight(())


@dataclass(frozen=True)
class BuildResult:
    campaign: str
    directory: Path
    variants: tuple[BuiltVariant, ...]
    problems: tuple[Problem, ...]
    renditions: tuple[Rendition, ...] = ()  # every email rendition linked: url and file


def envelope(ws: Workspace, plan: Plan) -> Envelope:
    return Envelope.for_list(plan.campaign.name, ws.settings.sender,
                             ws.list_def(plan.campaign.list), ws.site.config.default_language,
                             unsubscribe_mailbox=ws.settings.return_path)


def _sample_links(ws: Workspace, rendered: Rendered) -> dict[str, str]:
    """The sample recipient's unsubscribe and preference links (with a stand-in token)."""
    lang = rendered.lang.split("+")[0]
    base_url = ws.site.config.base_url
    return {name: pattern.format(base_url=base_url, lang=lang, token=SAMPLE_TOKEN)
            for name, pattern in (("unsubscribe_url", ws.settings.unsubscribe_url),
                                  ("preferences_url", ws.settings.preferences_url))}


def sample_message(ws: Workspace, plan: Plan, rendered: Rendered, persona: str = "named",
                   date: datetime | None = None) -> bytes:
    """The message one sample recipient would get, as the bytes that go over SMTP."""
    return build_message(rendered, SAMPLE_RECIPIENTS[persona], envelope(ws, plan), date=date,
                         unsubscribe_token=SAMPLE_TOKEN, **_sample_links(ws, rendered))


def sample_parts(ws: Workspace, rendered: Rendered, persona: str = "named") -> tuple[str, str]:
    """``(html, text)`` as the sample recipient reads them: greeting and links filled in, so
    the files a reviewer opens show no ``%%GREETING%%``."""
    values = personal_values(rendered, SAMPLE_RECIPIENTS[persona],
                             **_sample_links(ws, rendered))
    return personalise(rendered, values)


def checked_render(ws: Workspace, name: str, *, now: datetime | None = None
                   ) -> tuple[Plan, dict[str, Rendered], tuple[Problem, ...]]:
    """Plan and render a campaign, refusing it (:class:`BuildFailed`) when check finds errors,
    then write the email renditions it links into the site's ``static/``.

    ``build`` and ``send`` both start here, so nothing is sent that would not build.
    """
    plan = ws.plan(ws.campaign(name), now=now)
    rendered = ws.render(plan)
    problems = tuple(check_plan(ws.site, plan, rendered))
    if has_errors(problems) or not rendered:
        raise BuildFailed(plan.campaign.name, problems)
    ws.make_renditions(plan)
    return plan, rendered, problems


def build_campaign(ws: Workspace, name: str, *, now: datetime | None = None) -> BuildResult:
    """Render every variant once and write the files; refuses when the checks find errors."""
    plan, rendered, problems = checked_render(ws, name, now=now)
    target = ws.settings.build_dir / plan.campaign.name
    variants = _write(ws, plan, rendered, problems, target)
    return BuildResult(plan.campaign.name, target, variants, problems, plan.renditions)


class BuildFailed(CampaignError):
    """The campaign has errors; nothing was written. Carries the problems for display."""

    def __init__(self, campaign: str, problems: tuple[Problem, ...]) -> None:
        errors = sum(p.severity is Severity.ERROR for p in problems)
        super().__init__(f"campaign {campaign!r} has {errors} error(s); fix them first",
                         hint=f"run: postduif check {campaign}")
        self.problems = problems


def _write(ws: Workspace, plan: Plan, rendered: dict[str, Rendered],
           problems: tuple[Problem, ...], target: Path) -> tuple[BuiltVariant, ...]:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        built = [_write_variant(ws, plan, key, message, problems, staging, target)
                 for key, message in rendered.items()]
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return tuple(built)


def _write_variant(ws: Workspace, plan: Plan, key: str, message: Rendered,
                   problems: tuple[Problem, ...], staging: Path, target: Path) -> BuiltVariant:
    html, text = sample_parts(ws, message)
    files = {
        f"{key}.html": html.encode("utf-8"),
        f"{key}.txt": text.encode("utf-8"),
        f"{key}.eml": sample_message(ws, plan, message),
    }
    for filename, data in files.items():
        (staging / filename).write_bytes(data)
    variant = plan.variants[key]
    sources = {p.source for p in (*variant.pages, *variant.events)} | {plan.campaign.source}
    warnings = sum(p.severity is Severity.WARNING and p.path in sources for p in problems)
    return BuiltVariant(key, message.subject, len(files[f"{key}.html"]), warnings,
                        tuple(target / f for f in files), variant.weight)
