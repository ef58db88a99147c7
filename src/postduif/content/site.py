"""A loaded Hugo site: its pages, how they find each other, and their rendered HTML."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from postduif.content.files import CONTENT_SUFFIXES
from postduif.content.hugo_config import HugoConfig, read_hugo_config
from postduif.content.images import ShownImage, fitted, real_size
from postduif.content.links import resolve
from postduif.content.pages import Page, discover, read_page
from postduif.content.render import PageHtml, render_page
from postduif.content.resources import BundleFiles, unpublished_reason
from postduif.errors import ContentError
from postduif.problems import Problem, error, warning

_EARLIEST = datetime.min.replace(tzinfo=UTC)


class Site:
    """The pages of a Hugo site (drafts left out) and what was wrong with the ones skipped."""

    def __init__(self, config: HugoConfig, pages: Sequence[Page],
                 problems: Sequence[Problem] = (), snippets_dir: Path | None = None,
                 unread: Mapping[tuple[str, str], Sequence[Problem]] | None = None) -> None:
        self.config = config
        self._unread = dict(unread or {})  # (lang, content path) -> why it could not be read
        found = list(problems)
        self._by_path: dict[tuple[str, str], Page] = {}
        for page in pages:
            other = self._by_path.setdefault((page.lang, page.path), page)
            if other is not page:
                found.append(warning("duplicate-page", f"same page as {other.source} "
                                     "(ignored)", page.source))
        order = {lang: index for index, lang in enumerate(config.languages)}
        self.pages: tuple[Page, ...] = tuple(sorted(
            self._by_path.values(), key=lambda p: (order.get(p.lang, len(order)), p.path)))
        self.problems: tuple[Problem, ...] = tuple(found)
        self._by_key = {(p.lang, p.translation_key): p for p in self.pages}
        self._by_bundle = {(p.lang, p.bundle_dir): p for p in self.pages if p.bundle_dir}
        self._urls = {p.url for p in self.pages}
        self._paths_any: dict[str, list[Page]] = defaultdict(list)
        self._translations: dict[str, list[Page]] = defaultdict(list)
        for page in self.pages:
            self._paths_any[page.path].append(page)
            self._translations[page.translation_key].append(page)
        self._snippets_dir = snippets_dir
        self._files = BundleFiles(config, self._by_bundle, self.translations)
        self._snippets: dict[tuple[str, str], str | None] = {}
        self._rendered: dict[Path, PageHtml] = {}

    def get(self, path_or_key: str, lang: str) -> Page | None:
        """A page by content path (``posts/x``, ``/posts/x/``, ``content/posts/x/index.nl.md``)
        or translationKey; a path of another language's page gives its translation."""
        candidates = self._candidates(path_or_key)
        for candidate in candidates:
            page = self._by_path.get((lang, candidate)) or self._by_key.get((lang, candidate))
            if page is not None:
                return page
        for candidate in candidates:
            for other in self._paths_any.get(candidate, ()):
                translated = self.translations(other).get(lang)
                if translated is not None:
                    return translated
        return None

    def read_errors(self, path: str, lang: str | None = None) -> list[Problem]:
        """Why the page at content ``path`` (in ``lang``, or any) could not be read (invalid
        UTF-8, unclosed front matter, ...), so a campaign can say so rather than "no page"."""
        candidates = self._candidates(path)
        return [problem for (page_lang, page_path), found in self._unread.items()
                if page_path in candidates and lang in (None, page_lang) for problem in found]

    def translations(self, page: Page) -> dict[str, Page]:
        """Language -> page for every translation of ``page``, ``page`` itself included."""
        return {p.lang: p for p in self._translations.get(page.translation_key, [page])}

    def section(self, name: str, lang: str) -> list[Page]:
        """The regular pages of a section, oldest first (undated last). ``name`` may also be
        the translationKey of a section named differently in ``lang`` ("events"/"termine")."""
        index = self.get(name, lang)
        key = index.section if index is not None and index.kind == "section" else name.strip("/")
        pages = [p for p in self.pages
                 if p.lang == lang and p.kind == "page" and p.section == key]
        return sorted(pages, key=lambda p: (p.date is None, p.date or _EARLIEST, p.path))

    def render(self, page: Page) -> PageHtml:
        """The page body as a sanitised HTML fragment; computed once per page."""
        cached = self._rendered.get(page.source)
        if cached is None:
            cached = render_page(self.config, self, page, self._snippet)
            self._rendered[page.source] = cached
        return cached

    def cover_image(self, page: Page) -> ShownImage | None:
        """The page's hero image (:attr:`Page.cover`) as the email shows it, or ``None``
        when it has none or its file is missing (reported when the page was read)."""
        if page.cover is None:
            return None
        found = resolve(self.config, self, page, page.cover.ref, image=True)
        if found.missing:
            return None
        size = real_size(found.file) if found.file is not None else None
        return ShownImage(found.url, fitted(size) if size is not None else None, found.file)

    def cover_problems(self, page: Page) -> list[Problem]:
        """A cover image whose file exists but that Hugo publishes nowhere (a missing file is
        reported when the page is read)."""
        if page.cover is None:
            return []
        found = resolve(self.config, self, page, page.cover.ref, image=True)
        if not found.unpublished or found.file is None:
            return []
        return [error("unpublished-cover-image", f"cover image {page.cover.ref!r}: "
                      + unpublished_reason(self.config, found.file, page.lang), page.source,
                      page.cover.line)]

    def resource(self, page: Page, name: str) -> Path | None:
        """The file Hugo's ``.Resources.Get name`` gives ``page`` (see :class:`BundleFiles`)."""
        return self._files.resource(page, name)

    def file_url(self, page: Page, file: Path) -> str | None:
        """Where Hugo publishes ``file`` for a page in ``page.lang``; ``None``: nowhere."""
        return self._files.url(page, file)

    def has_url(self, url: str) -> bool:
        """Whether ``url`` (without query or fragment) is the permalink of a page."""
        return url in self._urls

    def _candidates(self, text: str) -> list[str]:
        path = text.strip().split("#", 1)[0].strip("/")
        for content_dir in sorted(set(self.config.content_dirs.values()),
                                  key=lambda d: len(d.parts), reverse=True):
            rel = content_dir.relative_to(self.config.root).as_posix() \
                if content_dir.is_relative_to(self.config.root) else ""
            if rel and (path == rel or path.startswith(rel + "/")):
                path = path[len(rel):].strip("/")
                break
        if path.endswith(CONTENT_SUFFIXES):
            folder, _, name = path.rpartition("/")
            base = name.split(".", 1)[0]
            path = folder if base in ("index", "_index") else f"{folder}/{base}".strip("/")
        candidates = [path]
        first, _, rest = path.partition("/")
        if first in self.config.languages:
            candidates.append(rest)
        return candidates

    def _snippet(self, name: str, lang: str) -> str | None:
        """Workspace text for a site-specific shortcode, in ``lang`` or the default language."""
        if self._snippets_dir is None:
            return None
        key = (name, lang)
        if key not in self._snippets:
            self._snippets[key] = None
            for candidate in (lang, self.config.default_language):
                path = self._snippets_dir / f"{name}.{candidate}.md"
                if path.is_file():
                    self._snippets[key] = path.read_text(encoding="utf-8")
                    break
        return self._snippets[key]


def load_site(root: Path, *, base_url: str = "", languages: Sequence[str] = (),
              snippets_dir: Path | None = None, timezone: str = "") -> Site:
    """Read every page of the Hugo site at ``root``.

    Never raises for one bad page (it becomes an error on ``Site.problems``); raises
    :class:`ContentError` when ``root`` or its content directory does not exist.
    """
    root = Path(root)
    if not root.is_dir():
        raise ContentError(f"Hugo site not found: {root}", path=root)
    config = read_hugo_config(root, base_url=base_url, languages=languages, timezone=timezone)
    if not any(directory.is_dir() for directory in config.content_dirs.values()):
        raise ContentError("the Hugo site has no content directory", path=root / "content",
                           hint="point the site path at the directory holding content/")
    problems: list[Problem] = []
    unread: dict[tuple[str, str], list[Problem]] = defaultdict(list)
    pages = []
    for found in discover(config):
        before = len(problems)
        page = read_page(config, found, problems)
        if page is None:
            unread[found.lang, found.path] += problems[before:]
        elif not page.draft:
            pages.append(page)
    return Site(config, pages, problems, snippets_dir, unread)
