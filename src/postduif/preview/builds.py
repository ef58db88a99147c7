"""The preview's cache of built campaigns, kept fresh by a generation counter.

A reviewer's browser asks for the same campaign many times (the page, the framed HTML, the text
tab...), so each campaign is planned, rendered and checked once per *generation* and every
request after that is served from memory. A file change calls :meth:`Builds.reload`, which drops
the workspace's caches and the built campaigns and bumps the counter; the pages poll the counter
and reload themselves when it moves.

Everything here is plain Python without a web framework, and guarded by one lock: requests run in
a thread pool while the file watcher reloads from another thread.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import itertools
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

from postduif.build import SAMPLE_RECIPIENTS, sample_message
from postduif.campaign import Campaign, Plan, campaign_files
from postduif.check import check_plan
from postduif.config import CONFIG_NAME, load_settings
from postduif.content import Site
from postduif.errors import PostduifError
from postduif.preview.site_files import SiteFiles
from postduif.problems import Problem, Severity
from postduif.render import Rendered
from postduif.workspace import Workspace

PERSONAS = tuple(SAMPLE_RECIPIENTS)
#: A reload rebuilds every campaign; a calendar feed is asked again only when its copy is older.
FEED_REFETCH = timedelta(minutes=5)


@dataclass(frozen=True)
class Sample:
    """The message one sample recipient gets: the exact bytes, and the same parsed."""

    raw: bytes
    message: EmailMessage

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        return "" if body is None else str(body.get_content())

    def headers(self) -> list[tuple[str, str]]:
        return [(name, str(value)) for name, value in self.message.items()]


@dataclass
class Build:
    """One campaign as of one generation: either its variants and problems, or the error."""

    name: str
    version: str
    error: PostduifError | None = None
    plan: Plan | None = None
    rendered: dict[str, Rendered] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    unreadable: list[Problem] = field(default_factory=list)
    samples: dict[tuple[str, str], Sample] = field(default_factory=dict)
    seconds: float = 0.0

    def count(self, severity: Severity) -> int:
        return sum(p.severity is severity for p in self.problems)


class Builds:
    """Built campaigns of one workspace, rebuilt lazily after each reload."""

    def __init__(self, ws: Workspace) -> None:
        ws.feed_max_age = FEED_REFETCH
        self._ws = ws
        self._broken: PostduifError | None = None  # postduif.toml itself no longer loads
        self._lock = threading.RLock()
        self._cache: dict[str, Build] = {}
        self._files: SiteFiles | None = None
        # The boot time makes a restarted server's counter differ from the old one's, so an open
        # page reloads after a restart too.
        self._boot = f"{time.time_ns():x}"
        self._counter = itertools.count()
        self.version = f"{self._boot}.{next(self._counter)}"

    @property
    def root(self) -> Path:
        return self._ws.settings.root

    @property
    def campaigns_dir(self) -> Path:
        return self._ws.settings.campaigns_dir

    def watched_paths(self) -> list[Path]:
        """Every existing file or directory whose change can alter a built campaign."""
        with self._lock:
            s = self._ws.settings
            candidates = [s.root / CONFIG_NAME, s.site_dir / "content", s.site_dir / "config",
                          s.templates_dir, s.campaigns_dir, s.lists_dir,
                          *(s.site_dir / f"{stem}.{ext}" for stem in ("hugo", "config")
                            for ext in ("toml", "yaml", "yml", "json"))]
            # A broken Hugo config has no content dirs; its file is watched, fixing it reloads.
            with contextlib.suppress(PostduifError):
                candidates += self._ws.site.config.content_dirs.values()
        existing = [p for p in dict.fromkeys(candidates) if p.exists()]
        return [p for p in existing if not any(p != q and p.is_relative_to(q) for q in existing)]

    def reload(self, changed: Iterable[Path] = ()) -> None:
        """Forget what was read from disk; re-read the settings too when they changed."""
        with self._lock:
            config = self.root / CONFIG_NAME
            if self._broken is not None or any(Path(p) == config for p in changed):
                self._reopen()
            else:
                self._ws.reload()
            self._cache.clear()
            self._files = None
            self.version = f"{self._boot}.{next(self._counter)}"

    def _reopen(self) -> None:
        try:
            self._ws = Workspace(load_settings(self.root), feed_max_age=FEED_REFETCH)
            self._broken = None
        except PostduifError as exc:
            self._broken = exc

    def names(self) -> list[str]:
        return [p.stem for p in campaign_files(self._ws.settings.campaigns_dir)]

    def get(self, name: str) -> Build:
        """The campaign ``name`` (one of :meth:`names`) built for the current generation."""
        with self._lock:
            build = self._cache.get(name)
            if build is None:
                build = self._cache[name] = self._build(name)
            return build

    def _build(self, name: str) -> Build:
        build = Build(name, self.version, error=self._broken)
        if build.error is not None:
            return build
        started = time.perf_counter()
        try:
            build.plan = self._ws.plan(self._ws.campaign(name))
            self._ws.make_renditions(build.plan)  # the preview serves them from static/
            build.rendered = self._ws.render(build.plan)
            build.problems = check_plan(self._ws.site, build.plan, build.rendered)
            build.unreadable = unreadable(self._ws.site, build.plan.campaign)
            build.problems += [p for p in build.unreadable if p not in build.problems]
        except PostduifError as exc:
            build.error = exc
        build.seconds = time.perf_counter() - started
        return build

    def site_files(self) -> SiteFiles | None:
        """The workspace's files at the site's URLs, or ``None`` while the site cannot load."""
        with self._lock:
            if self._files is None:
                with contextlib.suppress(PostduifError):
                    self._files = SiteFiles(self._ws.site)
            return self._files

    def sample(self, build: Build, key: str, persona: str) -> Sample:
        """The message ``persona`` gets from variant ``key`` of ``build``, made once."""
        with self._lock:
            sample = build.samples.get((key, persona))
            if sample is None:
                assert build.plan is not None  # callers only ask for variants of a good build
                raw = sample_message(self._ws, build.plan, build.rendered[key], persona)
                parsed = email.message_from_bytes(raw, policy=email.policy.default)
                assert isinstance(parsed, EmailMessage)
                sample = build.samples[(key, persona)] = Sample(raw, parsed)
            return sample


def unreadable(site: Site, campaign: Campaign) -> list[Problem]:
    """Errors of files under the campaign's page or agenda that could not be read at all.

    A page with broken front matter is skipped when the site loads, so the plan only says that a
    translation or an event is missing. The cause (file, line, YAML message) is among the site's
    problems; these are the ones the reviewer of this campaign needs to see.
    """
    loaded = {page.source for page in site.pages}
    parts = [part.strip("/") for part in (campaign.page, campaign.agenda_section) if part]
    roots = [str(directory / part) for directory in site.config.content_dirs.values()
             for part in parts]
    return [p for p in site.problems
            if p.severity is Severity.ERROR and p.path is not None and p.path not in loaded
            and str(p.path).startswith(tuple(roots))]
