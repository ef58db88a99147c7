"""``send`` and the image renditions it links: a rendition the published site does not have yet
stops the send before anything goes out; once real Hugo has published it, the send goes.

The live site is real Hugo's build of a copy of the Techwerkers site, served on 127.0.0.1.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pytest

from .conftest import CORPUS, REPO
from .conftest_smtp import SmtpServer
from .http_support import LocalServer
from .hugo_support import build_site

KEY = "send-renditions-test-key-0123456789"
PEOPLE = ["ana@example.org", "bo@example.org", "cas@example.org"]


class Site(LocalServer):
    """A folder served over HTTP on 127.0.0.1 (what the static host serves after a deploy)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(functools.partial(_Quiet, directory=str(folder)))
        self.site_url = self.base + "/"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """pytest shows the test's own output only."""


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Site]:
    site = Site(tmp_path / "public")
    yield site
    site.stop()


@pytest.fixture
def smtp(smtp_server: Callable[..., SmtpServer]) -> SmtpServer:
    return smtp_server()


@pytest.fixture
def ws(tmp_path: Path, live: Site, smtp: SmtpServer) -> Path:
    """A workspace beside a writable copy of the real site, whose music-as-art post has
    1920 px images (three renditions), deployed once before any rendition was made."""
    root = tmp_path / "ws"
    shutil.copytree(CORPUS / "techwerkers", root / "site")
    for path in (root / "site", *(root / "site").rglob("*")):
        path.chmod(path.stat().st_mode | 0o200)  # the corpus is read-only
    (root / "campaigns").mkdir()
    (root / "campaigns" / "music.toml").write_text(
        'page = "posts/music-as-art"\nlist = "nieuwsbrief"\n', encoding="utf-8")
    (root / "postduif.toml").write_text(
        f'[site]\npath = "site"\nbase_url = "{live.site_url}"\n[paths]\n'
        f'templates = "{REPO / "templates"}"\nlists = "{REPO / "lists"}"\n'
        '[sender]\nname = "Techwerkers"\nemail = "nieuwsbrief@techwerkers.nl"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\n'
        '[web]\npublic_url = "https://lists.techwerkers.nl/"\n', encoding="utf-8")
    (root / "people.csv").write_text("email,taal\n" + "".join(f"{p},nl\n" for p in PEOPLE),
                                     encoding="utf-8")
    assert run(root, "joins", "import", "people.csv", "--list", "nieuwsbrief",
               "--confirmed").returncode == 0
    deploy(root, tmp_path / "public")
    return root


def deploy(root: Path, public: Path) -> None:
    """What the static host does: build the site as it is now with real Hugo."""
    shutil.rmtree(public, ignore_errors=True)
    build_site(root / "site", public)


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "postduif", *args], cwd=root,
                          env={**os.environ, "POSTDUIF_TOKEN_KEY": KEY},
                          capture_output=True, text=True, timeout=180)


def renditions(root: Path) -> list[Path]:
    return sorted((root / "site" / "static" / "email").glob("*"))


def test_a_send_before_the_deploy_is_refused_and_goes_after_it(
        ws: Path, tmp_path: Path, smtp: SmtpServer) -> None:
    refused = run(ws, "send", "music", "--yes")
    made = renditions(ws)
    assert refused.returncode == 1 and len(made) == 3  # made by send, not yet deployed
    assert "3 image rendition(s) of music are not on the published site yet" in refused.stderr
    for file in made:
        assert re.search(rf"email/{file.name} \({re.escape(str(file))}\): HTTP 404",
                         refused.stderr), refused.stderr
    assert "Traceback" not in refused.stderr
    assert "has not been sent yet" in run(ws, "status", "music").stdout
    deploy(ws, tmp_path / "public")
    sent = run(ws, "send", "music", "--yes")
    assert sent.returncode == 0, sent.stderr
    assert "not on the published site" not in sent.stderr + sent.stdout
    assert sorted(m.rcpt_tos[0] for m in smtp.mailbox.messages()) == PEOPLE


def test_a_review_copy_goes_with_a_warning_naming_each_rendition(
        ws: Path, smtp: SmtpServer) -> None:
    review = run(ws, "send", "music", "--to", "reviewer@example.org")
    assert review.returncode == 0, review.stderr
    for file in renditions(ws):
        assert f"email/{file.name} is not published yet (HTTP 404)" in review.stderr
    assert [m.rcpt_tos for m in smtp.mailbox.messages()] == [
        ("reviewer@example.org",)] * 2  # nl and en


def test_hugos_output_folder_can_stand_in_for_the_live_site(ws: Path, tmp_path: Path,
                                                            live: Site) -> None:
    live.stop()  # nothing is asked over HTTP with --published
    old = tmp_path / "public"
    refused = run(ws, "send", "music", "--yes", "--published", str(old))
    assert refused.returncode == 1 and f"{old}/email/" in refused.stderr
    assert "does not exist" in refused.stderr and "could not confirm" not in refused.stderr
    fresh = tmp_path / "fresh"
    build_site(ws / "site", fresh)
    assert run(ws, "send", "music", "--dry-run").returncode == 0  # no check for a dry run
    sent = run(ws, "send", "music", "--yes", "--published", str(fresh))
    assert sent.returncode == 0, sent.stderr


def test_a_site_that_cannot_be_reached_is_said_and_does_not_stop_the_send(
        ws: Path, live: Site, smtp: SmtpServer) -> None:
    live.stop()
    sent = run(ws, "send", "music", "--yes")
    assert sent.returncode == 0, sent.stderr
    assert sent.stderr.count("Warning: could not confirm that ") == 3
    assert len(smtp.mailbox.messages()) == len(PEOPLE)
