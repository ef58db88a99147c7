"""Pre-send checks: every problem in the content and the campaign, with file and line.

Checks only read. They report :class:`~postduif.problems.Problem` values; deciding whether to
fail is the caller's business (``postduif check`` exits 1 on any error, not on warnings).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from postduif import problems as pr
from postduif.campaign import SUBJECT_MAX, Plan
from postduif.content import Page, Site
from postduif.problems import Problem, Severity
from postduif.published.scope import host_of
from postduif.render import Rendered

GMAIL_CLIP_BYTES = 102 * 1024

_PLACEHOLDER = re.compile(
    r"\[(?:COVER IMAGE|IMAGE|LINK|DATE|TITLE|NAME|URL|TBD|TK)[^\]\n]*\](?![(\[])"
    r"|\b(?:TODO|TO DO|FIXME|TBD|XXX)\b"
    r"|(?i:lorem ipsum)"
)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
# UTF-8 text decoded as Latin-1/CP1252 once too often: "Ã¼" for "ü", "â€™" for "’".
_MOJIBAKE = re.compile(
    r"Ã[\u0080-\u00bf]|â€[\u0080-\u00bf\u2013-\u203a\u20ac\u2122]|Â[\u00a0-\u00bf]")


def check_site(site: Site) -> list[Problem]:
    """Everything wrong with the content as a whole, for ``postduif check --all``; events are
    linted too, whether or not a campaign's agenda has them yet."""
    found = list(site.problems)
    for page in site.pages:
        found += check_page(site, page)
        found += site.cover_problems(page)
        found += _missing_translations(site, page)
        if _is_event(page):
            found += check_event(site, page)
    return _unique(found)


def _is_event(page: Page) -> bool:
    """An event page: in the default agenda section, or dated the way event themes do it."""
    return page.kind == "page" and (page.section == "events" or "eventDate" in page.params)


def check_plan(site: Site, plan: Plan, rendered: Mapping[str, Rendered]) -> list[Problem]:
    """Everything wrong with one campaign: its pages, its events, its subjects, its size."""
    found = list(plan.problems)
    pages = {p.source: p for v in plan.variants.values() for p in (*v.pages, *v.events)}
    shown = {p.source for v in plan.variants.values() for p in v.pages}
    found += [_as_agenda_event(p) if p.path not in shown else p
              for p in site.problems if p.path in pages]
    for page in pages.values():
        found += check_page(site, page)
        found += [p if page.source in shown else _as_agenda_event(p)
                  for p in site.cover_problems(page)]
    found += _cover_alt(plan)
    for key, message in rendered.items():
        found += _check_rendered(plan, key, message)
    found += check_agenda(site, plan)
    return _unique(found)


def _as_agenda_event(problem: Problem) -> Problem:
    """An agenda event's cover is not in the email: its missing file is the site's problem
    (a warning here), not a reason to hold the campaign back."""
    if problem.code not in ("missing-cover-image", "unpublished-cover-image"):
        return problem
    return replace(problem, severity=Severity.WARNING,
                   message=f"{problem.message} (the email's agenda does not show it)")


def check_page(site: Site, page: Page) -> list[Problem]:
    """The content reader's findings (shortcodes, images, alt text) plus the text checks."""
    html = site.render(page)
    source = page.source.read_text(encoding="utf-8", errors="replace")
    found = list(html.problems)
    found += _text_problems(page, _without_comments(source), "placeholder", _PLACEHOLDER,
                            "leftover placeholder {match!r}: finish or remove it")
    found += _text_problems(page, source, "mojibake", _MOJIBAKE,
                            "double-encoded UTF-8 {match!r} (text was decoded twice)")
    found += _cross_language_links(site, page, source, html.links)
    return found


def _without_comments(source: str) -> str:
    """``source`` with HTML comments blanked (newlines kept, so lines still count): a note
    to the editors inside ``<!-- -->`` never reaches a reader, so it is no leftover."""
    return _COMMENT.sub(lambda found: re.sub(r"[^\n]", " ", found.group()), source)


def _text_problems(page: Page, source: str, code: str, pattern: re.Pattern[str],
                   template: str) -> list[Problem]:
    """Matches in the front matter and body, each an error pointing at its line."""
    return [pr.error(code, template.format(match=m.group(0)), page.source,
                     source.count("\n", 0, m.start()) + 1)
            for m in pattern.finditer(source)]


def _cross_language_links(site: Site, page: Page, source: str,
                          links: Iterable[str]) -> list[Problem]:
    host = host_of(site.config.base_url)
    others = [lang for lang in site.config.languages if lang != page.lang]
    found = []
    for link in links:
        parts = urlsplit(link)
        if host_of(link) != host:
            continue
        first = parts.path.strip("/").split("/", 1)[0]
        if first in others and "." not in parts.path.rsplit("/", 1)[-1]:  # a page, not a file
            found.append(pr.warning(
                "cross-language-link",
                f"this {page.lang} page links to the {first} page {link}", page.source,
                _line_of(source, parts.path.rstrip("/"))))
    return found


