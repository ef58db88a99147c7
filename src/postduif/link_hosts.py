"""Whether the links in emails reach something that can answer them.

The unsubscribe, confirm and preference links are answered by ``postduif serve``: a page that
asks, then a POST that acts (and mail clients' one-click unsubscribe POSTs straight away). A
Hugo site is static files; its host answers a POST with an error or its 404 page, so a link on
the site's own host unsubscribes nobody, silently. The fix is a host of serve's own
(``[web] public_url``, used as ``{public_url}`` in ``[links]``); an organiser whose site's
host does forward these paths to serve says so by giving that host as ``public_url``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from postduif import problems as pr
from postduif.config import CONFIG_NAME, LINK_KEYS, Settings
from postduif.problems import Problem
from postduif.published.scope import host_of
from postduif.toml_lines import key_lines

#: What each link does, for the warning.
_WHAT = {"unsubscribe": "unsubscribe (one-click POST included)", "confirm": "confirm",
         "preferences": "preference"}


def check_link_hosts(settings: Settings, site_url: str) -> list[Problem]:
    """A warning per ``[links]`` setting whose links go to the static site's host."""
    site_host = host_of(site_url)
    if not site_host or host_of(settings.web.public_url) == site_host:
        return []  # serve is declared to answer on the site's host (a forwarding proxy)
    config = settings.root / CONFIG_NAME
    lines = key_lines(config.read_text(encoding="utf-8")) if config.is_file() else {}
    found = []
    for key in LINK_KEYS:
        pattern = str(getattr(settings, f"{key}_url"))
        link = pattern.format(base_url=site_url, lang="lang", token="token")
        if host_of(link) == site_host:
            found.append(pr.warning(
                "links-on-static-site",
                f"links.{key} points at {urlsplit(link).hostname}, the Hugo site's host "
                f"(baseURL {site_url}): a static host cannot answer the {_WHAT[key]} page's "
                "POST, so it would fail; set [web] public_url to where postduif serve answers "
                "and use {public_url} in [links] (or set public_url to the site's URL if its "
                "host forwards these paths to serve)", config, lines.get(f"links.{key}")))
    return found
