"""Campaign definitions and what goes out in each language.

A campaign file (``campaigns/<name>.toml``) names a source page, an optional agenda of upcoming
events, the list and template, per-language subject and preheader, and the language mode:

* ``per-subscriber``: one message per language; each recipient gets their own. A language
  without a translation is an error unless ``fallback`` names a language to send instead.
* ``bilingual``: one message holding every language, the default language first.

:func:`plan_campaign` turns a campaign plus the loaded site into one :class:`Variant` per message
to render, and a routing table from subscriber language to variant. It knows nothing of MJML,
SQL or SMTP: it hands plain :class:`~postduif.render.EmailContext` values to the renderer.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from postduif import problems as pr
from postduif.agenda import FeedSource, feed_events
from postduif.config import Settings
from postduif.content import Page, Site
from postduif.errors import CampaignError, FeedError
from postduif.lists import ListDef
from postduif.problems import Problem
from postduif.render import EmailContext, Event, Section
from postduif.renditions import EmailImage, ImageWeight, Rendition, Renditions, page_images
from postduif.renditions import size_text as _size_text
from postduif.toml_lines import error_line
from postduif.toml_lines import key_lines as _key_lines

MODES = ("per-subscriber", "bilingual")
TOP_KEYS = ("page", "list", "template", "mode", "fallback", "languages", "agenda")
AGENDA_KEYS = ("section", "days", "from", "feed")  # feed: an iCalendar URL instead of content
LANGUAGE_KEYS = ("subject", "preheader")
_LANGUAGE_TABLE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
BILINGUAL = "+"  # variant keys of bilingual messages join their languages with this
SUBJECT_MAX = 78  # inboxes show 40-70 characters; past this a subject is surely cut off


@dataclass(frozen=True)
class Campaign:
    """One campaign file, validated but not yet resolved against the content."""

    name: str
    source: Path
    page: str
    list: str
    template: str
    mode: str
    fallback: str
    languages: tuple[str, ...]  # empty: every language of the site
    agenda_section: str  # empty: no agenda
    agenda_days: int
    agenda_from: date | None
    subjects: Mapping[str, str]
    preheaders: Mapping[str, str]
    key_lines: Mapping[str, int] = field(default_factory=dict)
    agenda_feed: str = ""  # a calendar feed URL or .ics file (relative to the campaign file)

    def line(self, key: str) -> int | None:
        """The line of ``key`` in the campaign file, for pointing problems at it."""
        return self.key_lines.get(key)


@dataclass(frozen=True)
class Variant:
    """One message to render: a language (``nl``) or a bilingual set (``nl+en``)."""

    key: str
    context: EmailContext
    pages: tuple[Page, ...]  # the source page(s) in this message, in section order
    events: tuple[Page, ...]  # the event pages on its agenda
    images: tuple[EmailImage, ...] = ()  # what it shows (covers and bodies), each URL once

    @property
    def weight(self) -> ImageWeight:
        return ImageWeight.of(self.images)


@dataclass(frozen=True)
class Plan:
    campaign: Campaign
    variants: Mapping[str, Variant]
    routing: Mapping[str, str]  # subscriber language -> variant key
    problems: tuple[Problem, ...]

    @property
    def renditions(self) -> tuple[Rendition, ...]:
        """Every email rendition the campaign's messages link (its ``url`` and ``file``):
        they must be on the published site before the messages go out."""
        return tuple(dict.fromkeys(r for v in self.variants.values()
                                   for r in v.weight.renditions))


def load_campaign(path: Path) -> Campaign:
    """Read and validate one campaign file; raises :class:`CampaignError` naming file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CampaignError(f"campaign file {path} does not exist") from None
    except UnicodeDecodeError:
        raise CampaignError("not UTF-8 text", path=path) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CampaignError(f"not valid TOML: {exc}", path=path, line=error_line(exc)) from None
    return _campaign(path, data, _key_lines(text))


