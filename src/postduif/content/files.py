"""Which file of the site a reference in a page names, without ever looking outside the site.

Pages are written by many people and reach postduif through git; a reference such as
``../../../etc/passwd``, ``/../../home/x/.ssh/id_rsa`` or a symbolic link in a bundle pointing
at such a file must not make postduif stat, read or report on a file that is not the site's.
So every candidate path is judged on its spelling first, and a symbolic link on the spelling of
its target, before any file system call is made on it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from postduif.content.hugo_config import HugoConfig

#: The file names Hugo reads as pages (in a bundle: its index or _index page).
CONTENT_SUFFIXES = (".md", ".markdown")
#: Directories below the site root whose files Hugo publishes at the site's root.
FILE_ROOTS = ("static", "assets")
_MAX_LINKS = 40  # as the kernel's limit on symbolic links in one path


@dataclass(frozen=True)
class SiteFile:
    """Where a file reference leads: a file of the site, nothing, or out of the site."""

    file: Path | None
    outside: bool = False


def site_file(config: HugoConfig, bundle_dir: Path | None, lang: str, path: str) -> SiteFile:
    """The file ``path`` (decoded, as written in a page) names, looked up the way Hugo
    publishes files: beside the page, in the content directory, or (``/x.png``) in
    ``static/`` or ``assets/``.

    A candidate outside every content, ``static/`` and ``assets/`` directory is skipped on its
    spelling alone; when every candidate is, or a link leads out, the reference is ``outside``.
    """
    if path.startswith("/"):
        rel = path.lstrip("/")
        candidates = [config.root / root / rel for root in FILE_ROOTS]
    else:
        bases = (bundle_dir, config.content_dirs[lang])
        candidates = [base / path for base in bases if base is not None]
    roots = _roots(config)
    inside = [_spelled(candidate) for candidate in candidates
              if _root_of(roots, _spelled(candidate)) is not None]
    if not inside:
        return SiteFile(None, outside=True)
    for candidate in inside:
        real = _follow(roots, candidate)
        if real is None:
            return SiteFile(None, outside=True)
        if real.is_file():
            return SiteFile(candidate)
    return SiteFile(None)


def _roots(config: HugoConfig) -> list[Path]:
    directories = [*config.content_dirs.values(), *(config.root / name for name in FILE_ROOTS)]
    return [_spelled(directory) for directory in directories]


def _spelled(path: Path) -> Path:
    """``path`` made absolute and without ``..`` on its spelling (no file system call)."""
    return Path(os.path.normpath(path if path.is_absolute() else os.path.abspath(path)))


def _root_of(roots: list[Path], path: Path) -> Path | None:
    return next((root for root in roots if path.is_relative_to(root)), None)


def _follow(roots: list[Path], path: Path) -> Path | None:
    """``path`` with the symbolic links below its site directory followed, or ``None`` when
    one leads out of the site. Each link's target is judged before it is looked at; only
    paths inside the site are ever ``lstat``-ed."""
    for _ in range(_MAX_LINKS):
        root = _root_of(roots, path)
        if root is None:
            return None
        current = root
        for part in path.relative_to(root).parts:
            current = current / part
            if current.is_symlink():
                target = current.parent / os.readlink(current)
                path = _spelled(target / path.relative_to(current))
                break
        else:
            return path
    return None
