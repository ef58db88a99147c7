"""Are a campaign's image renditions live before its messages go out?

Renditions are written into the site's ``static/`` tree and reach the web only with the next
deploy of the site. An email that links one too early shows a broken image to every reader,
and a sent email cannot be fixed, so ``send`` asks the live site (or Hugo's output folder)
first. Only what is known to be missing stops it (a 404, no file); what could not be
confirmed (the site unreachable, too slow) is said and does not: the organiser decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from postduif.errors import SendError
from postduif.published.folder import check_folder
from postduif.published.online import check_online
from postduif.published.status import State, UrlStatus, not_published

if TYPE_CHECKING:
    from postduif.renditions import Rendition

#: How long ``send`` waits for the live site to answer for all renditions together.
RENDITION_SECONDS = 20.0


@dataclass(frozen=True)
class RenditionCheck:
    """What looking a campaign's renditions up found."""

    missing: tuple[tuple[Rendition, UrlStatus], ...]  # known not to be published
    unconfirmed: tuple[tuple[Rendition, UrlStatus], ...]  # could not be shown either way

    def refusal(self, campaign: str) -> SendError:
        """The error ``send`` stops with when renditions are known to be missing."""
        lines = "\n".join(f"  {status.url} ({rendition.file}): {status.detail}"
                          for rendition, status in self.missing)
        return SendError(
            f"{len(self.missing)} image rendition(s) of {campaign} are not on the published "
            f"site yet, so every reader would see a broken image; nothing was sent:\n{lines}",
            hint="deploy the site with its new files in static/ (commit and publish them), "
                 "then send again; `postduif check --online` shows what is live")


def check_renditions(renditions: Sequence[Rendition], base_url: str, *,
                     public: Path | None = None,
                     timeout: float = RENDITION_SECONDS) -> RenditionCheck:
    """Look each rendition up in Hugo's output folder ``public``, or else on the live site."""
    if not renditions:
        return RenditionCheck((), ())
    by_url = {r.url: r for r in renditions}
    statuses = (check_folder(public, base_url, by_url) if public is not None
                else check_online(by_url, timeout=timeout))
    failed = [(by_url[status.url], status) for status in not_published(statuses)]
    return RenditionCheck(
        tuple(item for item in failed if item[1].state is State.MISSING),
        tuple(item for item in failed if item[1].state is not State.MISSING))
