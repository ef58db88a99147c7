"""Cross-check of mjml-python against the official MJML compiler, template by template.

mjml-python (a Rust port) is lenient and may drift from MJML; the official compiler in strict
mode is the reference. For every template and language mode the MJML that Jinja makes must be
valid for MJML, and both compilers must produce the same visible text, links, images, anchors and
number of section tables.
Needs ``npm ci --prefix tests/mjml`` (node_modules is not committed).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

from postduif.render import Renderer
from postduif.render.renderer import compile_mjml
from postduif.render.sample import sample_context

from .conftest import REPO, require_tool

ORACLE = REPO / "tests" / "mjml"
CASES = [
    ("newsletter", ("nl",)), ("newsletter", ("en",)), ("newsletter", ("nl", "en")),
    ("welcome", ("nl",)), ("welcome", ("en",)),
    ("welcome-member", ("nl",)), ("welcome-member", ("en",)),
    ("welcome-newsletter", ("nl",)), ("welcome-newsletter", ("en",)),
    ("confirm", ("nl",)), ("confirm", ("en",)),
]


@dataclass
class Shape:
    """What must not differ between two compilers: the visible content and where it links."""

    texts: list[str] = field(default_factory=list)
    hrefs: set[str] = field(default_factory=set)
    srcs: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)
    section_tables: int = 0


class _ShapeParser(HTMLParser):
    """Collects a :class:`Shape`; comments (and so Outlook-only markup) are ignored."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.shape = Shape()
        self.in_body = False
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        self.in_body = self.in_body or tag == "body"
        if tag in ("style", "title"):
            self.hidden += 1
        if not self.in_body:
            return
        if tag == "a" and "href" in attr:
            self.shape.hrefs.add(attr["href"])
        if tag == "img":
            self.shape.srcs.add(attr.get("src", ""))
        if "id" in attr:
            self.shape.ids.add(attr["id"])
        if tag == "table" and attr.get("align") == "center":  # the table of each mj-section
            self.shape.section_tables += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title"):
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if self.in_body and not self.hidden and text:
            self.shape.texts.append(text)


def shape_of(html: str) -> Shape:
    parser = _ShapeParser()
    parser.feed(html)
    parser.close()
    return parser.shape


def official(mjml: str) -> dict[str, object]:
    done = subprocess.run(["node", str(ORACLE / "compile.js")], input=mjml, text=True,
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(REPO / "templates")


@pytest.fixture(scope="module", autouse=True)
def oracle_installed() -> None:
    require_tool(shutil.which("node") is not None, "node (for the official MJML compiler)")
    require_tool((ORACLE / "node_modules" / "mjml").is_dir(),
                 "the official MJML compiler (npm ci --prefix tests/mjml)")


def test_every_template_is_checked(renderer: Renderer) -> None:
    assert {template for template, _ in CASES} == set(renderer.templates())


def test_the_oracle_rejects_invalid_mjml() -> None:
    result = official("<mjml><mj-body><mj-section><mj-text>no column</mj-text>"
                      "</mj-section></mj-body></mjml>")
    assert result["errors"], "strict validation must report mj-text directly in mj-section"


@pytest.mark.parametrize(("template", "langs"), CASES,
                         ids=[f"{t}-{'+'.join(langs)}" for t, langs in CASES])
def test_official_compiler_accepts_and_agrees(renderer: Renderer, template: str,
                                              langs: tuple[str, ...]) -> None:
    source = renderer.mjml_source(sample_context(template, langs))
    result = official(source)
    assert result["errors"] == []
    reference, ours = shape_of(str(result["html"])), shape_of(compile_mjml(source))
    assert ours.texts == reference.texts
    assert (ours.hrefs, ours.srcs, ours.ids) == (reference.hrefs, reference.srcs, reference.ids)
    assert ours.section_tables == reference.section_tables > 0
    assert any(re.fullmatch("%%[A-Z_]+%%", href) for href in ours.hrefs)
