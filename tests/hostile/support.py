"""Running postduif as a real process on bad input, and what must hold afterwards.

A case is a row of the table in cases.py: what to break in a fresh copy of the sample
workspace, then the commands to run, each with its exit code and the file:line or field its
message must name. Whatever a case does, nothing postduif wrote may run script in a mail
client or a browser, no .eml may carry a header its author did not mean, no output may hold a
terminal escape sequence (an outside value turned into a cursor move or an OSC 8 link), and no
CSV cell postduif wrote may start a spreadsheet formula.
"""

from __future__ import annotations

import contextlib
import csv
import email
import email.policy
import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests import test_store_disk as store_disk
from tests.conftest import REPO

KEY = "hostile-test-token-key-0123456789abcdef"
CAMPAIGN = "2026-12-community-update"
EN_PAGE = "content/posts/2026-12/index.en.md"
URL_ATTRS = {"href", "src", "action", "formaction", "background", "poster", "xlink:href"}
BAD_SCHEMES = ("javascript:", "vbscript:", "data:text/html")
#: Headers a message may carry once at most; a second one is an injection.
SINGLE_HEADERS = ("from", "to", "subject", "date", "message-id", "reply-to")
NEVER_HEADERS = ("bcc", "cc", "x-injected")
#: How a cell that a spreadsheet runs as a formula starts (OWASP's CSV injection rule).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Starts every terminal escape sequence (colours, cursor moves, OSC 8 hyperlinks ``ESC ]8;``).
ESC = "\x1b"


Prepare = Callable[[Path], None]
#: What holds while a case's steps run (a read-only mount), undone after the last one.
Around = Callable[[Path], contextlib.AbstractContextManager[object]]


@contextlib.contextmanager
def as_it_is(workspace: Path) -> Iterator[None]:
    """The workspace as ``prepare`` left it, while the steps run."""
    yield


@dataclass(frozen=True)
class Step:
    """One command, its exit code, and what its output must (and must not) contain."""

    argv: tuple[str, ...]
    exit_code: int
    names: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    csv_out: bool = False  # standard output is CSV, whose cells are checked for formulas


@dataclass(frozen=True)
class Case:
    """One bad input: ``prepare`` breaks the workspace, then each step runs in order."""

    name: str
    prepare: Prepare
    steps: tuple[Step, ...]
    timeout: float = 60.0
    around: Around = as_it_is


@dataclass(frozen=True)
class Ran:
    step: Step
    code: int
    output: str
    stdout: str = ""


def run(workspace: Path, step: Step, timeout: float) -> Ran:
    """``python -m postduif ...`` in the workspace, stdout and stderr together."""
    result = subprocess.run(
        [sys.executable, "-m", "postduif", *step.argv], cwd=workspace, timeout=timeout,
        env={**os.environ, "POSTDUIF_TOKEN_KEY": KEY, "COLUMNS": "200", "NO_COLOR": "1"},
        stdin=subprocess.DEVNULL, capture_output=True, check=False)
    stdout = result.stdout.decode("utf-8", errors="replace")
    output = stdout + result.stderr.decode("utf-8", errors="replace")
    return Ran(step, result.returncode, output, stdout)


def step_problems(ran: Ran) -> list[str]:
    """What is wrong with one command's answer, as readable lines for the assertion."""
    where = " ".join(ran.step.argv)
    found = []
    if ran.code != ran.step.exit_code:
        found.append(f"{where}: exit {ran.code}, expected {ran.step.exit_code}")
    if "Traceback" in ran.output:
        found.append(f"{where}: printed a traceback")
    if sum(line.startswith("Error:") for line in ran.output.splitlines()) > 1:
        found.append(f"{where}: more than one Error: line")
    if ESC in ran.output:
        found.append(f"{where}: printed a terminal escape sequence")
    if ran.step.csv_out:
        found += [f"{where}: {item}" for item in formula_cells(ran.stdout)]
    found += [f"{where}: does not name {name!r}" for name in ran.step.names
              if name not in ran.output]
    found += [f"{where}: shows {text!r}" for text in ran.step.absent if text in ran.output]
    return found


class _Executable(HTMLParser):
    """Collects everything in an HTML document that a browser or mail client would run."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.found.append("<script>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            squeezed = "".join((value or "").split()).lower()
            if name in URL_ATTRS and squeezed.startswith(BAD_SCHEMES):
                self.found.append(f"<{tag} {name}={value!r}>")

    handle_startendtag = handle_starttag


def executable_html(html: str) -> list[str]:
    """Script tags, event-handler attributes and script URLs in ``html``."""
    parser = _Executable()
    parser.feed(html)
    parser.close()
    return parser.found


def injected_headers(raw: bytes) -> list[str]:
    """Headers of a message (and of each of its parts) that an input could have injected."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    found = []
    for part in message.walk():
        names = [name.lower() for name in part]
        found += [f"header {name}" for name in NEVER_HEADERS if name in names]
        found += [f"{names.count(name)} {name} headers" for name in SINGLE_HEADERS
                  if names.count(name) > 1]
        found += [f"{name}: a CR or LF in the value" for name, value in part.items()
                  if "\r" in str(value) or "\n" in str(value)]
    return found


