"""The workspace's own files for the site URLs an email points at, for the preview only.

An email refers to its images by their published address (``https://.../nl/posts/x/a.png``),
but organisers review it before the page is published, so those addresses do not load yet.
:class:`SiteFiles` finds the file Hugo will publish at such an address (a page bundle resource,
a content file, or a file under ``static/`` or ``assets/``), and rewrites the image addresses
of the previewed HTML to the preview's ``/site/`` route, which serves that file.

Only the framed HTML is rewritten: what is built and sent keeps the real addresses. Links
(``href``) are never rewritten, so a reviewer still sees where they lead.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import unquote

from postduif.content import Site
from postduif.content.files import FILE_ROOTS
from postduif.content.pages import CONTENT_SUFFIXES

#: Where the preview serves site files; the rest of the path is the URL path below base_url.
PREFIX = "/site/"

# The address is group 3 of each pattern; the others are kept as they are.
_ATTRIBUTE = re.compile(r"""(\s(?:src|background)\s*=\s*)(["'])(.*?)(\2)""", re.I | re.S)
_CSS_URL = re.compile(r"""(url\(\s*)(["']|&quot;|)(.*?)(\2\s*\))""", re.I | re.S)
_SRCSET = re.compile(r"""(\ssrcset\s*=\s*)(["'])(.*?)(\2)""", re.I | re.S)
# In a srcset, each candidate's address runs from the start or a comma to a space or comma.
_SRCSET_URL = re.compile(r"(^|,)(\s*)([^\s,]+)")


class SiteFiles:
    """Where the files published at the URLs of one loaded site are in the workspace."""

    def __init__(self, site: Site) -> None:
        config = site.config
        self._base_url = config.base_url
        # Where files are published, longest URL path first: a bundle wins over the bundle
        # around it, and over the content directory (its files appear below the home page).
        bundles = {_path(page.url[len(config.base_url):]): page.bundle_dir for page in site.pages
                   if page.bundle_dir is not None and page.url.startswith(config.base_url)}
        content = {config.lang_prefix(lang): directory
                   for lang, directory in config.content_dirs.items()}
        self._published = sorted([*bundles.items(), *content.items()],
                                 key=lambda item: len(item[0]), reverse=True)
        self._published += [("", config.root / name) for name in FILE_ROOTS]

    def find(self, path: str) -> Path | None:
        """The file published at ``path`` (decoded, below base_url), or ``None``.

        Only a regular file inside a bundle, content, ``static/`` or ``assets/`` directory is
        found: ``..``, absolute paths and symbolic links leading out of them are refused.
        """
        for prefix, directory in self._published:
            if path.startswith(prefix):
                found = _inside(directory, path[len(prefix):])
                if found is not None:
                    return found
        return None

    def local(self, url: str) -> str | None:
        """The preview's address for ``url`` when it is a site URL of a workspace file."""
        if not url.startswith(self._base_url):
            return None
        rest = url[len(self._base_url):]
        return PREFIX + rest if self.find(_path(rest)) is not None else None

    def rewrite(self, document: str) -> str:
        """``document`` with the address of every image that is a workspace file served by
        the preview: ``src``, ``background`` and ``srcset`` attributes and CSS ``url(...)``.
        ``href`` and the addresses of anything not in the workspace are left as they are.
        """
        document = _ATTRIBUTE.sub(self._swap, document)
        document = _CSS_URL.sub(self._swap, document)
        return _SRCSET.sub(lambda m: m.expand(r"\1\2") + _SRCSET_URL.sub(
            self._swap, m.group(3)) + m.group(4), document)

    def _swap(self, match: re.Match[str]) -> str:
        """The match with its address (group 3) made local, if it is a workspace file."""
        # Attribute values may hold entities (&amp; in a query): the URL is the decoded text.
        local = self.local(html.unescape(match.group(3)))
        if local is None:
            return match.group(0)
        return match.expand(r"\1\2") + html.escape(local) + "".join(match.groups("")[3:])


def _path(rest: str) -> str:
    """The decoded path of a URL below base_url: what the ``/site/`` route receives."""
    return unquote(re.split(r"[?#]", rest, maxsplit=1)[0])


def _inside(directory: Path, relative: str) -> Path | None:
    """``directory / relative`` when that is a file really inside ``directory``.

    Markdown is never served: in a content directory it is a page's source, not a file the
    site publishes.
    """
    if not relative or relative.endswith(CONTENT_SUFFIXES):
        return None
    try:
        root = directory.resolve()
        candidate = (root / relative).resolve()
    except (OSError, RuntimeError):  # a symlink loop, a name the OS refuses
        return None
    return candidate if candidate.is_relative_to(root) and candidate.is_file() else None
