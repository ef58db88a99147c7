"""From the emails' references to problems: what the published site lacks, where it was written.

A URL of the site (its baseURL) that is not published is an error at each place that wrote
it. Links to other hosts are never errors: offline they cannot be checked (counted once), online
a broken one is a warning. The personal [links] URLs (unsubscribe, confirm, preferences) are
answered by ``postduif serve`` on its own host, not by Hugo's output, so they are skipped and
counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from postduif import problems as pr
from postduif.problems import Problem
from postduif.published.folder import check_folder
from postduif.published.online import CONCURRENCY, TIMEOUT_SECONDS, check_online
from postduif.published.references import PERSONAL_MARK, Reference
from postduif.published.scope import site_path
from postduif.published.status import State, UrlStatus


@dataclass(frozen=True)
class PublishedReport:
    """The problems found, and what was and was not looked at, for the summary line."""

    where: str
    """What was checked: the output folder, or "the live site"."""
    problems: tuple[Problem, ...]
    site_urls: int
    """Distinct URLs of the site looked up."""
    external_urls: int
    """Distinct URLs on other hosts; checked only online."""
    external_checked: bool
    personal_links: int
    """Distinct [links] placeholders (unsubscribe, preferences), skipped."""
    unchecked: int
    """URLs the time limit left unchecked (each also a problem)."""

    def summary(self) -> str:
        """One sentence saying what was checked and what was not, and why."""
        parts = [f"{self.site_urls} URL(s) of the site checked against {self.where}"]
        if self.unchecked:
            parts.append(f"{self.unchecked} left unchecked by the time limit")
        if self.external_urls:
            parts.append(f"{self.external_urls} external URL(s) checked" if self.external_checked
                         else f"{self.external_urls} external URL(s) not checked (offline; "
                         "--online checks them)")
        if self.personal_links:
            parts.append(f"{self.personal_links} unsubscribe/preferences link(s) skipped "
                         "(postduif serve answers them, not the site)")
        return "; ".join(parts)


def verify_published(references: Sequence[Reference], base_url: str, *,
                     public: Path | None = None, concurrency: int | None = None,
                     timeout: float | None = None) -> PublishedReport:
    """Check the references against Hugo's output folder ``public``, or, without one, against
    the live site over HTTP (the URLs as written; ``None`` limits are the defaults)."""
    personal = {r.url for r in references if r.url.startswith(PERSONAL_MARK)}
    web = [r for r in references if r.url not in personal]
    ours = [r.url for r in web if site_path(base_url, r.url) is not None]
    external = [r.url for r in web if site_path(base_url, r.url) is None]
    if public is not None:
        statuses = check_folder(public, base_url, ours)
    else:
        statuses = check_online([*ours, *external], concurrency=concurrency or CONCURRENCY,
                                timeout=timeout or TIMEOUT_SECONDS)
    by_url, site = {s.url: s for s in statuses}, set(ours)
    problems = [_problem(status, refs, status.url in site)
                for status, refs in _grouped(web, by_url) if not status.ok]
    return PublishedReport(
        where=str(public) if public is not None else "the live site",
        problems=tuple(problems), site_urls=len(site), external_urls=len(set(external)),
        external_checked=public is None, personal_links=len(personal),
        unchecked=sum(s.state is State.UNCHECKED for s in statuses))


def _grouped(references: Iterable[Reference], statuses: dict[str, UrlStatus],
             ) -> list[tuple[UrlStatus, list[Reference]]]:
    """Each looked-up URL with its references, one per place (the emails that share it)."""
    groups: dict[tuple[str, str, Path | None, int | None], list[Reference]] = {}
    for ref in references:
        if ref.url in statuses:
            groups.setdefault((ref.url, ref.kind, ref.path, ref.line), []).append(ref)
    return [(statuses[url], refs) for (url, _, _, _), refs in groups.items()]


_SITE: dict[State, tuple[Callable[..., Problem], str, str]] = {
    State.MISSING: (pr.error, "unpublished-{kind}", "{kind} {url} is not published: {detail}"),
    State.UNREACHABLE: (pr.error, "unreachable-{kind}", "{kind} {url} could not be loaded: "
                        "{detail}"),
    State.OFFSITE: (pr.warning, "offsite-redirect", "{kind} {url} {detail}; not followed"),
    State.UNCHECKED: (pr.error, "unchecked-{kind}", "{kind} {url} was {detail}"),
}


def _problem(status: UrlStatus, refs: list[Reference], ours: bool) -> Problem:
    first = refs[0]
    emails = ", ".join(dict.fromkeys(r.variant for r in refs))
    if ours:
        kind, code, text = _SITE[status.state]
    else:
        kind, code, text = pr.warning, "external-{kind}", "external {kind} {url}: {detail}"
    message = text.format(kind=first.kind, url=status.url, detail=status.detail)
    return kind(code.format(kind=first.kind), f"{message} (in the {emails} email)",
                first.path, first.line)