def eml_problems(raw: bytes) -> list[str]:
    """Injected headers, and executable HTML in the message's HTML part (the recipient's
    greeting is only there, not in build/'s HTML files)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    html = [str(part.get_content()) for part in message.walk()
            if part.get_content_type() == "text/html"]
    return injected_headers(raw) + [item for text in html for item in executable_html(text)]


def formula_cells(text: str) -> list[str]:
    """Cells of CSV ``text`` that a spreadsheet would run as a formula."""
    return [f"line {number}: formula cell {cell!r}"
            for number, row in enumerate(csv.reader(io.StringIO(text, newline="")), 1)
            for cell in row if cell.startswith(FORMULA_STARTS)]


def output_problems(workspace: Path) -> list[str]:
    """Executable HTML or injected headers in anything postduif wrote (build/, outbox/), and
    formula cells in the rejects files of imports (``*.rejects.csv``)."""
    found = [f"{path.relative_to(workspace)}: {item}"
             for path in sorted(workspace.rglob("*.rejects.csv"))
             for item in formula_cells(path.read_bytes().decode("utf-8"))]
    for folder in ("build", "outbox"):
        for path in sorted((workspace / folder).rglob("*")):
            rel = path.relative_to(workspace)
            if path.suffix == ".html":
                text = path.read_text(encoding="utf-8", errors="replace")
                found += [f"{rel}: {item}" for item in executable_html(text)]
            elif path.suffix == ".eml":
                found += [f"{rel}: {item}" for item in eml_problems(path.read_bytes())]
    return found


def written(workspace: Path) -> list[Path]:
    """The HTML, .eml and rejects files postduif wrote, so a case can tell its output was
    checked."""
    return [*(path for folder in ("build", "outbox")
              for path in (workspace / folder).rglob("*") if path.suffix in (".html", ".eml")),
            *workspace.rglob("*.rejects.csv")]


# Helpers for the table: small edits of the sample workspace.

def write(rel: str, data: str | bytes) -> Prepare:
    def prepare(workspace: Path) -> None:
        target = workspace / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            target.write_bytes(data)
        else:
            target.write_text(data, encoding="utf-8", newline="")
    return prepare


def replace_line(rel: str, start: str, new: str) -> Prepare:
    """Replace the first line of ``rel`` that starts with ``start`` (it must exist)."""
    def prepare(workspace: Path) -> None:
        target = workspace / rel
        lines = target.read_text(encoding="utf-8").split("\n")
        index = next(i for i, line in enumerate(lines) if line.startswith(start))
        lines[index] = new
        target.write_text("\n".join(lines), encoding="utf-8")
    return prepare


def append(rel: str, text: str) -> Prepare:
    def prepare(workspace: Path) -> None:
        with (workspace / rel).open("a", encoding="utf-8", newline="") as handle:
            handle.write(text)
    return prepare


def symlink(rel: str, target: str) -> Prepare:
    def prepare(workspace: Path) -> None:
        link = workspace / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)
    return prepare


def cli(*argv: str) -> Prepare:
    """Run one postduif command that must succeed (to fill the store before breaking it)."""
    def prepare(workspace: Path) -> None:
        ran = run(workspace, Step(argv, 0), 60.0)
        assert ran.code == 0, ran.output
    return prepare


def read_only(rel: str) -> Around:
    """``rel`` and everything in it read-only while the steps run (a read-only bind mount
    for root, whom permission bits do not stop)."""
    def around(workspace: Path) -> contextlib.AbstractContextManager[object]:
        return store_disk.read_only(workspace / rel)
    return around


def full_disk(size: str) -> Around:
    """The store on a real filesystem of ``size`` (a tmpfs; mounting needs root) while the
    steps run."""
    @contextlib.contextmanager
    def around(workspace: Path) -> Iterator[None]:
        if not store_disk.ROOT:
            pytest.skip("a real small filesystem needs mount (root)")
        with store_disk.small_disk(workspace / "disk", size) as disk:
            store_disk.use_store(workspace, disk / "postduif.sqlite3")
            yield
    return around


def big_import(rows: int) -> Prepare:
    """A JSON Lines file of ``rows`` join requests, big.jsonl."""
    def prepare(workspace: Path) -> None:
        store_disk.big_import(workspace, rows)
    return prepare


def both(*prepares: Prepare) -> Prepare:
    def prepare(workspace: Path) -> None:
        for each in prepares:
            each(workspace)
    return prepare


def _sample_lines(rel: str) -> list[str]:
    return (REPO / rel).read_text(encoding="utf-8").split("\n")


def line_of(rel: str, start: str) -> int:
    """The line number (1-based) of the first line of the sample's ``rel`` starting so."""
    return next(i for i, line in enumerate(_sample_lines(rel), 1) if line.startswith(start))


def line_count(rel: str) -> int:
    """The number of lines of the sample's ``rel``: where text appended to it starts."""
    return len(_sample_lines(rel))