def _line_of(source: str, needle: str) -> int | None:
    """The first source line mentioning ``needle``: good enough to point a reader at a link."""
    for number, line in enumerate(source.splitlines(), 1):
        if needle and needle in line:
            return number
    return None


def _missing_translations(site: Site, page: Page) -> list[Problem]:
    have = site.translations(page)
    return [pr.warning("missing-translation", f"no {lang} translation of {page.path!r}",
                       page.source, None)
            for lang in site.config.languages if lang not in have]


def _check_rendered(plan: Plan, key: str, message: Rendered) -> list[Problem]:
    source, line = plan.campaign.source, plan.campaign.line(f"{key}.subject")
    found = []
    if not message.subject.strip():
        found.append(pr.error("subject-empty", f"the {key} subject is empty", source, line))
    elif _control(message.subject):
        found.append(pr.error(
            "subject-control", f"the {key} subject contains {_control(message.subject)}; a "
            f"subject is one line (a line break there could start a header of its own)",
            source, line))
    elif len(message.subject) > SUBJECT_MAX:
        found.append(pr.warning(
            "subject-long", f"the {key} subject has {len(message.subject)} characters; inboxes "
            f"cut it off past about {SUBJECT_MAX}", source, line))
    size = len(message.html.encode("utf-8"))
    if size > GMAIL_CLIP_BYTES:
        found.append(pr.error(
            "html-too-large", f"the {key} HTML is {size // 1024} KB; Gmail clips messages over "
            f"102 KB", source, None))
    return found


def _control(text: str) -> str:
    """The first control character in a one-line value, named ("U+000D"), or ""."""
    return next((f"the control character U+{ord(c):04X}" for c in text
                 if unicodedata.category(c) == "Cc"), "")


def _cover_alt(plan: Plan) -> list[Problem]:
    """A cover image the email shows needs alt text (agenda events' covers are not shown)."""
    return [pr.warning("missing-alt", f"the cover image {page.cover.ref!r} has no alt text "
                       "(featureAlt or coverAlt)", page.source, page.cover.line)
            for variant in plan.variants.values() for page in variant.pages
            if page.cover is not None and not page.cover.alt]


# A heading the page itself gives its agenda ("## Agenda", "<h2>Upcoming events</h2>").
_AGENDA_HEADING = re.compile(
    r"^ {0,3}#{1,6}[ \t]*(?:agenda|upcoming events|events|evenementen)\b[^\n]*$"
    r"|<h[1-6][^>]*>\s*(?:agenda|upcoming events|events|evenementen)\b", re.I | re.M)


def check_agenda(site: Site, plan: Plan) -> list[Problem]:
    """Two agendas in one email, and Hugo-page events that would show a wrong date or time."""
    found = []
    for variant in plan.variants.values():
        with_agenda = {s.lang for s in variant.context.sections if s.events}
        found += [p for page in variant.pages if page.lang in with_agenda
                  for p in _own_agenda_heading(page)]
        for event in variant.events:
            found += check_event(site, event)
    return found


def _own_agenda_heading(page: Page) -> list[Problem]:
    source = page.source.read_text(encoding="utf-8", errors="replace")
    return [pr.warning("agenda-twice", f"the page has its own agenda heading {m.group(0).strip()!r}"
                       "; the email adds the campaign's agenda below it, so it shows two: "
                       "remove one", page.source, source.count("\n", 0, m.start()) + 1)
            for m in _AGENDA_HEADING.finditer(source)]


def check_event(site: Site, page: Page) -> list[Problem]:
    """An event page whose translations disagree on the date (error), or whose UTC offset is
    not the site zone's on that date (warning: the email converts, so the hour shifts)."""
    if page.date is None:
        return []
    source = page.source.read_text(encoding="utf-8", errors="replace")
    line = _line_of_key(source, "date")
    zone = ZoneInfo(site.config.timezone)
    found = [pr.error(
        "event-dates-differ", f"this {page.lang} event starts {_local(page.date, zone)}, its "
        f"{lang} version ({other.source}) {_local(other.date, zone)}: make them the same",
        page.source, line)
        for lang, other in site.translations(page).items()
        if other is not page and other.date is not None and other.date != page.date]
    written = page.date.utcoffset()
    expected = zone.utcoffset(page.date.replace(tzinfo=None))
    if written != expected:
        found.append(pr.warning(
            "event-utc-offset", f"date {page.date.isoformat()} has the UTC offset "
            f"{_offset(written)}, but {site.config.timezone} is at {_offset(expected)} on that "
            f"date: the email shows {page.date.astimezone(zone):%H:%M}. Write "
            f"{page.date.replace(tzinfo=zone).isoformat()} or leave the offset out",
            page.source, line))
    return found


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _line_of_key(source: str, key: str) -> int | None:
    """The front matter line that sets ``key`` (YAML ``key:`` or TOML ``key =``)."""
    found = re.search(rf"^{re.escape(key)}\s*[:=]", source, re.M)
    return source.count("\n", 0, found.start()) + 1 if found else None


def _unique(problems: list[Problem]) -> list[Problem]:
    """Drop repeats (a page both in a campaign and on its agenda) and sort by file and line."""
    return sorted(set(problems), key=lambda p: (str(p.path), p.line or 0, p.code, p.message))
