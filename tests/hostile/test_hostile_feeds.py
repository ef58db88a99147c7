"""Calendar feeds as untrusted input, where cases_feeds.py cannot say it all: a clock and a
memory limit on the process, what the built email shows, and the redirect rule itself.

``postduif check`` runs as a process with its address space capped at 500 MB (the old code
took 1.6 to 3.4 GB on these feeds and ran 150 s and more): it must end with its
``agenda-feed`` message, no traceback, within the stated seconds.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from postduif.agenda.fetch import redirect
from postduif.agenda.untrusted import is_web_url, text
from postduif.errors import FeedError

from .cases_feeds import BUILD, HOSTILE_LINKS, local, rule
from .support import KEY, Around, Step, as_it_is, executable_html, run
from .support_feeds import calendar, serving

ADDRESS_SPACE = 500 * 2**20


def limited_check(workspace: Path, seconds: float) -> tuple[int, str, float]:
    """``postduif check`` with at most :data:`ADDRESS_SPACE` of memory: exit code, output and
    how long it took."""
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "postduif", "check"], cwd=workspace, timeout=seconds,
        env={**os.environ, "POSTDUIF_TOKEN_KEY": KEY, "NO_COLOR": "1", "COLUMNS": "200"},
        preexec_fn=cap, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    output = (result.stdout + result.stderr).decode("utf-8", errors="replace")
    return result.returncode, output, time.monotonic() - started


def nothing(workspace: Path) -> None:
    """The workspace as it is (the agenda is pointed at the server by ``around``)."""


BOUNDED: list[tuple[str, Callable[[Path], None], Around, int, str, float]] = [
    ("50 MB streamed", nothing, serving("/huge.ics"), 1, "larger than 4 MB", 30),
    ("gzip bomb", nothing, serving("/bomb.ics"), 1, "larger than 4 MB", 30),
    ("dripping server", nothing, serving("/drip.ics"), 1, "within 20 s", 40),
    ("SECONDLY", local(calendar(rule("s", "20261201T000000Z", "FREQ=SECONDLY"))), as_it_is,
     0, "repeats SECONDLY", 30),
    ("MINUTELY since 1970", local(calendar(rule("m", "19700101T000000Z", "FREQ=MINUTELY"))),
     as_it_is, 0, "from 1970-01-01", 30),
]


@pytest.mark.parametrize(("prepare", "around", "code", "message", "seconds"),
                         [row[1:] for row in BOUNDED], ids=[row[0] for row in BOUNDED])
def test_a_hostile_feed_is_refused_in_bounded_time_and_memory(
        workspace: Path, prepare: Callable[[Path], None], around: Around, code: int,
        message: str, seconds: float) -> None:
    prepare(workspace)
    with around(workspace):
        exit_code, output, took = limited_check(workspace, seconds + 15)
    assert "Traceback" not in output and "MemoryError" not in output, output[-2000:]
    assert exit_code == code, output[-2000:]
    assert message in output and "agenda-feed" in output
    assert took < seconds, f"took {took:.1f} s"


def test_feed_markup_and_script_links_stay_text_in_the_built_email(workspace: Path) -> None:
    local(HOSTILE_LINKS)(workspace)
    ran = run(workspace, Step(BUILD, 0), 60)
    assert ran.code == 0, ran.output
    out = workspace / "build" / "2026-12-community-update"
    html, plain = (out / "en.html").read_text("utf-8"), (out / "en.txt").read_text("utf-8")
    assert executable_html(html) == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt; \"&gt;&lt;img src=x onerror=alert(2)&gt;" \
        in html
    assert "Where: \"&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in html
    assert 'href="https://example.org/ok?a=1&amp;b=&quot;x&quot;"' in html
    assert 'href="https://meet.example.org/ok"' in html
    for gone in ("javascript:", "JaVa", "data:text/html"):
        assert gone not in html and gone not in plain
    assert '<script>alert(1)</script> "><img src=x onerror=alert(2)>' in plain
    assert 'Where: "><script>alert(3)</script>' in plain


ORIGIN = "http://feeds.example.org/cal.ics"


@pytest.mark.parametrize(("location", "followed"), [
    ("/other.ics", "http://feeds.example.org/other.ics"),
    ("http://feeds.example.org:80/x", "http://feeds.example.org:80/x"),
    ("https://feeds.example.org/cal.ics", "https://feeds.example.org/cal.ics"),
    ("https://feeds.example.org:443/cal.ics", "https://feeds.example.org:443/cal.ics"),
    ("https://feeds.example.org:8443/cal.ics", None),
    ("http://feeds.example.org:8080/cal.ics", None),
    ("http://other.example.org/cal.ics", None),
    ("http://feeds.example.org@127.0.0.1/cal.ics", None),
    ("http://127.0.0.1/cal.ics", None),
    ("//evil.example/cal.ics", None),
    ("javascript:alert(1)", None),
    ("file:///etc/passwd", None),
    ("http://feeds.example.org:99999/x", None),
    ("", None),
])
def test_a_redirect_is_followed_only_within_the_feeds_origin(location: str,
                                                              followed: str | None) -> None:
    seen = {ORIGIN}
    if followed is None:
        with pytest.raises(FeedError, match=ORIGIN):
            redirect(ORIGIN, ORIGIN, location, seen)
    else:
        assert redirect(ORIGIN, ORIGIN, location, seen) == followed


def test_https_never_goes_back_to_http_and_a_loop_ends() -> None:
    secure = "https://feeds.example.org/cal.ics"
    with pytest.raises(FeedError, match="outside its own origin"):
        redirect(secure, secure, "http://feeds.example.org/cal.ics", {secure})
    with pytest.raises(FeedError, match="loop"):
        redirect(secure, secure, secure, {secure})


@pytest.mark.parametrize(("value", "web"), [
    ("https://example.org/x", True), ("HTTP://example.org", True),
    ("javascript:alert(1)", False), (" javascript:alert(1)", False), ("data:text/html,x", False),
    ("vbscript:x", False), ("mailto:a@example.org", False), ("https://", False),
    ("https://exa mple.org", False), ("https://example.org/\x00", False),
    ("https:/example.org", False), ("https://[::1", False), ("https://a" + "b" * 2001, False),
])
def test_only_http_links_with_a_host_are_web_links(value: str, web: bool) -> None:
    assert is_web_url(value) is web


def test_shown_text_is_one_bounded_line() -> None:
    assert text("a\x1b[2Jb\nc\x00") == "a [2Jb c"
    assert len(text("x" * 10_000)) == 300
