"""Every image and link of a campaign's emails, with the file and line that wrote it.

A URL in an email comes from one of a few places: a page's body (a Markdown link, an image,
a shortcode), the page's cover, the page itself ("read online"), a translation of it, an
agenda event (a page, or a calendar feed the campaign names), or the template (the masthead,
a literal address). When the published site lacks the target, the reader must be sent to
that place, not to the rendered HTML, so each :class:`Reference` carries it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from postduif.campaign import Plan, Variant
from postduif.content import Page, Site
from postduif.render import Rendered

IMAGE = "image"
LINK = "link"
#: The personal placeholders (``%%UNSUBSCRIBE_URL%%``) a template writes for the [links] URLs.
PERSONAL_MARK = "%%"


@dataclass(frozen=True)
class Reference:
    """One ``src`` (``kind`` "image") or ``href`` ("link") of one email, and where it was written
    (``line`` ``None`` when only the file is known)."""

    url: str
    kind: str
    path: Path | None
    line: int | None
    variant: str


@dataclass(frozen=True)
class _Place:
    path: Path
    line: int | None


def email_references(site: Site, plan: Plan, rendered: Mapping[str, Rendered],
                     templates_dir: Path) -> list[Reference]:
    """The web URLs (``http(s)``) and personal-link placeholders of each rendered email, in
    document order; ``mailto:``, ``tel:`` and in-page ``#`` links are not on any site."""
    found = []
    for key, message in rendered.items():
        places = _Places(site, plan, plan.variants[key], templates_dir)
        for kind, url in _urls(message.html):
            if url.lower().startswith(("http://", "https://", PERSONAL_MARK)):
                place = places.of(url)
                found.append(Reference(url, kind, place.path, place.line, key))
    return found


def _urls(html: str) -> list[tuple[str, str]]:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.found


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: (value or "").strip() for name, value in attrs}
        if tag == "img" and values.get("src"):
            self.found.append((IMAGE, values["src"]))
        elif tag == "a" and values.get("href"):
            self.found.append((LINK, values["href"]))


class _Places:
    """Where each URL of one variant was written: the places known from the content first,
    then the first line of a page, the campaign or a template that spells it out."""

    def __init__(self, site: Site, plan: Plan, variant: Variant, templates_dir: Path) -> None:
        self.known: dict[str, _Place] = {}
        self.texts: dict[Path, str] = {}
        self.template = _Place(templates_dir / f"{variant.context.template}.mjml.j2", None)
        self.files = [*(p.source for p in (*variant.pages, *variant.events)),
                      plan.campaign.source, *_template_files(templates_dir, self.template.path)]
        for page in variant.pages:
            self._page(site, page)
        for image in variant.images:  # a rendition was written where its original was
            if image.rendition is not None and image.url in self.known:
                self._remember(image.rendition.url, self.known[image.url])
        self._agenda(plan, variant)
        self._remember(variant.context.site_url, self.search("site_url") or self.template)

    def _agenda(self, plan: Plan, variant: Variant) -> None:
        """An event page is the place of its own URL (its location is found by searching
        it); everything of a calendar feed's event, the campaign's ``agenda.feed`` line."""
        for event in variant.events:
            self._remember(event.url, _Place(event.source, None))
        feed = _Place(plan.campaign.source, plan.campaign.line("agenda.feed"))
        pages = {event.url for event in variant.events}
        for section in variant.context.sections:
            for item in section.events:
                if item.url not in pages:
                    for url in (item.url, item.location, item.online_url):
                        self._remember(url, feed)

    def _page(self, site: Site, page: Page) -> None:
        for url, line in site.render(page).written:
            self._remember(url, _Place(page.source, line))
        cover = site.cover_image(page)
        if cover is not None and page.cover is not None:
            self._remember(cover.url, _Place(page.source, page.cover.line))
        self._remember(page.url, _Place(page.source, None))
        for other in site.translations(page).values():
            self._remember(other.url, _Place(other.source, None))

    def _remember(self, url: str, place: _Place) -> None:
        if url:
            self.known.setdefault(url, place)

    def of(self, url: str) -> _Place:
        found = self.known.get(url)
        if found is None:
            found = self.search(url) or self.search(url.strip("%")) or self.template
            self.known[url] = found
        return found

    def search(self, needle: str) -> _Place | None:
        """The first file (pages, campaign, templates) and line that mention ``needle``."""
        for path in self.files:
            if path not in self.texts:
                self.texts[path] = _text(path)
            at = self.texts[path].find(needle)
            if at >= 0:
                return _Place(path, self.texts[path].count("\n", 0, at) + 1)
        return None


def _template_files(templates_dir: Path, own: Path) -> Iterator[Path]:
    """The email's own template, the other MJML templates (the layout it extends), the
    interface strings."""
    yield own
    yield from (p for p in sorted(templates_dir.glob("*.mjml.j2")) if p != own)
    yield templates_dir / "strings.toml"


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:  # a template set without strings.toml, say: nothing to find there
        return ""