def _campaign(path: Path, data: dict[str, Any], lines: dict[str, int]) -> Campaign:
    def fail(message: str, key: str) -> CampaignError:
        return CampaignError(message, path=path, line=lines.get(key))

    _refuse_unknown_keys(path, data, lines)
    for key in ("page", "list"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise fail(f"'{key}' is required (a string)", key)
    mode = data.get("mode", "per-subscriber")
    if mode not in MODES:
        raise fail(f"mode must be one of {', '.join(MODES)}, not {mode!r}", "mode")
    agenda = data.get("agenda", {})
    if not isinstance(agenda, dict):
        raise fail("[agenda] must be a table", "agenda")
    days = agenda.get("days", 30)
    if not isinstance(days, int) or days < 1:
        raise fail("agenda.days must be a positive whole number", "agenda.days")
    start = agenda.get("from")
    if start is not None and not isinstance(start, date):
        raise fail("agenda.from must be a date like 2026-12-01", "agenda.from")
    feed = agenda.get("feed", "")
    if not isinstance(feed, str):
        raise fail("agenda.feed must be a URL or the path of an .ics file", "agenda.feed")
    languages = data.get("languages", [])
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        raise fail("languages must be a list of language codes", "languages")
    per_lang = {k: v for k, v in data.items() if isinstance(v, dict) and k != "agenda"}
    return Campaign(
        name=path.stem,
        source=path,
        page=data["page"].strip(),
        list=data["list"].strip(),
        template=str(data.get("template", "newsletter")),
        mode=mode,
        fallback=str(data.get("fallback", "")),
        languages=tuple(languages),
        agenda_section=str(agenda.get("section", "events" if agenda and not feed else "")),
        agenda_days=days,
        agenda_from=start.date() if isinstance(start, datetime) else start,
        subjects=_per_language(per_lang, "subject"),
        preheaders=_per_language(per_lang, "preheader"),
        key_lines=lines,
        agenda_feed=feed.strip(),
    )


def _refuse_unknown_keys(path: Path, data: dict[str, Any], lines: dict[str, int]) -> None:
    """A misspelt key (``secton``) would silently fall back to a default: refuse every one
    at once, each with its line and the nearest valid key."""
    unknown = list(_unknown_keys(data))
    if not unknown:
        return
    described = [_describe_unknown(key, valid, lines) for key, valid in unknown]
    first = min((lines[k] for k, _ in unknown if k in lines), default=None)
    raise CampaignError("unknown key" + ("s" if len(described) > 1 else "") + ": "
                        + "; ".join(described), path=path, line=first)


def _unknown_keys(data: dict[str, Any]) -> Iterator[tuple[str, tuple[str, ...]]]:
    """``(dotted key, the keys valid in its place)`` for each key the campaign cannot use.

    A table named like a language code (``nl``, ``pt-BR``) holds that language's texts."""
    for key, value in data.items():
        if key == "agenda" and isinstance(value, dict):
            yield from ((f"agenda.{k}", AGENDA_KEYS) for k in value if k not in AGENDA_KEYS)
        elif isinstance(value, dict) and _LANGUAGE_TABLE.match(key):
            yield from ((f"{key}.{k}", LANGUAGE_KEYS) for k in value if k not in LANGUAGE_KEYS)
        elif key not in TOP_KEYS:
            yield key, TOP_KEYS


def _describe_unknown(key: str, valid: tuple[str, ...], lines: dict[str, int]) -> str:
    name = key.rpartition(".")[2]
    near = difflib.get_close_matches(name, valid, n=1)
    where = f" (line {lines[key]})" if key in lines else ""
    hint = f"did you mean {near[0]}?" if near else f"valid keys: {', '.join(valid)}"
    return f"{key!r}{where}: {hint}"


def _per_language(tables: dict[str, dict[str, Any]], key: str) -> dict[str, str]:
    return {lang: str(table[key]) for lang, table in tables.items() if key in table}


def campaign_files(campaigns_dir: Path) -> list[Path]:
    return sorted(campaigns_dir.glob("*.toml"))


def resolve_campaign(settings: Settings, name_or_path: str) -> Path:
    """Accept ``newsletter``, ``newsletter.toml`` or ``campaigns/newsletter.toml``."""
    given = Path(name_or_path)
    candidates = [given, settings.root / given, settings.campaigns_dir / given,
                  settings.campaigns_dir / f"{given.name}.toml"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    known = ", ".join(p.stem for p in campaign_files(settings.campaigns_dir)) or "none"
    raise CampaignError(f"no campaign {name_or_path!r} (known campaigns: {known})",
                        hint=f"campaign files live in {settings.campaigns_dir}")


def plan_campaign(campaign: Campaign, site: Site, settings: Settings, list_def: ListDef,
                  *, now: datetime | None = None, feed_max_age: timedelta | None = None,
                  renditions: Renditions | None = None) -> Plan:
    """Resolve the campaign against the content: one variant per message, plus routing.

    ``feed_max_age``: reuse a fetched calendar feed younger than this (the preview's throttle).
    ``renditions``: the workspace's, to reuse what it made (planning only reads the disk).
    """
    languages = campaign.languages or site.config.languages
    pages, problems = _pages_by_language(campaign, site, languages)
    if not pages:
        return Plan(campaign, {}, {}, tuple(problems))
    window = _agenda_window(campaign, pages, settings.timezone, now)
    feed = _feed(campaign, settings, window, feed_max_age, problems)
    renditions = renditions or Renditions(settings.images)
    sections = {lang: _section(site, page, campaign, window, feed, renditions)
                for lang, page in pages.items()}
    problems += [p for parts in sections.values() for p in parts.problems]
    problems += _agenda_problems(campaign, site, window, sections.values())
    builder = _ContextBuilder(campaign, settings, site, list_def)
    if campaign.mode == "bilingual":
        ordered = [lang for lang in languages if lang in sections]
        key = BILINGUAL.join(ordered)
        variants = {key: builder.variant(key, [sections[lang] for lang in ordered])}
        routing = {lang: key for lang in languages}
    else:
        variants = {lang: builder.variant(lang, [sections[lang]]) for lang in pages}
        routing = {lang: lang if lang in pages else campaign.fallback for lang in languages}
    problems += _weight_problems(variants, settings.images.max_total_bytes)
    return Plan(campaign, variants, routing, tuple(problems))


def _weight_problems(variants: Mapping[str, Variant], limit: int) -> list[Problem]:
    """An email whose images weigh more than ``limit`` bytes, naming the heaviest images."""
    found = []
    for key, variant in variants.items():
        weight = variant.weight
        if weight.total <= limit:
            continue
        heaviest = ", ".join(f"{image.file} ({_size_text(image.size)})"
                             for image in weight.heaviest())
        found.append(pr.warning(
            "image-weight", f"the {key} email's images weigh {_size_text(weight.total)}, over "
            f"the {_size_text(limit)} of [images] max_total_kb; heaviest: {heaviest}",
            variant.pages[0].source, None))
    return found


def _pages_by_language(campaign: Campaign, site: Site,
                       languages: tuple[str, ...]) -> tuple[dict[str, Page], list[Problem]]:
    found = {lang: page for lang in languages if (page := site.get(campaign.page, lang))}
    problems: list[Problem] = []
    line = campaign.line("page")
    if not found:
        problems += site.read_errors(campaign.page) or [pr.error(
            "page-not-found", f"no page {campaign.page!r} in the content", campaign.source, line)]
        return found, problems
    for lang in languages:
        if lang in found:
            continue
        problems += site.read_errors(campaign.page, lang)
        if campaign.fallback in found:
            problems.append(pr.warning(
                "missing-translation",
                f"{campaign.page!r} has no {lang} version; {lang} subscribers get "
                f"the {campaign.fallback} one (fallback)", campaign.source, line))
        else:
            problems.append(pr.error(
                "missing-translation",
                f"{campaign.page!r} has no {lang} version; translate it, or set "
                f"fallback = \"{next(iter(found))}\" in the campaign", campaign.source, line))
    return found, problems


@dataclass(frozen=True)
class _Window:
    start: datetime
    end: datetime


def _agenda_window(campaign: Campaign, pages: Mapping[str, Page], timezone: str,
                   now: datetime | None) -> _Window | None:
    """The agenda covers ``days`` from ``agenda.from``, else the page's date, else now."""
    if not (campaign.agenda_section or campaign.agenda_feed):
        return None
    zone = ZoneInfo(timezone)
    if campaign.agenda_from is not None:
        start = datetime.combine(campaign.agenda_from, time(0), zone)
    else:
        dated = [p.date for p in pages.values() if p.date is not None]
        start = min(dated) if dated else (now or datetime.now(zone))
    return _Window(start, start + timedelta(days=campaign.agenda_days))


def _section(site: Site, page: Page, campaign: Campaign, window: _Window | None,
             feed: tuple[Event, ...], renditions: Renditions) -> _SectionParts:
    events = (_events(site, page.lang, campaign.agenda_section, window)
              if window and campaign.agenda_section else ())
    images = page_images(renditions, site, page)
    return _SectionParts(
        page=page,
        events=events,
        section=Section(
            lang=page.lang,
            title=page.title,
            body_html=images.body_html,
            page_url=page.url,
            events=tuple(sorted((*(_event(e) for e in events), *feed), key=lambda e: e.start)),
            alternates={lang: p.url for lang, p in site.translations(page).items()
                        if lang != page.lang},
            **_cover_fields(page, images.cover, images.cover_width),
        ),
        images=images.images,
        problems=images.problems,
    )


def _cover_fields(page: Page, shown: EmailImage | None, width: int) -> dict[str, Any]:
    """The section's hero image: the page's cover (``feature`` or ``cover`` style), with its
    alt text, caption and the width the email shows it at (its rendition where it has one)."""
    if shown is None or page.cover is None:
        return {}
    return {"image_url": shown.shown_url, "image_alt": page.cover.alt,
            "image_caption": page.cover.caption, "image_width": width}


def _events(site: Site, lang: str, section: str, window: _Window) -> tuple[Page, ...]:
    return tuple(e for e in site.section(section, lang)
                 if e.date is not None and window.start <= e.date < window.end)


def _event(page: Page) -> Event:
    assert page.date is not None  # _events keeps dated pages only
    return Event(title=page.title, start=page.date, url=page.url, summary=page.summary,
                 location=str(page.params.get("location") or ""), end=page.end)


def _feed(campaign: Campaign, settings: Settings, window: _Window | None,
          max_age: timedelta | None, problems: list[Problem]) -> tuple[Event, ...]:
    """The feed's events in the window; what went wrong is added to ``problems``."""
    if window is None or not campaign.agenda_feed:
        return ()
    source = FeedSource(campaign.agenda_feed, settings.build_dir / "feeds",
                        campaign.source.parent, max_age)
    line = campaign.line("agenda.feed")
    try:
        found = feed_events(source, window.start, window.end, ZoneInfo(settings.timezone))
    except FeedError as exc:
        problems.append(pr.error("agenda-feed", exc.message, campaign.source, line))
        return ()
    problems += [pr.warning("agenda-feed", w, campaign.source, line) for w in found.warnings]
    return found.events


def _agenda_problems(campaign: Campaign, site: Site, window: _Window | None,
                     sections: Iterable[_SectionParts]) -> list[Problem]:
    """An agenda that would silently be missing: no such section, or nothing in the window."""
    if window is None:
        return []
    parts = list(sections)
    found = []
    langs = [p.page.lang for p in parts]
    name = campaign.agenda_section
    if name and not any(site.section(name, lang) or site.get(name, lang) for lang in langs):
        found.append(pr.warning(
            "agenda-no-section", f"agenda.section {name!r} names no section of the site",
            campaign.source, campaign.line("agenda.section") or campaign.line("agenda")))
    if not any(p.section.events for p in parts):
        found.append(pr.warning(
            "agenda-empty", f"the agenda is empty: no event from {window.start:%Y-%m-%d} to "
            f"{window.end - timedelta(seconds=1):%Y-%m-%d}; the email goes out without one",
            campaign.source, campaign.line("agenda")))
    return found


@dataclass(frozen=True)
class _SectionParts:
    page: Page
    events: tuple[Page, ...]
    section: Section
    images: tuple[EmailImage, ...] = ()
    problems: tuple[Problem, ...] = ()


class _ContextBuilder:
    """Fills the parts of an :class:`EmailContext` that do not depend on the language mode."""

    def __init__(self, campaign: Campaign, settings: Settings, site: Site,
                 list_def: ListDef) -> None:
        self.campaign = campaign
        self.settings = settings
        self.site = site
        self.list_def = list_def

    def variant(self, key: str, parts: list[_SectionParts]) -> Variant:
        lang = parts[0].page.lang
        context = EmailContext(
            template=self.campaign.template,
            lang=lang,
            subject=self._subject(parts),
            preheader=self._joined(parts, self.campaign.preheaders, lambda p: p.summary),
            sections=tuple(p.section for p in parts),
            sender_name=self.settings.sender.name,
            sender_email=self.settings.sender.email,
            contact_email=self.settings.sender.contact,
            postal_address=self.settings.sender.postal_address,
            site_title=self.site.config.titles.get(lang, ""),
            site_url=self.site.config.home_url(lang),
            list_title=self.list_def.title(lang),
            list_titles={p.page.lang: self.list_def.title(p.page.lang) for p in parts},
        )
        return Variant(key, context, tuple(p.page for p in parts),
                       tuple(e for p in parts for e in p.events),
                       tuple(dict.fromkeys(image for p in parts for image in p.images)))

    def _joined(self, parts: list[_SectionParts], given: Mapping[str, str],
                default: Any) -> str:
        """Per-language text from the campaign, else from the page; bilingual joins them."""
        texts = [given.get(p.page.lang) or default(p.page) for p in parts]
        return " | ".join(t for t in texts if t)

    def _subject(self, parts: list[_SectionParts]) -> str:
        """Both languages' subjects where they fit in an inbox line, else the first one's:
        a bilingual subject of two long titles would be cut off mid-word anyway."""
        joined = self._joined(parts, self.campaign.subjects, lambda p: p.title)
        if len(joined) <= SUBJECT_MAX:
            return joined
        return self._joined(parts[:1], self.campaign.subjects, lambda p: p.title)
