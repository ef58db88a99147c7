"""Fixtures shared by the test modules: paths to the real corpus and a private sample workspace."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from postduif.lists import ListDef, load_list
from postduif.store import Store

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
SEED = SHARED / "seed"
WORKSPACE_PARTS = ("postduif.toml", "hugo.toml", "content", "templates", "campaigns", "lists")
#: Files a local run leaves in the workspace (git-ignored), which a test must not inherit.
LOCAL_FILES = shutil.ignore_patterns("*.sqlite3*", "*.rejects.csv", "*.lock")
CHROMIUM = Path("/usr/bin/chromium")
#: Without the background-networking flags Chromium keeps dialling out of a closed network.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def require_tool(available: bool, what: str) -> None:
    """Fail when a real tool the tests rely on is missing, unless explicitly allowed to skip.

    CI must never pass by skipping the browser or the reference compiler, so skipping needs
    POSTDUIF_ALLOW_MISSING_TOOLS=1.
    """
    if available:
        return
    if os.environ.get("POSTDUIF_ALLOW_MISSING_TOOLS") == "1":
        pytest.skip(f"{what} is not installed")
    pytest.fail(f"{what} is not installed; run scripts/install test "
                f"(or set POSTDUIF_ALLOW_MISSING_TOOLS=1 to skip)")


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root`` with its size and modification time."""
    return {path.relative_to(root).as_posix(): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in root.rglob("*")}


@pytest.fixture(scope="session", autouse=True)
def shared_stays_untouched() -> Iterator[None]:
    """The corpus and seed are read by path, never written: the tests run as root, for whom
    the read-only folders are no barrier, and a Hugo build or a rendition made in place would
    leave files in them (a build lock, ``static/email/``) that change what later runs read."""
    before = _tree(SHARED)
    yield
    after = _tree(SHARED)
    changed = sorted(set(before) ^ set(after) | {k for k in before if after.get(k) != before[k]})
    assert not changed, f"the tests changed files under {SHARED}: {changed[:10]}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An empty store in a temp file (modules that need a clock or a workspace define their own)."""
    with Store.open(tmp_path / "store" / "postduif.sqlite3") as opened:
        yield opened


@pytest.fixture
def leden() -> ListDef:
    return load_list(REPO / "lists", "leden")


@pytest.fixture
def nieuwsbrief() -> ListDef:
    return load_list(REPO / "lists", "nieuwsbrief")


def copy_sample(root: Path) -> Path:
    """A copy of the repository's sample workspace at ``root`` (a new folder)."""
    root.mkdir()
    for part in WORKSPACE_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, root / part, ignore=LOCAL_FILES)
        else:
            shutil.copy2(source, root / part)
    return root


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of the repository's sample workspace that a test may change freely."""
    return copy_sample(tmp_path / "ws")


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium for one test; a missing browser fails (see require_tool)."""
    require_tool(CHROMIUM.exists(), f"Chromium ({CHROMIUM})")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


from .conftest_smtp import *  # noqa: E402,F401,F403
from .imap_server import dovecot, imap_account  # noqa: E402,F401
from .web_support import serve  # noqa: E402,F401
