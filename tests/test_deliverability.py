"""Deliverability as receivers measure it: SpamAssassin scores the messages postduif sends.

Debian's ``spamassassin -t -L`` (local rules only, no network) reads the exact bytes
postduif would hand to the SMTP server, DKIM-signed, for the sample campaign, its confirmation
and welcome emails and a campaign made of each post of the real Techwerkers site, in both
languages. Each must score 0.0; a
failure names the rules that fired. One ``spamassassin --mbox`` process per half of the
messages: starting SpamAssassin (loading its rules) costs more than scoring a message.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pytest

from postduif.audience.greetings import KINDS, Greeter, Greeting
from postduif.send.job import prepare_job
from postduif.send.model import Target
from postduif.workspace import Workspace

from .conftest import CORPUS, REPO, copy_sample, require_tool
from .dkim_support import DOMAIN, SELECTOR, make_key

SAMPLE = "2026-12-community-update"
POSTS = sorted(path.name for path in (CORPUS / "techwerkers/content/posts").iterdir()
               if path.is_dir())
LANGUAGES = ("nl", "en")
DKIM_ENV = "POSTDUIF_DKIM_KEY"
DKIM_SETTINGS = f'\n[dkim]\nselector = "{SELECTOR}"\ndomain = "{DOMAIN}"\nkey_env = "{DKIM_ENV}"\n'
SENDER = ('[sender]\nname = "Techwerkers"\nemail = "nieuwsbrief@techwerkers.nl"\n'
          'reply_to = "hey@techwerkers.nl"\n'
          'postal_address = "Techwerkers, p/a Voorbeeldstraat 1, 1000 AA Amsterdam"\n')
#: A message whose text is coloured like its background: SpamAssassin must notice it, or
#: the 0.0 of the real messages proves nothing.
CONTROL = "control/low-contrast"
_SEPARATOR = re.compile(rb"^From postduif-check-(\d+) .*\n", re.MULTILINE)
_SCORE = re.compile(rb"Content analysis details:\s+\((-?\d+\.\d+) points")
_RULE = re.compile(rb"^\s*(-?\d+\.\d+) ([A-Z0-9_]+)\s", re.MULTILINE)


@dataclass(frozen=True)
class Report:
    score: float
    rules: tuple[tuple[str, float], ...]  # the rules that fired with points

    def __str__(self) -> str:
        fired = ", ".join(f"{name} {points:+.1f}" for name, points in self.rules)
        return f"score {self.score:.1f} ({fired or 'no scoring rules'})"


def sample_workspace(root: Path) -> Path:
    copy_sample(root)
    with (root / "postduif.toml").open("a", encoding="utf-8") as settings:
        settings.write(DKIM_SETTINGS)
    return root


def corpus_workspace(root: Path) -> Path:
    """A copy of the real site with one campaign per post (Dutch where English is missing)."""
    (root / "site").mkdir(parents=True)
    for part in ("hugo.toml", "config", "content"):  # not what other runs may write beside
        copy = shutil.copytree if (CORPUS / "techwerkers" / part).is_dir() else shutil.copy2
        copy(CORPUS / "techwerkers" / part, root / "site" / part)
    (root / "campaigns").mkdir()
    (root / "postduif.toml").write_text(
        f'[site]\npath = "site"\n[paths]\ntemplates = "{REPO / "templates"}"\n'
        f'lists = "{REPO / "lists"}"\n{SENDER}{DKIM_SETTINGS}', encoding="utf-8")
    for post in POSTS:
        (root / "campaigns" / f"{post}.toml").write_text(
            f'page = "posts/{post}"\nlist = "nieuwsbrief"\nfallback = "nl"\n', encoding="utf-8")
    return root


def composed(root: Path, campaigns: list[str], names: list[str]) -> Iterator[tuple[str, bytes]]:
    """Each campaign's message per language, exactly as ``send`` hands it to SMTP."""
    ws = Workspace.open(root)
    for campaign, name in zip(campaigns, names, strict=True):
        job = prepare_job(ws, campaign, token_key=b"deliverability-test-key-0123456789")
        for lang in LANGUAGES:
            target = Target(1, "anna@example.org", "Anna de Vries", job.variant_for(lang))
            raw = job.compose(target)
            assert raw.startswith(b"DKIM-Signature:"), "sent signed, so scored signed"
            yield f"{name}/{lang}", raw


def greetings(root: Path) -> Iterator[tuple[str, bytes]]:
    """The confirmation and welcome emails of the newsletter list, as ``serve`` sends them."""
    ws = Workspace.open(root)
    greeter = Greeter(ws, {"nieuwsbrief": ws.list_def("nieuwsbrief")}, b"greeting-key-0123456789")
    for kind in KINDS:
        for lang in LANGUAGES:
            raw = greeter.compose(Greeting(kind, "anna@example.org", "Anna de Vries",
                                           "nieuwsbrief", lang))
            assert raw.startswith(b"DKIM-Signature:"), "sent signed, so scored signed"
            yield f"{kind}/{lang}", raw


def control_message() -> bytes:
    message = EmailMessage()
    message["From"] = "Techwerkers <nieuwsbrief@techwerkers.nl>"
    message["To"] = "anna@example.org"
    message["Subject"] = "Nieuws"
    message.set_content("Het laatste nieuws.\n")
    message.add_alternative(
        '<html><body style="background-color:#f3f2ee"><div style="color:#f3f2ee">verborgen '
        'tekst</div><p>Het laatste nieuws.</p></body></html>', subtype="html")
    return bytes(message)


def mbox(messages: list[tuple[int, bytes]]) -> bytes:
    """An mboxrd file, each message behind a numbered separator line to find its report by."""
    parts = []
    for number, raw in messages:
        body = re.sub(rb"^(>*From )", rb">\1", raw.replace(b"\r\n", b"\n"), flags=re.MULTILINE)
        parts.append(b"From postduif-check-%d Mon Dec  7 00:00:00 2026\n%s\n" % (number, body))
    return b"".join(parts)


def spamassassin(messages: list[tuple[int, bytes]], home: Path) -> dict[int, Report]:
    """Score ``messages`` in one process; the report of each, by its number."""
    # -L: local rules only (no DNS); -x and a private HOME: no user files, no learned state
    command = ["spamassassin", "-x", "-t", "-L", "--mbox", "--cf=bayes_auto_learn 0"]
    done = subprocess.run(command, input=mbox(messages), capture_output=True, timeout=300,
                          check=False, env={**os.environ, "HOME": str(home)})
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    pieces = _SEPARATOR.split(done.stdout)
    reports = {int(number): parse_report(text)
               for number, text in zip(pieces[1::2], pieces[2::2], strict=True)}
    assert sorted(reports) == sorted(n for n, _ in messages), done.stderr.decode()
    return reports


def parse_report(text: bytes) -> Report:
    score = _SCORE.search(text)
    assert score is not None, text[-2000:].decode(errors="replace")
    table = text[score.end():]
    rules = tuple((name.decode(), float(points)) for points, name in _RULE.findall(table)
                  if float(points) != 0.0)
    return Report(float(score.group(1)), rules)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Report]:
    """Every message scored once: the sample, the greetings, each corpus post, the control."""
    require_tool(shutil.which("spamassassin") is not None, "spamassassin (Debian package)")
    folder = tmp_path_factory.mktemp("deliverability")
    key = make_key(folder)
    with pytest.MonkeyPatch.context() as env:
        env.setenv(DKIM_ENV, key.private.decode())
        sample = sample_workspace(folder / "sample")
        messages = [*composed(sample, [SAMPLE], ["sample"]), *greetings(sample),
                    *composed(corpus_workspace(folder / "corpus"), POSTS, POSTS),
                    (CONTROL, control_message())]
    (folder / "home").mkdir()
    numbered = list(enumerate(raw for _, raw in messages))
    halves = [numbered[0::2], numbered[1::2]]  # two processes: the machine's two cores
    with ThreadPoolExecutor(len(halves)) as pool:
        scored = {n: report for part in pool.map(
            lambda half: spamassassin(half, folder / "home"), halves) for n, report in part.items()}
    return {name: scored[n] for n, (name, _) in enumerate(messages)}


def test_spamassassin_sees_low_contrast_text(reports: dict[str, Report]) -> None:
    assert "HTML_FONT_LOW_CONTRAST" in dict(reports[CONTROL].rules), reports[CONTROL]
    assert reports[CONTROL].score > 0


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", ["sample", *KINDS, *POSTS])
def test_every_message_scores_zero(reports: dict[str, Report], name: str, lang: str) -> None:
    report = reports[f"{name}/{lang}"]
    assert report.score == 0.0 and not report.rules, f"{name} ({lang}): {report}"


# -- content buttons: drawn by desktop Outlook, which ignores padding and background on a link --

class _Buttons(HTMLParser):
    """The inline style of each ``td.button`` and of the link inside it."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[dict[str, str]] = []
        self.links: list[dict[str, str]] = []
        self._in_cell = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name: value or "" for name, value in attrs}
        if tag == "td" and attr.get("class") == "button":
            self.cells.append(attr)
            self._in_cell = True
        elif tag == "a" and self._in_cell:
            self.links.append(attr)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in_cell = False


def declarations(style: str) -> dict[str, str]:
    pairs = (part.split(":", 1) for part in style.split(";") if ":" in part)
    return {name.strip(): value.strip() for name, value in pairs}


def test_content_buttons_are_table_cells(tmp_path: Path) -> None:
    ws = Workspace.open(sample_workspace(tmp_path / "ws"))
    rendered = ws.render(ws.plan(ws.campaign(SAMPLE)))
    for lang, variant in rendered.items():
        buttons = _Buttons(variant.html)
        join = ws.site.get("join", lang)
        assert join is not None and len(buttons.cells) == len(buttons.links) >= 1, lang
        assert [link["href"] for link in buttons.links] == [join.url]
        for cell, link in zip(buttons.cells, buttons.links, strict=True):
            cell_style, link_style = declarations(cell["style"]), declarations(link["style"])
            assert cell_style["padding"] and cell_style["background-color"], cell
            assert not {"padding", "background-color", "background"} & set(link_style), link
            assert link_style["color"] == cell_style["color"]


def test_the_sanitiser_keeps_the_button_table_and_nothing_like_it() -> None:
    from postduif.content.sanitize import sanitize

    button = ('<table class="button" role="presentation" border="0" cellpadding="0" '
              'cellspacing="0"><tbody><tr><td class="button"><a class="button" '
              'href="https://example.org/">Go</a></td></tr></tbody></table>')
    assert sanitize(button) == button
    page_table = ('<table class="wide" role="grid" border="1" cellpadding="4"><tbody><tr>'
                  '<td class="x" bgcolor="red">1</td></tr></tbody></table>')
    cleaned = sanitize(page_table)
    for dropped in ("wide", "role", "border", "cellpadding", "bgcolor", '"x"'):
        assert dropped not in cleaned, cleaned
